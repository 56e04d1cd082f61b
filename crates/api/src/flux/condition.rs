//! Flux's condition types and reasons, and setting a condition the way
//! Kubernetes expects (`lastTransitionTime` moves only when `status` does).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types Flux writes.
pub mod types {
    /// The object is fully reconciled (the one `kubectl get` shows).
    pub const READY: &str = "Ready";
    /// A reconcile is in progress (abnormal-true: present only while true).
    pub const RECONCILING: &str = "Reconciling";
    /// The reconcile cannot proceed without a change to the spec
    /// (abnormal-true).
    pub const STALLED: &str = "Stalled";
    /// The applied objects passed their health checks (Kustomization).
    pub const HEALTHY: &str = "Healthy";
    /// Fetching the source failed (GitRepository, abnormal-true).
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// Producing the artifact failed (GitRepository, abnormal-true).
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// The artifact in status is available (GitRepository).
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
}

/// Condition reasons Flux writes.
pub mod reasons {
    /// Kustomization: applied and healthy.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// Kustomization: the apply or prune failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// Progressing: a reconcile is running.
    pub const PROGRESSING: &str = "Progressing";
    /// Progressing again after a failure; the next attempt is after `retryInterval`.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// Kustomization: a `dependsOn` entry is not Ready.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// Kustomization: rendering the path failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Kustomization: the health checks did not pass within `timeout`.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Kustomization: the source has no artifact (or it cannot be read).
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Kustomization: the rendered objects are invalid for the API server.
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// Kustomization: pruning failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// Kustomization: the source reference is missing or not a supported kind.
    pub const INVALID_SOURCE_REF: &str = "InvalidSourceReference";
    /// Either kind: `spec.suspend` is true.
    pub const SUSPENDED: &str = "Suspended";
    /// A field of the spec is not supported (driftless; Stalled and Ready=False).
    pub const UNSUPPORTED: &str = "UnsupportedField";
    /// Any kind: the spec is invalid (e.g. a malformed duration).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// GitRepository: the artifact for the revision is ready.
    pub const SUCCEEDED: &str = "Succeeded";
    /// GitRepository: the Secret in `secretRef` is missing or malformed.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// GitRepository: a Git operation (fetch, resolve) failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// GitRepository: a Git operation succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// GitRepository: a new revision is being fetched.
    pub const NEW_REVISION: &str = "NewRevision";
    /// GitRepository: the URL is invalid.
    pub const URL_INVALID: &str = "URLInvalid";
}

/// `True`, `False` or `Unknown`, as condition statuses are spelled.
pub mod status {
    /// The condition holds.
    pub const TRUE: &str = "True";
    /// The condition does not hold.
    pub const FALSE: &str = "False";
    /// Not known yet.
    pub const UNKNOWN: &str = "Unknown";
}

/// Sets `new` in `conditions`, replacing the condition of the same type.
/// When that condition had the same `status`, its `lastTransitionTime` is
/// kept, so the time says when the status last changed, not when the
/// message did. Returns whether anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            let changed = *old != new;
            *old = new;
            changed
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

/// Removes the condition of type `type_`; returns whether one was there.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// The condition of type `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether `conditions` hold `Ready=True` for `generation` (a condition
/// without `observedGeneration` counts for any generation).
pub fn is_ready(conditions: &[Condition], generation: Option<i64>) -> bool {
    find_condition(conditions, types::READY).is_some_and(|c| {
        c.status == status::TRUE
            && (c.observed_generation.is_none() || c.observed_generation == generation)
    })
}

/// A condition stamped with `now`.
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation,
        last_transition_time: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("a valid timestamp"))
    }

    fn ready(status_: &str, message: &str, time: i64) -> Condition {
        new_condition(
            types::READY,
            status_,
            reasons::PROGRESSING,
            message,
            Some(1),
            at(time),
        )
    }

    #[test]
    fn same_status_keeps_the_transition_time_and_takes_the_message() {
        let mut conditions = vec![ready(status::FALSE, "building", 10)];
        assert!(set_condition(
            &mut conditions,
            ready(status::FALSE, "applying", 20)
        ));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].message, "applying");
        assert_eq!(conditions[0].last_transition_time, at(10));
    }

    #[test]
    fn a_new_status_moves_the_transition_time() {
        let mut conditions = vec![ready(status::FALSE, "building", 10)];
        assert!(set_condition(
            &mut conditions,
            ready(status::TRUE, "done", 20)
        ));
        assert_eq!(conditions[0].last_transition_time, at(20));
        assert_eq!(conditions[0].status, status::TRUE);
    }

    #[test]
    fn an_identical_condition_is_no_change() {
        let mut conditions = vec![ready(status::TRUE, "done", 10)];
        assert!(!set_condition(
            &mut conditions,
            ready(status::TRUE, "done", 99)
        ));
        assert_eq!(conditions[0].last_transition_time, at(10));
    }

    #[test]
    fn other_types_are_left_alone_and_new_types_appended() {
        let healthy = new_condition(types::HEALTHY, status::TRUE, "ok", "", Some(1), at(5));
        let mut conditions = vec![healthy.clone()];
        assert!(set_condition(
            &mut conditions,
            ready(status::TRUE, "done", 10)
        ));
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[0], healthy);
        assert!(remove_condition(&mut conditions, types::HEALTHY));
        assert!(!remove_condition(&mut conditions, types::HEALTHY));
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn ready_needs_true_at_the_generation() {
        let conditions = vec![ready(status::TRUE, "done", 10)];
        assert!(is_ready(&conditions, Some(1)));
        assert!(!is_ready(&conditions, Some(2)));
        assert!(!is_ready(&[ready(status::FALSE, "x", 1)], Some(1)));
        assert!(!is_ready(&[], Some(1)));
    }
}
