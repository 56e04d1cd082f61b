//! A reconcile's outcome as a HelmRelease's status, the way Flux's
//! helm-controller writes it (pure). driftless writes this subset of its
//! Ready reasons: `InstallSucceeded`/`UpgradeSucceeded` (Ready=True,
//! Released=True), `InstallFailed`/`UpgradeFailed` (a template error, an
//! apply error, objects unhealthy past the timeout), `ArtifactFailed`
//! (chart or source), `InitFailed` (`valuesFrom`), `DependencyNotReady`,
//! and Stalled with `UnsupportedField`/`InvalidSpec`.

use driftless_api::flux::condition::{find_condition, status, types};
use driftless_api::flux::helm::reasons;
use driftless_api::flux::helm::v2::HelmReleaseStatus;
use driftless_api::flux::kustomize::ResourceInventory;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::flux_outcome::{self, Conditions};

/// Flux's `Released` condition type.
pub const RELEASED: &str = "Released";

/// How a reconcile ended (the Flux kinds' shared endings and this one).
pub type Outcome = crate::flux_outcome::Outcome<Ending>;

/// A HelmRelease's own ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Applied and healthy.
    Released {
        /// `InstallSucceeded` or `UpgradeSucceeded` (kept from before when
        /// nothing changed).
        reason: &'static str,
        /// Flux's message.
        message: String,
    },
}

/// What one reconcile reports.
#[derive(Clone, Debug)]
pub struct Report {
    /// The generation reconciled.
    pub generation: Option<i64>,
    /// The chart revision attempted, once known.
    pub revision: Option<String>,
    /// The digest of the values attempted, once known.
    pub config_digest: Option<String>,
    /// `install` or `upgrade`, once known.
    pub action: Option<&'static str>,
    /// How it ended.
    pub outcome: Outcome,
    /// The inventory after an apply (`None`: unchanged).
    pub inventory: Option<ResourceInventory>,
    /// The `reconcile.fluxcd.io/requestedAt` value handled.
    pub requested_at: Option<String>,
    /// `<namespace>/<namespace>-<name>`.
    pub helm_chart: String,
    /// Where Helm would store the release.
    pub storage_namespace: String,
}

/// `install` when nothing was ever applied, else `upgrade`.
pub fn action(prev: &HelmReleaseStatus) -> &'static str {
    if prev.last_applied_revision.is_some() {
        "upgrade"
    } else {
        "install"
    }
}

/// Whether the same chart revision and values are already applied and Ready.
pub fn unchanged(
    prev: &HelmReleaseStatus,
    generation: Option<i64>,
    revision: &str,
    digest: &str,
) -> bool {
    prev.observed_generation == generation
        && prev.last_applied_revision.as_deref() == Some(revision)
        && prev.last_attempted_config_digest.as_deref() == Some(digest)
        && find_condition(&prev.conditions, types::READY).is_some_and(|c| c.status == status::TRUE)
}

/// The reason of a failure of `action` (install or upgrade).
pub fn failed_reason(action: &str) -> &'static str {
    if action == "upgrade" {
        reasons::UPGRADE_FAILED
    } else {
        reasons::INSTALL_FAILED
    }
}

/// The reason of a success of `action`.
pub fn succeeded_reason(action: &str) -> &'static str {
    if action == "upgrade" {
        reasons::UPGRADE_SUCCEEDED
    } else {
        reasons::INSTALL_SUCCEEDED
    }
}

/// The status after `report`, starting from `prev`.
pub fn next(prev: &HelmReleaseStatus, report: &Report, now: Time) -> HelmReleaseStatus {
    let mut next = prev.clone();
    let generation = report.generation;
    next.observed_generation = generation;
    next.helm_chart = Some(report.helm_chart.clone());
    next.storage_namespace = Some(report.storage_namespace.clone());
    if let Some(at) = &report.requested_at {
        next.last_handled_reconcile_at = Some(at.clone());
    }
    if let Some(revision) = &report.revision {
        next.last_attempted_revision = Some(revision.clone());
    }
    if let Some(digest) = &report.config_digest {
        next.last_attempted_config_digest = Some(digest.clone());
    }
    if let Some(action) = report.action {
        next.last_attempted_release_action = Some(action.to_string());
        next.last_attempted_generation = generation;
    }
    if let Some(inventory) = &report.inventory {
        next.inventory = Some(inventory.clone());
    }
    let mut c = Conditions::new(&mut next.conditions, generation, now);
    let released = flux_outcome::write(&mut c, &report.outcome).is_some_and(|own| {
        let Ending::Released { reason, message } = own;
        c.set(types::READY, status::TRUE, reason, message);
        c.set(RELEASED, status::TRUE, reason, message);
        c.remove(types::RECONCILING);
        c.remove(types::STALLED);
        true
    });
    if let Outcome::Failed { reason, message } = &report.outcome
        && (*reason == reasons::INSTALL_FAILED || *reason == reasons::UPGRADE_FAILED)
    {
        c.set(RELEASED, status::FALSE, reason, message);
    }
    if released {
        next.last_applied_revision = report.revision.clone();
    }
    next.failures = match &report.outcome {
        Outcome::Failed { .. } => Some(prev.failures.unwrap_or(0) + 1),
        Outcome::Own(Ending::Released { .. }) => None,
        _ => prev.failures,
    };
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn report(outcome: Outcome, revision: &str) -> Report {
        Report {
            generation: Some(1),
            revision: Some(revision.into()),
            config_digest: Some("sha256:aa".into()),
            action: Some("install"),
            outcome,
            inventory: None,
            requested_at: None,
            helm_chart: "ns/ns-web".into(),
            storage_namespace: "ns".into(),
        }
    }

    fn now() -> Time {
        Time(Timestamp::from_second(10).unwrap())
    }

    #[test]
    fn install_then_failure_then_upgrade() {
        let released = Outcome::Own(Ending::Released {
            reason: reasons::INSTALL_SUCCEEDED,
            message: "Helm install succeeded".into(),
        });
        let first = next(
            &HelmReleaseStatus::default(),
            &report(released, "1.0.0"),
            now(),
        );
        assert_eq!(action(&first), "upgrade");
        assert!(unchanged(&first, Some(1), "1.0.0", "sha256:aa"));
        assert!(!unchanged(&first, Some(1), "1.1.0", "sha256:aa"));
        let ready = find_condition(&first.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "InstallSucceeded")
        );
        let failed = Outcome::Failed {
            reason: failed_reason("upgrade"),
            message: "chart web version 9.9.9: no such version".into(),
        };
        let second = next(&first, &report(failed, "9.9.9"), now());
        let ready = find_condition(&second.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "UpgradeFailed")
        );
        assert_eq!(second.last_applied_revision.as_deref(), Some("1.0.0"));
        assert_eq!(second.last_attempted_revision.as_deref(), Some("9.9.9"));
        assert_eq!(second.failures, Some(1));
        assert!(find_condition(&second.conditions, types::RECONCILING).is_some());
    }
}
