//! Faults injected into real processes and connections, on the real
//! control plane and Git server:
//!
//! * the controller killed in the middle of a 300-object sync (and of the
//!   prune that follows a commit), then restarted: it converges, and no
//!   object still in Git was deleted or recreated on the way;
//! * the Git server killed while a fetch is in flight, then restarted on
//!   the same ports: the error names the repository, nothing is pruned, and
//!   the next commit syncs;
//! * two replicas with leader election: the leader is killed without
//!   releasing its lease; the other takes over once the lease expires, and
//!   until then it writes nothing.
//!
//! * another field manager fighting self-heal over a managed field
//!   (`faults/fighting.rs`): reverted with backoff, no hot loop.
//!
//! Each fault prints `fault <name>: injected`, then `survived` once all is
//! well; `tests/reliability.sh` counts
//! these lines. The controller runs in-process, so "killed" is an abort of
//! every one of its tasks at whatever await point they are in, which is
//! what a SIGKILL does to its in-flight requests.

mod common;
#[path = "faults/fighting.rs"]
mod fighting;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_controller::{LeaderElection, Running};
use driftless_testkit::faults::{self, Uids, lost};
use driftless_testkit::git::{GitServer, GitServerOptions, TestRepo};
use driftless_testkit::metrics::sum_metric;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: {value}\n")
}

/// The tracked ConfigMaps in `ns`: name -> uid.
async fn tracked(h: &Harness, ns: &str) -> Uids {
    faults::tracked_configmaps(&h.client, ns).await
}

/// Waits until between 1 and `total - 1` tracked ConfigMaps match `pred`:
/// the sync is under way, not finished.
async fn mid_sync(h: &Harness, ns: &str, total: usize, pred: impl Fn(&str) -> bool) {
    faults::mid_sync(total, common::TIMEOUT, async || {
        tracked(h, ns).await.keys().filter(|k| pred(k)).count()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_controller_killed_mid_sync_converges_and_prunes_nothing_still_in_git() {
    let mut h = Harness::start("fault-kill", Duration::from_secs(2)).await;
    let dest = h.namespace("fault-kill-dest").await;
    let repo = h.git.create_repo("fault/kill");
    let total = 300;
    for i in 0..total {
        repo.write(
            &format!("app/cm-{i:03}.yaml"),
            &cm(&format!("old-{i:03}"), "one"),
        );
    }
    let first = repo.commit("300 objects");
    h.apply(&common::application_yaml(
        "killed",
        &h.apps_ns,
        &h.git.git_url("fault/kill"),
        "app",
        &dest,
        "  syncPolicy:\n    automated:\n      prune: true\n",
    ));

    // Kill it while the first sync is applying.
    mid_sync(&h, &dest, total, |_| true).await;
    h.kill_controller().await;
    println!("fault controller-killed-mid-sync: injected");
    let before = tracked(&h, &dest).await;
    h.start_controller(Duration::from_secs(2)).await;
    h.wait_synced_healthy("killed", Some(&first)).await;
    let after = tracked(&h, &dest).await;
    assert_eq!(after.len(), total, "LOST: not every object in Git exists");
    assert_eq!(
        lost(&before, &after, |_| true),
        Vec::<String>::new(),
        "LOST: deleted or recreated"
    );
    println!("fault controller-killed-mid-sync: survived");

    // A third of them leave Git and 300 new ones arrive; kill it while it
    // applies and prunes.
    let removed = total / 3;
    for i in 0..removed {
        repo.remove(&format!("app/cm-{i:03}.yaml"));
    }
    for i in 0..total {
        repo.write(
            &format!("app/new-{i:03}.yaml"),
            &cm(&format!("new-{i:03}"), "two"),
        );
    }
    let second = repo.commit("a third removed, 300 added");
    mid_sync(&h, &dest, total, |n| n.starts_with("new-")).await;
    h.kill_controller().await;
    println!("fault controller-killed-mid-prune: injected");
    let before = tracked(&h, &dest).await;
    h.start_controller(Duration::from_secs(2)).await;
    h.wait_synced_healthy("killed", Some(&second)).await;
    let after = tracked(&h, &dest).await;
    let first_kept = format!("old-{removed:03}");
    let kept = |n: &str| n.starts_with("old-") && n >= first_kept.as_str();
    assert_eq!(
        lost(&before, &after, kept),
        Vec::<String>::new(),
        "LOST: still in Git, yet deleted"
    );
    assert_eq!(
        lost(&before, &after, |n| n.starts_with("new-")),
        Vec::<String>::new()
    );
    let expected: Vec<String> = (removed..total)
        .map(|i| format!("old-{i:03}"))
        .chain((0..total).map(|i| format!("new-{i:03}")))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(
        after.keys().cloned().collect::<Vec<_>>(),
        expected,
        "exactly what is in Git"
    );
    println!("fault controller-killed-mid-prune: survived");
}

/// A Git server on fixed ports over `dir`, without SSH.
async fn git_server(dir: &std::path::Path, ports: Option<(u16, u16)>) -> GitServer {
    GitServer::start_with(GitServerOptions {
        dir: Some(dir.to_path_buf()),
        ssh: false,
        git_port: ports.map(|p| p.0),
        http_port: ports.map(|p| p.1),
        ..GitServerOptions::default()
    })
    .await
}

fn credentials_secret(h: &Harness, git: &GitServer, url: &str) -> String {
    let (user, password) = git.credentials();
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: fault-git-credentials
  namespace: {}
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: {url}
  username: {user}
  password: {password}
",
        h.apps_ns
    )
}

/// An Application of `fault/git` on its own Git server (HTTP with
/// credentials), synced; the server, its directory and the live ConfigMap's uid.
async fn fetching_app(h: &Harness) -> (GitServer, tempfile::TempDir, TestRepo, String) {
    let dest = h.namespace("fault-git-dest").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let git = git_server(dir.path(), None).await;
    let repo = git.create_repo("fault/git");
    repo.write("app/cm.yaml", &cm("cm", "one"));
    let first = repo.commit("first");
    let url = git.http_url("fault/git");
    h.apply(&credentials_secret(h, &git, &url));
    h.apply(&common::application_yaml(
        "fetching",
        &h.apps_ns,
        &url,
        "app",
        &dest,
        "  syncPolicy:\n    automated:\n      prune: true\n",
    ));
    h.wait_synced_healthy("fetching", Some(&first)).await;
    let uid = tracked(h, &dest)
        .await
        .get("cm")
        .cloned()
        .expect("cm applied");
    (git, dir, repo, uid)
}

/// The destination namespace of the `fetching` Application.
async fn fetching_dest(h: &Harness) -> String {
    let app = h.apps().get("fetching").await.expect("get");
    app.spec
        .spec
        .destination
        .namespace
        .expect("destination namespace")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_git_server_killed_during_a_fetch_then_restarted() {
    let h = Harness::start("fault-git", Duration::from_secs(2)).await;
    let (git, dir, repo, live_uid) = fetching_app(&h).await;
    let dest = fetching_dest(&h).await;
    let ports = (git.git_port(), git.http_port());

    // The next fetch hangs on the server; the server dies under it.
    git.stall("fault/git");
    repo.write("app/cm.yaml", &cm("cm", "two"));
    let second = repo.commit("second");
    tokio::time::sleep(Duration::from_secs(4)).await;
    drop(git);
    println!("fault git-server-killed-during-fetch: injected");
    // Several polls against a dead server: nothing is pruned or rolled.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let app = h.apps().get("fetching").await.expect("get");
    assert_ne!(common::revision_of(&app), Some(second.as_str()));
    assert_eq!(
        tracked(&h, &dest).await.get("cm"),
        Some(&live_uid),
        "LOST: pruned while Git is down"
    );

    // Back on the same ports, with the same repositories: it catches up.
    let _git = git_server(dir.path(), Some(ports)).await;
    h.wait_synced_healthy("fetching", Some(&second)).await;
    assert_eq!(
        tracked(&h, &dest).await.get("cm"),
        Some(&live_uid),
        "LOST: recreated after the restart"
    );
    println!("fault git-server-killed-during-fetch: survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_git_server_is_reported_while_the_last_state_is_used() {
    let h = Harness::start("fault-gitcond", Duration::from_secs(2)).await;
    let (git, _dir, _repo, _) = fetching_app(&h).await;
    let url = git.http_url("fault/git");
    drop(git);
    println!("fault git-server-dead-reported: injected");
    h.wait_app("fetching", "reporting the unreachable repository", |a| {
        a.status.as_ref().is_some_and(|s| {
            s.conditions.iter().any(|c| {
                (c.type_.ends_with("Error") || c.type_.ends_with("Warning"))
                    && c.message.contains(&url)
            })
        })
    })
    .await;
    println!("fault git-server-dead-reported: survived");
}

async fn replica(h: &Harness, identity: &str, cache: &std::path::Path) -> Running {
    let mut config = h.config(Duration::from_secs(1));
    config.repo_cache_dir = cache.to_path_buf();
    config.leader_election = Some(LeaderElection {
        lease_duration: Duration::from_secs(4),
        renew_interval: Duration::from_millis(500),
        ..LeaderElection::new("driftless-controller", &h.apps_ns, identity)
    });
    driftless_controller::start(h.client.clone(), config, std::future::pending::<()>())
        .await
        .expect("start a replica")
}

fn reconciles(r: &Running) -> f64 {
    sum_metric(
        &r.context.metrics.encode(),
        "driftless_reconciles_total",
        "",
    )
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("driftless-controller")
        .await
        .ok()??
        .spec?
        .holder_identity
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_leader_is_replaced_and_never_two_write() {
    let h = Harness::new("fault-lease").await;
    let dest = h.namespace("fault-lease-dest").await;
    let repo: TestRepo = h.git.create_repo("fault/lease");
    repo.write("app/cm.yaml", &cm("cm", "one"));
    let first = repo.commit("first");
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let leases: Api<Lease> = Api::namespaced(h.client.clone(), &h.apps_ns);

    let a = replica(&h, "replica-a", cache_a.path()).await;
    eventually("replica-a to lead", || async {
        (holder(&leases).await.as_deref() == Some("replica-a")).then_some(())
    })
    .await;
    let b = replica(&h, "replica-b", cache_b.path()).await;
    h.apply(&common::application_yaml(
        "elected",
        &h.apps_ns,
        &h.git.git_url("fault/lease"),
        "app",
        &dest,
        "  syncPolicy:\n    automated: {}\n",
    ));
    h.wait_synced_healthy("elected", Some(&first)).await;
    assert!(reconciles(&a) > 0.0);
    assert_eq!(reconciles(&b), 0.0, "the follower wrote nothing");

    // Kill the leader: its lease is not released, it just stops renewing.
    a.abort();
    println!("fault leader-killed: injected");
    repo.write("app/cm.yaml", &cm("cm", "two"));
    let second = repo.commit("second");
    // Until the lease expires nobody reconciles: the follower waits.
    eventually("replica-b to take the lease", || async {
        // Read the count before the holder: if replica-b did not hold the
        // lease after the count was taken, it did not hold it before.
        let count = reconciles(&b);
        if holder(&leases).await.as_deref() != Some("replica-b") {
            assert_eq!(count, 0.0, "replica-b wrote before it held the lease");
            return None;
        }
        Some(())
    })
    .await;
    h.wait_synced_healthy("elected", Some(&second)).await;
    assert!(reconciles(&b) > 0.0, "the new leader reconciled");
    let lease = leases.get("driftless-controller").await.expect("lease");
    let spec = lease.spec.expect("lease spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert!(spec.lease_transitions.unwrap_or(0) >= 1, "{spec:?}");
    b.abort();
    println!("fault leader-killed: survived");
}
