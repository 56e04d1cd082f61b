//! What the Flux end-to-end tests share on top of `common::Harness`: the
//! Flux CRDs, seed manifests moved into the test's namespace, waiting on
//! GitRepositories (fetched by the real controller) and Kustomizations.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use driftless_api::flux::condition::find_condition;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::git::TestRepo;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tokio::sync::OnceCell;

use crate::common::{Harness, TIMEOUT};

static CRDS: OnceCell<()> = OnceCell::const_new();

/// Installs the GitRepository and Kustomization CRDs (once per process).
pub async fn install_flux_crds(cp: &'static ControlPlane) {
    CRDS.get_or_init(|| async {
        tokio::task::spawn_blocking(|| {
            cp.install_crds(&[
                "gitrepositories.source.toolkit.fluxcd.io",
                "kustomizations.kustomize.toolkit.fluxcd.io",
            ])
        })
        .await
        .expect("installing the Flux CRDs");
    })
    .await;
}

/// A harness with the Flux CRDs installed and the controller running.
pub async fn start(prefix: &str) -> Harness {
    let mut h = Harness::new(prefix).await;
    install_flux_crds(h.cp).await;
    h.start_controller(Duration::from_secs(30)).await;
    h
}

/// A seed manifest of `tests/seeds/flux/`, moved from `flux-system` into
/// `ns`; a GitRepository's URL is replaced by `url` when given.
pub fn seed(file: &str, ns: &str, url: Option<&str>) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/seeds/flux/").to_string() + file;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut out = text.replace("namespace: flux-system", &format!("namespace: {ns}"));
    if let Some(url) = url {
        out = out
            .lines()
            .map(|l| match l.find("url: ") {
                Some(i) if l.trim_start().starts_with("url: ") => format!("{}url: {url}", &l[..i]),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    out
}

/// Copies every file under `dir` into `repo` at `prefix/<relative path>`.
pub fn copy_tree(repo: &TestRepo, dir: &Path, prefix: &str) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name")
            .to_string();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if path.is_dir() {
            copy_tree(repo, &path, &rel);
        } else {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            repo.write(&rel, &text);
        }
    }
}

/// A plain GitRepository `name` in `ns` following `main` of `url`.
pub fn git_repository_yaml(name: &str, ns: &str, url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1m
  url: {url}
  ref:
    branch: main
"
    )
}

/// Asks the GitRepository controller for a fetch now (Flux's
/// `reconcile.fluxcd.io/requestedAt`, what `flux reconcile source git` sets)
/// and waits until the GitRepository `ns/name` is Ready with `repo`'s HEAD
/// as its artifact. Returns the revision (`main@sha1:<sha>`).
pub async fn await_artifact(h: &Harness, ns: &str, name: &str, repo: &TestRepo) -> String {
    let revision = format!("main@sha1:{}", repo.head());
    let api: Api<GitRepository> = Api::namespaced(h.client.clone(), ns);
    let asked = k8s_openapi::jiff::Timestamp::now().to_string();
    let body = json!({ "metadata": { "annotations": {
        "reconcile.fluxcd.io/requestedAt": asked,
    }}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("asking GitRepository {ns}/{name} for a fetch: {e}"));
    crate::common::eventually(&format!("GitRepository {ns}/{name} at {revision}"), || {
        let (api, revision) = (api.clone(), revision.clone());
        async move {
            let repo = api.get(name).await.ok()?;
            let status = repo.status.as_ref()?;
            let at = status.artifact.as_ref().map(|a| a.revision.as_str());
            let ready =
                find_condition(&status.conditions, "Ready").is_some_and(|c| c.status == "True");
            (ready && at == Some(revision.as_str())).then_some(())
        }
    })
    .await;
    revision
}

/// The Kustomizations API in `ns`.
pub fn kustomizations(h: &Harness, ns: &str) -> Api<Kustomization> {
    Api::namespaced(h.client.clone(), ns)
}

/// The condition `type_` as (status, reason, message).
pub fn condition(ks: &Kustomization, type_: &str) -> Option<(String, String, String)> {
    let status = ks.status.as_ref()?;
    find_condition(&status.conditions, type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Whether `ks` is Ready=True with `lastAppliedRevision` = `revision`.
pub fn ready_at(ks: &Kustomization, revision: &str) -> bool {
    condition(ks, "Ready").is_some_and(|c| c.0 == "True")
        && ks
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref())
            == Some(revision)
}

/// Whether the Ready condition has `status` and `reason`.
pub fn ready_is(ks: &Kustomization, status: &str, reason: &str) -> bool {
    condition(ks, "Ready").is_some_and(|c| c.0 == status && c.1 == reason)
}

/// Waits until the Kustomization `ns/name` satisfies `pred`; panics with
/// its last status after [`TIMEOUT`].
pub async fn wait_ks(
    h: &Harness,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&Kustomization) -> bool,
) -> Kustomization {
    let api = kustomizations(h, ns);
    let started = Instant::now();
    let mut last = None;
    loop {
        if let Ok(Some(ks)) = api.get_opt(name).await {
            if pred(&ks) {
                return ks;
            }
            last = Some(ks);
        }
        if started.elapsed() > TIMEOUT {
            panic!(
                "kustomization {ns}/{name} did not become {what} within {TIMEOUT:?}; last status: {}",
                serde_json::to_string_pretty(&last.and_then(|k| k.status)).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the Kustomization `ns/name` is gone (its finalizer done).
pub async fn wait_ks_gone(h: &Harness, ns: &str, name: &str) {
    let api = kustomizations(h, ns);
    crate::common::eventually(&format!("kustomization {ns}/{name} deleted"), || {
        let api = api.clone();
        async move {
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        }
    })
    .await;
}

/// Creates namespace `name` unless it exists (a seed's fixed target
/// namespace, shared by test runs; never deleted here).
pub fn ensure_namespace(h: &Harness, name: &str) {
    let yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
    h.apply(&yaml);
}
