//! What the engine is given ([`Target`]) and what it reports
//! ([`Comparison`], [`SyncResult`]).

use driftless_api::{
    HealthStatus, HealthStatusCode, ResourceIgnoreDifferences, ResourceResult, ResourceStatus,
    SyncOperationResource, SyncStatusCode,
};
use driftless_render::{Object, ObjectKey};
use kube::discovery::ApiResource;
use std::collections::HashMap;

use serde_json::Value;

use crate::discovery::Resolved;
use crate::hooks::{HookSpec, HookType};
use crate::options::SyncOptions;
use crate::order::{Phase, SortKey};
use crate::progress::{Progress, Stop};

/// What to compare and sync: one Application's destination and settings.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The Application's tracking name (written into the tracking annotation).
    pub app: String,
    /// `destination.namespace`: given to namespaced objects that name none.
    pub namespace: Option<String>,
    /// The Application's parsed sync options (see [`crate::parse_sync_options`]).
    pub options: SyncOptions,
    /// `spec.ignoreDifferences`.
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// Delete tracked objects that are no longer rendered.
    pub prune: bool,
    /// Allow a sync that prunes everything and applies nothing.
    pub allow_empty: bool,
    /// Report what a sync would do without writing.
    pub dry_run: bool,
    /// Sync only these resources (a partial sync); all when `None`.
    pub resources: Option<Vec<SyncOperationResource>>,
    /// The resources the Application managed last time (its
    /// `status.resources`): their kinds and namespaces are searched for
    /// objects to prune even when nothing of that kind is rendered any more.
    pub previous: Vec<ResourceStatus>,
    /// Where a sync reports what it waits for (a wave becoming healthy).
    pub progress: Progress,
    /// Run sync hooks as Argo CD does (`argocd.argoproj.io/hook`,
    /// `helm.sh/hook`): created in their phase, waited for, never diffed or
    /// pruned. When false (Flux), hook annotations only order objects.
    pub hooks: bool,
    /// Asks a running sync to stop (between waves and while one waits).
    pub stop: Stop,
    /// The apply that follows the comparison decides (Flux): an existing
    /// object whose comparison inputs changed since its last verdict is not
    /// dry-run but marked OutOfSync without a diff, and the sync applies
    /// it; when the server's answer keeps its resource version, nothing
    /// changed and it is reported unchanged. One request instead of a
    /// dry-run and an apply, for a caller that applies right after
    /// comparing and shows no diff (never for a preview or an Application,
    /// whose sync runs only when the diff says so).
    pub apply_decides: bool,
}

impl Target {
    /// Whether `key` is selected by [`Target::resources`].
    pub fn selects(&self, key: &ObjectKey) -> bool {
        self.resources.as_ref().is_none_or(|list| {
            list.iter().any(|r| {
                r.group == key.group
                    && r.kind == key.kind
                    && r.name == key.name
                    && r.namespace.as_deref().unwrap_or("") == key.namespace
            })
        })
    }
}

/// How a resource compares with Git.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceState {
    /// The live object matches Git.
    Synced,
    /// The live object differs from Git (or could not be compared: see `error`).
    OutOfSync,
    /// In Git, not in the cluster.
    Missing,
    /// In the cluster and tracked to this Application, no longer in Git.
    RequiresPruning,
}

/// One resource of a [`Comparison`].
#[derive(Clone, Debug)]
pub struct ResourceDiff {
    /// Group, kind, namespace, name (the namespace as applied).
    pub key: ObjectKey,
    /// The API version.
    pub version: String,
    /// How it compares.
    pub state: ResourceState,
    /// Why it could not be compared or will not apply (unknown kind, a
    /// refused dry-run, an immutable field, a shared resource with
    /// `FailOnSharedResource=true`, a bad sync wave).
    pub error: Option<String>,
    /// A unified diff from live to desired (Secret values redacted); empty when Synced.
    pub diff: String,
    /// The object to apply: namespace defaulted, tracking annotation set.
    pub desired: Option<Object>,
    /// The live object, when it exists.
    pub live: Option<Value>,
    /// The live object's health ([`crate::health::missing`] when it does not exist).
    pub health: HealthStatus,
    /// The sync phase.
    pub phase: Phase,
    /// The sync wave.
    pub wave: i64,
    /// The effective sync options (the Application's with the object's annotation over them).
    pub options: SyncOptions,
    /// The other Application that tracks this object, when one does.
    pub shared_with: Option<String>,
    pub(crate) resolved: Option<Resolved>,
    /// Applying is pointless (a bad sync wave, a shared resource with
    /// `FailOnSharedResource=true`): the sync fails it without a request.
    pub(crate) blocked: bool,
}

impl ResourceDiff {
    /// The sort key used for ordering (phase, wave, kind, namespace, name).
    pub fn sort_key(&self) -> SortKey {
        SortKey {
            phase: self.phase,
            wave: self.wave,
            kind_rank: crate::order::kind_rank(&self.key.group, &self.key.kind),
            kind: self.key.kind.clone(),
            namespace: self.key.namespace.clone(),
            name: self.key.name.clone(),
        }
    }

    /// The other Application that tracks this object, when the sync leaves
    /// the object to it: neither applied nor pruned here (with
    /// `FailOnSharedResource=true` the sync fails on it instead, and this is `None`).
    pub fn left_to(&self) -> Option<&str> {
        self.shared_with.as_deref().filter(|_| !self.blocked)
    }

    /// The sync status for `status.resources`.
    pub fn sync_status(&self) -> SyncStatusCode {
        match self.state {
            ResourceState::Synced => SyncStatusCode::Synced,
            _ => SyncStatusCode::OutOfSync,
        }
    }

    /// This resource as an entry of the Application's `status.resources`.
    pub fn to_status(&self) -> ResourceStatus {
        ResourceStatus {
            group: self.key.group.clone(),
            version: self.version.clone(),
            kind: self.key.kind.clone(),
            namespace: namespace_opt(&self.key.namespace),
            name: self.key.name.clone(),
            status: self.sync_status(),
            health: Some(self.health.clone()),
            requires_pruning: self.state == ResourceState::RequiresPruning,
            sync_wave: Some(self.wave),
        }
    }
}

/// A warning or error about the Application as a whole, for its conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The condition type (see [`driftless_api::condition`]).
    pub condition: &'static str,
    /// What is wrong, naming the object.
    pub message: String,
}

/// A kind the Application manages, for watches (self-heal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedKind {
    /// The API resource.
    pub resource: ApiResource,
    /// True when namespaced.
    pub namespaced: bool,
}

/// The result of [`crate::SyncEngine::diff`].
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// Every rendered resource, then every resource requiring pruning, in sync order.
    pub resources: Vec<ResourceDiff>,
    /// Warnings for the Application's conditions (shared resources, unknown sync options, ...).
    pub warnings: Vec<Warning>,
    /// The kinds the Application manages (rendered or tracked).
    pub managed_kinds: Vec<ManagedKind>,
    /// How many objects were rendered.
    pub rendered: usize,
    /// The sync hooks (when [`Target::hooks`]), in wave order: not part of
    /// the resources, the sync status or the prune set.
    pub hooks: Vec<Hook>,
    /// What the comparison read of the cluster, when it can tell later
    /// that none of it changed ([`crate::SyncEngine::unchanged_since`]).
    pub stamp: Option<crate::stamp::LiveStamp>,
}

/// A sync hook: an object the sync creates (never server-side applies) in
/// the phases it names, and waits for.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Group, kind, namespace, and the name (or the `generateName` prefix).
    pub key: ObjectKey,
    /// The API version.
    pub version: String,
    /// Its hook types and delete policies.
    pub spec: HookSpec,
    /// Its wave (sync wave, else Helm hook weight).
    pub wave: i64,
    /// True when the name is generated by the server (`generateName`).
    pub generated: bool,
    /// The object to create: namespace defaulted, instance label and
    /// annotations set.
    pub object: Object,
    /// Why it cannot be created (a bad wave).
    pub error: Option<String>,
    pub(crate) resolved: Option<Resolved>,
}

impl Comparison {
    /// Synced when every resource is Synced (and none requires pruning).
    pub fn sync_status(&self) -> SyncStatusCode {
        if self
            .resources
            .iter()
            .all(|r| r.state == ResourceState::Synced)
        {
            SyncStatusCode::Synced
        } else {
            SyncStatusCode::OutOfSync
        }
    }

    /// The worst health of the rendered resources (those requiring pruning
    /// do not count), with the message of the worst one naming it.
    pub fn health(&self) -> HealthStatus {
        let worst = self
            .resources
            .iter()
            .filter(|r| r.state != ResourceState::RequiresPruning)
            .max_by_key(|r| r.health.status);
        match worst {
            None => HealthStatus {
                status: HealthStatusCode::Healthy,
                message: None,
            },
            Some(r) if r.health.status == HealthStatusCode::Healthy => HealthStatus {
                status: HealthStatusCode::Healthy,
                message: None,
            },
            Some(r) => HealthStatus {
                status: r.health.status,
                message: Some(match &r.health.message {
                    Some(m) => format!("{}: {m}", r.key),
                    None => r.key.to_string(),
                }),
            },
        }
    }

    /// Every resource as `status.resources` entries.
    pub fn resource_statuses(&self) -> Vec<ResourceStatus> {
        self.resources.iter().map(ResourceDiff::to_status).collect()
    }

    /// The resources that are not Synced.
    pub fn out_of_sync(&self) -> impl Iterator<Item = &ResourceDiff> {
        self.resources
            .iter()
            .filter(|r| r.state != ResourceState::Synced)
    }

    /// The unified diffs of every resource that differs, one after the other.
    pub fn diff_text(&self) -> String {
        self.resources.iter().map(|r| r.diff.as_str()).collect()
    }
}

/// What a sync did to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Created (it was Missing).
    Created,
    /// Changed (it was OutOfSync).
    Configured,
    /// Deleted and created again (an immutable field changed, with `Replace=true`/`Force=true`).
    Replaced,
    /// Left alone (it was Synced).
    Unchanged,
    /// Deleted (no longer in Git).
    Pruned,
    /// Not deleted although no longer in Git (prune off, or `Prune=false`).
    PruneSkipped,
    /// Not applied because an earlier step failed.
    Skipped,
    /// The write failed (see the message).
    Failed,
}

impl Action {
    /// The word Argo CD's result uses for the resource's status.
    pub fn result_status(self) -> &'static str {
        match self {
            Action::Created | Action::Configured | Action::Replaced | Action::Unchanged => "Synced",
            Action::Pruned => "Pruned",
            Action::PruneSkipped => "PruneSkipped",
            Action::Skipped | Action::Failed => "SyncFailed",
        }
    }

    /// A lower-case word for messages ("created", "pruned").
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Replaced => "replaced",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
            Action::PruneSkipped => "prune skipped",
            Action::Skipped => "skipped",
            Action::Failed => "failed",
        }
    }
}

/// What a sync did to one resource, with a message.
#[derive(Clone, Debug)]
pub struct ResourceOutcome {
    /// The resource.
    pub key: ObjectKey,
    /// Its API version.
    pub version: String,
    /// What was done.
    pub action: Action,
    /// Details ("created", the API server's error, why pruning was skipped).
    pub message: String,
    /// The phase.
    pub phase: Phase,
    /// The wave.
    pub wave: i64,
    /// For a hook: its type in this phase and how it ended.
    pub hook: Option<(HookType, HookPhase)>,
}

/// How a hook instance ended, as Argo CD's `hookPhase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookPhase {
    /// Still running (the sync stopped before it finished).
    Running,
    /// Completed (a Job completed, a Pod succeeded, another kind became healthy).
    Succeeded,
    /// Failed, or was stopped by a terminate.
    Failed,
}

impl HookPhase {
    /// The phase as Argo CD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

impl ResourceOutcome {
    /// This outcome as an entry of `status.operationState.syncResult.resources`.
    pub fn to_result(&self) -> ResourceResult {
        ResourceResult {
            group: self.key.group.clone(),
            version: self.version.clone(),
            kind: self.key.kind.clone(),
            namespace: namespace_opt(&self.key.namespace),
            name: self.key.name.clone(),
            status: Some(self.action.result_status().to_string()),
            message: Some(self.message.clone()),
            sync_phase: Some(self.phase.as_str().to_string()),
            hook_type: self.hook.map(|(t, _)| t.as_str().to_string()),
            hook_phase: self.hook.map(|(_, p)| p.as_str().to_string()),
        }
    }
}

/// The result of [`crate::SyncEngine::sync`].
#[derive(Clone, Debug, Default)]
pub struct SyncResult {
    /// Every resource considered, in the order handled.
    pub resources: Vec<ResourceOutcome>,
    /// True when every write succeeded and every wave became healthy.
    pub succeeded: bool,
    /// A summary for `status.operationState.message`.
    pub message: String,
    /// How many write requests were made (applies, deletes).
    pub writes: usize,
    /// True when the sync stopped because [`Target::stop`] was requested.
    pub terminated: bool,
    /// What the server answered to each apply: the live objects right
    /// after the sync ([`crate::SyncEngine::diff_after_sync`]).
    pub(crate) applied: HashMap<ObjectKey, Value>,
}

impl SyncResult {
    /// The objects this sync pruned, as `Kind ns/name` strings.
    pub fn pruned(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|o| o.action == Action::Pruned)
            .map(|o| o.key.to_string())
            .collect()
    }

    /// Every outcome as `syncResult.resources` entries.
    pub fn resource_results(&self) -> Vec<ResourceResult> {
        self.resources
            .iter()
            .map(ResourceOutcome::to_result)
            .collect()
    }

    /// The outcome for `key`, if it was considered.
    pub fn outcome(&self, key: &ObjectKey) -> Option<&ResourceOutcome> {
        self.resources.iter().find(|r| r.key == *key)
    }
}

fn namespace_opt(ns: &str) -> Option<String> {
    (!ns.is_empty()).then(|| ns.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::HealthStatusCode;

    fn diff(name: &str, state: ResourceState, health: HealthStatusCode) -> ResourceDiff {
        ResourceDiff {
            key: ObjectKey {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "ns".into(),
                name: name.into(),
            },
            version: "v1".into(),
            state,
            error: None,
            diff: String::new(),
            desired: None,
            live: None,
            health: HealthStatus {
                status: health,
                message: Some(format!("{name} says so")),
            },
            phase: Phase::Sync,
            wave: 0,
            options: SyncOptions::default(),
            shared_with: None,
            resolved: None,
            blocked: false,
        }
    }

    #[test]
    fn aggregates_sync_status_and_worst_health() {
        use HealthStatusCode::*;
        let mut cmp = Comparison {
            resources: vec![
                diff("a", ResourceState::Synced, Healthy),
                diff("b", ResourceState::Synced, Progressing),
                diff("gone", ResourceState::RequiresPruning, Degraded),
            ],
            ..Comparison::default()
        };
        assert_eq!(cmp.sync_status(), SyncStatusCode::OutOfSync);
        let health = cmp.health();
        assert_eq!(
            health.status, Progressing,
            "pruning candidates do not count"
        );
        assert_eq!(
            health.message.as_deref(),
            Some("Deployment.apps ns/b: b says so")
        );
        cmp.resources.pop();
        assert_eq!(cmp.sync_status(), SyncStatusCode::Synced);
        let statuses = cmp.resource_statuses();
        assert_eq!(statuses[0].namespace.as_deref(), Some("ns"));
        assert_eq!(
            statuses[1].health.as_ref().map(|h| h.status),
            Some(Progressing)
        );
        assert_eq!(Comparison::default().health().status, Healthy);
    }

    #[test]
    fn partial_sync_selection() {
        let key = diff("a", ResourceState::Synced, HealthStatusCode::Healthy).key;
        let mut target = Target::default();
        assert!(target.selects(&key));
        target.resources = Some(vec![SyncOperationResource {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: "a".into(),
            namespace: Some("ns".into()),
        }]);
        assert!(target.selects(&key));
        let other = ObjectKey {
            name: "b".into(),
            ..key
        };
        assert!(!target.selects(&other));
    }

    #[test]
    fn outcomes_map_to_argo_cd_result_words() {
        assert_eq!(Action::Created.result_status(), "Synced");
        assert_eq!(Action::Pruned.result_status(), "Pruned");
        assert_eq!(Action::PruneSkipped.result_status(), "PruneSkipped");
        assert_eq!(Action::Failed.result_status(), "SyncFailed");
        let o = ResourceOutcome {
            key: ObjectKey {
                group: String::new(),
                kind: "Namespace".into(),
                namespace: String::new(),
                name: "dev".into(),
            },
            version: "v1".into(),
            action: Action::Configured,
            message: "configured".into(),
            phase: Phase::Sync,
            wave: -1,
            hook: None,
        };
        let r = o.to_result();
        assert_eq!((r.namespace, r.sync_phase.as_deref()), (None, Some("Sync")));
    }
}
