//! What a running sync is waiting for, reported as it changes so the
//! caller can show it (an Application's `status.operationState.message`)
//! while a wave waits for minutes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use driftless_api::ResourceResult;
use tokio::sync::watch;

/// The sending end of a sync's progress messages (and, when asked for, of
/// its per-resource results so far); the default reports nowhere. Cheap to
/// clone.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    message: Option<Arc<watch::Sender<String>>>,
    results: Option<Arc<watch::Sender<Vec<ResourceResult>>>>,
}

impl Progress {
    /// A progress reporter and the receiver that sees its latest message.
    pub fn channel() -> (Progress, watch::Receiver<String>) {
        let (tx, rx) = watch::channel(String::new());
        let progress = Progress {
            message: Some(Arc::new(tx)),
            results: None,
        };
        (progress, rx)
    }

    /// This reporter, also reporting the results of the resources (and
    /// hooks) handled so far after each wave, to the receiver returned.
    pub fn with_results(mut self) -> (Progress, watch::Receiver<Vec<ResourceResult>>) {
        let (tx, rx) = watch::channel(Vec::new());
        self.results = Some(Arc::new(tx));
        (self, rx)
    }

    /// Reports `message` (receivers are woken only when it changed).
    pub fn report(&self, message: impl Into<String>) {
        if let Some(tx) = &self.message {
            let message = message.into();
            tx.send_if_modified(|current| {
                if *current == message {
                    return false;
                }
                *current = message;
                true
            });
        }
    }

    /// Reports the results so far (receivers are woken only when they changed).
    pub fn report_results(&self, results: Vec<ResourceResult>) {
        if let Some(tx) = &self.results {
            tx.send_if_modified(|current| {
                if *current == results {
                    return false;
                }
                *current = results;
                true
            });
        }
    }
}

/// A request to stop a running sync (Argo CD's terminate), checked
/// between waves and while a wave waits. The default is never requested.
/// Cheap to clone; clones share the request.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the sync holding a clone of this to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_wake_the_receiver() {
        let (progress, mut rx) = Progress::channel();
        progress.report("wave 0: waiting for Deployment.apps ns/web");
        assert!(rx.has_changed().unwrap());
        assert_eq!(
            *rx.borrow_and_update(),
            "wave 0: waiting for Deployment.apps ns/web"
        );
        progress.report("wave 0: waiting for Deployment.apps ns/web");
        assert!(!rx.has_changed().unwrap(), "the same message again");
        Progress::default().report("nowhere: no receiver, no panic");
    }

    #[test]
    fn results_are_reported_when_asked_for_and_changed() {
        let (progress, _messages) = Progress::channel();
        let (progress, mut results) = progress.with_results();
        let one = vec![ResourceResult {
            kind: "Job".into(),
            name: "migrate".into(),
            hook_phase: Some("Succeeded".into()),
            ..Default::default()
        }];
        progress.report_results(one.clone());
        assert!(results.has_changed().unwrap());
        assert_eq!(*results.borrow_and_update(), one);
        progress.report_results(one);
        assert!(!results.has_changed().unwrap());
    }

    #[test]
    fn a_stop_is_seen_by_every_clone() {
        let stop = Stop::default();
        let held = stop.clone();
        assert!(!held.requested());
        stop.request();
        assert!(held.requested());
    }
}
