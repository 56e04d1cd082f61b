//! The errors of the operator commands, each naming what failed, and how
//! they map to an exit code.

use std::time::Duration;

/// What an operator command could not do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The kubeconfig could not be read or has no usable context.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The API server did not answer.
    #[error("cannot reach the cluster at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    /// RBAC refused the request (the API server's message names the verb and resource).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The kind's CustomResourceDefinition is not installed.
    #[error(
        "the {crd} CustomResourceDefinition is not installed in this cluster \
         (install it with `driftless crd | kubectl apply -f -`)"
    )]
    CrdMissing { crd: &'static str },
    /// No object by that name.
    #[error("{kind} {name:?} not found in namespace {namespace:?}")]
    NotFound {
        kind: &'static str,
        name: String,
        namespace: String,
    },
    /// No Application or Kustomization by that name.
    #[error("no Application or Kustomization named {name:?} in namespace {namespace:?}")]
    NoSuchApp { name: String, namespace: String },
    /// Any other answer of the API server.
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    /// A wait ran out of time.
    #[error("timed out after {}s waiting for {what}", .after.as_secs())]
    Timeout { what: String, after: Duration },
    /// An operation or reconcile finished and failed.
    #[error("{0}")]
    Failed(String),
    /// A request the command cannot make (bad flags for this kind, ...).
    #[error("{0}")]
    Usage(String),
}

/// The object a request was about, for error messages.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    /// `Application`, `Kustomization`, `GitRepository`.
    pub kind: &'static str,
    /// The CRD's name (`applications.argoproj.io`).
    pub crd: &'static str,
    /// The namespace (empty for all).
    pub namespace: String,
    /// The object's name, when one was named.
    pub name: Option<String>,
}

impl CliError {
    /// Classifies a kube error about `subject` against the server `server`.
    pub(crate) fn from_kube(err: kube::Error, subject: &Subject, server: &str) -> CliError {
        match err {
            kube::Error::Api(status) if status.is_forbidden() => {
                CliError::Forbidden(status.message.clone())
            }
            kube::Error::Api(status) if status.code == 404 || status.is_not_found() => {
                // A named object's 404 carries its name; a missing kind's does not.
                let named = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
                match (&subject.name, named) {
                    (Some(name), true) => CliError::NotFound {
                        kind: subject.kind,
                        name: name.clone(),
                        namespace: subject.namespace.clone(),
                    },
                    _ => CliError::CrdMissing { crd: subject.crd },
                }
            }
            kube::Error::Api(status) => CliError::Api {
                what: describe(subject),
                message: status.message.clone(),
            },
            kube::Error::HyperError(e) => unreachable(server, &e),
            kube::Error::Service(e) => unreachable(server, &*e),
            other => CliError::Api {
                what: describe(subject),
                message: other.to_string(),
            },
        }
    }
}

fn describe(subject: &Subject) -> String {
    match &subject.name {
        Some(name) => format!("{} {}/{}", subject.kind, subject.namespace, name),
        None => format!("listing {}s", subject.kind),
    }
}

/// The deepest cause of a connection error, which names what went wrong
/// (connection refused, certificate, ...).
fn unreachable(server: &str, err: &(dyn std::error::Error + 'static)) -> CliError {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    CliError::Unreachable {
        server: server.to_string(),
        detail: cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn subject(name: Option<&str>) -> Subject {
        Subject {
            kind: "Application",
            crd: "applications.argoproj.io",
            namespace: "argocd".into(),
            name: name.map(str::to_string),
        }
    }

    fn status(code: u16, reason: &str, named: Option<&str>) -> kube::Error {
        let details = named.map(|n| serde_json::json!({"name": n, "kind": "applications"}));
        let s: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": code, "reason": reason,
            "message": format!("{code} {reason}"), "details": details,
        }))
        .expect("a Status");
        kube::Error::Api(s.boxed())
    }

    #[test]
    fn kube_errors_are_classified() {
        let named = CliError::from_kube(
            status(404, "NotFound", Some("web")),
            &subject(Some("web")),
            "s",
        );
        assert!(matches!(named, CliError::NotFound { .. }), "{named}");
        let missing =
            CliError::from_kube(status(404, "NotFound", None), &subject(Some("web")), "s");
        assert!(matches!(missing, CliError::CrdMissing { .. }), "{missing}");
        assert!(
            missing
                .to_string()
                .contains("applications.argoproj.io CustomResourceDefinition is not installed")
        );
        let listing = CliError::from_kube(status(404, "", None), &subject(None), "s");
        assert!(matches!(listing, CliError::CrdMissing { .. }), "{listing}");
        let forbidden = CliError::from_kube(status(403, "Forbidden", None), &subject(None), "s");
        assert!(matches!(forbidden, CliError::Forbidden(_)), "{forbidden}");
        let other = CliError::from_kube(
            status(500, "InternalError", None),
            &subject(Some("web")),
            "s",
        );
        assert_eq!(
            other.to_string(),
            "Application argocd/web: 500 InternalError"
        );
    }
}
