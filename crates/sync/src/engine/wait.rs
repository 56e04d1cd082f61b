//! Waiting for applied objects to become healthy (between waves, and for
//! CRDs to be Established before their custom resources).

use std::time::{Duration, Instant};

use driftless_api::HealthStatusCode;
use driftless_render::ObjectKey;
use futures::{StreamExt, stream};

use super::SyncEngine;
use crate::discovery::Resolved;
use crate::progress::{Progress, Stop};
use crate::{health, kubeapi};

/// Why waiting ended without every object healthy.
pub(super) enum WaitFailure {
    /// An object became Degraded (the message names it).
    Degraded(String),
    /// The time ran out (the message lists what was still pending).
    Timeout(String),
    /// A stop (terminate) was requested while waiting.
    Stopped,
}

impl SyncEngine {
    /// Polls `objects` until all are Healthy (or Suspended), one is
    /// Degraded, `timeout` passes or `stop` is requested; reports what
    /// `what` (e.g. `wave 0`) still waits for to the progress of `waiting`.
    pub(super) async fn wait_healthy(
        &self,
        objects: &[(ObjectKey, Resolved)],
        timeout: Duration,
        (progress, what): (&Progress, &str),
        stop: &Stop,
    ) -> Result<(), WaitFailure> {
        let start = Instant::now();
        loop {
            if stop.requested() {
                return Err(WaitFailure::Stopped);
            }
            // Indices, not borrowed items: a closure over borrowed items
            // cannot be proven `Send`.
            let states: Vec<(String, driftless_api::HealthStatus)> = stream::iter(0..objects.len())
                .map(|i| async move {
                    let (key, resolved) = &objects[i];
                    (key.to_string(), self.health_of(key, resolved).await)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let describe = |(name, h): &(String, driftless_api::HealthStatus)| match &h.message {
                Some(m) => format!("{name} is {:?}: {m}", h.status),
                None => format!("{name} is {:?}", h.status),
            };
            if let Some(bad) = states
                .iter()
                .find(|(_, h)| h.status == HealthStatusCode::Degraded)
            {
                return Err(WaitFailure::Degraded(describe(bad)));
            }
            let pending: Vec<&(String, driftless_api::HealthStatus)> = states
                .iter()
                .filter(|(_, h)| {
                    !matches!(
                        h.status,
                        HealthStatusCode::Healthy | HealthStatusCode::Suspended
                    )
                })
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            let waiting_for: Vec<String> = pending
                .iter()
                .map(|(name, h)| match &h.message {
                    Some(m) => format!("{name} ({:?}: {m})", h.status),
                    None => format!("{name} ({:?})", h.status),
                })
                .collect();
            progress.report(format!("{what}: waiting for {}", waiting_for.join("; ")));
            let pending: Vec<String> = pending.into_iter().map(describe).collect();
            if start.elapsed() >= timeout {
                return Err(WaitFailure::Timeout(pending.join("; ")));
            }
            tracing::debug!(pending = pending.len(), "waiting for health");
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The health of the live object `key` (Missing when it does not exist).
    pub(super) async fn health_of(
        &self,
        key: &ObjectKey,
        resolved: &Resolved,
    ) -> driftless_api::HealthStatus {
        let api = kubeapi::api(&self.client, resolved, &key.namespace);
        match api.get_opt(&key.name).await {
            Ok(Some(obj)) => health::assess(&kubeapi::to_value(obj, resolved)),
            Ok(None) => health::missing(),
            Err(e) => driftless_api::HealthStatus {
                status: HealthStatusCode::Unknown,
                message: Some(kubeapi::message(&e)),
            },
        }
    }
}
