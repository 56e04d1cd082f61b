//! Leader election with a `coordination.k8s.io/v1` Lease, so two replicas
//! never both write: acquire (create, or take over an expired lease), then
//! renew; losing the lease ends the controller.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

use crate::config::LeaderElection;
use crate::error::{Error, Result};

/// Whether a lease held by `holder`, last renewed at `renewed` for
/// `duration_secs`, may be taken by `me` at `now`.
pub fn can_take(
    holder: Option<&str>,
    renewed: Option<Timestamp>,
    duration_secs: Option<i32>,
    me: &str,
    now: Timestamp,
) -> bool {
    match holder {
        None | Some("") => true,
        Some(h) if h == me => true,
        Some(_) => {
            let Some(renewed) = renewed else { return true };
            let secs = i64::from(duration_secs.unwrap_or(15).max(1));
            now.as_second() - renewed.as_second() > secs
        }
    }
}

/// Tries once to acquire or renew the lease; `Ok(true)` when we hold it.
pub async fn try_acquire(client: &Client, cfg: &LeaderElection) -> Result<bool> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.lease_namespace);
    let now = Timestamp::now();
    let kube_err = |action: &str, e| {
        Error::kube(
            format!("lease {}/{}", cfg.lease_namespace, cfg.lease_name),
            action,
            e,
        )
    };
    let secs = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(15);
    match api
        .get_opt(&cfg.lease_name)
        .await
        .map_err(|e| kube_err("get", e))?
    {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.lease_name.clone()),
                    namespace: Some(cfg.lease_namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(kube_err("create", e)),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            let holder = spec.holder_identity.as_deref();
            if !can_take(
                holder,
                spec.renew_time.as_ref().map(|t| t.0),
                spec.lease_duration_seconds,
                &cfg.identity,
                now,
            ) {
                return Ok(false);
            }
            let taking_over = holder != Some(cfg.identity.as_str());
            let mut next = spec.clone();
            next.holder_identity = Some(cfg.identity.clone());
            next.lease_duration_seconds = Some(secs);
            next.renew_time = Some(MicroTime(now));
            if taking_over {
                next.acquire_time = Some(MicroTime(now));
                next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            lease.spec = Some(next);
            // The resourceVersion makes this a compare-and-swap.
            match api
                .replace(&cfg.lease_name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(kube_err("update", e)),
            }
        }
    }
}

/// Gives the lease up (when we hold it) so another replica takes over at
/// once instead of waiting for it to expire. Best effort.
pub async fn release(client: &Client, cfg: &LeaderElection) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.lease_namespace);
    let Ok(Some(mut lease)) = api.get_opt(&cfg.lease_name).await else {
        return;
    };
    let Some(spec) = lease.spec.as_mut() else {
        return;
    };
    if spec.holder_identity.as_deref() != Some(cfg.identity.as_str()) {
        return;
    }
    spec.holder_identity = None;
    match api
        .replace(&cfg.lease_name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => tracing::info!(lease = %cfg.lease_name, "released the lease"),
        Err(error) => tracing::warn!(%error, "cannot release the lease"),
    }
}

/// Waits until this replica holds the lease.
pub async fn acquire(client: &Client, cfg: &LeaderElection) -> Result<()> {
    loop {
        match try_acquire(client, cfg).await {
            Ok(true) => {
                tracing::info!(lease = %cfg.lease_name, identity = %cfg.identity, "became leader");
                return Ok(());
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "leader election"),
        }
        tokio::time::sleep(cfg.renew_interval).await;
    }
}

/// Renews the lease until renewal fails for longer than the lease lasts;
/// then returns [`Error::LostLease`].
pub async fn keep(client: Client, cfg: LeaderElection) -> Error {
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(cfg.renew_interval).await;
        match try_acquire(&client, &cfg).await {
            Ok(true) => last_ok = Instant::now(),
            Ok(false) => {
                return Error::LostLease {
                    namespace: cfg.lease_namespace.clone(),
                    name: cfg.lease_name.clone(),
                    after: last_ok.elapsed(),
                };
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew the lease");
                if last_ok.elapsed() > cfg.lease_duration.saturating_sub(Duration::from_secs(1)) {
                    return Error::LostLease {
                        namespace: cfg.lease_namespace.clone(),
                        name: cfg.lease_name.clone(),
                        after: last_ok.elapsed(),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_takeover_rules() {
        let t = |s| Timestamp::from_second(s).unwrap();
        assert!(can_take(None, None, None, "me", t(0)));
        assert!(can_take(Some("me"), Some(t(0)), Some(15), "me", t(1)));
        assert!(!can_take(Some("other"), Some(t(0)), Some(15), "me", t(10)));
        assert!(can_take(Some("other"), Some(t(0)), Some(15), "me", t(16)));
        assert!(can_take(Some("other"), None, Some(15), "me", t(1)));
    }
}
