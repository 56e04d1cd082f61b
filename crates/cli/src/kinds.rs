//! The kinds the commands work on (Argo CD `Application`, Flux
//! `Kustomization` and `GitRepository`) and finding an object by the name a
//! user typed (`NAME`, `app/NAME`, `ks/NAME`).

use driftless_api::Application;
use driftless_api::flux::kustomize::v1::Kustomization;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::cluster::Cluster;
use crate::error::{CliError, Subject};

/// A namespaced kind read and written with a typed `Api`.
pub(crate) trait Namespaced:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
{
}

impl<T> Namespaced for T where
    T: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
{
}

/// The subject of requests about Applications in `namespace`.
pub(crate) fn app_subject(namespace: &str, name: Option<&str>) -> Subject {
    Subject {
        kind: "Application",
        crd: "applications.argoproj.io",
        namespace: namespace.to_string(),
        name: name.map(str::to_string),
    }
}

/// The subject of requests about Kustomizations in `namespace`.
pub(crate) fn ks_subject(namespace: &str, name: Option<&str>) -> Subject {
    Subject {
        kind: "Kustomization",
        crd: "kustomizations.kustomize.toolkit.fluxcd.io",
        namespace: namespace.to_string(),
        name: name.map(str::to_string),
    }
}

/// The subject of requests about GitRepositories in `namespace`.
pub(crate) fn source_subject(namespace: &str, name: Option<&str>) -> Subject {
    Subject {
        kind: "GitRepository",
        crd: "gitrepositories.source.toolkit.fluxcd.io",
        namespace: namespace.to_string(),
        name: name.map(str::to_string),
    }
}

/// An object found by name: an Application or a Kustomization.
#[derive(Clone, Debug)]
pub(crate) enum Found {
    /// An Argo CD Application.
    App(Box<Application>),
    /// A Flux Kustomization.
    Ks(Box<Kustomization>),
}

/// Which kind a `kind/NAME` prefix names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    App,
    Ks,
    Either,
}

/// Splits `app/NAME`, `application/NAME`, `ks/NAME`, `kustomization/NAME` or `NAME`.
fn parse_name(text: &str) -> Result<(Wanted, &str), CliError> {
    let Some((kind, name)) = text.split_once('/') else {
        return Ok((Wanted::Either, text));
    };
    let wanted = match kind.to_ascii_lowercase().as_str() {
        "app" | "apps" | "application" | "applications" => Wanted::App,
        "ks" | "kustomization" | "kustomizations" => Wanted::Ks,
        other => {
            return Err(CliError::Usage(format!(
                "{text:?}: unknown kind {other:?} (use app/NAME or ks/NAME)"
            )));
        }
    };
    if name.is_empty() {
        return Err(CliError::Usage(format!("{text:?}: the name is missing")));
    }
    Ok((wanted, name))
}

/// `name` of kind `K` in the cluster's namespace, or `None` when there is
/// none; `Err(CrdMissing)` when the kind is not installed.
pub(crate) async fn get_opt<K: Namespaced>(
    cluster: &Cluster,
    subject: &Subject,
) -> Result<Option<K>, CliError> {
    let api: Api<K> = Api::namespaced(cluster.client.clone(), &subject.namespace);
    let name = subject.name.as_deref().unwrap_or_default();
    match api.get(name).await {
        Ok(obj) => Ok(Some(obj)),
        Err(e) => match CliError::from_kube(e, subject, &cluster.server) {
            CliError::NotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// Finds the Application or Kustomization the user named.
pub(crate) async fn find(cluster: &Cluster, text: &str) -> Result<Found, CliError> {
    let (wanted, name) = parse_name(text)?;
    let ns = &cluster.namespace;
    let mut missing_crds = 0;
    if wanted != Wanted::Ks {
        match get_opt::<Application>(cluster, &app_subject(ns, Some(name))).await {
            Ok(Some(app)) => return Ok(Found::App(Box::new(app))),
            Ok(None) => {}
            Err(CliError::CrdMissing { .. }) if wanted == Wanted::Either => missing_crds += 1,
            Err(e) => return Err(e),
        }
    }
    if wanted != Wanted::App {
        match get_opt::<Kustomization>(cluster, &ks_subject(ns, Some(name))).await {
            Ok(Some(ks)) => return Ok(Found::Ks(Box::new(ks))),
            Ok(None) => {}
            Err(CliError::CrdMissing { .. }) if wanted == Wanted::Either => missing_crds += 1,
            Err(e) => return Err(e),
        }
    }
    if missing_crds == 2 {
        return Err(CliError::Usage(
            "neither the Application (argoproj.io) nor the Kustomization \
             (kustomize.toolkit.fluxcd.io) CustomResourceDefinition is installed in this cluster"
                .into(),
        ));
    }
    Err(match wanted {
        Wanted::App => CliError::NotFound {
            kind: "Application",
            name: name.to_string(),
            namespace: ns.clone(),
        },
        Wanted::Ks => CliError::NotFound {
            kind: "Kustomization",
            name: name.to_string(),
            namespace: ns.clone(),
        },
        Wanted::Either => CliError::NoSuchApp {
            name: name.to_string(),
            namespace: ns.clone(),
        },
    })
}

/// The GitRepository a Kustomization's `sourceRef` names, as `(namespace, name)`.
pub(crate) fn source_of(ks: &Kustomization) -> Result<(String, String), CliError> {
    let reference = &ks.spec.source_ref;
    if reference.kind != "GitRepository" {
        return Err(CliError::Usage(format!(
            "Kustomization {}: its source is a {}, only GitRepository sources are supported",
            ks.metadata.name.as_deref().unwrap_or_default(),
            reference.kind
        )));
    }
    let ns = reference
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| ks.metadata.namespace.clone())
        .unwrap_or_default();
    Ok((ns, reference.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_kinds() {
        assert_eq!(parse_name("web").unwrap(), (Wanted::Either, "web"));
        assert_eq!(parse_name("app/web").unwrap(), (Wanted::App, "web"));
        assert_eq!(parse_name("ks/web").unwrap(), (Wanted::Ks, "web"));
        assert_eq!(
            parse_name("Kustomization/web").unwrap(),
            (Wanted::Ks, "web")
        );
        assert!(parse_name("pod/web").is_err());
        assert!(parse_name("app/").is_err());
    }
}
