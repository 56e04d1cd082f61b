//! The CustomResourceDefinitions generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::flux;
use crate::{AppProject, Application};

/// Every CRD driftless installs, in install order: Argo CD's `Application`
/// and `AppProject`, then Flux's `GitRepository`, `Kustomization`,
/// `HelmRepository` and `HelmRelease`.
pub fn crds() -> Vec<CustomResourceDefinition> {
    // The Flux versions are generated from fixed Rust types with the same
    // group, kind and scope, so merging them cannot fail (a unit test checks).
    let merged = |crd: Result<CustomResourceDefinition, _>| {
        crd.unwrap_or_else(|e: kube::core::crd::MergeError| {
            panic!("the Flux CRD versions do not merge: {e}")
        })
    };
    vec![
        Application::crd(),
        AppProject::crd(),
        merged(flux::git_repository_crd()),
        merged(flux::kustomization_crd()),
        flux::source::helm::HelmRepository::crd(),
        flux::helm::HelmRelease::crd(),
    ]
}

/// The CRDs as one multi-document YAML stream, as checked in under `crds/`.
pub fn crds_yaml() -> Result<String, serde_saphyr::ser::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}

/// The file name under `crds/` that holds one CRD.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}
