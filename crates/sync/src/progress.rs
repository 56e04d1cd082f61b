//! What a running sync is waiting for, reported as it changes so the
//! caller can show it (an Application's `status.operationState.message`)
//! while a wave waits for minutes.

use std::sync::Arc;

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
}
