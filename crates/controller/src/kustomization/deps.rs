//! `dependsOn`: a Kustomization proceeds only when every dependency is
//! Ready at its last applied revision (or its `readyExpr` holds). The
//! check is pure; dependents are requeued by the dependency's own status
//! change (see [`super::State::dependents_of`]), not by a timer.

use driftless_api::flux::condition::is_ready;
use driftless_api::flux::kustomize::DependencyReference;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_expr::ReadyExpr;
use kube::{Api, ResourceExt};

use crate::cycle::AppId;

/// The `(namespace, name)` of a dependency of a Kustomization in `ns`.
pub fn dependency_id(dep: &DependencyReference, ns: &str) -> AppId {
    let dep_ns = dep.namespace.clone().filter(|n| !n.is_empty());
    (dep_ns.unwrap_or_else(|| ns.to_string()), dep.name.clone())
}

/// Why `dep` does not count as ready for `this`, or `Ok` when it does:
/// with a `readyExpr`, the expression decides; otherwise `dep` must have
/// observed its latest generation, be `Ready=True` for it, and have
/// applied the revision it last attempted.
pub fn check(
    this: &Kustomization,
    dep_ref: &DependencyReference,
    dep: &Kustomization,
) -> Result<(), String> {
    let name = format!("{}/{}", dep.namespace().unwrap_or_default(), dep.name_any());
    if let Some(verdict) = by_ready_expr(this, dep_ref, dep, &name) {
        return verdict;
    }
    let status = dep.status.clone().unwrap_or_default();
    let generation = dep.metadata.generation;
    let ready = status.observed_generation == generation
        && is_ready(&status.conditions, generation)
        && status.last_applied_revision.is_some()
        && status.last_applied_revision == status.last_attempted_revision;
    if ready {
        Ok(())
    } else {
        Err(format!("dependency '{name}' is not ready"))
    }
}

/// The verdict of `dep_ref`'s `readyExpr` over `this` and `dep` (named
/// `name` in messages), or `None` when it has none (any kind: Kustomization
/// or HelmRelease).
pub fn by_ready_expr(
    this: &impl serde::Serialize,
    dep_ref: &DependencyReference,
    dep: &impl serde::Serialize,
    name: &str,
) -> Option<Result<(), String>> {
    let source = dep_ref
        .ready_expr
        .as_deref()
        .filter(|s| !s.trim().is_empty())?;
    let expr = match ReadyExpr::compile(source) {
        Ok(expr) => expr,
        Err(e) => {
            return Some(Err(format!(
                "dependency '{name}': readyExpr {source:?}: {e}"
            )));
        }
    };
    let this = serde_json::to_value(this).unwrap_or_default();
    let dep_json = serde_json::to_value(dep).unwrap_or_default();
    Some(match expr.evaluate(&this, &dep_json) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "dependency '{name}' is not ready: readyExpr is false"
        )),
        Err(e) => Err(format!("dependency '{name}': readyExpr {source:?}: {e}")),
    })
}

/// Checks every dependency of `this` (read from the API server), in order;
/// the first one not ready (or missing) is the error.
pub async fn check_all(client: &kube::Client, this: &Kustomization) -> Result<(), String> {
    let ns = this.namespace().unwrap_or_default();
    for dep_ref in &this.spec.depends_on {
        let (dep_ns, dep_name) = dependency_id(dep_ref, &ns);
        let api: Api<Kustomization> = Api::namespaced(client.clone(), &dep_ns);
        match api.get_opt(&dep_name).await {
            Ok(Some(dep)) => check(this, dep_ref, &dep)?,
            Ok(None) => return Err(format!("dependency '{dep_ns}/{dep_name}' not found")),
            Err(e) => return Err(format!("dependency '{dep_ns}/{dep_name}': {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::condition::new_condition;
    use driftless_api::flux::kustomize::KustomizationStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn dep(
        ready: &str,
        generation: i64,
        observed: i64,
        applied: &str,
        attempted: &str,
    ) -> Kustomization {
        let mut k = Kustomization::new("infra", Default::default());
        k.metadata.namespace = Some("flux-system".into());
        k.metadata.generation = Some(generation);
        k.status = Some(KustomizationStatus {
            observed_generation: Some(observed),
            conditions: vec![new_condition(
                "Ready",
                ready,
                "ReconciliationSucceeded",
                "",
                Some(observed),
                Time(Timestamp::from_second(1).unwrap()),
            )],
            last_applied_revision: Some(applied.into()),
            last_attempted_revision: Some(attempted.into()),
            ..Default::default()
        });
        k
    }

    fn reference(expr: Option<&str>) -> DependencyReference {
        DependencyReference {
            name: "infra".into(),
            namespace: None,
            ready_expr: expr.map(Into::into),
        }
    }

    #[test]
    fn ready_at_the_last_applied_revision() {
        let this = Kustomization::new("apps", Default::default());
        let r = reference(None);
        assert_eq!(
            check(&this, &r, &dep("True", 1, 1, "main@sha1:a", "main@sha1:a")),
            Ok(())
        );
        let not = Err("dependency 'flux-system/infra' is not ready".to_string());
        assert_eq!(
            check(&this, &r, &dep("False", 1, 1, "main@sha1:a", "main@sha1:a")),
            not
        );
        assert_eq!(
            check(&this, &r, &dep("True", 2, 1, "main@sha1:a", "main@sha1:a")),
            not,
            "a newer spec not yet observed"
        );
        assert_eq!(
            check(&this, &r, &dep("True", 1, 1, "main@sha1:a", "main@sha1:b")),
            not,
            "a newer revision not yet applied"
        );
    }

    #[test]
    fn ready_expr_decides_when_set() {
        let this = Kustomization::new("apps", Default::default());
        let failing = dep("False", 1, 1, "a", "b");
        let r = reference(Some("dep.status.lastAttemptedRevision == 'b'"));
        assert_eq!(check(&this, &r, &failing), Ok(()));
        let r = reference(Some("dep.metadata.name == 'other'"));
        assert!(
            check(&this, &r, &failing)
                .unwrap_err()
                .contains("readyExpr is false")
        );
        let r = reference(Some("dep.("));
        assert!(
            check(&this, &r, &failing)
                .unwrap_err()
                .contains("readyExpr")
        );
    }

    #[test]
    fn dependencies_default_to_the_own_namespace() {
        assert_eq!(
            dependency_id(&reference(None), "ns"),
            ("ns".to_string(), "infra".to_string())
        );
        let mut r = reference(None);
        r.namespace = Some("other".into());
        assert_eq!(dependency_id(&r, "ns").0, "other");
    }
}
