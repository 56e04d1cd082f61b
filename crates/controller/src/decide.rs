//! Whether to sync now: the automated-sync rules (once per new revision,
//! retries with backoff after a failure, self-heal with backoff), as a pure
//! function of the spec, the comparison and the last operation.

use std::time::Duration;

use driftless_api::{OperationPhase, OperationState, SyncPolicy};
use k8s_openapi::jiff::Timestamp;

use crate::retry::RetryPolicy;

/// What to do about an OutOfSync Application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: in sync, not automated, or already attempted (the reason).
    Skip(String),
    /// Sync now; `retry` is the retry number (0 for a first attempt).
    Sync {
        /// 0 for a first attempt, n for the n-th retry.
        retry: u32,
        /// True when this re-sync reverts drift at an already-synced revision.
        self_heal: bool,
    },
    /// A retry or self-heal is due after this delay.
    Wait(Duration),
    /// Out of sync, automated, and not synced for a reason the user must
    /// see (a `SyncError` condition and a Warning Event): the render is
    /// empty and `allowEmpty` is off.
    Refuse(String),
}

/// The inputs of an automated-sync decision.
#[derive(Clone, Debug)]
pub struct AutoSyncInput<'a> {
    /// `spec.syncPolicy`.
    pub policy: Option<&'a SyncPolicy>,
    /// The resolved commit (for several sources, every source's revision
    /// joined by commas, as [`driftless_api::SyncOperationResult::synced_revisions`]).
    pub revision: &'a str,
    /// Whether the comparison found differences.
    pub out_of_sync: bool,
    /// Whether the only differences are resources requiring pruning.
    pub only_pruning: bool,
    /// Whether the render produced no objects.
    pub empty_render: bool,
    /// `status.operationState`.
    pub last: Option<&'a OperationState>,
    /// Self-heal syncs done since the Application was last in sync for
    /// [`SELF_HEAL_COOLDOWN`].
    pub self_heal_attempts: u32,
    /// When the last self-heal sync ran.
    pub last_self_heal: Option<Timestamp>,
    /// Now.
    pub now: Timestamp,
}

/// The first self-heal runs at once; the n-th waits 1 s × 2^(n-2), capped at 3 minutes.
pub fn self_heal_delay(attempts: u32) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let exp = (attempts - 1).min(10);
    Duration::from_secs(1u64 << exp).min(Duration::from_secs(180))
}

/// How long an Application must stay in sync after its last self-heal
/// before the self-heal backoff starts again from zero (Argo CD's
/// `--self-heal-backoff-cooldown-seconds`, 330 s by default). Without it,
/// an actor rewriting a field after every revert would be reverted at
/// once every time.
pub const SELF_HEAL_COOLDOWN: Duration = Duration::from_secs(330);

/// Whether the self-heal backoff may reset: no self-heal ran in the last
/// [`SELF_HEAL_COOLDOWN`].
pub fn self_heal_settled(last_self_heal: Option<Timestamp>, now: Timestamp) -> bool {
    elapsed(last_self_heal, now) >= SELF_HEAL_COOLDOWN
}

fn elapsed(since: Option<Timestamp>, now: Timestamp) -> Duration {
    since
        .map(|t| now.duration_since(t))
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or(Duration::MAX)
}

/// Decides whether automated sync should run now.
pub fn auto_sync(input: &AutoSyncInput<'_>, retry: &RetryPolicy) -> Decision {
    let Some(automated) = input.policy.and_then(SyncPolicy::automated) else {
        return Decision::Skip("automated sync is off".into());
    };
    if !input.out_of_sync {
        return Decision::Skip("in sync".into());
    }
    if input.only_pruning && !automated.prune {
        return Decision::Skip(
            "only resources requiring pruning differ and automated prune is off".into(),
        );
    }
    if input.empty_render && !automated.allow_empty {
        return Decision::Refuse(
            "auto-sync will wipe out all resources: the render is empty and allowEmpty is off"
                .into(),
        );
    }
    let last_same_revision = input.last.filter(|op| {
        op.sync_result
            .as_ref()
            .map(|r| r.synced_revisions())
            .as_deref()
            == Some(input.revision)
            && op.phase != OperationPhase::Running
    });
    let Some(last) = last_same_revision else {
        return Decision::Sync {
            retry: 0,
            self_heal: false,
        };
    };
    match last.phase {
        OperationPhase::Succeeded => {
            if !automated.self_heal {
                return Decision::Skip(format!(
                    "already synced to {} and selfHeal is off",
                    input.revision
                ));
            }
            let wait = self_heal_delay(input.self_heal_attempts);
            let since = elapsed(input.last_self_heal, input.now);
            if since >= wait {
                Decision::Sync {
                    retry: 0,
                    self_heal: true,
                }
            } else {
                Decision::Wait(wait - since)
            }
        }
        _ => {
            let next = u32::try_from(last.retry_count.unwrap_or(0).max(0))
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            if !retry.allows(next) {
                return Decision::Skip(format!(
                    "sync to {} failed {} times; not retrying until the revision or spec changes",
                    input.revision, next
                ));
            }
            let finished = last.finished_at.as_ref().map(|t| t.0);
            let since = elapsed(finished, input.now);
            let wait = retry.delay(next);
            if since >= wait {
                Decision::Sync {
                    retry: next,
                    self_heal: false,
                }
            } else {
                Decision::Wait(wait - since)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::{SyncOperationResult, SyncPolicyAutomated};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn policy(self_heal: bool, prune: bool) -> SyncPolicy {
        SyncPolicy {
            automated: Some(SyncPolicyAutomated {
                self_heal,
                prune,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn op(rev: &str, phase: OperationPhase, retries: i64, finished: i64) -> OperationState {
        OperationState {
            phase,
            retry_count: Some(retries),
            finished_at: Some(Time(Timestamp::from_second(finished).unwrap())),
            sync_result: Some(SyncOperationResult {
                revision: rev.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn input<'a>(
        p: &'a SyncPolicy,
        last: Option<&'a OperationState>,
        now: i64,
    ) -> AutoSyncInput<'a> {
        AutoSyncInput {
            policy: Some(p),
            revision: "r2",
            out_of_sync: true,
            only_pruning: false,
            empty_render: false,
            last,
            self_heal_attempts: 0,
            last_self_heal: None,
            now: Timestamp::from_second(now).unwrap(),
        }
    }

    #[test]
    fn new_revision_syncs_once() {
        let p = policy(false, false);
        let r = RetryPolicy::default();
        let old = op("r1", OperationPhase::Succeeded, 0, 0);
        assert_eq!(
            auto_sync(&input(&p, Some(&old), 1), &r),
            Decision::Sync {
                retry: 0,
                self_heal: false
            }
        );
        let done = op("r2", OperationPhase::Succeeded, 0, 0);
        assert!(matches!(
            auto_sync(&input(&p, Some(&done), 1), &r),
            Decision::Skip(_)
        ));
    }

    #[test]
    fn not_automated_or_in_sync_skips() {
        let r = RetryPolicy::default();
        let manual = SyncPolicy::default();
        assert!(matches!(
            auto_sync(&input(&manual, None, 0), &r),
            Decision::Skip(_)
        ));
        let p = policy(false, false);
        let mut i = input(&p, None, 0);
        i.out_of_sync = false;
        assert!(matches!(auto_sync(&i, &r), Decision::Skip(_)));
        let mut i = input(&p, None, 0);
        i.only_pruning = true;
        assert!(matches!(auto_sync(&i, &r), Decision::Skip(_)), "prune off");
        let pp = policy(false, true);
        let mut i = input(&pp, None, 0);
        i.only_pruning = true;
        assert!(matches!(auto_sync(&i, &r), Decision::Sync { .. }));
        let mut i = input(&pp, None, 0);
        i.empty_render = true;
        assert!(
            matches!(auto_sync(&i, &r), Decision::Refuse(ref m) if m.contains("allowEmpty")),
            "never sync an empty render without allowEmpty"
        );
    }

    #[test]
    fn failures_retry_with_backoff_then_stop() {
        let p = policy(false, false);
        let r = RetryPolicy::default();
        let failed = op("r2", OperationPhase::Failed, 0, 100);
        assert_eq!(
            auto_sync(&input(&p, Some(&failed), 102), &r),
            Decision::Wait(Duration::from_secs(3))
        );
        assert_eq!(
            auto_sync(&input(&p, Some(&failed), 105), &r),
            Decision::Sync {
                retry: 1,
                self_heal: false
            }
        );
        let third = op("r2", OperationPhase::Error, 2, 100);
        assert_eq!(
            auto_sync(&input(&p, Some(&third), 110), &r),
            Decision::Wait(Duration::from_secs(10))
        );
        let exhausted = op("r2", OperationPhase::Failed, 5, 0);
        let d = auto_sync(&input(&p, Some(&exhausted), 10_000), &r);
        assert!(
            matches!(d, Decision::Skip(ref m) if m.contains("r2")),
            "{d:?}"
        );
        // A new revision starts over.
        let mut i = input(&p, Some(&exhausted), 10_000);
        i.revision = "r3";
        assert_eq!(
            auto_sync(&i, &r),
            Decision::Sync {
                retry: 0,
                self_heal: false
            }
        );
    }

    #[test]
    fn self_heal_backoff_resets_only_after_the_cooldown() {
        let now = Timestamp::from_second(10_000).unwrap();
        let ago = |secs: i64| Some(Timestamp::from_second(10_000 - secs).unwrap());
        assert!(self_heal_settled(None, now));
        assert!(!self_heal_settled(ago(0), now));
        assert!(!self_heal_settled(ago(329), now));
        assert!(self_heal_settled(ago(330), now));
    }

    #[test]
    fn self_heal_backs_off() {
        let p = policy(true, false);
        let r = RetryPolicy::default();
        let done = op("r2", OperationPhase::Succeeded, 0, 0);
        assert_eq!(
            auto_sync(&input(&p, Some(&done), 50), &r),
            Decision::Sync {
                retry: 0,
                self_heal: true
            }
        );
        let mut i = input(&p, Some(&done), 50);
        i.self_heal_attempts = 3;
        i.last_self_heal = Some(Timestamp::from_second(49).unwrap());
        assert_eq!(auto_sync(&i, &r), Decision::Wait(Duration::from_secs(3)));
        assert_eq!(self_heal_delay(1), Duration::from_secs(1));
        assert_eq!(self_heal_delay(30), Duration::from_secs(180));
    }
}
