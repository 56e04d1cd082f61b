//! What the live side of a comparison was, so that a caller can tell
//! without comparing again that nothing the comparison read has changed
//! ([`crate::SyncEngine::unchanged_since`]): every object it considered,
//! at the resource version it compared (or absent), and for every scope
//! it searched, which objects named the owner there.
//!
//! The tracked-object index answers the check. A change it has seen to
//! any of those objects, an object that newly names the owner, or a scope
//! it no longer watches makes the stamp stale. A stamp is made only when
//! every rendered object's kind is served and has no problem, and every
//! live object has a resource version: anything else is compared again.

use std::hash::{DefaultHasher, Hash, Hasher};

use driftless_render::ObjectKey;
use serde_json::Value;

use crate::discovery::Resolved;
use crate::index::{ScopeKey, Seen, TrackedIndex};

/// The live side of one comparison (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveStamp {
    scopes: Vec<StampedScope>,
    objects: Vec<StampedObject>,
}

/// A scope the comparison searched, and the owner's objects in it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StampedScope {
    key: ScopeKey,
    resolved: Resolved,
    /// [`ids_hash`] of the objects naming the owner.
    tracked: u64,
}

/// An object the comparison considered, by scope (an index into
/// [`LiveStamp::scopes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
struct StampedObject {
    scope: usize,
    namespace: String,
    name: String,
    /// Its resource version as compared; `None`: it did not exist.
    version: Option<u64>,
}

/// One hash of a set of (namespace, name), whatever its order.
pub(crate) fn ids_hash(mut ids: Vec<(String, String)>) -> u64 {
    ids.sort_unstable();
    let mut h = DefaultHasher::new();
    ids.hash(&mut h);
    h.finish()
}

/// Collects a stamp while a comparison reads the cluster.
#[derive(Default)]
pub(crate) struct StampBuilder {
    scopes: Vec<StampedScope>,
    objects: Vec<StampedObject>,
    /// Something the stamp cannot vouch for was seen.
    spoiled: bool,
}

impl StampBuilder {
    /// Records scope `key` and the owner's objects the index listed in it.
    pub(crate) fn scope(&mut self, key: &ScopeKey, resolved: &Resolved, ids: &[(String, String)]) {
        self.scopes.push(StampedScope {
            key: key.clone(),
            resolved: resolved.clone(),
            tracked: ids_hash(ids.to_vec()),
        });
    }

    /// Records the object `key` of a kind in `scope` as compared: `live`,
    /// or absent (`None`). A live object without a resource version, or
    /// outside every scope, spoils the stamp.
    pub(crate) fn object(
        &mut self,
        scope: Option<&ScopeKey>,
        key: &ObjectKey,
        live: Option<&Value>,
    ) {
        let index = scope.and_then(|s| self.scopes.iter().position(|k| &k.key == s));
        let version = live.map(crate::live::version_of);
        let (Some(index), None | Some(Some(_))) = (index, version) else {
            self.spoiled = true;
            return;
        };
        self.objects.push(StampedObject {
            scope: index,
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            version: version.flatten(),
        });
    }

    /// Marks the stamp as unable to vouch for the comparison.
    pub(crate) fn spoil(&mut self) {
        self.spoiled = true;
    }

    /// The stamp, unless something spoiled it.
    pub(crate) fn finish(self) -> Option<LiveStamp> {
        (!self.spoiled).then_some(LiveStamp {
            scopes: self.scopes,
            objects: self.objects,
        })
    }
}

impl LiveStamp {
    /// Whether `index` shows every object of the stamp as it was compared
    /// and the same objects naming `owner` in every scope.
    pub(crate) fn holds(&self, index: &TrackedIndex, owner: &str) -> bool {
        let scopes_hold = self.scopes.iter().all(|s| {
            index
                .tracked_now(&s.key, owner)
                .is_some_and(|ids| ids_hash(ids) == s.tracked)
        });
        scopes_hold
            && self.objects.iter().all(|o| {
                let resolved = &self.scopes[o.scope].resolved;
                match (index.lookup(resolved, &o.namespace, &o.name), o.version) {
                    (Seen::At(now), Some(then)) => now == then,
                    (Seen::Absent, None) => true,
                    _ => false,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_hash_of_a_set_ignores_its_order_but_not_its_members() {
        let a = ids_hash(ids(&[("ns", "a"), ("ns", "b")]));
        assert_eq!(a, ids_hash(ids(&[("ns", "b"), ("ns", "a")])));
        assert_ne!(a, ids_hash(ids(&[("ns", "a")])));
        assert_ne!(a, ids_hash(ids(&[("ns", "a"), ("other", "b")])));
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    fn scoped() -> (StampBuilder, ScopeKey) {
        let scope: ScopeKey = (
            "".into(),
            "v1".into(),
            "ConfigMap".into(),
            Some("ns".into()),
        );
        let resolved = Resolved {
            resource: kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(
                &(),
            ),
            namespaced: true,
        };
        let mut b = StampBuilder::default();
        b.scope(&scope, &resolved, &[]);
        (b, scope)
    }

    #[test]
    fn what_the_stamp_cannot_vouch_for_spoils_it() {
        let at = |rv: &str| serde_json::json!({"metadata": {"resourceVersion": rv}});
        let (mut b, scope) = scoped();
        b.object(Some(&scope), &key("a"), Some(&at("7")));
        b.object(Some(&scope), &key("missing"), None);
        assert!(b.finish().is_some(), "versioned and absent objects");

        let (mut b, _) = scoped();
        b.object(None, &key("a"), Some(&at("7")));
        assert!(b.finish().is_none(), "outside every scope");
        let (mut b, scope) = scoped();
        b.object(Some(&scope), &key("a"), Some(&at("not-a-number")));
        assert!(b.finish().is_none(), "without a resource version");
        assert!(StampBuilder::default().finish().is_some(), "nothing read");
    }
}
