//! Sync hooks as Argo CD defines them: which objects are hooks, of which
//! phases, with which delete policies, read from
//! `argocd.argoproj.io/hook` / `argocd.argoproj.io/hook-delete-policy` or
//! Helm's `helm.sh/hook` / `helm.sh/hook-delete-policy` / `helm.sh/hook-weight`
//! (Argo CD's mapping; the Argo CD annotation wins when both are set).
//!
//! Pure: no cluster. The engine applies hooks with `create` (never
//! server-side apply), keeps them out of the diff and the prune set, and
//! waits for them to finish (see [`crate::SyncEngine::sync`]).

use std::fmt;

use driftless_render::Object;

use crate::order::SYNC_WAVE_ANNOTATION;

/// Argo CD's hook annotation (comma-separated hook types).
pub const HOOK_ANNOTATION: &str = "argocd.argoproj.io/hook";
/// Argo CD's hook delete policy annotation (comma-separated).
pub const DELETE_POLICY_ANNOTATION: &str = "argocd.argoproj.io/hook-delete-policy";
/// Helm's hook annotation.
pub const HELM_HOOK_ANNOTATION: &str = "helm.sh/hook";
/// Helm's hook delete policy annotation.
pub const HELM_DELETE_POLICY_ANNOTATION: &str = "helm.sh/hook-delete-policy";
/// Helm's hook weight (a sync wave when no Argo CD wave is set).
pub const HELM_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// The label driftless puts on every hook instance it creates: a digest of
/// the Application and the hook's identity, so the instances of one hook
/// (including `generateName` ones) can be found and deleted.
pub const HOOK_INSTANCE_LABEL: &str = "driftless.io/hook-instance";
/// The annotation naming the Application and hook an instance belongs to
/// (`<app>:<group>/<kind>:<namespace>/<name or generateName>`).
pub const HOOK_OF_ANNOTATION: &str = "driftless.io/hook-of";

/// A hook type: when in the sync lifecycle the object is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookType {
    /// Before anything of the sync is applied.
    PreSync,
    /// With the ordinary objects, in their waves.
    Sync,
    /// After the sync phase is applied and healthy.
    PostSync,
    /// When the sync failed.
    SyncFail,
    /// Before the Application's resources are deleted.
    PreDelete,
    /// After the Application's resources are deleted.
    PostDelete,
    /// Never applied.
    Skip,
}

impl HookType {
    /// The type as Argo CD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreSync => "PreSync",
            Self::Sync => "Sync",
            Self::PostSync => "PostSync",
            Self::SyncFail => "SyncFail",
            Self::PreDelete => "PreDelete",
            Self::PostDelete => "PostDelete",
            Self::Skip => "Skip",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "PreSync" => Self::PreSync,
            "Sync" => Self::Sync,
            "PostSync" => Self::PostSync,
            "SyncFail" => Self::SyncFail,
            "PreDelete" => Self::PreDelete,
            "PostDelete" => Self::PostDelete,
            "Skip" => Self::Skip,
            _ => return None,
        })
    }

    /// Argo CD's mapping of a Helm hook; `Ok(None)` for Helm test hooks
    /// (never run by a sync).
    fn from_helm(raw: &str) -> Result<Option<Self>, ()> {
        Ok(Some(match raw {
            "pre-install" | "pre-upgrade" => Self::PreSync,
            "post-install" | "post-upgrade" => Self::PostSync,
            "pre-delete" => Self::PreDelete,
            "post-delete" => Self::PostDelete,
            "test" | "test-success" | "test-failure" => return Ok(None),
            // Rollback hooks never run: Argo CD does not roll back with Helm.
            "pre-rollback" | "post-rollback" => return Ok(None),
            _ => return Err(()),
        }))
    }
}

impl fmt::Display for HookType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a hook instance is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeletePolicy {
    /// The previous instance is deleted before a new one is created (the default).
    BeforeHookCreation,
    /// Deleted once it succeeded.
    HookSucceeded,
    /// Deleted once it failed.
    HookFailed,
}

impl DeletePolicy {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "BeforeHookCreation" | "before-hook-creation" => Self::BeforeHookCreation,
            "HookSucceeded" | "hook-succeeded" => Self::HookSucceeded,
            "HookFailed" | "hook-failed" => Self::HookFailed,
            _ => return None,
        })
    }
}

/// An annotation value that is not a known hook type or delete policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {annotation} value {value:?} is not {expected}; it is ignored")]
pub struct HookError {
    /// The object, as `Kind namespace/name`.
    pub object: String,
    /// The annotation.
    pub annotation: &'static str,
    /// The value that was not understood.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

/// How an object takes part in the sync lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookSpec {
    /// Its hook types, sorted (empty for a Helm test hook: never run).
    pub types: Vec<HookType>,
    /// Its delete policies ([`DeletePolicy::BeforeHookCreation`] when none is given).
    pub policies: Vec<DeletePolicy>,
}

impl HookSpec {
    /// Whether the object is of hook type `t`.
    pub fn is(&self, t: HookType) -> bool {
        self.types.contains(&t)
    }

    /// Whether the object is never applied (`Skip`, or a Helm hook no sync runs).
    pub fn skipped(&self) -> bool {
        self.types.is_empty() || self.is(HookType::Skip)
    }

    /// Whether the object has delete policy `p`.
    pub fn deletes_on(&self, p: DeletePolicy) -> bool {
        self.policies.contains(&p)
    }
}

fn object_name(obj: &Object) -> String {
    let name = if obj.name().is_empty() {
        generate_name(obj)
    } else {
        obj.name()
    };
    match obj.namespace() {
        Some(ns) => format!("{} {ns}/{name}", obj.kind()),
        None => format!("{} {name}", obj.kind()),
    }
}

/// `metadata.generateName`, or "".
pub fn generate_name(obj: &Object) -> &str {
    obj.0
        .get("metadata")
        .and_then(|m| m.get("generateName"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn split(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The hook spec of `obj`, `None` when it is an ordinary object; values
/// not understood are returned as errors (and ignored, as Argo CD does).
pub fn hook_of(obj: &Object) -> (Option<HookSpec>, Vec<HookError>) {
    let mut errors = Vec::new();
    let error = |annotation, value: &str, expected| HookError {
        object: object_name(obj),
        annotation,
        value: value.to_string(),
        expected,
    };
    let (mut types, policy_annotation) = if let Some(raw) = obj.annotation(HOOK_ANNOTATION) {
        let mut types = Vec::new();
        for v in split(raw) {
            match HookType::parse(v) {
                Some(t) => types.push(t),
                None => errors.push(error(HOOK_ANNOTATION, v, "a hook type")),
            }
        }
        if types.is_empty() {
            // Nothing understood: an ordinary object, as Argo CD treats it.
            return (None, errors);
        }
        (types, DELETE_POLICY_ANNOTATION)
    } else if let Some(raw) = obj.annotation(HELM_HOOK_ANNOTATION) {
        let mut types = Vec::new();
        for v in split(raw) {
            match HookType::from_helm(v) {
                Ok(Some(t)) => types.push(t),
                Ok(None) => {}
                Err(()) => errors.push(error(HELM_HOOK_ANNOTATION, v, "a Helm hook")),
            }
        }
        (types, HELM_DELETE_POLICY_ANNOTATION)
    } else {
        return (None, errors);
    };
    types.sort();
    types.dedup();
    let raw = obj
        .annotation(DELETE_POLICY_ANNOTATION)
        .or_else(|| obj.annotation(policy_annotation))
        .unwrap_or("");
    let mut policies = Vec::new();
    for v in split(raw) {
        match DeletePolicy::parse(v) {
            Some(p) if !policies.contains(&p) => policies.push(p),
            Some(_) => {}
            None => errors.push(error(policy_annotation, v, "a hook delete policy")),
        }
    }
    if policies.is_empty() {
        policies.push(DeletePolicy::BeforeHookCreation);
    }
    (Some(HookSpec { types, policies }), errors)
}

/// The wave of a hook: its Argo CD sync wave, else its Helm hook weight, else 0.
pub fn hook_wave(obj: &Object) -> Result<i64, String> {
    let (annotation, raw) = match obj.annotation(SYNC_WAVE_ANNOTATION) {
        Some(raw) => (SYNC_WAVE_ANNOTATION, raw),
        None => match obj.annotation(HELM_WEIGHT_ANNOTATION) {
            Some(raw) => (HELM_WEIGHT_ANNOTATION, raw),
            None => return Ok(0),
        },
    };
    raw.trim()
        .parse()
        .map_err(|_| format!("{annotation} {raw:?} is not an integer"))
}

/// The value of [`HOOK_INSTANCE_LABEL`] for the hook `hook` (its key with
/// the generateName prefix as name) of Application `app`: 16 hex digits of
/// a stable digest (label values are short; the full identity is in
/// [`HOOK_OF_ANNOTATION`]).
pub fn instance_label(hook_of: &str) -> String {
    // FNV-1a, 64 bits: stable across processes and releases.
    let digest = hook_of.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{digest:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: serde_json::Value) -> Object {
        Object::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ns", "annotations": annotations},
        }))
        .unwrap()
    }

    #[test]
    fn ordinary_objects_are_not_hooks() {
        assert_eq!(hook_of(&obj(json!({}))), (None, vec![]));
    }

    #[test]
    fn argo_hooks_with_several_types_and_the_default_policy() {
        let (spec, errors) = hook_of(&obj(json!({HOOK_ANNOTATION: "PostSync, PreSync"})));
        assert!(errors.is_empty());
        let spec = spec.unwrap();
        assert_eq!(spec.types, [HookType::PreSync, HookType::PostSync]);
        assert_eq!(spec.policies, [DeletePolicy::BeforeHookCreation]);
        assert!(!spec.skipped());
    }

    #[test]
    fn delete_policies_parse_and_unknown_values_are_named() {
        let (spec, errors) = hook_of(&obj(json!({
            HOOK_ANNOTATION: "PreSync,Later",
            DELETE_POLICY_ANNOTATION: "HookSucceeded,HookFailed,Never",
        })));
        let spec = spec.unwrap();
        assert_eq!(spec.types, [HookType::PreSync]);
        assert!(spec.deletes_on(DeletePolicy::HookSucceeded));
        assert!(spec.deletes_on(DeletePolicy::HookFailed));
        assert!(!spec.deletes_on(DeletePolicy::BeforeHookCreation));
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2);
        assert!(messages[0].contains("Job ns/migrate") && messages[0].contains("\"Later\""));
        assert!(messages[1].contains("\"Never\""));
    }

    #[test]
    fn a_hook_annotation_with_nothing_understood_is_an_ordinary_object() {
        let (spec, errors) = hook_of(&obj(json!({HOOK_ANNOTATION: "Whenever"})));
        assert_eq!(spec, None);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn helm_hooks_map_as_argo_cd_maps_them() {
        let (spec, errors) = hook_of(&obj(json!({
            HELM_HOOK_ANNOTATION: "pre-install,pre-upgrade,post-install",
            HELM_DELETE_POLICY_ANNOTATION: "before-hook-creation,hook-succeeded",
        })));
        assert!(errors.is_empty());
        let spec = spec.unwrap();
        assert_eq!(spec.types, [HookType::PreSync, HookType::PostSync]);
        assert_eq!(
            spec.policies,
            [
                DeletePolicy::BeforeHookCreation,
                DeletePolicy::HookSucceeded
            ]
        );
        let (delete, _) = hook_of(&obj(
            json!({HELM_HOOK_ANNOTATION: "pre-delete,post-delete"}),
        ));
        assert_eq!(
            delete.unwrap().types,
            [HookType::PreDelete, HookType::PostDelete]
        );
        let (test, errors) = hook_of(&obj(json!({HELM_HOOK_ANNOTATION: "test"})));
        assert!(test.unwrap().skipped(), "helm test hooks never run");
        assert!(errors.is_empty());
    }

    #[test]
    fn the_argo_cd_annotation_wins_over_helm() {
        let (spec, _) = hook_of(&obj(json!({
            HOOK_ANNOTATION: "Sync",
            HELM_HOOK_ANNOTATION: "pre-install",
        })));
        assert_eq!(spec.unwrap().types, [HookType::Sync]);
    }

    #[test]
    fn skip_is_skipped() {
        let (spec, _) = hook_of(&obj(json!({HOOK_ANNOTATION: "Skip"})));
        assert!(spec.unwrap().skipped());
    }

    #[test]
    fn hook_waves_fall_back_to_the_helm_weight() {
        assert_eq!(hook_wave(&obj(json!({}))), Ok(0));
        assert_eq!(
            hook_wave(&obj(json!({HELM_WEIGHT_ANNOTATION: "-5"}))),
            Ok(-5)
        );
        let both = obj(json!({HELM_WEIGHT_ANNOTATION: "-5", SYNC_WAVE_ANNOTATION: "3"}));
        assert_eq!(hook_wave(&both), Ok(3));
        let bad = hook_wave(&obj(json!({HELM_WEIGHT_ANNOTATION: "first"}))).unwrap_err();
        assert!(bad.contains("helm.sh/hook-weight") && bad.contains("first"));
    }

    #[test]
    fn instance_labels_are_stable_and_distinct() {
        let a = instance_label("app:batch/Job:ns/migrate-");
        assert_eq!(a, instance_label("app:batch/Job:ns/migrate-"));
        assert_eq!(a.len(), 16);
        assert_ne!(a, instance_label("other:batch/Job:ns/migrate-"));
    }
}
