//! The parsed ignore rules of Flux sources, by repository, commit and
//! `spec.ignore`. Reading them walks the whole commit tree for
//! `.sourceignore` files; with many Kustomizations on one GitRepository
//! every reconcile would repeat that walk (N^2 at cold start). A commit's
//! tree never changes, so a cached entry is exact. A new commit that
//! changed no `.sourceignore` file has the rules of the commit before (see
//! [`IgnoreCache::latest_other`]): a push to a large repository then does
//! not walk it again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use driftless_source::ignore::SourceIgnore;

/// How many (repository, commit, `spec.ignore`) entries are kept.
pub const IGNORE_CACHE_SIZE: usize = 16;

/// What the rules are read from: a repository (its URL), a commit id and
/// the source's `spec.ignore`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IgnoreKey {
    /// The repository (artifact) identity: its URL.
    pub repo: String,
    /// The commit id.
    pub commit: String,
    /// `GitRepository.spec.ignore`.
    pub spec_ignore: Option<String>,
}

/// The rules of one key, read once (errors too: the tree cannot change).
type Slot = Arc<OnceLock<Result<Arc<SourceIgnore>, String>>>;

/// The last [`IGNORE_CACHE_SIZE`] keys' rules, shared by all reconciles.
#[derive(Debug)]
pub struct IgnoreCache {
    capacity: usize,
    /// Least recently used first.
    entries: Mutex<VecDeque<(IgnoreKey, Slot)>>,
}

impl Default for IgnoreCache {
    fn default() -> Self {
        IgnoreCache::new(IGNORE_CACHE_SIZE)
    }
}

impl IgnoreCache {
    /// A cache keeping the last `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        IgnoreCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The rules of `key`, calling `read` only when no entry has them.
    /// Concurrent callers with one key wait for a single `read`.
    pub fn get_or_read(
        &self,
        key: IgnoreKey,
        read: impl FnOnce() -> Result<SourceIgnore, String>,
    ) -> Result<Arc<SourceIgnore>, String> {
        let slot = self.slot(key);
        slot.get_or_init(|| read().map(Arc::new)).clone()
    }

    /// Whether the rules of `key` are read already.
    pub fn contains(&self, key: &IgnoreKey) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .any(|(k, slot)| k == key && slot.get().is_some())
    }

    /// The newest rules read for `key`'s repository and `spec.ignore` at
    /// another commit, with that commit.
    pub fn latest_other(&self, key: &IgnoreKey) -> Option<(String, Arc<SourceIgnore>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .rev()
            .filter(|(k, _)| {
                k.repo == key.repo && k.spec_ignore == key.spec_ignore && k.commit != key.commit
            })
            .find_map(|(k, slot)| Some((k.commit.clone(), slot.get()?.as_ref().ok()?.clone())))
    }

    /// Keeps `rules` as the rules of `key` (known to equal what reading
    /// them would give), unless it has some already.
    pub fn insert(&self, key: IgnoreKey, rules: Arc<SourceIgnore>) {
        let _ = self.slot(key).set(Ok(rules));
    }

    /// The slot of `key`, created when missing, marked most recently used.
    fn slot(&self, key: IgnoreKey) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match entries.iter().position(|(k, _)| *k == key) {
            Some(i) => entries.remove(i).map(|(_, s)| s).unwrap_or_default(),
            None => Slot::default(),
        };
        entries.push_back((key, slot.clone()));
        while entries.len() > self.capacity {
            entries.pop_front();
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_source::ignore::SourceIgnoreBuilder;
    use std::cell::Cell;

    fn key(commit: &str, ignore: Option<&str>) -> IgnoreKey {
        IgnoreKey {
            repo: "https://example.com/repo.git".into(),
            commit: commit.into(),
            spec_ignore: ignore.map(str::to_string),
        }
    }

    fn rules(patterns: &str, reads: &Cell<u32>) -> Result<SourceIgnore, String> {
        reads.set(reads.get() + 1);
        SourceIgnoreBuilder::new()
            .spec_ignore(patterns)
            .build()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn rules_of_another_commit_are_found_and_can_be_kept_for_a_new_one() {
        let cache = IgnoreCache::default();
        let reads = Cell::new(0);
        assert!(cache.latest_other(&key("c2", None)).is_none());
        let c1 = cache
            .get_or_read(key("c1", None), || rules("a.yaml", &reads))
            .unwrap();
        let _ = cache.get_or_read(key("c1", Some("x")), || rules("x", &reads));
        assert!(!cache.contains(&key("c2", None)));
        let (base, found) = cache.latest_other(&key("c2", None)).expect("c1's rules");
        assert_eq!(base, "c1");
        assert!(Arc::ptr_eq(&found, &c1), "same repository and spec.ignore");
        cache.insert(key("c2", None), found);
        assert!(cache.contains(&key("c2", None)));
        let c2 = cache
            .get_or_read(key("c2", None), || rules("b.yaml", &reads))
            .unwrap();
        assert!(Arc::ptr_eq(&c2, &c1), "kept, not read");
        assert_eq!(reads.get(), 2);
        assert!(
            cache.latest_other(&key("c1", Some("y"))).is_none(),
            "other spec.ignore"
        );
    }

    #[test]
    fn same_key_reads_once_other_commit_or_ignore_reads_again() {
        let cache = IgnoreCache::default();
        let reads = Cell::new(0);
        let a = cache.get_or_read(key("c1", None), || rules("a.yaml", &reads));
        let again = cache.get_or_read(key("c1", None), || rules("b.yaml", &reads));
        assert!(Arc::ptr_eq(a.as_ref().unwrap(), again.as_ref().unwrap()));
        assert!(
            again.unwrap().is_ignored("a.yaml", false),
            "the first read's rules"
        );
        assert_eq!(reads.get(), 1);

        let commit = cache.get_or_read(key("c2", None), || rules("b.yaml", &reads));
        assert!(!Arc::ptr_eq(a.as_ref().unwrap(), commit.as_ref().unwrap()));
        assert!(commit.unwrap().is_ignored("b.yaml", false));
        let ignore = cache.get_or_read(key("c1", Some("x")), || rules("c.yaml", &reads));
        assert!(!Arc::ptr_eq(a.as_ref().unwrap(), ignore.as_ref().unwrap()));
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn keeps_the_last_entries_and_errors() {
        let cache = IgnoreCache::new(2);
        let reads = Cell::new(0);
        let _ = cache.get_or_read(key("c1", None), || rules("a", &reads));
        let _ = cache.get_or_read(key("c2", None), || rules("a", &reads));
        let _ = cache.get_or_read(key("c1", None), || rules("a", &reads));
        let _ = cache.get_or_read(key("c3", None), || rules("a", &reads));
        assert_eq!(reads.get(), 3, "c1 was used last: c2 is evicted, not c1");
        let _ = cache.get_or_read(key("c1", None), || rules("a", &reads));
        assert_eq!(reads.get(), 3);
        let _ = cache.get_or_read(key("c2", None), || rules("a", &reads));
        assert_eq!(reads.get(), 4);

        let bad = cache.get_or_read(key("c4", None), || Err("bad pattern".into()));
        assert_eq!(bad.unwrap_err(), "bad pattern");
        let cached = cache.get_or_read(key("c4", None), || rules("a", &reads));
        assert_eq!(cached.unwrap_err(), "bad pattern", "the tree cannot change");
    }
}
