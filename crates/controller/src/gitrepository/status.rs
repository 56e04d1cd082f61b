//! A GitRepository's next status from its last one and what the reconcile
//! found, with Flux's conditions: `Ready`, `ArtifactInStorage`,
//! `Reconciling`, `Stalled` and `FetchFailed` (the last three present only
//! while true). A failure keeps the last artifact, as Flux does, so the
//! Kustomizations reading it keep what they had. Pure.

use driftless_api::flux::condition::{
    new_condition, reasons, remove_condition, set_condition, status as cs, types,
};
use driftless_api::flux::reference::Artifact;
use driftless_api::flux::source::GitRepositoryStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::fetch::Fetched;

/// What a reconcile knows besides its outcome.
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    /// `metadata.generation`.
    pub(crate) generation: Option<i64>,
    /// The `reconcile.fluxcd.io/requestedAt` annotation.
    pub(crate) requested_at: Option<String>,
    /// `namespace/name`, for the artifact path.
    pub(crate) id: String,
    /// `spec.url` with credentials removed, for the artifact URL.
    pub(crate) url: String,
    /// `spec.ignore`.
    pub(crate) ignore: Option<String>,
    /// `spec.interval` as written.
    pub(crate) interval: String,
    /// The time of this reconcile.
    pub(crate) now: Time,
}

impl Observed {
    fn condition(&self, type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        new_condition(
            type_,
            status,
            reason,
            message,
            self.generation,
            self.now.clone(),
        )
    }

    fn handled(&self, mut status: GitRepositoryStatus) -> GitRepositoryStatus {
        status.observed_generation = self.generation;
        if self.requested_at.is_some() {
            status.last_handled_reconcile_at = self.requested_at.clone();
        }
        status
    }
}

/// The message of a stored artifact.
pub(crate) fn stored_message(revision: &str) -> String {
    format!("stored artifact for revision '{revision}'")
}

/// After a successful fetch: `Ready=True`/`Succeeded`, the artifact at the
/// fetched revision (its `lastUpdateTime` moves only with the revision).
pub(crate) fn fetched(
    old: &GitRepositoryStatus,
    obs: &Observed,
    fetched: &Fetched,
) -> GitRepositoryStatus {
    let mut status = obs.handled(old.clone());
    let message = stored_message(&fetched.revision);
    let same = old
        .artifact
        .as_ref()
        .is_some_and(|a| a.revision == fetched.revision && a.url == obs.url);
    if !same {
        status.artifact = Some(Artifact {
            path: format!("gitrepository/{}/{}", obs.id, fetched.sha),
            url: obs.url.clone(),
            revision: fetched.revision.clone(),
            digest: None,
            last_update_time: obs.now.clone(),
            size: None,
            metadata: Default::default(),
        });
    }
    status.observed_ignore = obs.ignore.clone();
    let c = &mut status.conditions;
    for gone in [types::RECONCILING, types::STALLED, types::FETCH_FAILED] {
        remove_condition(c, gone);
    }
    set_condition(
        c,
        obs.condition(
            types::ARTIFACT_IN_STORAGE,
            cs::TRUE,
            reasons::SUCCEEDED,
            &message,
        ),
    );
    set_condition(
        c,
        obs.condition(types::READY, cs::TRUE, reasons::SUCCEEDED, &message),
    );
    status
}

/// After a failed fetch that a retry may fix: `FetchFailed=True`,
/// `Ready=False` and `Reconciling=True` (`ProgressingWithRetry`), both with
/// `reason`; the artifact stays.
pub(crate) fn failed(
    old: &GitRepositoryStatus,
    obs: &Observed,
    reason: &str,
    message: &str,
) -> GitRepositoryStatus {
    let mut status = obs.handled(old.clone());
    let c = &mut status.conditions;
    remove_condition(c, types::STALLED);
    set_condition(
        c,
        obs.condition(types::FETCH_FAILED, cs::TRUE, reason, message),
    );
    let retry = format!("retrying every {} after: {message}", obs.interval);
    set_condition(
        c,
        obs.condition(
            types::RECONCILING,
            cs::TRUE,
            reasons::PROGRESSING_WITH_RETRY,
            &retry,
        ),
    );
    set_condition(c, obs.condition(types::READY, cs::FALSE, reason, message));
    status
}

/// When only a change to the spec can help (an unsupported field, an
/// invalid value): `Stalled=True` and `Ready=False` with `reason`, nothing
/// fetched, the artifact kept.
pub(crate) fn stalled(
    old: &GitRepositoryStatus,
    obs: &Observed,
    reason: &str,
    message: &str,
) -> GitRepositoryStatus {
    let mut status = obs.handled(old.clone());
    let c = &mut status.conditions;
    remove_condition(c, types::RECONCILING);
    remove_condition(c, types::FETCH_FAILED);
    set_condition(c, obs.condition(types::STALLED, cs::TRUE, reason, message));
    set_condition(c, obs.condition(types::READY, cs::FALSE, reason, message));
    status
}

/// While `spec.suspend` is true nothing is fetched and, as with Flux,
/// `Ready` keeps what it said; an object never reconciled says
/// `Ready=Unknown`/`Suspended`.
pub(crate) fn suspended(old: &GitRepositoryStatus, obs: &Observed) -> GitRepositoryStatus {
    let mut status = old.clone();
    let c = &mut status.conditions;
    if driftless_api::flux::condition::find_condition(c, types::READY).is_none() {
        set_condition(
            c,
            obs.condition(
                types::READY,
                cs::UNKNOWN,
                reasons::SUSPENDED,
                "reconciliation is suspended (spec.suspend)",
            ),
        );
    }
    status
}

#[cfg(test)]
mod tests {
    use driftless_api::flux::condition::find_condition;

    use super::*;

    const SHA: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";

    fn at(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("a valid timestamp"))
    }

    fn obs(generation: i64, now: i64) -> Observed {
        Observed {
            generation: Some(generation),
            requested_at: Some("r1".into()),
            id: "flux-system/apps".into(),
            url: "https://git.example/org/apps".into(),
            ignore: None,
            interval: "1m".into(),
            now: at(now),
        }
    }

    fn got(sha: &str) -> Fetched {
        Fetched {
            sha: sha.into(),
            revision: format!("main@sha1:{sha}"),
        }
    }

    fn cond<'a>(s: &'a GitRepositoryStatus, type_: &str) -> Option<&'a str> {
        find_condition(&s.conditions, type_).map(|c| c.status.as_str())
    }

    #[test]
    fn success_is_ready_with_the_artifact_and_echoes_the_request() {
        let s = fetched(&GitRepositoryStatus::default(), &obs(3, 10), &got(SHA));
        let ready = find_condition(&s.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Succeeded")
        );
        assert_eq!(
            ready.message,
            format!("stored artifact for revision 'main@sha1:{SHA}'")
        );
        let artifact = s.artifact.as_ref().unwrap();
        assert_eq!(artifact.revision, format!("main@sha1:{SHA}"));
        assert_eq!(artifact.last_update_time, at(10));
        assert_eq!(artifact.digest, None);
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(s.last_handled_reconcile_at.as_deref(), Some("r1"));
        assert_eq!(cond(&s, types::RECONCILING), None);
    }

    #[test]
    fn the_same_revision_again_changes_nothing() {
        let first = fetched(&GitRepositoryStatus::default(), &obs(3, 10), &got(SHA));
        let again = fetched(&first, &obs(3, 99), &got(SHA));
        assert_eq!(again, first, "no write when nothing changed");
        let other = "1111111111111111111111111111111111111111";
        let moved = fetched(&first, &obs(3, 99), &got(other));
        assert_eq!(moved.artifact.unwrap().last_update_time, at(99));
    }

    #[test]
    fn a_failure_keeps_the_artifact_and_recovery_clears_it() {
        let good = fetched(&GitRepositoryStatus::default(), &obs(1, 10), &got(SHA));
        let bad = failed(&good, &obs(1, 20), "GitOperationFailed", "boom");
        assert_eq!(bad.artifact, good.artifact);
        assert_eq!(cond(&bad, types::READY), Some("False"));
        assert_eq!(cond(&bad, types::FETCH_FAILED), Some("True"));
        assert_eq!(cond(&bad, types::RECONCILING), Some("True"));
        assert_eq!(
            find_condition(&bad.conditions, types::READY)
                .unwrap()
                .reason,
            "GitOperationFailed"
        );
        let healed = fetched(&bad, &obs(1, 30), &got(SHA));
        assert_eq!(cond(&healed, types::READY), Some("True"));
        assert_eq!(cond(&healed, types::FETCH_FAILED), None);
        assert_eq!(cond(&healed, types::RECONCILING), None);
    }

    #[test]
    fn stalled_names_the_reason_and_drops_retrying() {
        let bad = failed(
            &GitRepositoryStatus::default(),
            &obs(1, 20),
            "GitOperationFailed",
            "x",
        );
        let s = stalled(&bad, &obs(2, 30), "UnsupportedField", "spec.verify: no");
        assert_eq!(cond(&s, types::STALLED), Some("True"));
        assert_eq!(cond(&s, types::READY), Some("False"));
        assert_eq!(cond(&s, types::RECONCILING), None);
        assert_eq!(cond(&s, types::FETCH_FAILED), None);
        assert_eq!(s.observed_generation, Some(2));
    }

    #[test]
    fn suspension_leaves_ready_alone() {
        let good = fetched(&GitRepositoryStatus::default(), &obs(1, 10), &got(SHA));
        assert_eq!(suspended(&good, &obs(2, 20)), good);
        let fresh = suspended(&GitRepositoryStatus::default(), &obs(1, 10));
        let ready = find_condition(&fresh.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("Unknown", "Suspended")
        );
    }
}
