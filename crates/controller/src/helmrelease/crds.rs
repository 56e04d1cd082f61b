//! `install.crds` / `upgrade.crds`: what a Helm action does with the
//! chart's CustomResourceDefinitions, as Flux's helm-controller documents
//! it. `Skip` leaves them alone, `Create` creates the missing ones and never
//! updates one that exists, `CreateReplace` creates and updates them.
//! Install defaults to `Create`, upgrade to `Skip`.
//!
//! The chart is rendered with its CRDs (unless an install skips them), and
//! the comparison is then edited (pure): a CRD the action must not write is
//! marked Synced when it exists and this release applied it (so it is
//! neither applied nor pruned, and stays in the inventory), and dropped
//! otherwise (a CRD someone else created never enters the inventory). Every
//! CustomResourceDefinition the chart renders counts, from `crds/` or from
//! `templates/` alike.

use driftless_api::flux::helm::crds_policy;
use driftless_sync::tracking::{Ownership, TRACKING_ANNOTATION, ownership};
use driftless_sync::{Comparison, ResourceState};

/// One action's CRD policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrdPolicy {
    /// Leave the chart's CRDs alone.
    Skip,
    /// Create the missing ones; never update an existing one.
    Create,
    /// Create and update them.
    CreateReplace,
}

/// The policies of both actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrdPolicies {
    /// `install.crds` (`Create` by default, `Skip` with `install.skipCRDs`).
    pub install: CrdPolicy,
    /// `upgrade.crds` (`Skip` by default).
    pub upgrade: CrdPolicy,
}

impl CrdPolicies {
    /// Reads `install.crds`, `install.skipCRDs` and `upgrade.crds`; an
    /// unknown value is an error naming the field.
    pub fn of(
        install: Option<&driftless_api::flux::helm::v2::Install>,
        upgrade: Option<&serde_json::Value>,
    ) -> Result<CrdPolicies, String> {
        let install = match install {
            Some(i) if i.skip_crds && i.crds.is_none() => CrdPolicy::Skip,
            Some(i) => parse("install.crds", i.crds.as_deref())?.unwrap_or(CrdPolicy::Create),
            None => CrdPolicy::Create,
        };
        let upgrade_crds = match upgrade.and_then(|u| u.get("crds")) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(format!("spec.upgrade.crds: {other} is not a string")),
        };
        let upgrade = parse("upgrade.crds", upgrade_crds)?.unwrap_or(CrdPolicy::Skip);
        Ok(CrdPolicies { install, upgrade })
    }

    /// The policy of `action` (`install` or `upgrade`).
    pub fn for_action(&self, action: &str) -> CrdPolicy {
        if action == "install" {
            self.install
        } else {
            self.upgrade
        }
    }
}

fn parse(field: &str, value: Option<&str>) -> Result<Option<CrdPolicy>, String> {
    match value {
        None | Some("") => Ok(None),
        Some(crds_policy::SKIP) => Ok(Some(CrdPolicy::Skip)),
        Some(crds_policy::CREATE) => Ok(Some(CrdPolicy::Create)),
        Some(crds_policy::CREATE_REPLACE) => Ok(Some(CrdPolicy::CreateReplace)),
        Some(other) => Err(format!(
            "spec.{field}: {other:?} is not one of Skip, Create, CreateReplace"
        )),
    }
}

fn is_crd(key: &driftless_render::ObjectKey) -> bool {
    key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition"
}

/// Holds back the CRDs `policy` does not let the release tracked as `app`
/// write: an existing one it applied becomes Synced (not applied, not
/// pruned, still in the inventory), another existing one is dropped, and a
/// missing one is dropped under `Skip`. The number of CRDs held back.
pub fn hold_back(cmp: &mut Comparison, policy: CrdPolicy, app: &str) -> usize {
    if policy == CrdPolicy::CreateReplace {
        return 0;
    }
    let mut held = 0;
    cmp.resources.retain_mut(|r| {
        if !is_crd(&r.key) || r.state == ResourceState::RequiresPruning {
            return true;
        }
        if let Some(live) = &r.live {
            let annotation = live
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(TRACKING_ANNOTATION))
                .and_then(|v| v.as_str());
            if r.state != ResourceState::Synced {
                held += 1;
            }
            if ownership(app, &r.key, annotation) != Ownership::Ours {
                return false;
            }
            r.state = ResourceState::Synced;
            r.diff.clear();
            return true;
        }
        if policy == CrdPolicy::Skip {
            held += 1;
            return false;
        }
        true
    });
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::helm::v2::Install;
    use serde_json::json;

    fn install(value: serde_json::Value) -> Install {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_are_create_on_install_and_skip_on_upgrade() {
        let p = CrdPolicies::of(None, None).unwrap();
        assert_eq!((p.install, p.upgrade), (CrdPolicy::Create, CrdPolicy::Skip));
        assert_eq!(p.for_action("install"), CrdPolicy::Create);
        assert_eq!(p.for_action("upgrade"), CrdPolicy::Skip);
    }

    #[test]
    fn explicit_policies_and_the_deprecated_skip_crds() {
        let i = install(json!({"crds": "CreateReplace"}));
        let u = json!({"crds": "Create", "remediation": {"retries": 3}});
        let p = CrdPolicies::of(Some(&i), Some(&u)).unwrap();
        assert_eq!(
            (p.install, p.upgrade),
            (CrdPolicy::CreateReplace, CrdPolicy::Create)
        );
        let skip = install(json!({"skipCRDs": true}));
        assert_eq!(
            CrdPolicies::of(Some(&skip), None).unwrap().install,
            CrdPolicy::Skip
        );
    }

    #[test]
    fn unknown_values_name_the_field() {
        let e = CrdPolicies::of(Some(&install(json!({"crds": "Replace"}))), None).unwrap_err();
        assert!(
            e.contains("spec.install.crds") && e.contains("\"Replace\""),
            "{e}"
        );
        let e = CrdPolicies::of(None, Some(&json!({"crds": true}))).unwrap_err();
        assert!(e.contains("spec.upgrade.crds"), "{e}");
    }
}
