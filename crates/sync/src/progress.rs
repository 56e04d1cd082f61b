//! What a running sync is waiting for, reported as it changes so the
//! caller can show it (an Application's `status.operationState.message`)
//! while a wave waits for minutes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The sending end of a sync's progress messages; the default reports
/// nowhere. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Progress(Option<Arc<watch::Sender<String>>>);

impl Progress {
    /// A progress reporter and the receiver that sees its latest message.
    pub fn channel() -> (Progress, watch::Receiver<String>) {
        let (tx, rx) = watch::channel(String::new());
        (Progress(Some(Arc::new(tx))), rx)
    }

    /// Reports `message` (receivers are woken only when it changed).
    pub fn report(&self, message: impl Into<String>) {
        if let Some(tx) = &self.0 {
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
    fn a_stop_is_seen_by_every_clone() {
        let stop = Stop::default();
        let held = stop.clone();
        assert!(!held.requested());
        stop.request();
        assert!(held.requested());
    }
}
