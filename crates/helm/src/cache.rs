//! Rendered charts kept in memory by (chart, version, digest of every
//! input), so an unchanged chart is not rendered again. Bounded: the oldest
//! entry leaves when a new one would exceed the capacity.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use driftless_render::Object;
use sha2::{Digest, Sha256};

use crate::inputs::Collected;
use crate::{Credentials, TemplateOptions};

/// How many rendered charts are kept unless configured otherwise.
pub(crate) const DEFAULT_CAPACITY: usize = 256;

/// A cache key: a SHA-256 digest.
pub(crate) type Key = [u8; 32];

/// A cached render: the objects and the chart version they came from.
pub(crate) type Entry = (Arc<Vec<Object>>, String);

/// Where a chart comes from, for cache keys: the repository and a digest of
/// the credentials used to read it (so what one set of credentials fetched
/// is never served to a render with other credentials, or none).
pub(crate) fn source_key(repository: &str, credentials: Option<&Credentials>) -> String {
    let digest = credentials.map_or_else(
        || "anonymous".to_string(),
        |c| {
            let mut hasher = Sha256::new();
            hasher.update(c.username.as_bytes());
            hasher.update([0]);
            hasher.update(c.password.as_bytes());
            hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        },
    );
    format!("{repository}\0{digest}")
}

/// The key of a render of `identity` (where the chart comes from) at
/// `version` with `options` and the `collected` file contents.
pub(crate) fn key(
    identity: &str,
    version: &str,
    options: &TemplateOptions<'_>,
    collected: &Collected,
) -> Key {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &str| {
        hasher.update(name.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    };
    field("chart", identity);
    field("version", version);
    field("release", &options.release_name);
    field("namespace", options.namespace.as_deref().unwrap_or("\0"));
    field(
        "kube-version",
        options.kube_version.as_deref().unwrap_or("\0"),
    );
    for api in &options.api_versions {
        field("api-version", api);
    }
    for p in &options.parameters {
        field(if p.force_string { "set-string" } else { "set" }, &p.name);
        field("value", &p.value);
    }
    field("skip-crds", &options.skip_crds.to_string());
    field("skip-schema", &options.skip_schema_validation.to_string());
    field("skip-tests", &options.skip_tests.to_string());
    field("no-hooks", &options.no_hooks.to_string());
    collected.digest_into(&mut hasher);
    hasher.finalize().into()
}

/// The in-memory cache of rendered objects.
#[derive(Debug)]
pub(crate) struct RenderCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    order: VecDeque<Key>,
}

impl RenderCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.map.get(key).cloned()
    }

    pub(crate) fn put(&self, key: Key, entry: Entry) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.map.insert(key, entry).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.map.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Parameter;

    #[test]
    fn every_input_changes_the_key() {
        let collected = Collected::default();
        let base = TemplateOptions::new("web");
        let k = |o: &TemplateOptions<'_>, version: &str| key("repo x web", version, o, &collected);
        let first = k(&base, "1.0.0");
        assert_eq!(first, k(&base.clone(), "1.0.0"));
        assert_ne!(first, k(&base, "1.0.1"));
        let mut other = base.clone();
        other.parameters.push(Parameter::new("a", "b"));
        assert_ne!(first, k(&other, "1.0.0"));
        let mut forced = other.clone();
        forced.parameters[0].force_string = true;
        assert_ne!(k(&other, "1.0.0"), k(&forced, "1.0.0"));
        let mut namespaced = base.clone();
        namespaced.namespace = Some("prod".into());
        assert_ne!(first, k(&namespaced, "1.0.0"));
        let mut no_tests = base.clone();
        no_tests.skip_tests = true;
        let mut no_hooks = base.clone();
        no_hooks.no_hooks = true;
        assert_ne!(first, k(&no_tests, "1.0.0"));
        assert_ne!(first, k(&no_hooks, "1.0.0"));
        assert_ne!(k(&no_tests, "1.0.0"), k(&no_hooks, "1.0.0"));
    }

    #[test]
    fn credentials_are_part_of_the_source_but_never_in_clear() {
        let anonymous = source_key("http://r", None);
        let ann = source_key("http://r", Some(&Credentials::new("ann", "s3cret")));
        let other = source_key("http://r", Some(&Credentials::new("ann", "other")));
        assert_ne!(anonymous, ann);
        assert_ne!(ann, other);
        assert!(!ann.contains("s3cret"), "{ann}");
        assert_eq!(
            ann,
            source_key("http://r", Some(&Credentials::new("ann", "s3cret")))
        );
    }

    #[test]
    fn the_oldest_entry_leaves_first() {
        let cache = RenderCache::new(2);
        let entry = (Arc::new(Vec::new()), "1.0.0".to_string());
        cache.put([1; 32], entry.clone());
        cache.put([2; 32], entry.clone());
        cache.put([3; 32], entry);
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
        assert_eq!(
            cache.get(&[3; 32]).map(|(_, v)| v).as_deref(),
            Some("1.0.0")
        );
    }
}
