//! An idle refresh without a comparison. When a reconcile compared and
//! made no sync, it remembers what that comparison and its decision
//! rested on: the project, the revision, the rendered objects, the
//! conditions found before comparing, the Application's spec generation
//! and annotations, the status the next reconcile starts from, and the
//! engine's [`LiveStamp`] of the live objects. The next periodic refresh
//! that finds all of these the same (the stamp checked against the
//! tracked-object index) would compare to the same result, make the same
//! decision and write nothing: it stops there.
//!
//! Only a plain refresh takes this path: an operation, a refresh
//! annotation, a blocked render, a sync, a decision that depends on time
//! (a retry or self-heal backoff), polled health, or a status write after
//! which the next reconcile would not compute the same status again
//! always compares. Anything the stamp cannot vouch for (an unserved
//! kind, an object without a resource version) gives no stamp, so it
//! compares too.

use std::hash::{DefaultHasher, Hash, Hasher};

use driftless_api::{AppProjectSpec, Application, ApplicationStatus};
use driftless_render::Object;
use driftless_sync::LiveStamp;

/// What the last comparison of a settled Application rested on.
#[derive(Clone, Debug)]
pub struct Settled {
    /// [`key`] of everything besides the live objects, with the status
    /// the next reconcile starts from.
    key: u64,
    /// The live objects as compared.
    stamp: LiveStamp,
    /// Nothing needed a sync (self-heal's attempt count may then be reset).
    pub(crate) in_sync: bool,
}

/// What a comparison renders and checks: one hash of the project, the
/// revision (for several sources, all of them), the rendered objects and
/// the conditions found before comparing.
pub(crate) fn rendering_key(
    project: &AppProjectSpec,
    revision: &str,
    desired: &[Object],
    conditions: &[(String, String)],
) -> u64 {
    let mut h = DefaultHasher::new();
    // Serialized: the spec has no `Hash`, and its lists keep their order.
    serde_json::to_string(project)
        .unwrap_or_default()
        .hash(&mut h);
    revision.hash(&mut h);
    driftless_sync::objects_fingerprint(desired).hash(&mut h);
    conditions.hash(&mut h);
    h.finish()
}

/// One hash of everything a comparison and its decision rest on besides
/// the live objects: [`rendering_key`], the Application's spec generation
/// and annotations, and the status it starts from (`prev`).
pub(crate) fn key(rendering: u64, app: &Application, prev: &ApplicationStatus) -> u64 {
    let mut h = DefaultHasher::new();
    rendering.hash(&mut h);
    app.metadata.generation.hash(&mut h);
    app.metadata.annotations.hash(&mut h);
    serde_json::to_string(prev).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Whether a comparison starting from status `a` and one starting from `b`
/// look for the same previous resources (`Target::previous`: the kinds and
/// objects searched besides the rendered ones).
pub(crate) fn same_previous(a: &ApplicationStatus, b: &ApplicationStatus) -> bool {
    previous_ids(a) == previous_ids(b)
}

/// (group, version, kind, namespace, name) of each resource of `status`, sorted.
fn previous_ids(status: &ApplicationStatus) -> Vec<(&str, &str, &str, Option<&str>, &str)> {
    let mut ids: Vec<_> = status
        .resources
        .iter()
        .map(|r| {
            let ns = r.namespace.as_deref();
            (
                r.group.as_str(),
                r.version.as_str(),
                r.kind.as_str(),
                ns,
                r.name.as_str(),
            )
        })
        .collect();
    ids.sort_unstable();
    ids
}

impl Settled {
    /// A settled comparison of inputs with hash `key`, when it has a stamp.
    pub(crate) fn new(key: u64, stamp: Option<LiveStamp>, in_sync: bool) -> Option<Settled> {
        Some(Settled {
            key,
            stamp: stamp?,
            in_sync,
        })
    }

    /// Whether a comparison now, of inputs with hash `key` for tracking
    /// name `app`, would rest on the same as this one.
    pub(crate) fn still(&self, key: u64, engine: &driftless_sync::SyncEngine, app: &str) -> bool {
        self.key == key && engine.unchanged_since(app, &self.stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str) -> Object {
        Object::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}
        }))
        .expect("an object")
    }

    #[test]
    fn every_input_counts() {
        let project = AppProjectSpec::default();
        let other_project = AppProjectSpec {
            source_repos: vec!["*".into()],
            ..Default::default()
        };
        let desired = [object("a")];
        let other_desired = [object("b")];
        let conditions = [("ComparisonWarning".to_string(), "stale".to_string())];
        let r = rendering_key(&project, "abc", &desired, &[]);
        assert_eq!(r, rendering_key(&project, "abc", &desired, &[]));
        for (i, other) in [
            rendering_key(&other_project, "abc", &desired, &[]),
            rendering_key(&project, "abd", &desired, &[]),
            rendering_key(&project, "abc", &other_desired, &[]),
            rendering_key(&project, "abc", &desired, &conditions),
        ]
        .into_iter()
        .enumerate()
        {
            assert_ne!(r, other, "rendering input {i} changed");
        }

        let app: Application = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "generation": 1, "resourceVersion": "10"},
            "spec": {"destination": {}, "source": {"repoURL": "r"}}
        }))
        .expect("an Application");
        let prev = ApplicationStatus::default();
        let k = key(r, &app, &prev);
        let mut moved = app.clone();
        moved.metadata.resource_version = Some("11".into());
        assert_eq!(
            k,
            key(r, &moved, &prev),
            "our own status write moves only the version"
        );
        let mut respecced = app.clone();
        respecced.metadata.generation = Some(2);
        let mut annotated = app.clone();
        annotated.metadata.annotations = Some([("a".to_string(), "b".to_string())].into());
        let other_prev = ApplicationStatus {
            reconciled_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::from_second(5).expect("a time"),
            )),
            ..Default::default()
        };
        assert_ne!(k, key(r + 1, &app, &prev));
        assert_ne!(k, key(r, &respecced, &prev));
        assert_ne!(k, key(r, &annotated, &prev));
        assert_ne!(k, key(r, &app, &other_prev));
    }

    #[test]
    fn the_previous_resources_are_compared_as_a_set() {
        let resource = |name: &str| driftless_api::ResourceStatus {
            kind: "ConfigMap".into(),
            version: "v1".into(),
            name: name.into(),
            ..Default::default()
        };
        let status = |names: &[&str]| ApplicationStatus {
            resources: names.iter().map(|n| resource(n)).collect(),
            ..Default::default()
        };
        assert!(same_previous(&status(&["a", "b"]), &status(&["b", "a"])));
        assert!(!same_previous(&status(&["a", "b"]), &status(&["a"])));
        let mut health = status(&["a"]);
        health.resources[0].status = driftless_api::SyncStatusCode::OutOfSync;
        assert!(
            same_previous(&status(&["a"]), &health),
            "only which objects counts"
        );
    }
}
