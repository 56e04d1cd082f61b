//! An idle refresh without a comparison. When a reconcile compared, made
//! no sync and left the status as it was, it remembers what shaped that
//! comparison: the Application as read (its resource version), its
//! project, the revision, the rendered objects, the conditions found
//! before comparing, and the engine's [`LiveStamp`] of the live objects.
//! The next periodic refresh that finds all of these the same (the stamp
//! checked against the tracked-object index) would compare to the same
//! result, make the same decision and write nothing: it stops there.
//!
//! Only a plain refresh takes this path: an operation, a refresh
//! annotation, a blocked render, or a previous reconcile that synced,
//! waited for a retry, or wrote the status always compares. Anything the
//! stamp cannot vouch for (an unserved kind, an object without a resource
//! version) gives no stamp, so it compares too.

use std::hash::{DefaultHasher, Hash, Hasher};

use driftless_api::AppProjectSpec;
use driftless_render::Object;
use driftless_sync::LiveStamp;

/// What the last comparison of a settled Application rested on.
#[derive(Clone, Debug)]
pub struct Settled {
    /// [`key`] of everything besides the live objects.
    key: u64,
    /// The live objects as compared.
    stamp: LiveStamp,
    /// Nothing needed a sync (self-heal's attempt count may then be reset).
    pub(crate) in_sync: bool,
}

/// The inputs of a comparison besides the live objects.
pub(crate) struct Inputs<'a> {
    /// The Application's resource version as this reconcile read it.
    pub app_version: Option<&'a str>,
    /// The resource version of the status this controller last wrote.
    pub written_version: Option<u64>,
    pub project: &'a AppProjectSpec,
    /// The revision (for several sources, all of them).
    pub revision: &'a str,
    pub desired: &'a [Object],
    /// The conditions found before comparing.
    pub conditions: &'a [(String, String)],
}

/// One hash of `inputs`.
pub(crate) fn key(inputs: &Inputs<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    inputs.app_version.hash(&mut h);
    inputs.written_version.hash(&mut h);
    // Serialized: the spec has no `Hash`, and its lists keep their order.
    serde_json::to_string(inputs.project)
        .unwrap_or_default()
        .hash(&mut h);
    inputs.revision.hash(&mut h);
    driftless_sync::objects_fingerprint(inputs.desired).hash(&mut h);
    inputs.conditions.hash(&mut h);
    h.finish()
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
        let desired = [object("a")];
        let conditions = [("ComparisonWarning".to_string(), "stale".to_string())];
        let base = Inputs {
            app_version: Some("10"),
            written_version: None,
            project: &project,
            revision: "abc",
            desired: &desired,
            conditions: &[],
        };
        let k = key(&base);
        assert_eq!(k, key(&Inputs { ..base }), "the same inputs, the same key");
        let other_project = AppProjectSpec {
            source_repos: vec!["*".into()],
            ..Default::default()
        };
        let other_desired = [object("b")];
        let changed = [
            Inputs {
                app_version: Some("11"),
                ..base
            },
            Inputs {
                written_version: Some(11),
                ..base
            },
            Inputs {
                project: &other_project,
                ..base
            },
            Inputs {
                revision: "abd",
                ..base
            },
            Inputs {
                desired: &other_desired,
                ..base
            },
            Inputs {
                conditions: &conditions,
                ..base
            },
        ];
        for (i, inputs) in changed.iter().enumerate() {
            assert_ne!(k, key(inputs), "input {i} changed");
        }
    }
}
