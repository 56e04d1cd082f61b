//! What Helm templates see of the cluster (`.Capabilities`) when
//! `source.helm` does not say: as Argo CD, the destination cluster's
//! Kubernetes version and API versions (`group/version`). The version is
//! read once; the API versions at most once a minute (CRDs come and go).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the cluster's API versions are reused.
const API_VERSIONS_TTL: Duration = Duration::from_secs(60);

/// The cluster's capabilities, cached.
#[derive(Default)]
pub(crate) struct ClusterCapabilities {
    version: tokio::sync::OnceCell<String>,
    api_versions: Mutex<Option<(Instant, Vec<String>)>>,
}

impl ClusterCapabilities {
    /// The Kubernetes version (`v1.34.1`); `None` when the API server does
    /// not say (helm then uses its own default).
    pub(crate) async fn kube_version(&self, client: &kube::Client) -> Option<String> {
        let read =
            || async {
                client.apiserver_version().await.map(|i| i.git_version).map_err(|error| {
                tracing::warn!(%error, "reading the cluster's version for helm's kubeVersion");
            })
            };
        self.version.get_or_try_init(read).await.ok().cloned()
    }

    /// The API versions served (`v1`, `apps/v1`, ...), sorted; empty when
    /// discovery fails (helm then uses its defaults).
    pub(crate) async fn api_versions(&self, client: &kube::Client) -> Vec<String> {
        if let Some((at, versions)) = &*self.lock()
            && at.elapsed() < API_VERSIONS_TTL
        {
            return versions.clone();
        }
        match discover(client).await {
            Ok(versions) => {
                *self.lock() = Some((Instant::now(), versions.clone()));
                versions
            }
            Err(error) => {
                tracing::warn!(%error, "listing the cluster's API versions for helm's apiVersions");
                Vec::new()
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Vec<String>)>> {
        self.api_versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn discover(client: &kube::Client) -> Result<Vec<String>, kube::Error> {
    let core = client.list_core_api_versions().await?;
    let groups = client.list_api_groups().await?;
    let mut versions: Vec<String> = core
        .versions
        .into_iter()
        .chain(
            groups
                .groups
                .into_iter()
                .flat_map(|g| g.versions.into_iter().map(|v| v.group_version)),
        )
        .collect();
    versions.sort();
    versions.dedup();
    Ok(versions)
}
