//! [`SyncEngine::diff`]: the live objects are fetched by name (the rendered
//! ones, the previous ones and those the tracked-object index names; right
//! after a sync, not those the index still shows at the resource version
//! the sync's apply returned), every
//! rendered object that exists is dry-run applied (unless the same desired
//! object was found in sync with the same live resource version before),
//! and the prediction is compared with the live object. Nothing is written.

use std::collections::{BTreeMap, HashMap, HashSet};

use driftless_api::{ResourceIgnoreDifferences, condition};
use driftless_render::{Object, ObjectKey};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use super::SyncEngine;
use super::prepare::Prepared;
use crate::discovery::Resolved;
use crate::error::SyncError;
use crate::index::{ScopeKey, Seen};
use crate::model::{
    Comparison, ManagedKind, ResourceDiff, ResourceState, SyncResult, Target, Warning,
};
use crate::stamp::{LiveStamp, StampBuilder};
use crate::tracking::{Ownership, TRACKING_ANNOTATION, ownership};
use crate::{health, ignore, kubeapi, normalize, order, path, rejections, text, verdicts};

/// A scope, and the (namespace, name) of the owner's objects in it.
type TrackedIn = (ScopeKey, Resolved, Vec<(String, String)>);

/// What a diff knows of a rendered object that exists.
enum Prediction {
    /// A server-side dry-run's result, and the fingerprint of the
    /// comparison's inputs (for [`crate::verdicts::Verdicts`]).
    DryRun(Result<Value, String>, Option<u64>),
    /// The same inputs were compared before and found in sync.
    KnownSynced,
    /// Not compared: the apply that follows decides ([`Target::apply_decides`]).
    Unverified,
}

/// `metadata.resourceVersion` of `obj`.
pub(super) fn resource_version(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

fn has_controller_owner(live: &Value) -> bool {
    live.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        })
}

/// Removes what `rules` say to ignore from `doc`; `live` supplies managedFields.
pub(crate) fn strip_ignored(
    rules: &[&ResourceIgnoreDifferences],
    live: &Value,
    doc: &mut Value,
    errors: &mut Vec<String>,
) {
    if rules.is_empty() {
        return;
    }
    let managers: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.managed_fields_managers.iter().map(String::as_str))
        .collect();
    let mut paths = ignore::managed_paths(live, doc, &managers);
    let (found, errs) = ignore::paths(rules, doc);
    paths.extend(found);
    errors.extend(errs);
    path::remove_all(doc, paths);
}

/// What is said about `key`, tracked by `other` (an Application or a
/// Kustomization, by tracking name): it is
/// never taken over; with `FailOnSharedResource=true` the sync fails on it.
fn shared_message(key: &ObjectKey, other: &str, fail: bool) -> String {
    let owner = crate::tracking::describe_owner(other);
    if fail {
        format!("{key} is tracked by {owner}; FailOnSharedResource=true fails the sync")
    } else {
        format!("{key} is tracked by {owner}; it is left to its owner (not applied, not pruned)")
    }
}

/// Compares a dry-run prediction with the live object: equal after
/// normalization and ignoreDifferences, and the unified diff.
fn compare(
    key: &ObjectKey,
    rules: &[&ResourceIgnoreDifferences],
    live: &Value,
    predicted: &Value,
    errors: &mut Vec<String>,
) -> (bool, String) {
    let mut old = live.clone();
    let mut new = predicted.clone();
    strip_ignored(rules, live, &mut old, errors);
    strip_ignored(rules, live, &mut new, errors);
    normalize::for_diff(&mut old);
    normalize::for_diff(&mut new);
    if old == new {
        return (true, String::new());
    }
    text::redact_secrets(Some(&mut old), Some(&mut new));
    (
        false,
        text::unified(&key.to_string(), Some(&old), Some(&new)),
    )
}

impl SyncEngine {
    /// Compares `desired` (as rendered) with the cluster for `target`,
    /// without writing. Per-object problems (unknown kinds, refused
    /// dry-runs) are reported on the resource; an error is returned only
    /// when the comparison as a whole failed (discovery, listing, an object
    /// rendered twice or without a name).
    pub async fn diff(
        &self,
        target: &Target,
        desired: Vec<Object>,
    ) -> Result<Comparison, SyncError> {
        self.diff_knowing(target, desired, &HashMap::new()).await
    }

    /// [`SyncEngine::diff`] right after `result` (a sync of the same
    /// `target`): what its applies returned are the live objects, unless
    /// the tracked-object index has seen them change since (so what was just
    /// applied is neither read again nor dry-run again).
    pub async fn diff_after_sync(
        &self,
        target: &Target,
        desired: Vec<Object>,
        result: &SyncResult,
    ) -> Result<Comparison, SyncError> {
        self.diff_knowing(target, desired, &result.applied).await
    }

    /// A diff that takes the objects of `known` (each at its resource
    /// version) as live while the index shows them at that version.
    #[tracing::instrument(skip_all, fields(app = %target.app, objects = desired.len()))]
    async fn diff_knowing(
        &self,
        target: &Target,
        desired: Vec<Object>,
        known: &HashMap<ObjectKey, Value>,
    ) -> Result<Comparison, SyncError> {
        let rendered = desired.len();
        let mut warnings = Vec::new();
        let (prepared, hooks) = self.prepare(target, desired, &mut warnings).await?;

        let scopes = self.list_scopes(target, &prepared).await?;
        let (mut live, stamp) = self.fetch_live(target, &prepared, &scopes, known).await?;
        let managed_kinds = managed_kinds(&scopes);

        let mut ignore_errors = Vec::new();
        // Hooks are never pruned, not even an instance tracked before they
        // were run as hooks.
        let desired_keys: HashSet<ObjectKey> = prepared
            .iter()
            .map(|p| p.key.clone())
            .chain(hooks.iter().map(|h| h.key.clone()))
            .collect();
        let predictions: Vec<(Prepared, Option<Prediction>, Option<Value>)> =
            stream::iter(prepared)
                .map(|p| async {
                    let live_obj = live.get(&p.key);
                    match (&p.resolved, live_obj) {
                        (Some(resolved), Some(l)) => {
                            let rules = ignore::matching(&target.ignore_differences, &p.key);
                            let print = verdicts::fingerprint(&p.obj, l, &rules);
                            if print.is_some_and(|f| self.verdicts.is_synced(&p.key, f)) {
                                (p, Some(Prediction::KnownSynced), None)
                            } else if target.apply_decides {
                                (p, Some(Prediction::Unverified), None)
                            } else {
                                let (predicted, seen) =
                                    self.consistent_dry_run(&p, resolved, l, print).await;
                                (p, Some(Prediction::DryRun(predicted, print)), seen)
                            }
                        }
                        _ => (p, None, None),
                    }
                })
                .buffered(self.concurrency)
                .collect()
                .await;

        let mut resources = Vec::with_capacity(predictions.len());
        for (p, prediction, seen) in predictions {
            // Taken, not copied: what stays in `live` are the prune candidates.
            let taken = live.remove(&p.key);
            let live_obj = seen.or(taken);
            let rules = ignore::matching(&target.ignore_differences, &p.key);
            let mut error = p.blocking.clone().or(p.problem.clone());
            let mut shared_with = None;
            if let Some(l) = &live_obj {
                let annotation = l
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(TRACKING_ANNOTATION))
                    .and_then(Value::as_str);
                if let Ownership::OtherApp(other) = ownership(&target.app, &p.key, annotation) {
                    let message =
                        shared_message(&p.key, &other, p.options.fails_on_shared_resource());
                    if p.options.fails_on_shared_resource() {
                        error = Some(message.clone());
                    }
                    warnings.push(Warning {
                        condition: condition::SHARED_RESOURCE_WARNING,
                        message,
                    });
                    shared_with = Some(other);
                }
            }
            let (state, diff) = match (&live_obj, prediction) {
                (None, _) => {
                    let mut new = p.obj.clone().into_value();
                    normalize::for_diff(&mut new);
                    text::redact_secrets(None, Some(&mut new));
                    (
                        ResourceState::Missing,
                        text::unified(&p.key.to_string(), None, Some(&new)),
                    )
                }
                (Some(_), None) => (ResourceState::OutOfSync, String::new()),
                (Some(_), Some(Prediction::DryRun(Err(e), _))) => {
                    self.verdicts.record(&p.key, None, false);
                    error.get_or_insert(e);
                    (ResourceState::OutOfSync, String::new())
                }
                (Some(_), Some(Prediction::KnownSynced)) if shared_with.is_none() => {
                    (ResourceState::Synced, String::new())
                }
                (Some(_), Some(Prediction::KnownSynced | Prediction::Unverified)) => {
                    (ResourceState::OutOfSync, String::new())
                }
                (Some(l), Some(Prediction::DryRun(Ok(predicted), print))) => {
                    let errors_before = ignore_errors.len();
                    let (equal, diff) = compare(&p.key, &rules, l, &predicted, &mut ignore_errors);
                    let synced = equal && shared_with.is_none();
                    let clean = error.is_none() && ignore_errors.len() == errors_before;
                    self.verdicts.record(&p.key, print, synced && clean);
                    let state = if synced {
                        ResourceState::Synced
                    } else {
                        ResourceState::OutOfSync
                    };
                    (state, diff)
                }
            };
            let blocked = p.blocking.is_some() || (shared_with.is_some() && error.is_some());
            resources.push(ResourceDiff {
                health: live_obj
                    .as_ref()
                    .map_or_else(health::missing, health::assess),
                key: p.key,
                version: p.version,
                state,
                error,
                diff,
                desired: Some(p.obj),
                live: live_obj,
                phase: p.phase,
                wave: p.wave,
                options: p.options,
                shared_with,
                resolved: p.resolved,
                blocked,
            });
        }

        resources.extend(self.prune_candidates(target, &live, &desired_keys, &scopes));
        resources.sort_by_key(ResourceDiff::sort_key);
        ignore_errors.sort();
        ignore_errors.dedup();
        warnings.extend(ignore_errors.into_iter().map(|message| Warning {
            condition: condition::COMPARISON_ERROR,
            message,
        }));
        Ok(Comparison {
            resources,
            warnings,
            managed_kinds,
            rendered,
            hooks,
            stamp,
        })
    }

    /// Whether nothing a comparison read has changed since it was made
    /// ([`Comparison::stamp`]), as far as the tracked-object index knows
    /// (a few milliseconds behind the server, as a comparison that reads
    /// through the live cache is): every object at the version compared,
    /// the same objects naming `app`. Comparing the same desired objects
    /// for the same target again would then give the same result.
    pub fn unchanged_since(&self, app: &str, stamp: &LiveStamp) -> bool {
        stamp.holds(&self.index, app)
    }

    /// A dry-run of `p` that is compared with the live object it was
    /// applied to: when the object changed between the read and the dry-run
    /// (another controller wrote it), the object is read again and the
    /// dry-run repeated, a bounded number of times. Otherwise a field the
    /// other writer just added would show as a difference and trigger a
    /// needless self-heal. Returns the prediction and, when the object was
    /// read again, the live object it belongs to.
    async fn consistent_dry_run(
        &self,
        p: &Prepared,
        resolved: &Resolved,
        live: &Value,
        print: Option<u64>,
    ) -> (Result<Value, String>, Option<Value>) {
        const ATTEMPTS: usize = 3;
        let mut seen: Option<Value> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let predicted = self.dry_run(p, resolved, print).await;
            let current = seen.as_ref().unwrap_or(live);
            let consistent = predicted
                .as_ref()
                .map_or(true, |v| resource_version(v) == resource_version(current));
            if consistent || attempt == ATTEMPTS {
                return (predicted, seen);
            }
            let api = kubeapi::api(&self.client, resolved, &p.key.namespace);
            match api.get_opt(&p.key.name).await {
                Ok(Some(obj)) => seen = Some(kubeapi::to_value(obj, resolved)),
                // Deleted meanwhile, or unreadable: compare with what was read first.
                _ => return (predicted, seen),
            }
        }
    }

    /// A server-side dry-run of `p`, unless the same request (`print`) was
    /// refused as invalid or too large before ([`crate::rejections`]).
    async fn dry_run(
        &self,
        p: &Prepared,
        resolved: &Resolved,
        print: Option<u64>,
    ) -> Result<Value, String> {
        if let Some(message) = print.and_then(|f| self.rejections.get(&p.key, f)) {
            return Err(message);
        }
        let api = kubeapi::api(&self.client, resolved, &p.key.namespace);
        let params = kubeapi::apply_params(&self.field_manager, true, p.options.validates());
        let body = Value::Object(p.obj.0.clone());
        let result = kubeapi::apply(&api, resolved, &p.key.name, &body, &params).await;
        match result {
            Ok(predicted) => {
                self.rejections.forget(&p.key);
                Ok(predicted)
            }
            Err(e) => {
                let message = format!("{}: dry-run apply refused: {}", p.key, kubeapi::message(&e));
                if let Some(f) =
                    print.filter(|_| rejections::is_permanent(kubeapi::status_code(&e)))
                {
                    self.rejections.record(&p.key, f, &message);
                }
                Err(message)
            }
        }
    }

    /// The (kind, namespace) pairs searched for tracked objects: those
    /// rendered and those managed last time. A `None` namespace means a
    /// cluster-scoped kind (or all namespaces).
    async fn list_scopes(
        &self,
        target: &Target,
        prepared: &[Prepared],
    ) -> Result<BTreeMap<ScopeKey, Resolved>, SyncError> {
        let mut scopes = BTreeMap::new();
        let mut add = |r: &Resolved, ns: &str| {
            let ns = (r.namespaced && !ns.is_empty()).then(|| ns.to_string());
            let res = &r.resource;
            scopes.insert(
                (res.group.clone(), res.version.clone(), res.kind.clone(), ns),
                r.clone(),
            );
        };
        for p in prepared {
            if let Some(r) = &p.resolved {
                add(r, &p.key.namespace);
            }
        }
        for prev in &target.previous {
            // A kind rendered now is listed in the version rendered now only,
            // so the live object compares with a dry-run of the same version.
            let prev_ns = prev.namespace.as_deref().unwrap_or("");
            let rendered = prepared.iter().any(|p| {
                p.key.group == prev.group && p.key.kind == prev.kind && p.key.namespace == prev_ns
            });
            if rendered {
                continue;
            }
            if let Some(r) = self
                .catalog
                .resolve(&prev.group, &prev.version, &prev.kind)
                .await?
            {
                add(&r, prev.namespace.as_deref().unwrap_or(""));
            }
        }
        Ok(scopes)
    }

    /// The live objects a diff needs, each fetched by name (bounded
    /// concurrency): every rendered object, every object of a scope whose
    /// tracking annotation names the Application (found through the shared
    /// [`crate::index::TrackedIndex`], not by listing the kind), and every
    /// previous resource that is no longer rendered.
    async fn fetch_live(
        &self,
        target: &Target,
        prepared: &[Prepared],
        scopes: &BTreeMap<ScopeKey, Resolved>,
        known: &HashMap<ObjectKey, Value>,
    ) -> Result<(HashMap<ObjectKey, Value>, Option<LiveStamp>), SyncError> {
        let mut stamp = StampBuilder::default();
        if prepared
            .iter()
            .any(|p| p.resolved.is_none() || p.problem.is_some() || p.blocking.is_some())
        {
            stamp.spoil();
        }
        let mut wanted: HashMap<ObjectKey, Resolved> = prepared
            .iter()
            .filter_map(|p| Some((p.key.clone(), p.resolved.clone()?)))
            .collect();

        // Owned items: a closure over borrowed ones cannot be proven `Send`.
        let owned: Vec<(ScopeKey, Resolved)> =
            scopes.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
        let tracked: Vec<TrackedIn> = stream::iter(owned)
            .map(|(scope, resolved)| async move {
                let ids = self.index.tracked(&scope, &resolved, &target.app).await?;
                Ok::<_, SyncError>((scope, resolved, ids))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        for (scope, resolved, ids) in tracked {
            stamp.scope(&scope, &resolved, &ids);
            for (namespace, name) in ids {
                let res = &resolved.resource;
                let key = ObjectKey {
                    group: res.group.clone(),
                    kind: res.kind.clone(),
                    namespace,
                    name,
                };
                wanted.entry(key).or_insert_with(|| resolved.clone());
            }
        }
        for prev in &target.previous {
            let key = ObjectKey {
                group: prev.group.clone(),
                kind: prev.kind.clone(),
                namespace: prev.namespace.clone().unwrap_or_default(),
                name: prev.name.clone(),
            };
            if !wanted.contains_key(&key)
                && let Some(resolved) = scope_of(scopes, &key)
            {
                wanted.insert(key, resolved.clone());
            }
        }

        let considered: Vec<ObjectKey> = wanted.keys().cloned().collect();
        let fetched: Vec<Option<(ObjectKey, Value)>> = stream::iter(wanted)
            .map(|(key, resolved)| async move {
                let found = self.read_live(&key, &resolved, known.get(&key)).await?;
                Ok::<_, SyncError>(found.map(|obj| (key, obj)))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let live: HashMap<ObjectKey, Value> = fetched.into_iter().flatten().collect();
        for key in &considered {
            let scope = scope_entry(scopes, key).map(|(k, _)| k);
            stamp.object(scope, key, live.get(key));
        }
        Ok((live, stamp.finish()))
    }

    /// The live object `key`: `known` (what an apply just returned), or the
    /// one kept by the live cache, while the tracked-object index shows the
    /// object at its resource version; with the live cache on, nothing when
    /// the index has not seen the object (a sync creates it only if it
    /// still does not exist: [`crate::engine::apply`]); otherwise read from
    /// the server.
    async fn read_live(
        &self,
        key: &ObjectKey,
        resolved: &Resolved,
        known: Option<&Value>,
    ) -> Result<Option<Value>, SyncError> {
        let current = self.index.lookup(resolved, &key.namespace, &key.name);
        if let Some(obj) = known {
            let version = resource_version(obj).and_then(|v| v.parse::<u64>().ok());
            if version.is_some_and(|v| current == Seen::At(v)) {
                return Ok(Some(obj.clone()));
            }
        }
        if let Some(live) = &self.live {
            match current {
                Seen::Absent => return Ok(None),
                Seen::At(version) => {
                    if let Some(obj) = live.at(key, version) {
                        return Ok(Some(obj));
                    }
                }
                Seen::Unknown => {}
            }
        }
        let api = kubeapi::api(&self.client, resolved, &key.namespace);
        match api.get_opt(&key.name).await {
            Ok(found) => {
                let found = found.map(|obj| kubeapi::to_value(obj, resolved));
                if let Some(live) = &self.live {
                    match &found {
                        Some(obj) => live.keep(key, obj),
                        None => live.forget(key),
                    }
                }
                Ok(found)
            }
            // The kind is no longer served.
            Err(e) if kubeapi::status_code(&e) == Some(404) => Ok(None),
            Err(source) => Err(SyncError::Object {
                action: "get",
                object: key.to_string(),
                source,
            }),
        }
    }

    fn prune_candidates(
        &self,
        target: &Target,
        live: &HashMap<ObjectKey, Value>,
        desired: &HashSet<ObjectKey>,
        scopes: &BTreeMap<ScopeKey, Resolved>,
    ) -> Vec<ResourceDiff> {
        let mut out = Vec::new();
        for (key, obj) in live {
            if desired.contains(key) || has_controller_owner(obj) {
                continue;
            }
            let annotation = obj
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(TRACKING_ANNOTATION))
                .and_then(Value::as_str);
            if ownership(&target.app, key, annotation) != Ownership::Ours {
                continue;
            }
            let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let version = api_version.rsplit('/').next().unwrap_or("").to_string();
            let resolved = scopes
                .values()
                .find(|r| {
                    r.resource.group == key.group
                        && r.resource.kind == key.kind
                        && r.resource.version == version
                })
                .cloned();
            let as_object = Object::from_value(obj.clone());
            let mut opts = target.options.clone();
            if let Some(raw) = as_object
                .as_ref()
                .and_then(|o| o.annotation(crate::options::SYNC_OPTIONS_ANNOTATION))
            {
                opts = opts.overlay(&crate::options::parse_annotation(raw).0);
            }
            let wave = as_object
                .as_ref()
                .and_then(|o| order::wave(o).ok())
                .unwrap_or(0);
            let mut old = obj.clone();
            normalize::for_diff(&mut old);
            text::redact_secrets(Some(&mut old), None);
            out.push(ResourceDiff {
                key: key.clone(),
                version,
                state: ResourceState::RequiresPruning,
                error: None,
                diff: text::unified(&key.to_string(), Some(&old), None),
                desired: None,
                health: health::assess(obj),
                live: Some(obj.clone()),
                phase: order::Phase::Sync,
                wave,
                options: opts,
                shared_with: None,
                resolved,
                blocked: false,
            });
        }
        out
    }
}

/// The scope `key` is fetched through: its kind in its namespace (or in all).
fn scope_entry<'a>(
    scopes: &'a BTreeMap<ScopeKey, Resolved>,
    key: &ObjectKey,
) -> Option<(&'a ScopeKey, &'a Resolved)> {
    scopes.iter().find(|((group, _, kind, ns), _)| {
        *group == key.group
            && *kind == key.kind
            && ns.as_deref().is_none_or(|ns| ns == key.namespace)
    })
}

/// The kind `key` is fetched as (see [`scope_entry`]).
fn scope_of<'a>(scopes: &'a BTreeMap<ScopeKey, Resolved>, key: &ObjectKey) -> Option<&'a Resolved> {
    scope_entry(scopes, key).map(|(_, r)| r)
}

fn managed_kinds(scopes: &BTreeMap<ScopeKey, Resolved>) -> Vec<ManagedKind> {
    let mut kinds: Vec<ManagedKind> = Vec::new();
    for r in scopes.values() {
        if !kinds.iter().any(|k| k.resource == r.resource) {
            kinds.push(ManagedKind {
                resource: r.resource.clone(),
                namespaced: r.namespaced,
            });
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controller_owners() {
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "dev",
                "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]}});
        assert!(has_controller_owner(&rs));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(!has_controller_owner(&cm));
    }

    #[test]
    fn compare_ignores_server_fields_and_named_differences() {
        let key = ObjectKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "dev".into(),
            name: "web".into(),
        };
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "dev", "resourceVersion": "7", "generation": 3,
                "managedFields": [{"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
            "spec": {"replicas": 5, "paused": false}, "status": {"replicas": 5}});
        let predicted = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "dev", "resourceVersion": "7", "generation": 4},
            "spec": {"replicas": 2, "paused": false}, "status": {"replicas": 5}});
        let mut errors = Vec::new();
        let (equal, diff) = compare(&key, &[], &live, &predicted, &mut errors);
        assert!(!equal);
        assert!(
            diff.contains("-  replicas: 5") && diff.contains("+  replicas: 2"),
            "{diff}"
        );
        assert!(
            !diff.contains("resourceVersion") && !diff.contains("status"),
            "{diff}"
        );

        let by_manager = ResourceIgnoreDifferences {
            group: "apps".into(),
            kind: "Deployment".into(),
            managed_fields_managers: vec!["hpa".into()],
            ..Default::default()
        };
        let (equal, _) = compare(&key, &[&by_manager], &live, &predicted, &mut errors);
        assert!(equal);
        let by_pointer = ResourceIgnoreDifferences {
            group: "apps".into(),
            kind: "Deployment".into(),
            json_pointers: vec!["/spec/replicas".into()],
            ..Default::default()
        };
        let (equal, _) = compare(&key, &[&by_pointer], &live, &predicted, &mut errors);
        assert!(equal);
        assert!(errors.is_empty());
    }
}
