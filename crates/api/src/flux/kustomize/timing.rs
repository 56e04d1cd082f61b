//! A `v1` Kustomization's durations and deletion policy, with Flux's defaults.

use std::time::Duration;

use super::{deletion_policy, v1::KustomizationSpec};
use crate::flux::duration::{InvalidDuration, parse_field as field};

/// Flux's floor for the default timeout.
const MIN_TIMEOUT: Duration = Duration::from_secs(30);

impl KustomizationSpec {
    /// How often to reconcile (`spec.interval`).
    pub fn interval_duration(&self) -> Result<Duration, InvalidDuration> {
        field("interval", &self.interval)
    }

    /// How soon to retry a failure: `spec.retryInterval`, else the interval.
    pub fn retry_interval_duration(&self) -> Result<Duration, InvalidDuration> {
        match &self.retry_interval {
            Some(text) => field("retryInterval", text),
            None => self.interval_duration(),
        }
    }

    /// The time limit for apply and health checks, as Flux computes it:
    /// `spec.timeout`, else the interval minus 30s; never under 30s.
    pub fn timeout_duration(&self) -> Result<Duration, InvalidDuration> {
        let timeout = match &self.timeout {
            Some(text) => field("timeout", text)?,
            None => self.interval_duration()?.saturating_sub(MIN_TIMEOUT),
        };
        Ok(timeout.max(MIN_TIMEOUT))
    }

    /// `spec.deletionPolicy`, `MirrorPrune` when unset.
    pub fn deletion_policy_or_default(&self) -> &str {
        self.deletion_policy
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(deletion_policy::MIRROR_PRUNE)
    }

    /// Whether deleting the Kustomization deletes what it applied.
    pub fn deletes_on_removal(&self) -> bool {
        match self.deletion_policy_or_default() {
            deletion_policy::DELETE | deletion_policy::WAIT_FOR_TERMINATION => true,
            deletion_policy::ORPHAN => false,
            _ => self.prune,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(interval: &str, retry: Option<&str>, timeout: Option<&str>) -> KustomizationSpec {
        KustomizationSpec {
            interval: interval.into(),
            retry_interval: retry.map(Into::into),
            timeout: timeout.map(Into::into),
            ..KustomizationSpec::default()
        }
    }

    #[test]
    fn seed_002_staging_durations() {
        let staging = spec("5m", Some("2m"), Some("5m"));
        assert_eq!(staging.interval_duration(), Ok(Duration::from_secs(300)));
        assert_eq!(
            staging.retry_interval_duration(),
            Ok(Duration::from_secs(120))
        );
        assert_eq!(staging.timeout_duration(), Ok(Duration::from_secs(300)));
    }

    #[test]
    fn defaults_follow_flux() {
        let apps = spec("10m", None, None);
        assert_eq!(apps.retry_interval_duration(), Ok(Duration::from_secs(600)));
        assert_eq!(apps.timeout_duration(), Ok(Duration::from_secs(570)));
        assert_eq!(spec("45s", None, None).timeout_duration(), Ok(MIN_TIMEOUT));
        assert_eq!(
            spec("1m", None, Some("5s")).timeout_duration(),
            Ok(MIN_TIMEOUT)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = spec("5m", Some("soon"), None)
            .retry_interval_duration()
            .unwrap_err();
        assert_eq!(err.field, "retryInterval");
        assert!(err.to_string().starts_with("spec.retryInterval: "), "{err}");
        assert!(err.to_string().contains("soon"), "{err}");
        let err = spec("10", None, None).timeout_duration().unwrap_err();
        assert_eq!(err.field, "interval");
    }

    #[test]
    fn deletion_policy_mirrors_prune_by_default() {
        let mut s = spec("1m", None, None);
        assert_eq!(s.deletion_policy_or_default(), "MirrorPrune");
        assert!(!s.deletes_on_removal());
        s.prune = true;
        assert!(s.deletes_on_removal());
        s.deletion_policy = Some("Orphan".into());
        assert!(!s.deletes_on_removal());
        s.prune = false;
        s.deletion_policy = Some("Delete".into());
        assert!(s.deletes_on_removal());
    }
}
