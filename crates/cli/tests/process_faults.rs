//! Faults on real `driftless controller` processes, killed with SIGKILL:
//!
//! * in the middle of a 300-object sync, then restarted: it converges, and
//!   no object still in Git was deleted or recreated;
//! * two replicas with leader election: the leader is killed; the other
//!   takes over once the lease expires, and reconciles nothing before it
//!   holds the lease (read from its own metrics).
//!
//! Each fault prints `fault <name>: injected`, then `survived`
//! (`tests/reliability.sh` counts these lines).

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use driftless_testkit::faults::{self, Uids, lost};
use driftless_testkit::metrics::sum_metric;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A free loopback address (bound, then released).
fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Starts `driftless controller` on the test's namespace, as `identity`,
/// with leader election when `lease` is set.
fn controller(
    w: &World,
    identity: &str,
    listen: SocketAddr,
    cache: &std::path::Path,
    lease: bool,
) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftless"));
    cmd.args([
        "controller",
        "--namespaces",
        &w.ns,
        "--control-plane-namespace",
        &w.ns,
        "--requeue-interval",
        "2s",
        "--listen",
        &listen.to_string(),
        "--cache-dir",
    ])
    .arg(cache)
    .env("KUBECONFIG", w.cp.kubeconfig_path())
    .env("POD_NAME", identity)
    .env("RUST_LOG", "warn")
    .env("NO_COLOR", "1")
    .stdout(Stdio::null())
    .stderr(Stdio::inherit())
    .kill_on_drop(true);
    if lease {
        cmd.args(["--leader-elect", "--lease-namespace", &w.ns]);
    }
    cmd.spawn().expect("starting driftless controller")
}

async fn sigkill(child: &mut Child) {
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
}

/// The destination's tracked ConfigMaps: name -> uid.
async fn tracked(w: &World) -> Uids {
    faults::tracked_configmaps(&w.cp.client().await, &w.dest).await
}

/// Waits until between 1 and `total - 1` tracked ConfigMaps match `pred`.
async fn mid_sync(w: &World, total: usize, pred: impl Fn(&str) -> bool) {
    faults::mid_sync(total, TIMEOUT, async || {
        tracked(w).await.keys().filter(|k| pred(k)).count()
    })
    .await;
}

async fn synced_at(w: &World, app: &str, revision: &str) {
    w.wait_for(
        app,
        "{.status.sync.status}/{.status.sync.revision}",
        &format!("Synced/{revision}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkilled_controller_converges_and_prunes_nothing_still_in_git() {
    let w = World::new("pkill").await;
    let repo = w.git.create_repo("pkill/app");
    let total = 300;
    for i in 0..total {
        repo.write(
            &format!("app/cm-{i:03}.yaml"),
            &common::configmap(&format!("old-{i:03}"), "one"),
        );
    }
    let first = repo.commit("300 objects");
    w.apply(&w.app("pkilled", "pkill/app", "app", true));
    let cache = tempfile::tempdir().expect("temp dir");
    let mut process = controller(&w, "pkill", free_addr(), cache.path(), false);

    mid_sync(&w, total, |_| true).await;
    sigkill(&mut process).await;
    println!("fault controller-sigkilled-mid-sync: injected");
    let before = tracked(&w).await;
    let mut process = controller(&w, "pkill", free_addr(), cache.path(), false);
    synced_at(&w, "pkilled", &first).await;
    let after = tracked(&w).await;
    assert_eq!(after.len(), total, "LOST: not every object in Git exists");
    assert_eq!(
        lost(&before, &after, |_| true),
        Vec::<String>::new(),
        "LOST: deleted or recreated"
    );
    println!("fault controller-sigkilled-mid-sync: survived");

    // A third of the objects leave Git and 300 new ones arrive; kill it
    // while it applies and prunes.
    let removed = total / 3;
    for i in 0..removed {
        repo.remove(&format!("app/cm-{i:03}.yaml"));
    }
    for i in 0..total {
        repo.write(
            &format!("app/new-{i:03}.yaml"),
            &common::configmap(&format!("new-{i:03}"), "two"),
        );
    }
    let second = repo.commit("a third removed, 300 added");
    mid_sync(&w, total, |n| n.starts_with("new-")).await;
    sigkill(&mut process).await;
    println!("fault controller-sigkilled-mid-prune: injected");
    let before = tracked(&w).await;
    let mut process = controller(&w, "pkill", free_addr(), cache.path(), false);
    synced_at(&w, "pkilled", &second).await;
    let after = tracked(&w).await;
    let first_kept = format!("old-{removed:03}");
    let kept =
        |n: &str| n.starts_with("new-") || (n.starts_with("old-") && n >= first_kept.as_str());
    assert_eq!(
        lost(&before, &after, kept),
        Vec::<String>::new(),
        "LOST: still in Git, yet deleted"
    );
    let mut expected: Vec<String> = (removed..total)
        .map(|i| format!("old-{i:03}"))
        .chain((0..total).map(|i| format!("new-{i:03}")))
        .collect();
    expected.sort();
    assert_eq!(
        after.keys().cloned().collect::<Vec<_>>(),
        expected,
        "exactly what is in Git"
    );
    sigkill(&mut process).await;
    println!("fault controller-sigkilled-mid-prune: survived");
}

async fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response)
}

/// `driftless_reconciles_total` of the replica at `addr` (None: not serving yet).
async fn reconciles(addr: SocketAddr) -> Option<f64> {
    let metrics = http_get(addr, "/metrics").await?;
    Some(sum_metric(&metrics, "driftless_reconciles_total", ""))
}

fn holder(w: &World) -> String {
    w.cp.kubectl(&[
        "-n",
        &w.ns,
        "get",
        "lease",
        "driftless-controller",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ])
    .unwrap_or_default()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkilled_leader_is_replaced_and_the_follower_never_writes_first() {
    let w = World::new("plead").await;
    let repo = w.git.create_repo("plead/app");
    repo.write("app/cm.yaml", &common::configmap("cm", "one"));
    let first = repo.commit("first");
    let (cache_a, cache_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let mut a = controller(&w, "replica-a", addr_a, cache_a.path(), true);
    eventually("replica-a to lead", async || holder(&w) == "replica-a").await;
    let mut b = controller(&w, "replica-b", addr_b, cache_b.path(), true);
    eventually("replica-b to serve metrics", async || {
        reconciles(addr_b).await.is_some()
    })
    .await;
    w.apply(&w.app("elected", "plead/app", "app", true));
    synced_at(&w, "elected", &first).await;
    assert_eq!(
        reconciles(addr_b).await,
        Some(0.0),
        "the follower wrote nothing"
    );

    sigkill(&mut a).await;
    println!("fault leader-sigkilled: injected");
    repo.write("app/cm.yaml", &common::configmap("cm", "two"));
    let second = repo.commit("second");
    eventually("replica-b to take the lease", async || {
        // The count first: if replica-b did not hold the lease after it
        // was read, it did not hold it before either.
        let count = reconciles(addr_b).await;
        if holder(&w) == "replica-b" {
            return true;
        }
        assert_eq!(
            count,
            Some(0.0),
            "replica-b reconciled before it held the lease"
        );
        false
    })
    .await;
    synced_at(&w, "elected", &second).await;
    assert!(
        reconciles(addr_b).await.unwrap_or(0.0) > 0.0,
        "the new leader reconciled"
    );
    sigkill(&mut b).await;
    println!("fault leader-sigkilled: survived");
}
