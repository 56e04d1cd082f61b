//! End to end, against the real control plane and a real Git server, with
//! the controller running in-process.

mod common;

use std::time::Duration;

use common::{Harness, eventually, revision_of};
use driftless_api::OperationPhase;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

fn deployment_yaml(name: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: {image}
"
    )
}

fn application_yaml(
    name: &str,
    ns: &str,
    repo: &str,
    path: &str,
    dest: &str,
    extra: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: main
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
{extra}"
    )
}

const AUTOMATED: &str = "  syncPolicy:
    automated:
      prune: true
      selfHeal: true
";

async fn deployment_available(h: &Harness, ns: &str, name: &str, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(h.client.clone(), ns);
    eventually(
        &format!("Deployment {ns}/{name} with {replicas} available replicas"),
        || {
            let api = api.clone();
            async move {
                let d = api.get_opt(name).await.ok().flatten()?;
                let status = d.status?;
                (d.spec?.replicas == Some(replicas) && status.available_replicas == Some(replicas))
                    .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_syncs_and_polling_follows_pushes_and_prunes() {
    let h = Harness::start("poll", Duration::from_secs(2)).await;
    let dest = h.namespace("poll-dest").await;
    let repo = h.git.create_repo("poll/app");
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 1, "nginx:1.27"),
    );
    repo.write(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: one\n",
    );
    let first = repo.commit("first");

    h.apply(&application_yaml(
        "web",
        &h.apps_ns,
        &h.git.git_url("poll/app"),
        "app",
        &dest,
        AUTOMATED,
    ));
    let app = h.wait_synced_healthy("web", Some(&first)).await;
    deployment_available(&h, &dest, "web", 1).await;

    let status = app.status.clone().unwrap_or_default();
    assert_eq!(status.resources.len(), 2, "{:?}", status.resources);
    let op = status.operation_state.expect("an operation state");
    assert_eq!(op.phase, OperationPhase::Succeeded);
    assert_eq!(op.sync_result.map(|r| r.revision), Some(first.clone()));
    assert_eq!(status.history.len(), 1);
    assert_eq!(status.history[0].revision, first);
    assert_eq!(status.source_type.as_deref(), Some("Directory"));

    // A push is followed by polling: scale to 2, drop the ConfigMap (pruned).
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 2, "nginx:1.27"),
    );
    repo.remove("app/configmap.yaml");
    let second = repo.commit("second");
    let app = h.wait_synced_healthy("web", Some(&second)).await;
    deployment_available(&h, &dest, "web", 2).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    eventually("the ConfigMap to be pruned", || {
        let cms = cms.clone();
        async move {
            cms.get_opt("settings")
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        }
    })
    .await;
    let status = app.status.unwrap_or_default();
    assert_eq!(status.resources.len(), 1, "{:?}", status.resources);
    assert_eq!(status.history.len(), 2);
    assert_eq!(
        revision_of(&h.wait_synced_healthy("web", None).await),
        Some(second.as_str())
    );
}
