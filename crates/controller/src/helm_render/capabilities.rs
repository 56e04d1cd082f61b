//! What Helm templates see of the cluster (`.Capabilities`) when
//! `source.helm` does not say: as Argo CD, the destination cluster's
//! Kubernetes version and API versions (`group/version` and
//! `group/version/Kind`). The version is read once; the API versions at
//! most once a minute (CRDs come and go).

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

    /// The API versions served (`v1`, `v1/ConfigMap`, `apps/v1`,
    /// `apps/v1/Deployment`, ...), sorted; empty when discovery fails (helm
    /// then uses its defaults).
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

/// Every served group version and its kinds, as Argo CD passes them:
/// `group/version` and `group/version/Kind` (`v1`, `v1/ConfigMap`, `apps/v1`,
/// `apps/v1/Deployment`, ...). A group version whose resources cannot be
/// listed (an unavailable aggregated API) still counts as served.
async fn discover(client: &kube::Client) -> Result<Vec<String>, kube::Error> {
    let core = client.list_core_api_versions().await?;
    let groups = client.list_api_groups().await?;
    let core = core.versions.into_iter().map(|v| (v, true));
    let grouped = groups
        .groups
        .into_iter()
        .flat_map(|g| g.versions.into_iter().map(|v| (v.group_version, false)));
    let lists = core.chain(grouped).map(|(group_version, is_core)| async move {
        let listed = if is_core {
            client.list_core_api_resources(&group_version).await
        } else {
            client.list_api_group_resources(&group_version).await
        };
        let kinds = match listed {
            Ok(list) => list
                .resources
                .into_iter()
                .filter(|r| !r.name.contains('/'))
                .map(|r| r.kind)
                .collect(),
            Err(error) => {
                tracing::debug!(%error, %group_version, "listing resources for helm's apiVersions");
                Vec::new()
            }
        };
        (group_version, kinds)
    });
    Ok(api_version_strings(futures::future::join_all(lists).await))
}

/// `group/version` and `group/version/Kind` of each group version and its
/// kinds, sorted, without repeats.
fn api_version_strings(served: Vec<(String, Vec<String>)>) -> Vec<String> {
    let mut versions: Vec<String> = served
        .into_iter()
        .flat_map(|(group_version, kinds)| {
            let with_kinds: Vec<String> = kinds
                .iter()
                .map(|kind| format!("{group_version}/{kind}"))
                .collect();
            std::iter::once(group_version).chain(with_kinds)
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_versions_with_and_without_kinds() {
        let served = vec![
            (
                "v1".to_string(),
                vec!["ConfigMap".to_string(), "Pod".to_string()],
            ),
            (
                "apps/v1".to_string(),
                vec!["Deployment".to_string(), "Deployment".to_string()],
            ),
            ("metrics.k8s.io/v1beta1".to_string(), Vec::new()),
        ];
        assert_eq!(
            api_version_strings(served),
            [
                "apps/v1",
                "apps/v1/Deployment",
                "metrics.k8s.io/v1beta1",
                "v1",
                "v1/ConfigMap",
                "v1/Pod",
            ]
        );
    }
}
