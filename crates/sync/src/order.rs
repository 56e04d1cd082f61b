//! The order objects are applied in: phase, then sync wave, then kind, then
//! name. Pruning runs in the reverse order.

use driftless_render::Object;

/// The annotation holding an object's sync wave (an integer, default 0).
pub const SYNC_WAVE_ANNOTATION: &str = "argocd.argoproj.io/sync-wave";
/// The annotation marking an object as a hook of a sync phase.
pub const HOOK_ANNOTATION: &str = "argocd.argoproj.io/hook";

/// The phase of a sync an object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the main sync (`hook: PreSync`).
    PreSync,
    /// The main sync: every object that is not a hook.
    Sync,
    /// After the main sync succeeded (`hook: PostSync`).
    PostSync,
    /// After a sync failed (`hook: SyncFail`; only hooks run in it).
    SyncFail,
}

impl Phase {
    /// The phase as Argo CD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreSync => "PreSync",
            Self::Sync => "Sync",
            Self::PostSync => "PostSync",
            Self::SyncFail => "SyncFail",
        }
    }
}

/// The phase of `obj`, from its hook annotation. `Skip` and `SyncFail`
/// hooks (and unknown values) give `None`: such objects are not applied.
pub fn phase(obj: &Object) -> Option<Phase> {
    let Some(hooks) = obj.annotation(HOOK_ANNOTATION) else {
        return Some(Phase::Sync);
    };
    // A hook may name several phases; the earliest wins.
    hooks
        .split(',')
        .filter_map(|h| match h.trim() {
            "PreSync" => Some(Phase::PreSync),
            "Sync" => Some(Phase::Sync),
            "PostSync" => Some(Phase::PostSync),
            _ => None,
        })
        .min()
}

/// The sync wave of `obj`: its annotation, 0 when absent. An annotation that
/// is not an integer is an error message naming the value.
pub fn wave(obj: &Object) -> Result<i64, String> {
    match obj.annotation(SYNC_WAVE_ANNOTATION) {
        None => Ok(0),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("sync wave {raw:?} is not an integer")),
    }
}

/// Kinds in the order they are applied within a wave (group, kind). Kinds
/// not listed come after all of these.
const KIND_ORDER: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("", "ServiceAccount"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("storage.k8s.io", "StorageClass"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("", "Pod"),
    ("apps", "ReplicaSet"),
    ("apps", "Deployment"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "Ingress"),
    ("apiregistration.k8s.io", "APIService"),
];

/// The rank of a kind within a wave: its place in the kind order, or one
/// past the end for other kinds. The group is matched loosely for kinds
/// that moved group (e.g. `extensions` Ingress).
pub fn kind_rank(group: &str, kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|(g, k)| *k == kind && (*g == group || is_builtin_group(group)))
        .unwrap_or(KIND_ORDER.len())
}

fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// The full sort key of an object: phase, wave, kind rank, kind, namespace, name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey {
    /// The phase.
    pub phase: Phase,
    /// The sync wave.
    pub wave: i64,
    /// The kind's rank ([`kind_rank`]).
    pub kind_rank: usize,
    /// The kind (orders other kinds among themselves).
    pub kind: String,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl SortKey {
    /// The sort key of an object in `phase` and `wave`.
    pub fn new(obj: &Object, phase: Phase, wave: i64) -> Self {
        SortKey {
            phase,
            wave,
            kind_rank: kind_rank(obj.group(), obj.kind()),
            kind: obj.kind().to_string(),
            namespace: obj.namespace().unwrap_or("").to_string(),
            name: obj.name().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api_version: &str, kind: &str, name: &str, annotations: serde_json::Value) -> Object {
        Object::from_value(json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "annotations": annotations},
        }))
        .unwrap()
    }

    #[test]
    fn waves_parse() {
        assert_eq!(wave(&obj("v1", "ConfigMap", "a", json!({}))), Ok(0));
        let neg = obj("v1", "ConfigMap", "a", json!({SYNC_WAVE_ANNOTATION: "-2"}));
        assert_eq!(wave(&neg), Ok(-2));
        let bad = obj(
            "v1",
            "ConfigMap",
            "a",
            json!({SYNC_WAVE_ANNOTATION: "soon"}),
        );
        assert!(wave(&bad).unwrap_err().contains("soon"));
    }

    #[test]
    fn phases_from_hooks() {
        let plain = obj("v1", "ConfigMap", "a", json!({}));
        assert_eq!(phase(&plain), Some(Phase::Sync));
        let pre = obj(
            "batch/v1",
            "Job",
            "a",
            json!({HOOK_ANNOTATION: "PostSync,PreSync"}),
        );
        assert_eq!(phase(&pre), Some(Phase::PreSync));
        let skip = obj("v1", "ConfigMap", "a", json!({HOOK_ANNOTATION: "Skip"}));
        assert_eq!(phase(&skip), None);
    }

    #[test]
    fn kind_order_is_the_documented_one() {
        assert!(kind_rank("", "Namespace") < kind_rank("", "ServiceAccount"));
        assert!(
            kind_rank("apiextensions.k8s.io", "CustomResourceDefinition")
                < kind_rank("apps", "Deployment")
        );
        assert!(kind_rank("apps", "Deployment") < kind_rank("batch", "Job"));
        assert_eq!(kind_rank("example.com", "Widget"), KIND_ORDER.len());
        // A custom kind that happens to be called Service is not a core Service.
        assert_eq!(
            kind_rank("serving.knative.dev", "Service"),
            KIND_ORDER.len()
        );
        assert_eq!(
            kind_rank("extensions", "Ingress"),
            kind_rank("networking.k8s.io", "Ingress")
        );
    }

    #[test]
    fn sorts_by_phase_wave_kind_name() {
        let mut objs = [
            obj("apps/v1", "Deployment", "b", json!({})),
            obj("apps/v1", "Deployment", "a", json!({})),
            obj("v1", "ConfigMap", "z", json!({SYNC_WAVE_ANNOTATION: "1"})),
            obj("v1", "Namespace", "n", json!({})),
            obj("example.com/v1", "Widget", "w", json!({})),
            obj(
                "batch/v1",
                "Job",
                "pre",
                json!({HOOK_ANNOTATION: "PreSync"}),
            ),
            obj("v1", "Secret", "s", json!({SYNC_WAVE_ANNOTATION: "-1"})),
        ];
        objs.sort_by_key(|o| SortKey::new(o, phase(o).unwrap(), wave(o).unwrap()));
        let names: Vec<_> = objs.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["pre", "s", "n", "a", "b", "w", "z"]);
    }
}
