//! Seeds 002 and 004's Flux Kustomizations, verbatim except their
//! namespace (each test's own) and the GitRepository URL (the test's Git
//! server), deployed by the controller against the real control plane.

mod common;
mod flux_common;

use std::path::Path;

use common::eventually;
use flux_common::{
    await_artifact, copy_tree, ensure_namespace, kustomizations, ready_at, ready_is, seed, wait_ks,
    wait_ks_gone,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::DeleteParams;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../render/tests/fixtures");

/// Deletes what an earlier, interrupted run may have left in a seed's
/// fixed namespace (owned by a Kustomization that no longer exists, it
/// would be a conflict for this run).
fn clean_leftovers(h: &common::Harness, ns: &str, owner: &str) {
    let selector = format!("kustomize.toolkit.fluxcd.io/name={owner}");
    h.kubectl(&[
        "delete",
        "deployment,service,configmap,secret,ingress,hpa",
        "-n",
        ns,
        "-l",
        &selector,
        "--ignore-not-found",
        "--wait=true",
    ]);
}

async fn deployment(h: &common::Harness, ns: &str, name: &str) -> Option<Deployment> {
    Api::<Deployment>::namespaced(h.client.clone(), ns)
        .get_opt(name)
        .await
        .ok()
        .flatten()
}

fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.as_ref().and_then(|s| s.replicas)
}

fn owner_label(d: &Deployment) -> Option<&str> {
    d.metadata
        .labels
        .as_ref()?
        .get("kustomize.toolkit.fluxcd.io/name")
        .map(String::as_str)
}

const STAGING_PATCH: &str = "k8s/overlays/staging/deployment-patch.yaml";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_002_production_waits_for_a_healthy_staging() {
    let h = flux_common::start("seed002").await;
    let ns = h.apps_ns.clone();
    for env in ["staging", "production"] {
        ensure_namespace(&h, env);
        clean_leftovers(&h, env, &format!("my-service-{env}"));
    }
    let repo = h.git.create_repo("seed002/my-service");
    copy_tree(&repo, &Path::new(FIXTURES).join("seed002"), "");
    // Staging's Deployment first cannot schedule: its health check fails.
    let good_patch =
        std::fs::read_to_string(Path::new(FIXTURES).join("seed002").join(STAGING_PATCH)).unwrap();
    let bad_patch = good_patch.replace(
        "    spec:\n      containers:",
        "    spec:\n      nodeSelector:\n        driftless.test/unschedulable: \"true\"\n      containers:",
    );
    assert_ne!(bad_patch, good_patch, "the staging patch was changed");
    repo.write(STAGING_PATCH, &bad_patch);
    repo.commit("seed 002, staging unschedulable");

    let url = h.git.git_url("seed002/my-service");
    h.apply(&seed("source-002-my-service.yaml", &ns, Some(&url)));
    let first = await_artifact(&h, &ns, "my-service", &repo).await;
    h.apply(&seed("002-staging.yaml", &ns, None));
    h.apply(&seed("002-production.yaml", &ns, None));

    // Staging is applied but not healthy; production waits for it.
    wait_ks(
        &h,
        &ns,
        "my-service-staging",
        "applied, health check in progress",
        |ks| {
            ready_is(ks, "Unknown", "Progressing")
                && ks
                    .status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    == Some(first.as_str())
        },
    )
    .await;
    let staging = deployment(&h, "staging", "my-service")
        .await
        .expect("staging's Deployment is applied");
    assert_eq!(replicas(&staging), Some(2));
    assert_eq!(owner_label(&staging), Some("my-service-staging"));
    let production = wait_ks(
        &h,
        &ns,
        "my-service-production",
        "DependencyNotReady",
        |ks| ready_is(ks, "False", "DependencyNotReady"),
    )
    .await;
    let message = flux_common::condition(&production, "Ready").unwrap().2;
    assert!(
        message.contains(&format!("{ns}/my-service-staging")),
        "{message}"
    );
    assert!(
        deployment(&h, "production", "my-service").await.is_none(),
        "production is not applied while staging is not Ready"
    );

    // Fixed in Git: staging becomes Ready, and production follows.
    repo.write(STAGING_PATCH, &good_patch);
    repo.commit("staging schedulable");
    let fixed = await_artifact(&h, &ns, "my-service", &repo).await;
    wait_ks(&h, &ns, "my-service-staging", "Ready at the fix", |ks| {
        ready_at(ks, &fixed)
    })
    .await;
    let production = wait_ks(&h, &ns, "my-service-production", "Ready", |ks| {
        ready_at(ks, &fixed)
    })
    .await;
    assert_eq!(
        flux_common::condition(&production, "Ready").unwrap().2,
        format!("Applied revision: {fixed}")
    );
    assert_eq!(
        flux_common::condition(&production, "Healthy")
            .map(|c| c.0)
            .as_deref(),
        Some("True")
    );
    let live = deployment(&h, "production", "my-service")
        .await
        .expect("production's Deployment");
    assert_eq!(replicas(&live), Some(5));
    assert_eq!(owner_label(&live), Some("my-service-production"));
    let inventory = production.status.unwrap().inventory.unwrap();
    assert!(
        inventory
            .entries
            .iter()
            .any(|e| e.id == "production_my-service_apps_Deployment" && e.v == "v1"),
        "{inventory:?}"
    );

    // Deleting them prunes what they applied (prune: true, MirrorPrune).
    for name in ["my-service-production", "my-service-staging"] {
        kustomizations(&h, &ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_ks_gone(&h, &ns, name).await;
    }
    eventually("production's Deployment deleted", || async {
        deployment(&h, "production", "my-service")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

/// Seed 004's `apps/base/my-app` Deployment has no selector (invalid for
/// the API server); the test repository adds one, nothing else.
fn valid_my_app(deployment: &str) -> String {
    deployment.replace(
        "spec:\n  replicas: 1\n  template:\n    spec:",
        "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: my-app\n  template:\n    metadata:\n      labels:\n        app: my-app\n    spec:",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_004_apps_follow_infrastructure() {
    let h = flux_common::start("seed004").await;
    let ns = h.apps_ns.clone();
    ensure_namespace(&h, "production");
    clean_leftovers(&h, "production", "apps");
    clean_leftovers(&h, "production", "infrastructure");
    let repo = h.git.create_repo("seed004/fleet-infra");
    copy_tree(&repo, &Path::new(FIXTURES).join("seed004"), "");
    let base = Path::new(FIXTURES).join("seed004/apps/base/my-app/deployment.yaml");
    let fixed = valid_my_app(&std::fs::read_to_string(base).unwrap());
    assert!(fixed.contains("matchLabels"), "the selector was added");
    repo.write("apps/base/my-app/deployment.yaml", &fixed);
    repo.write(
        "infrastructure/production/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- settings.yaml\n",
    );
    repo.write(
        "infrastructure/production/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: infrastructure-settings\n  namespace: production\ndata:\n  tier: production\n",
    );
    repo.commit("seed 004");

    let url = h.git.git_url("seed004/fleet-infra");
    // The Secret `flux bootstrap` leaves for the GitRepository's secretRef
    // (Flux's basic-auth format; the git:// server asks for none).
    h.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\n  namespace: {ns}\nstringData:\n  username: git\n  password: unused\n"
    ));
    h.apply(&seed("source-004-flux-system.yaml", &ns, Some(&url)));
    let revision = await_artifact(&h, &ns, "flux-system", &repo).await;
    h.apply(&seed("004-infrastructure.yaml", &ns, None));
    h.apply(&seed("004-apps.yaml", &ns, None));

    wait_ks(&h, &ns, "infrastructure", "Ready", |ks| {
        ready_at(ks, &revision)
    })
    .await;
    let apps = wait_ks(&h, &ns, "apps", "Ready", |ks| ready_at(ks, &revision)).await;
    assert_eq!(
        flux_common::condition(&apps, "Healthy")
            .map(|c| c.0)
            .as_deref(),
        Some("True")
    );
    let my_app = deployment(&h, "production", "my-app")
        .await
        .expect("my-app is applied");
    assert_eq!(replicas(&my_app), Some(5));
    assert_eq!(owner_label(&my_app), Some("apps"));
    let settings = Api::<ConfigMap>::namespaced(h.client.clone(), "production")
        .get("infrastructure-settings")
        .await
        .unwrap();
    assert_eq!(
        settings.data.unwrap().get("tier").map(String::as_str),
        Some("production")
    );

    for name in ["apps", "infrastructure"] {
        kustomizations(&h, &ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_ks_gone(&h, &ns, name).await;
    }
    eventually("my-app deleted", || async {
        deployment(&h, "production", "my-app")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}
