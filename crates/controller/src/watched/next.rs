//! When a reconcile asks to run again: the value every reconciler and error
//! policy here returns, turned into kube-runtime's `Action` by the watch
//! wrapper ([`super::Queue::reconciler`]) after the queue noted when the
//! object becomes due again.

use std::time::Duration;

use kube::runtime::controller::Action;

/// When the next reconcile of an object should run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextReconcile {
    /// Run again this long after this reconcile ended (or sooner, when the
    /// object changes or is triggered).
    After(Duration),
    /// Run again only when the object changes or is triggered.
    OnChange,
}

impl NextReconcile {
    /// The delay before the next reconcile (`None`: only on a change).
    pub(crate) fn delay(self) -> Option<Duration> {
        match self {
            NextReconcile::After(delay) => Some(delay),
            NextReconcile::OnChange => None,
        }
    }
}

impl From<NextReconcile> for Action {
    fn from(next: NextReconcile) -> Action {
        match next {
            NextReconcile::After(delay) => Action::requeue(delay),
            NextReconcile::OnChange => Action::await_change(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_next_reconcile_becomes_the_matching_action() {
        let hour = Duration::from_secs(3600);
        assert_eq!(
            Action::from(NextReconcile::After(hour)),
            Action::requeue(hour)
        );
        assert_eq!(
            Action::from(NextReconcile::OnChange),
            Action::await_change()
        );
        assert_eq!(NextReconcile::After(hour).delay(), Some(hour));
        assert_eq!(NextReconcile::OnChange.delay(), None);
    }
}
