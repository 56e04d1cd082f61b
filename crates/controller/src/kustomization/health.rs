//! `wait`, `healthChecks` and `healthCheckExprs`: which objects must be
//! healthy for the Kustomization to be Ready, and their health (built-in
//! rules, or the CEL expressions given for their kind). The verdict is
//! pure; an object whose state the reconcile already holds (the live object
//! the comparison read, what the server answered to its apply) is judged
//! from that, any other is read with one GET.

use driftless_api::flux::kustomize::{CustomHealthCheck, ResourceInventory};
use driftless_api::{HealthStatus, HealthStatusCode};
use driftless_expr::{Health, HealthCheckExprs};
use std::collections::HashMap;

use driftless_render::ObjectKey;
use serde_json::Value;

use super::inventory;
use super::plan::Plan;
use crate::context::Context;

/// One object whose health counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Its identity.
    pub key: ObjectKey,
    /// Its API version (`v1`, `apps/v1`).
    pub api_version: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = &self.key;
        if k.namespace.is_empty() {
            write!(f, "{}/{}", k.kind, k.name)
        } else {
            write!(f, "{}/{}/{}", k.kind, k.namespace, k.name)
        }
    }
}

/// What the health checks say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every checked object is healthy (or nothing is checked).
    Healthy,
    /// Some are not healthy yet: what they wait for.
    Progressing(String),
    /// Some failed: which and why.
    Failed(String),
}

/// The verdict over `(object, health)` pairs: failed when one is
/// Degraded, progressing while one is not Healthy (or Suspended).
pub fn judge(results: &[(Check, HealthStatus)]) -> Verdict {
    let describe = |(c, h): &(Check, HealthStatus)| {
        let why = h
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        format!("{c} status: '{:?}{why}'", h.status)
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, h)| h.status == HealthStatusCode::Degraded)
        .map(describe)
        .collect();
    if !failed.is_empty() {
        return Verdict::Failed(format!("[{}]", failed.join(", ")));
    }
    let waiting: Vec<String> = results
        .iter()
        .filter(|(_, h)| {
            !matches!(
                h.status,
                HealthStatusCode::Healthy | HealthStatusCode::Suspended
            )
        })
        .map(describe)
        .collect();
    if waiting.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Progressing(format!("[{}]", waiting.join(", ")))
    }
}

/// Compiled `healthCheckExprs`, by (apiVersion, kind).
#[derive(Default)]
pub struct Exprs(Vec<(String, String, HealthCheckExprs)>);

impl Exprs {
    /// Compiles `checks`; an error names the kind and the expression's problem.
    pub fn compile(checks: &[CustomHealthCheck]) -> Result<Self, String> {
        checks
            .iter()
            .map(|c| {
                HealthCheckExprs::compile(&c.current, c.in_progress.as_deref(), c.failed.as_deref())
                    .map(|e| (c.api_version.clone(), c.kind.clone(), e))
                    .map_err(|e| format!("healthCheckExprs for {} {}: {e}", c.api_version, c.kind))
            })
            .collect::<Result<_, _>>()
            .map(Exprs)
    }

    /// The health of `live` (of `check`'s kind): by the expressions given
    /// for its kind, else by the built-in rules.
    pub fn assess(&self, check: &Check, live: &Value) -> HealthStatus {
        let exprs = self
            .0
            .iter()
            .find(|(v, k, _)| *v == check.api_version && *k == check.key.kind);
        let Some((_, _, exprs)) = exprs else {
            return driftless_sync::health::assess(live);
        };
        let (status, message) = match exprs.evaluate(live) {
            Ok(Health::Current) => (HealthStatusCode::Healthy, None),
            Ok(Health::InProgress) => (HealthStatusCode::Progressing, Some("in progress".into())),
            Ok(Health::Failed) => (HealthStatusCode::Degraded, Some("failed".into())),
            Err(e) => (
                HealthStatusCode::Degraded,
                Some(format!("healthCheckExprs: {e}")),
            ),
        };
        HealthStatus { status, message }
    }
}

/// Live objects the reconcile already holds, by identity.
pub type Known = HashMap<ObjectKey, Value>;

/// The live objects of a comparison (those that exist).
pub fn known_of(cmp: &driftless_sync::Comparison) -> Known {
    cmp.resources
        .iter()
        .filter_map(|r| Some((r.key.clone(), r.live.clone()?)))
        .collect()
}

/// Assesses each checked object: from `known` when it holds it, else
/// read (a missing object is Missing, an unknown kind Degraded naming it).
pub async fn observe(
    ctx: &Context,
    checks: &[Check],
    exprs: &Exprs,
    known: &Known,
) -> Vec<(Check, HealthStatus)> {
    let mut out = Vec::with_capacity(checks.len());
    for check in checks {
        if let Some(live) = known.get(&check.key) {
            out.push((check.clone(), exprs.assess(check, live)));
            continue;
        }
        let health = match read(ctx, check).await {
            Ok(Some(live)) => exprs.assess(check, &live),
            Ok(None) => driftless_sync::health::missing(),
            Err(message) => HealthStatus {
                status: HealthStatusCode::Degraded,
                message: Some(message),
            },
        };
        out.push((check.clone(), health));
    }
    out
}

async fn read(ctx: &Context, check: &Check) -> Result<Option<Value>, String> {
    let (group, version) = match check.api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", check.api_version.as_str()),
    };
    let catalog = ctx.engine.0.catalog();
    let resolved = catalog
        .resolve(group, version, &check.key.kind)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the kind {} {} is not served",
                check.api_version, check.key.kind
            )
        })?;
    let resource = &resolved.resource;
    let api: kube::Api<kube::api::DynamicObject> = if resolved.namespaced {
        kube::Api::namespaced_with(ctx.client.clone(), &check.key.namespace, resource)
    } else {
        kube::Api::all_with(ctx.client.clone(), resource)
    };
    match api.get_opt(&check.key.name).await {
        Ok(found) => Ok(found.map(|o| {
            let mut value = serde_json::to_value(o).unwrap_or(Value::Null);
            if let Some(map) = value.as_object_mut() {
                map.insert(
                    "apiVersion".into(),
                    Value::String(resource.api_version.clone()),
                );
                map.insert("kind".into(), Value::String(resource.kind.clone()));
            }
            value
        })),
        Err(e) => Err(format!("{check}: {e}")),
    }
}

fn api_version(group: &str, v: &str) -> String {
    if group.is_empty() {
        v.to_string()
    } else {
        format!("{group}/{v}")
    }
}

/// Every object of the inventory (`wait`, and a HelmRelease's objects).
pub fn every_applied(inv: &ResourceInventory) -> Vec<Check> {
    inv.entries
        .iter()
        .filter_map(|e| Some((inventory::parse_id(&e.id)?, e.v.clone())))
        .map(|(key, v)| Check {
            api_version: api_version(&key.group, &v),
            key,
        })
        .collect()
}

/// The objects whose health decides Ready: everything applied with
/// `wait`, else the `healthChecks` (their version from the inventory when
/// `apiVersion` is empty).
pub fn checks(plan: &Plan, inv: &ResourceInventory) -> Vec<Check> {
    if plan.wait {
        return every_applied(inv);
    }
    let applied: Vec<_> = inv
        .entries
        .iter()
        .filter_map(|e| Some((inventory::parse_id(&e.id)?, e.v.clone())))
        .collect();
    plan.health_checks
        .iter()
        .map(|c| {
            let given = c.api_version.clone().filter(|v| !v.is_empty());
            let group = given
                .as_deref()
                .and_then(|v| v.rsplit_once('/'))
                .map(|(g, _)| g.to_string());
            let found = applied
                .iter()
                .find(|(k, _)| k.kind == c.kind && k.name == c.name);
            let group = group
                .or_else(|| found.map(|(k, _)| k.group.clone()))
                .unwrap_or_default();
            let version = given.unwrap_or_else(|| {
                found
                    .map(|(k, v)| api_version(&k.group, v))
                    .unwrap_or_else(|| "v1".into())
            });
            Check {
                key: ObjectKey {
                    group,
                    kind: c.kind.clone(),
                    namespace: c.namespace.clone().unwrap_or_default(),
                    name: c.name.clone(),
                },
                api_version: version,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: &str, name: &str) -> Check {
        Check {
            key: ObjectKey {
                group: "apps".into(),
                kind: kind.into(),
                namespace: "staging".into(),
                name: name.into(),
            },
            api_version: "apps/v1".into(),
        }
    }

    fn health(status: HealthStatusCode, message: Option<&str>) -> HealthStatus {
        HealthStatus {
            status,
            message: message.map(Into::into),
        }
    }

    #[test]
    fn the_verdict_names_what_is_not_healthy() {
        use HealthStatusCode::*;
        assert_eq!(judge(&[]), Verdict::Healthy);
        assert_eq!(
            judge(&[(check("Deployment", "a"), health(Healthy, None))]),
            Verdict::Healthy
        );
        assert_eq!(
            judge(&[
                (check("Deployment", "a"), health(Healthy, None)),
                (
                    check("Deployment", "b"),
                    health(Progressing, Some("0 of 1 available"))
                ),
            ]),
            Verdict::Progressing(
                "[Deployment/staging/b status: 'Progressing: 0 of 1 available']".into()
            )
        );
        assert_eq!(
            judge(&[
                (check("Deployment", "b"), health(Missing, None)),
                (
                    check("Deployment", "c"),
                    health(Degraded, Some("deadline exceeded"))
                ),
            ]),
            Verdict::Failed("[Deployment/staging/c status: 'Degraded: deadline exceeded']".into())
        );
    }

    #[test]
    fn expressions_decide_for_their_kind() {
        let exprs = Exprs::compile(&[CustomHealthCheck {
            api_version: "apps/v1".into(),
            kind: "Widget".into(),
            current: "status.phase == 'Ready'".into(),
            in_progress: None,
            failed: Some("status.phase == 'Broken'".into()),
        }])
        .unwrap();
        let widget = check("Widget", "w");
        let live = |phase: &str| json!({"apiVersion": "apps/v1", "kind": "Widget", "status": {"phase": phase}});
        assert_eq!(
            exprs.assess(&widget, &live("Ready")).status,
            HealthStatusCode::Healthy
        );
        assert_eq!(
            exprs.assess(&widget, &live("Broken")).status,
            HealthStatusCode::Degraded
        );
        assert_eq!(
            exprs.assess(&widget, &live("Starting")).status,
            HealthStatusCode::Progressing
        );
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 1},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}});
        assert_eq!(
            exprs.assess(&check("Deployment", "d"), &deployment).status,
            HealthStatusCode::Healthy,
            "other kinds use the built-in rules"
        );
        assert!(
            Exprs::compile(&[CustomHealthCheck {
                current: "((".into(),
                ..Default::default()
            }])
            .is_err()
        );
    }

    fn plan_of(spec: serde_json::Value) -> Plan {
        let mut k = driftless_api::flux::kustomize::v1::Kustomization::new(
            "apps",
            serde_json::from_value(spec).unwrap(),
        );
        k.metadata.namespace = Some("flux-system".into());
        super::super::plan::plan(&k).unwrap()
    }

    fn inv() -> ResourceInventory {
        ResourceInventory {
            entries: vec![
                driftless_api::flux::kustomize::ResourceRef {
                    id: "production_my-app_apps_Deployment".into(),
                    v: "v1".into(),
                },
                driftless_api::flux::kustomize::ResourceRef {
                    id: "production_settings__ConfigMap".into(),
                    v: "v1".into(),
                },
            ],
        }
    }

    #[test]
    fn wait_checks_everything_applied() {
        let p = plan_of(
            json!({"interval": "1m", "prune": true, "wait": true, "sourceRef": {"kind": "GitRepository", "name": "r"}}),
        );
        let c = checks(&p, &inv());
        let names: Vec<String> = c.iter().map(|c| format!("{} {c}", c.api_version)).collect();
        assert_eq!(
            names,
            [
                "apps/v1 Deployment/production/my-app",
                "v1 ConfigMap/production/settings"
            ]
        );
    }

    #[test]
    fn health_checks_take_their_version_from_the_inventory_when_unset() {
        let p = plan_of(
            json!({"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"},
            "healthChecks": [{"kind": "Deployment", "name": "my-app", "namespace": "production"},
                             {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}]}),
        );
        let c = checks(&p, &inv());
        assert_eq!(c[0].api_version, "apps/v1");
        assert_eq!(c[0].key.group, "apps");
        assert_eq!(c[1].key.namespace, "flux-system");
        assert_eq!(c[1].key.group, "apps");
    }
}
