//! A reconcile's outcome as a Kustomization's status, the way Flux writes
//! it (pure): `Ready`, `Reconciling`, `Stalled` and `Healthy` with Flux's
//! reasons, `lastAppliedRevision`/`lastAttemptedRevision`, the inventory,
//! `observedGeneration` and `lastHandledReconcileAt`.

use driftless_api::flux::condition::{reasons, status, types};
use driftless_api::flux::kustomize::{KustomizationStatus, ResourceInventory};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::flux_outcome::{self, Conditions};

/// How a reconcile ended (the Flux kinds' shared endings and these).
pub type Outcome = crate::flux_outcome::Outcome<Ending>;

/// A Kustomization's own endings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Applied; the health checks did not pass within the timeout:
    /// `Ready=False`, `Healthy=False` (`HealthCheckFailed`).
    Unhealthy {
        /// Which objects are not healthy.
        message: String,
    },
    /// Applied and healthy: `Ready=True` (`ReconciliationSucceeded`).
    Applied {
        /// Whether health checks ran (`Healthy=True` is written then).
        checked: bool,
    },
}

/// What one reconcile reports into the status.
#[derive(Clone, Debug)]
pub struct Report {
    /// The generation reconciled.
    pub generation: Option<i64>,
    /// The source revision attempted (`main@sha1:…`), once known.
    pub revision: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The inventory after an apply (`None`: unchanged).
    pub inventory: Option<ResourceInventory>,
    /// The `reconcile.fluxcd.io/requestedAt` value handled, if any.
    pub requested_at: Option<String>,
}

/// The status after `report`, starting from `prev`; conditions keep their
/// transition time when their status does not change.
pub fn next(prev: &KustomizationStatus, report: &Report, now: Time) -> KustomizationStatus {
    let mut next = prev.clone();
    let generation = report.generation;
    next.observed_generation = generation;
    if let Some(at) = &report.requested_at {
        next.last_handled_reconcile_at = Some(at.clone());
    }
    if let Some(revision) = &report.revision {
        next.last_attempted_revision = Some(revision.clone());
    }
    if let Some(inventory) = &report.inventory {
        next.inventory = Some(inventory.clone());
    }
    let revision = report.revision.as_deref().unwrap_or("");
    let mut c = Conditions::new(&mut next.conditions, generation, now);
    let applied = match flux_outcome::write(&mut c, &report.outcome) {
        None => false,
        Some(Ending::Unhealthy { message }) => {
            let failed = reasons::HEALTH_CHECK_FAILED;
            c.set(types::READY, status::FALSE, failed, message);
            c.set(types::HEALTHY, status::FALSE, failed, message);
            c.remove(types::RECONCILING);
            c.remove(types::STALLED);
            false
        }
        Some(Ending::Applied { checked }) => {
            let ok = reasons::RECONCILIATION_SUCCEEDED;
            c.set(
                types::READY,
                status::TRUE,
                ok,
                &format!("Applied revision: {revision}"),
            );
            if *checked {
                c.set(types::HEALTHY, status::TRUE, ok, "Health check passed");
            } else {
                c.remove(types::HEALTHY);
            }
            c.remove(types::RECONCILING);
            c.remove(types::STALLED);
            true
        }
    };
    if let Outcome::Progressing { message } = &report.outcome {
        c.set(
            types::HEALTHY,
            status::UNKNOWN,
            reasons::PROGRESSING,
            message,
        );
    }
    if applied {
        next.last_applied_revision = report.revision.clone();
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::condition::find_condition;
    use k8s_openapi::jiff::Timestamp;

    fn at(s: i64) -> Time {
        Time(Timestamp::from_second(s).unwrap())
    }

    fn report(outcome: Outcome) -> Report {
        Report {
            generation: Some(2),
            revision: Some("main@sha1:abc".into()),
            outcome,
            inventory: None,
            requested_at: None,
        }
    }

    fn get<'a>(s: &'a KustomizationStatus, t: &str) -> Option<(&'a str, &'a str, &'a str)> {
        find_condition(&s.conditions, t)
            .map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()))
    }

    #[test]
    fn applied_is_ready_with_the_revision() {
        let s = next(
            &KustomizationStatus::default(),
            &report(Outcome::Own(Ending::Applied { checked: true })),
            at(10),
        );
        assert_eq!(
            get(&s, "Ready"),
            Some((
                "True",
                "ReconciliationSucceeded",
                "Applied revision: main@sha1:abc"
            ))
        );
        assert_eq!(get(&s, "Healthy").map(|h| h.0), Some("True"));
        assert_eq!(get(&s, "Reconciling"), None);
        assert_eq!(s.last_applied_revision.as_deref(), Some("main@sha1:abc"));
        assert_eq!(s.last_attempted_revision.as_deref(), Some("main@sha1:abc"));
        assert_eq!(s.observed_generation, Some(2));
    }

    #[test]
    fn a_failure_keeps_the_last_applied_revision_and_retries() {
        let mut prev = KustomizationStatus {
            last_applied_revision: Some("main@sha1:old".into()),
            ..Default::default()
        };
        prev = next(
            &prev,
            &report(Outcome::Own(Ending::Applied { checked: false })),
            at(5),
        );
        let mut r = report(Outcome::Failed {
            reason: reasons::BUILD_FAILED,
            message: "kustomization.yaml: bad".into(),
        });
        r.revision = Some("main@sha1:new".into());
        let s = next(&prev, &r, at(10));
        assert_eq!(
            get(&s, "Ready"),
            Some(("False", "BuildFailed", "kustomization.yaml: bad"))
        );
        assert_eq!(
            get(&s, "Reconciling").map(|c| c.1),
            Some("ProgressingWithRetry")
        );
        assert_eq!(s.last_applied_revision.as_deref(), Some("main@sha1:abc"));
        assert_eq!(s.last_attempted_revision.as_deref(), Some("main@sha1:new"));
        let ready = find_condition(&s.conditions, "Ready").unwrap();
        assert_eq!(ready.last_transition_time, at(10), "the status changed");
    }

    #[test]
    fn stalled_progressing_and_unhealthy() {
        let s = next(
            &KustomizationStatus::default(),
            &report(Outcome::Stalled {
                reason: reasons::UNSUPPORTED,
                message: "spec.decryption: not supported".into(),
            }),
            at(1),
        );
        assert_eq!(get(&s, "Stalled").map(|c| c.0), Some("True"));
        assert_eq!(get(&s, "Ready").map(|c| c.0), Some("False"));
        let s = next(
            &s,
            &report(Outcome::Progressing {
                message: "waiting".into(),
            }),
            at(2),
        );
        assert_eq!(get(&s, "Stalled"), None);
        assert_eq!(get(&s, "Ready").map(|c| c.0), Some("Unknown"));
        assert_eq!(get(&s, "Healthy").map(|c| c.0), Some("Unknown"));
        let s = next(
            &s,
            &report(Outcome::Own(Ending::Unhealthy {
                message: "Deployment x".into(),
            })),
            at(3),
        );
        assert_eq!(
            get(&s, "Ready"),
            Some(("False", "HealthCheckFailed", "Deployment x"))
        );
        assert_eq!(get(&s, "Healthy").map(|c| c.0), Some("False"));
        assert_eq!(get(&s, "Reconciling"), None);
        assert_eq!(s.last_applied_revision, None);
    }

    #[test]
    fn the_same_report_twice_changes_nothing() {
        let mut r = report(Outcome::Own(Ending::Applied { checked: false }));
        r.requested_at = Some("2026-01-01".into());
        let once = next(&KustomizationStatus::default(), &r, at(1));
        let twice = next(&once, &r, at(2));
        assert_eq!(once, twice, "nothing to write");
        assert_eq!(
            twice.last_handled_reconcile_at.as_deref(),
            Some("2026-01-01")
        );
    }
}
