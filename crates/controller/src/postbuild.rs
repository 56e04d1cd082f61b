//! Flux's `spec.postBuild`: the variables of a Kustomization, read from
//! its `substituteFrom` ConfigMaps and Secrets and its inline `substitute`,
//! then substituted into the rendered objects
//! ([`driftless_render::substitute`]).
//!
//! As kustomize-controller does it:
//! - `substituteFrom` is read in order from the Kustomization's namespace
//!   (the `data` of a ConfigMap, the decoded `data` of a Secret); a later
//!   entry overrides an earlier one, and inline `substitute` overrides them
//!   all; newlines are removed from values;
//! - an object missing with `optional: true` counts as one without
//!   variables; missing without it, the build fails naming it;
//! - an object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//!   disabled` is left as rendered; with no variable at all nothing is
//!   substituted; an undefined variable without a default becomes empty.
//!
//! A value read from a Secret never appears in an error or a log line.

use std::collections::BTreeMap;

use driftless_api::flux::kustomize::{PostBuild, SubstituteReference};
use driftless_render::Object;
use driftless_render::substitute::{Mode, SubstituteError, Variables, substitute_objects};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};

/// Where inline variables come from, as errors name it.
const INLINE: &str = "spec.postBuild.substitute";

/// Why the variables could not be read or substituted. No variant carries a
/// variable's value.
#[derive(Debug, thiserror::Error)]
pub enum PostBuildError {
    /// A `substituteFrom` entry of a kind other than ConfigMap or Secret.
    #[error(
        "spec.postBuild.substituteFrom[{index}]: kind {kind:?} is not supported, use ConfigMap or Secret"
    )]
    UnsupportedKind {
        /// The entry's index.
        index: usize,
        /// Its kind.
        kind: String,
    },
    /// A required ConfigMap or Secret does not exist.
    #[error(
        "substitute from '{kind}/{name}' in namespace {namespace}: not found (mark it optional: true if it may be missing)"
    )]
    NotFound {
        /// `ConfigMap` or `Secret`.
        kind: String,
        /// Its name.
        name: String,
        /// The Kustomization's namespace.
        namespace: String,
    },
    /// Reading a ConfigMap or Secret failed for another reason.
    #[error("substitute from '{kind}/{name}' in namespace {namespace}: {source}")]
    Read {
        /// `ConfigMap` or `Secret`.
        kind: String,
        /// Its name.
        name: String,
        /// The Kustomization's namespace.
        namespace: String,
        /// What the API server said.
        #[source]
        source: Box<kube::Error>,
    },
    /// A Secret key whose value is not UTF-8 text.
    #[error("substitute from 'Secret/{name}': the value of key {key:?} is not UTF-8 text")]
    NotText {
        /// The Secret.
        name: String,
        /// The key.
        key: String,
    },
    /// A variable name Flux refuses, or a substitution that failed on an
    /// object (both named in the message).
    #[error("post build failed: {0}")]
    Substitute(#[source] SubstituteError),
}

/// The variables of one Kustomization. Its `Debug` shows names only.
#[derive(Clone, Default)]
pub struct PostBuildVariables {
    variables: Variables,
    /// Values that came from Secrets, kept to keep them out of errors.
    secret_values: Vec<String>,
}

impl std::fmt::Debug for PostBuildVariables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostBuildVariables")
            .field("variables", &self.variables)
            .finish_non_exhaustive()
    }
}

/// The variables found in one source, with where they came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// `ConfigMap/name` or `Secret/name`, as errors name it.
    pub origin: String,
    /// Whether the values are secret.
    pub secret: bool,
    /// The variables.
    pub data: BTreeMap<String, String>,
}

impl PostBuildVariables {
    /// Merges `sources` (in `substituteFrom` order, later ones winning) and
    /// then `inline`, which wins over all.
    pub fn merge(
        sources: Vec<Source>,
        inline: &BTreeMap<String, String>,
    ) -> Result<Self, PostBuildError> {
        let mut out = Self::default();
        for source in sources {
            if source.secret {
                out.secret_values.extend(source.data.values().cloned());
            }
            out.variables
                .extend_from(&source.origin, source.data)
                .map_err(PostBuildError::Substitute)?;
        }
        out.variables
            .extend_from(INLINE, inline)
            .map_err(PostBuildError::Substitute)?;
        out.secret_values.retain(|v| !v.is_empty());
        Ok(out)
    }

    /// The variables.
    pub fn variables(&self) -> &Variables {
        &self.variables
    }

    /// Substitutes the variables into `objects` (see the module docs).
    pub fn substitute(&self, objects: Vec<Object>) -> Result<Vec<Object>, PostBuildError> {
        substitute_objects(objects, &self.variables, Mode::Lenient)
            .map_err(|e| PostBuildError::Substitute(self.redact(e)))
    }

    /// Withholds a parser message that quotes a value from a Secret.
    fn redact(&self, error: SubstituteError) -> SubstituteError {
        match error {
            SubstituteError::Reparse { object, message }
                if self
                    .secret_values
                    .iter()
                    .any(|v| message.contains(v.as_str())) =>
            {
                SubstituteError::Reparse {
                    object,
                    message:
                        " (the parser's message is withheld: it quotes a value read from a Secret)"
                            .to_string(),
                }
            }
            other => other,
        }
    }
}

/// Reads the variables of `post_build` for a Kustomization in `namespace`.
pub async fn load(
    client: &Client,
    namespace: &str,
    post_build: &PostBuild,
) -> Result<PostBuildVariables, PostBuildError> {
    let mut sources = Vec::new();
    for (index, reference) in post_build.substitute_from.iter().enumerate() {
        if let Some(source) = read(client, namespace, index, reference).await? {
            sources.push(source);
        }
    }
    let variables = PostBuildVariables::merge(sources, &post_build.substitute)?;
    tracing::debug!(
        namespace,
        variables = ?variables.variables,
        "postBuild variables read"
    );
    Ok(variables)
}

/// Substitutes `post_build`'s variables into `objects`; without
/// `postBuild` the objects are returned as rendered.
pub async fn apply(
    client: &Client,
    namespace: &str,
    post_build: Option<&PostBuild>,
    objects: Vec<Object>,
) -> Result<Vec<Object>, PostBuildError> {
    match post_build {
        None => Ok(objects),
        Some(post_build) => load(client, namespace, post_build)
            .await?
            .substitute(objects),
    }
}

/// One `substituteFrom` entry; `None` when it is optional and missing.
async fn read(
    client: &Client,
    namespace: &str,
    index: usize,
    reference: &SubstituteReference,
) -> Result<Option<Source>, PostBuildError> {
    let name = reference.name.as_str();
    let failed = |source| PostBuildError::Read {
        kind: reference.kind.clone(),
        name: name.to_string(),
        namespace: namespace.to_string(),
        source: Box::new(source),
    };
    let found = match reference.kind.as_str() {
        "ConfigMap" => Api::<ConfigMap>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(failed)?
            .map(|cm| Ok(config_map_source(cm))),
        "Secret" => Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(failed)?
            .map(secret_source),
        other => {
            return Err(PostBuildError::UnsupportedKind {
                index,
                kind: other.to_string(),
            });
        }
    };
    match found {
        Some(source) => source.map(Some),
        None if reference.optional => Ok(None),
        None => Err(PostBuildError::NotFound {
            kind: reference.kind.clone(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        }),
    }
}

fn config_map_source(cm: ConfigMap) -> Source {
    Source {
        origin: format!("ConfigMap/{}", cm.metadata.name.unwrap_or_default()),
        secret: false,
        data: cm.data.unwrap_or_default(),
    }
}

fn secret_source(secret: Secret) -> Result<Source, PostBuildError> {
    let name = secret.metadata.name.unwrap_or_default();
    let mut data = BTreeMap::new();
    for (key, bytes) in secret.data.unwrap_or_default() {
        let value = String::from_utf8(bytes.0).map_err(|_| PostBuildError::NotText {
            name: name.clone(),
            key: key.clone(),
        })?;
        data.insert(key, value);
    }
    Ok(Source {
        origin: format!("Secret/{name}"),
        secret: true,
        data,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn source(origin: &str, secret: bool, pairs: &[(&str, &str)]) -> Source {
        Source {
            origin: origin.into(),
            secret,
            data: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn inline(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn later_sources_override_earlier_ones_and_inline_wins() {
        let vars = PostBuildVariables::merge(
            vec![
                source(
                    "ConfigMap/a",
                    false,
                    &[("env", "a"), ("region", "eu"), ("only_a", "1")],
                ),
                source("Secret/b", true, &[("env", "b"), ("region", "us\n")]),
            ],
            &inline(&[("env", "inline")]),
        )
        .expect("valid");
        let v = vars.variables();
        assert_eq!(v.get("env"), Some("inline"));
        assert_eq!(v.get("region"), Some("us"), "newlines are removed");
        assert_eq!(v.get("only_a"), Some("1"));
    }

    #[test]
    fn invalid_names_name_their_source() {
        let err = PostBuildVariables::merge(
            vec![source("ConfigMap/settings", false, &[("my-key", "x")])],
            &BTreeMap::new(),
        )
        .expect_err("a dash is not allowed")
        .to_string();
        assert!(
            err.contains("ConfigMap/settings") && err.contains("my-key"),
            "{err}"
        );
        let err = PostBuildVariables::merge(Vec::new(), &inline(&[("1st", "x")]))
            .expect_err("a digit first is not allowed")
            .to_string();
        assert!(err.contains(INLINE) && err.contains("1st"), "{err}");
    }

    #[test]
    fn secret_values_stay_out_of_debug_output_and_errors() {
        let secret = "hunter2-s3cr3t";
        let vars = PostBuildVariables::merge(
            vec![source("Secret/creds", true, &[("password", secret)])],
            &BTreeMap::new(),
        )
        .expect("valid");
        let debug = format!("{vars:?}");
        assert!(
            debug.contains("password") && !debug.contains(secret),
            "{debug}"
        );
        // A value that breaks the YAML of a ConfigMap: the parser's message
        // would quote it.
        let broken = format!("{secret}: [\n  x: ]");
        let vars = PostBuildVariables::merge(
            vec![source("Secret/creds", true, &[("password", &broken)])],
            &BTreeMap::new(),
        )
        .expect("valid");
        let cm = Object::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": "${password}"}
        }))
        .expect("an object");
        let err = vars
            .substitute(vec![cm])
            .expect_err("the value breaks the object's YAML");
        let text = format!("{err} {err:?}");
        assert!(text.contains("ConfigMap") && text.contains("c"), "{text}");
        assert!(!text.contains(secret), "{text}");
    }

    #[test]
    fn redaction_only_withholds_messages_quoting_a_secret() {
        let vars = PostBuildVariables::merge(
            vec![source("Secret/creds", true, &[("password", "topsecret")])],
            &BTreeMap::new(),
        )
        .expect("valid");
        let quoting = SubstituteError::Reparse {
            object: "ConfigMap ns/c".into(),
            message: ": did not expect 'topsecret' here".into(),
        };
        let redacted = vars.redact(quoting).to_string();
        assert!(
            !redacted.contains("topsecret") && redacted.contains("ConfigMap ns/c"),
            "{redacted}"
        );
        let other = SubstituteError::Reparse {
            object: "ConfigMap ns/c".into(),
            message: ": bad indentation at line 3".into(),
        };
        assert!(vars.redact(other).to_string().contains("bad indentation"));
    }

    #[test]
    fn the_opt_out_and_defaults_apply() {
        let vars =
            PostBuildVariables::merge(Vec::new(), &inline(&[("replicas", "3")])).expect("valid");
        let objects = vec![
            Object::from_value(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": "${replicas}", "x": "${region:=eu-1}"}
            }))
            .expect("an object"),
            Object::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "raw", "labels": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
                "data": {"script": "echo ${replicas}"}
            }))
            .expect("an object"),
        ];
        let out = vars.substitute(objects).expect("substitutes");
        let web = out[0].clone().into_value();
        assert_eq!(web["spec"]["replicas"], json!(3));
        assert_eq!(web["spec"]["x"], json!("eu-1"));
        assert_eq!(
            out[1].clone().into_value()["data"]["script"],
            json!("echo ${replicas}")
        );
    }
}
