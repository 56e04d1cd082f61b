//! Leader election: of two controllers sharing a Lease only the holder
//! reconciles; when it stops, the other takes over.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_controller::{LeaderElection, Running};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

async fn start(
    h: &Harness,
    identity: &str,
    cache: &std::path::Path,
) -> (Running, tokio::sync::oneshot::Sender<()>) {
    let mut config = h.config(Duration::from_secs(1));
    config.repo_cache_dir = cache.to_path_buf();
    config.leader_election = Some(LeaderElection {
        lease_duration: Duration::from_secs(3),
        renew_interval: Duration::from_millis(500),
        ..LeaderElection::new("driftless-controller", &h.apps_ns, identity)
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = driftless_controller::start(h.client.clone(), config, async move {
        let _ = rx.await;
    })
    .await
    .expect("start a controller");
    (running, tx)
}

fn reconciles(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("driftless_reconciles_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_lease_holder_reconciles_and_the_other_takes_over() {
    let h = Harness::new("lease").await;
    let dest = h.namespace("lease-dest").await;
    let repo = h.git.create_repo("lease/app");
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: one\n",
    );
    let first = repo.commit("first");
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let (a, stop_a) = start(&h, "replica-a", cache_a.path()).await;
    let leases: Api<Lease> = Api::namespaced(h.client.clone(), &h.apps_ns);
    eventually("replica-a to hold the lease", || async {
        let lease = leases.get_opt("driftless-controller").await.ok()??;
        (lease.spec?.holder_identity.as_deref() == Some("replica-a")).then_some(())
    })
    .await;
    let (b, stop_b) = start(&h, "replica-b", cache_b.path()).await;

    h.apply(&common::application_yaml(
        "leased",
        &h.apps_ns,
        &h.git.git_url("lease/app"),
        "app",
        &dest,
        "  syncPolicy:
    automated: {}
",
    ));
    h.wait_synced_healthy("leased", Some(&first)).await;
    let metrics_of = |r: &Running| r.context.metrics.encode();
    assert!(reconciles(&metrics_of(&a)) > 0);
    assert_eq!(
        reconciles(&metrics_of(&b)),
        0,
        "the follower must not reconcile"
    );
    let b_addr = b.http_addr.expect("b serves HTTP");
    assert_eq!(
        common::http_get(b_addr, "/readyz").await.0,
        503,
        "the follower is not ready"
    );
    assert_eq!(common::http_get(b_addr, "/healthz").await.0, 200);

    // The leader stops; the follower takes over and follows the next push.
    let _ = stop_a.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), a.wait()).await;
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: two\n",
    );
    let second = repo.commit("second");
    h.wait_synced_healthy("leased", Some(&second)).await;
    assert!(reconciles(&metrics_of(&b)) > 0, "the new leader reconciled");
    let lease = leases.get("driftless-controller").await.expect("lease");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("replica-b")
    );
    assert_eq!(
        common::http_get(b_addr, "/readyz").await.0,
        200,
        "the leader is ready"
    );
    let _ = stop_b.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), b.wait()).await;
}
