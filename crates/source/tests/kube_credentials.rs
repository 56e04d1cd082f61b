//! Argo CD repository Secrets read from a real API server (the local
//! control plane) drive real fetches from the local Git server.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use driftless_source::SourceError;
use driftless_source::credentials::{KubeSecretCredentials, Remembered};
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::git::GitServer;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};

use common::*;

fn secret(name: &str, kind: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                "argocd.argoproj.io/secret-type".to_string(),
                kind.to_string(),
            )])),
            ..Default::default()
        },
        string_data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

#[tokio::test]
async fn argo_cd_secrets_from_the_api_server() {
    let cluster = ControlPlane::shared().await;
    let client = cluster.client().await;
    let ns = cluster.namespace("source-creds").await;
    let server = GitServer::start().await;
    let (_a, sha_a) = seeded(&server, "team/a");
    let (_b, sha_b) = seeded(&server, "team/b");
    let (user, password) = server.credentials();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();

    // Exact match for repo a (right password); a prefix for the whole
    // server with a wrong one; a Secret of another type that must be ignored.
    let url_a = server.http_url("team/a");
    let url_b = server.http_url("team/b");
    let prefix = format!("http://127.0.0.1:{}/team/", server.http_port());
    secrets
        .create(
            &pp,
            &secret(
                "repo-a",
                "repository",
                &[("url", &url_a), ("username", user), ("password", password)],
            ),
        )
        .await
        .unwrap();
    secrets
        .create(
            &pp,
            &secret(
                "creds-team",
                "repo-creds",
                &[("url", &prefix), ("username", user), ("password", "wrong")],
            ),
        )
        .await
        .unwrap();
    secrets
        .create(
            &pp,
            &secret(
                "a-cluster",
                "cluster",
                &[("url", &url_b), ("username", user), ("password", password)],
            ),
        )
        .await
        .unwrap();

    // As the controller reads them: remembered per URL (here for longer
    // than the test runs), forgotten when a fetch with them fails.
    let kube_creds = KubeSecretCredentials::new(client.clone(), &ns);
    let creds = Arc::new(Remembered::new(kube_creds, Duration::from_secs(600)));
    let (_d, cache) = cache_with(creds, options());
    assert_eq!(
        cache.resolve(&url_a, "main", false).await.unwrap().sha,
        sha_a
    );
    let err = cache.resolve(&url_b, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err:?}");

    // Fixing the repo-creds Secret is picked up on the next fetch.
    let fix = serde_json::json!({ "stringData": { "password": password } });
    secrets
        .patch("creds-team", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .unwrap();
    assert_eq!(
        cache.resolve(&url_b, "main", false).await.unwrap().sha,
        sha_b
    );

    // SSH: a key in a Secret, host keys from argocd-ssh-known-hosts-cm.
    let ssh = server
        .ssh()
        .expect("sshd must be installed (openssh-server)");
    let ssh_url = server.ssh_url("team/a").unwrap();
    secrets
        .create(
            &pp,
            &secret(
                "repo-ssh",
                "repository",
                &[("url", &ssh_url), ("sshPrivateKey", &ssh.private_key)],
            ),
        )
        .await
        .unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let creds = Arc::new(KubeSecretCredentials::new(client.clone(), &ns));
    let (_d, cache) = cache_with(creds, options());
    let err = cache.resolve(&ssh_url, "main", false).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Untrusted { .. }),
        "without known hosts: {err:?}"
    );
    config_maps
        .create(
            &pp,
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("argocd-ssh-known-hosts-cm".into()),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(
                    "ssh_known_hosts".to_string(),
                    ssh.known_hosts.clone(),
                )])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        cache.resolve(&ssh_url, "main", false).await.unwrap().sha,
        sha_a
    );

    // HTTPS with a self-signed certificate: trusted through argocd-tls-certs-cm.
    let https_url = server
        .https_url("team/b")
        .expect("openssl must be installed");
    secrets
        .create(
            &pp,
            &secret(
                "repo-https",
                "repository",
                &[
                    ("url", &https_url),
                    ("username", user),
                    ("password", password),
                ],
            ),
        )
        .await
        .unwrap();
    let err = cache.resolve(&https_url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::Untrusted { .. }), "{err:?}");
    config_maps
        .create(
            &pp,
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("argocd-tls-certs-cm".into()),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(
                    "127.0.0.1".to_string(),
                    server.tls_cert_pem().unwrap().to_string(),
                )])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        cache.resolve(&https_url, "main", false).await.unwrap().sha,
        sha_b
    );
}
