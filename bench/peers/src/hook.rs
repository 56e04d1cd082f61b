//! How a push is announced to a contender: each tool's own webhook
//! receiver (driftless' `/api/webhook`, Flux's notification-controller
//! `Receiver`), or, when Flux's Receiver could not be built,
//! `reconcile.fluxcd.io/requestedAt` on the GitRepository for both
//! Kustomization contenders.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use crate::phases::gvk;
use crate::workload::{self, NAMESPACE};

/// The Receiver's name and the Secret holding its token.
const RECEIVER: &str = "bench";
const RECEIVER_TOKEN: &str = "bench-receiver-token";

/// What a push is announced with.
pub(crate) enum Hook {
    /// driftless' `/api/webhook` at `addr`, told the push to `repo_url`.
    Driftless { addr: SocketAddr, repo_url: String },
    /// Flux's Receiver: a POST to `path` on `addr`.
    FluxReceiver { addr: SocketAddr, path: String },
    /// The `reconcile.fluxcd.io/requestedAt` annotation on the GitRepository.
    RequestedAt,
}

impl Hook {
    /// What the table says announced the pushes.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Hook::Driftless { .. } => "webhook",
            Hook::FluxReceiver { .. } => "Receiver",
            Hook::RequestedAt => "requestedAt",
        }
    }

    /// Announces the push `before..after` that changed app `app`'s files.
    pub(crate) async fn trigger(
        &self,
        client: &Client,
        app: usize,
        before: &str,
        after: &str,
    ) -> anyhow::Result<()> {
        match self {
            Hook::Driftless { addr, repo_url } => {
                let body = json!({
                    "repository": repo_url, "ref": "refs/heads/main",
                    "before": before, "after": after,
                    "changedFiles": [format!("{}/deployment.yaml", workload::app_path(app))],
                });
                post(*addr, "/api/webhook", &body).await
            }
            Hook::FluxReceiver { addr, path } => post(*addr, path, &json!({})).await,
            Hook::RequestedAt => request_reconcile(client, after).await,
        }
    }
}

/// POSTs `body` to `path` on `addr`; an error unless it answers 2xx.
async fn post(addr: SocketAddr, path: &str, body: &serde_json::Value) -> anyhow::Result<()> {
    let (code, text) = crate::procs::http(addr, "POST", path, &body.to_string()).await?;
    ensure!(
        (200..300).contains(&code),
        "POST {path} answered HTTP {code}: {text}"
    );
    Ok(())
}

fn git_repositories(client: &Client) -> Api<DynamicObject> {
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    Api::namespaced_with(client.clone(), NAMESPACE, &ar)
}

/// Annotates the GitRepository with `reconcile.fluxcd.io/requestedAt: at`.
async fn request_reconcile(client: &Client, at: &str) -> anyhow::Result<()> {
    let patch = json!({ "metadata": { "annotations": { "reconcile.fluxcd.io/requestedAt": at } } });
    git_repositories(client)
        .patch(
            workload::GIT_REPOSITORY,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .context("annotating the GitRepository with reconcile.fluxcd.io/requestedAt")?;
    Ok(())
}

/// Creates Flux's generic Receiver for the GitRepository, with its token
/// Secret, and waits (up to a minute) for the webhook path it serves.
pub(crate) async fn flux_receiver(client: &Client, addr: SocketAddr) -> anyhow::Result<Hook> {
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": RECEIVER_TOKEN, "namespace": NAMESPACE },
        "stringData": { "token": "bench-receiver-token-value" },
    });
    let receiver = json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
        "metadata": { "name": RECEIVER, "namespace": NAMESPACE },
        "spec": {
            "type": "generic",
            "secretRef": { "name": RECEIVER_TOKEN },
            "resources": [{ "apiVersion": "source.toolkit.fluxcd.io/v1",
                            "kind": "GitRepository", "name": workload::GIT_REPOSITORY }],
        },
    });
    let params = PatchParams::apply("bench-peers");
    for object in [secret, receiver] {
        crate::phases::apply(client.clone(), object, &params).await?;
    }
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &gvk("notification.toolkit.fluxcd.io", "v1", "Receiver"),
        "receivers",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &ar);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let r = api.get(RECEIVER).await.context("reading the Receiver")?;
        if let Some(path) = r
            .data
            .pointer("/status/webhookPath")
            .and_then(|p| p.as_str())
            && !path.is_empty()
        {
            return Ok(Hook::FluxReceiver {
                addr,
                path: path.to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the Receiver {NAMESPACE}/{RECEIVER} has no status.webhookPath after 60 s")
}
