//! [`CredentialSource`] over the Kubernetes API: Argo CD's repository
//! Secrets and its known-hosts and TLS-certificate ConfigMaps, read fresh
//! on every lookup (a fetch), so edits apply at the next fetch.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::{CredentialSource, RepoCredentials, RepoSecret, SECRET_TYPE_LABEL, match_credentials};
use crate::error::{Result, SourceError};
use crate::url::{RepoUrl, Scheme};

/// Argo CD repository Secrets, the `argocd-ssh-known-hosts-cm` ConfigMap's
/// `ssh_known_hosts` and the `argocd-tls-certs-cm` ConfigMap (one key per
/// host name, PEM certificates) read from one namespace with kube.
#[derive(Clone)]
pub struct KubeSecretCredentials {
    secrets: kube::Api<k8s_openapi::api::core::v1::Secret>,
    config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap>,
    known_hosts_config_map: String,
    tls_certs_config_map: String,
}

/// Argo CD's repository Secrets (`repository` and `repo-creds`) that `api`
/// lists, decoded; Secrets without a `url` are left out.
pub async fn list_repo_secrets(
    api: &kube::Api<k8s_openapi::api::core::v1::Secret>,
) -> std::result::Result<Vec<RepoSecret>, kube::Error> {
    let params = kube::api::ListParams::default()
        .labels(&format!("{SECRET_TYPE_LABEL} in (repository,repo-creds)"));
    let list = api.list(&params).await?;
    Ok(list
        .items
        .iter()
        .filter_map(|s| {
            let kind = s.metadata.labels.as_ref()?.get(SECRET_TYPE_LABEL)?;
            let data: BTreeMap<String, Vec<u8>> = s
                .data
                .as_ref()?
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            let origin = format!(
                "{}/{}",
                s.metadata.namespace.as_deref().unwrap_or_default(),
                s.metadata.name.as_deref().unwrap_or_default()
            );
            RepoSecret::from_data(kind, &data, &origin)
        })
        .collect())
}

impl KubeSecretCredentials {
    /// Reads Secrets and the known-hosts ConfigMap in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Self {
            secrets: kube::Api::namespaced(client.clone(), namespace),
            config_maps: kube::Api::namespaced(client, namespace),
            known_hosts_config_map: "argocd-ssh-known-hosts-cm".into(),
            tls_certs_config_map: "argocd-tls-certs-cm".into(),
        }
    }

    /// Uses another ConfigMap (key `ssh_known_hosts`) for SSH known hosts.
    pub fn with_known_hosts_config_map(mut self, name: &str) -> Self {
        self.known_hosts_config_map = name.to_string();
        self
    }

    async fn lookup(&self, url: &str) -> Result<Option<RepoCredentials>> {
        let failed = |e: kube::Error| SourceError::Credentials {
            url: crate::url::redact(url),
            message: e.to_string(),
        };
        let secrets = list_repo_secrets(&self.secrets).await.map_err(failed)?;
        let parsed = RepoUrl::parse(url)?;
        let mut creds = match_credentials(&secrets, url).unwrap_or_default();
        if parsed.scheme == Scheme::Https {
            match self.config_maps.get_opt(&self.tls_certs_config_map).await {
                Ok(Some(cm)) => {
                    creds.tls_certs = cm.data.and_then(|mut d| d.remove(&parsed.host));
                }
                Ok(None) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        if parsed.scheme == Scheme::Ssh {
            match self.config_maps.get_opt(&self.known_hosts_config_map).await {
                Ok(Some(cm)) => {
                    creds.known_hosts = cm.data.and_then(|mut d| d.remove("ssh_known_hosts"));
                }
                Ok(None) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        Ok((creds != RepoCredentials::default()).then_some(creds))
    }
}

impl CredentialSource for KubeSecretCredentials {
    fn credentials<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Option<RepoCredentials>>> {
        Box::pin(self.lookup(url))
    }
}
