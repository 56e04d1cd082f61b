//! A cache of API discovery: which resource serves a group/version/kind,
//! and whether it is namespaced. Refreshed when a kind is unknown (a CRD
//! applied earlier in the same sync) and after CRDs are applied.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kube::Client;
use kube::discovery::{ApiResource, Discovery, Scope};
use tokio::sync::RwLock;

use crate::error::SyncError;

/// A resolved API resource: where objects of a kind live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// True when objects of the kind live in a namespace.
    pub namespaced: bool,
}

type Gvk = (String, String, String);

#[derive(Default)]
struct Snapshot {
    kinds: HashMap<Gvk, Resolved>,
    taken: Option<Instant>,
}

/// Cached discovery of every served kind.
pub struct Catalog {
    client: Client,
    snapshot: RwLock<Snapshot>,
}

/// Refreshes triggered by an unknown kind happen at most this often.
const MIN_REFRESH: Duration = Duration::from_secs(2);

impl Catalog {
    /// An empty cache; discovery runs on first use.
    pub fn new(client: Client) -> Self {
        Catalog {
            client,
            snapshot: RwLock::new(Snapshot::default()),
        }
    }

    /// Runs discovery now (aggregated discovery, falling back to the
    /// per-group kind when the server does not offer it).
    pub async fn refresh(&self) -> Result<(), SyncError> {
        let discovery = match Discovery::new(self.client.clone()).run_aggregated().await {
            Ok(d) => d,
            Err(_) => Discovery::new(self.client.clone())
                .run()
                .await
                .map_err(SyncError::Discovery)?,
        };
        let mut kinds = HashMap::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (resource, caps) in group.versioned_resources(version) {
                    let key = (
                        resource.group.clone(),
                        resource.version.clone(),
                        resource.kind.clone(),
                    );
                    let namespaced = caps.scope == Scope::Namespaced;
                    kinds.insert(
                        key,
                        Resolved {
                            resource,
                            namespaced,
                        },
                    );
                }
            }
        }
        tracing::debug!(kinds = kinds.len(), "API discovery refreshed");
        *self.snapshot.write().await = Snapshot {
            kinds,
            taken: Some(Instant::now()),
        };
        Ok(())
    }

    /// The resource serving `group`/`version`/`kind`, from the cache only.
    pub async fn cached(&self, group: &str, version: &str, kind: &str) -> Option<Resolved> {
        let key = (group.to_string(), version.to_string(), kind.to_string());
        self.snapshot.read().await.kinds.get(&key).cloned()
    }

    /// The resource serving `group`/`version`/`kind`; runs discovery when
    /// the cache is empty, or when the kind is unknown and the cache is older
    /// than a couple of seconds. `None` when the server does not serve it.
    pub async fn resolve(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, SyncError> {
        let taken = self.snapshot.read().await.taken;
        if taken.is_none() {
            self.refresh().await?;
        }
        if let Some(found) = self.cached(group, version, kind).await {
            return Ok(Some(found));
        }
        let stale = self
            .snapshot
            .read()
            .await
            .taken
            .is_none_or(|t| t.elapsed() >= MIN_REFRESH);
        if stale {
            self.refresh().await?;
        }
        Ok(self.cached(group, version, kind).await)
    }

    /// Runs discovery until every (group, version, kind) of `kinds` is
    /// served, or `timeout` passed: a CRD is Established before the API
    /// server's discovery lists its kinds, and under load the gap is long
    /// enough for the next apply to find its kind unserved.
    pub async fn await_kinds(&self, kinds: &[(String, String, String)], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let mut missing = false;
            for (group, version, kind) in kinds {
                missing |= self.cached(group, version, kind).await.is_none();
            }
            if !missing || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Err(error) = self.refresh().await {
                tracing::debug!(%error, "API discovery failed while waiting for new kinds");
            }
        }
    }

    /// Makes the next [`Catalog::resolve`] of an unknown kind run discovery
    /// again, however recent the cache is (after CRDs were applied).
    pub async fn invalidate(&self) {
        self.snapshot.write().await.taken = Instant::now().checked_sub(MIN_REFRESH);
    }
}
