//! Which objects of one controller wait for their reconcile to start.
//!
//! An object is *queued* from the moment its reconcile is due until that
//! reconcile starts: a watch event, a trigger or a `.watches` mapping makes
//! it due at once; a requeue (`NextReconcile::After(d)` from the reconcile
//! or its error policy) makes it due `d` after the reconcile ended, and it
//! is not queued before then. One object counts once however many times it was triggered (as
//! kube-runtime's scheduler keeps one slot per object). An object that
//! left the controller's store (deleted) is no longer queued: its request
//! is dropped without a reconcile.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Due times of the objects whose next reconcile has not started.
#[derive(Debug)]
pub(crate) struct Pending<R> {
    due: HashMap<R, Instant>,
}

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Pending {
            due: HashMap::new(),
        }
    }
}

impl<R: Clone + Eq + Hash> Pending<R> {
    /// `object` is due at `at` (the earlier time wins if it already was).
    pub(crate) fn due_at(&mut self, object: R, at: Instant) {
        self.due
            .entry(object)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }

    /// `object`'s reconcile started: it is no longer waiting.
    pub(crate) fn started(&mut self, object: &R) {
        self.due.remove(object);
    }

    /// `object`'s reconcile ended at `now` asking to run again after
    /// `requeue` (`None`: only on a change).
    pub(crate) fn ended(&mut self, object: R, now: Instant, requeue: Option<Duration>) {
        if let Some(after) = requeue {
            self.due_at(object, now + after);
        }
    }

    /// How many objects are due at `now` and not started, forgetting those
    /// `exists` says are gone.
    pub(crate) fn queued(&mut self, now: Instant, exists: impl Fn(&R) -> bool) -> usize {
        self.due.retain(|object, _| exists(object));
        self.due.values().filter(|at| **at <= now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggered_objects_are_queued_until_their_reconcile_starts() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.due_at("a", now);
        p.due_at("b", now);
        p.due_at("a", now);
        assert_eq!(p.queued(now, |_| true), 2, "one slot per object");
        p.started(&"a");
        assert_eq!(p.queued(now, |_| true), 1);
        p.started(&"b");
        assert_eq!(p.queued(now, |_| true), 0);
    }

    #[test]
    fn a_requeue_is_queued_only_once_due() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.started(&"a");
        p.ended("a", now, Some(Duration::from_secs(60)));
        p.ended("b", now, None);
        assert_eq!(p.queued(now, |_| true), 0, "not due yet");
        let later = now + Duration::from_secs(61);
        assert_eq!(p.queued(later, |_| true), 1, "due");
        // A trigger before the requeue is due makes it due now.
        p.due_at("a", now);
        assert_eq!(p.queued(now, |_| true), 1);
        // ... and a requeue after that trigger does not postpone it.
        p.ended("a", now, Some(Duration::from_secs(60)));
        assert_eq!(p.queued(now, |_| true), 1);
    }

    #[test]
    fn a_trigger_during_a_reconcile_waits_for_the_next_one() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.due_at("a", now);
        p.started(&"a");
        p.due_at("a", now);
        p.ended("a", now, Some(Duration::from_secs(60)));
        assert_eq!(p.queued(now, |_| true), 1);
    }

    #[test]
    fn deleted_objects_leave_the_queue() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.due_at("a", now);
        p.due_at("gone", now);
        assert_eq!(p.queued(now, |o| *o != "gone"), 1);
        assert_eq!(p.queued(now, |_| true), 1, "forgotten, not hidden");
    }
}
