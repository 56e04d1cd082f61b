//! Faults of the control plane itself, on a private one started by this
//! test binary (its own etcd and kube-apiserver on their own ports; the
//! shared one is never touched), whose components come back 3 s after
//! they are killed:
//!
//! * kube-apiserver SIGKILLed in the middle of a 500-object sync, then
//!   restarted: the sync completes, the status is right (Synced at the
//!   commit, 500 resources, the operation Succeeded), and exactly the 500
//!   objects of Git exist with their content;
//! * etcd SIGKILLed in the middle of a sync updating 200 objects, then
//!   restarted with its data: every object ends at the new content, none
//!   was deleted or recreated.
//!
//! The tests share the control plane and kill its components, so they run
//! one at a time. Each prints `fault <name>: injected`, then `survived`
//! once all is well (`tests/reliability.sh` counts these lines).

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Harness;
use driftless_api::{OperationPhase, SyncStatusCode};
use driftless_testkit::cluster::ControlPlane;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::ListParams;

/// How long a killed component stays down.
const DOWN_FOR: Duration = Duration::from_secs(3);
/// How long convergence may take after a restart (the API server needs
/// tens of seconds to start on a busy machine).
const CONVERGE: Duration = Duration::from_secs(300);

static PLANE: OnceLock<ControlPlane> = OnceLock::new();
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The private, restartable control plane of this binary.
async fn plane() -> &'static ControlPlane {
    tokio::task::spawn_blocking(|| {
        PLANE.get_or_init(|| {
            ControlPlane::start_restartable(DOWN_FOR)
                .unwrap_or_else(|e| panic!("starting a private control plane: {e}"))
        })
    })
    .await
    .expect("starting the private control plane")
}

/// SIGKILLs `component` (printing `fault <fault>: injected`), then waits
/// until it is back and the API server answers again.
async fn kill_and_await_restart(cp: &'static ControlPlane, component: &'static str, fault: &str) {
    let pid = tokio::task::spawn_blocking(move || cp.kill_component(component))
        .await
        .expect("kill")
        .unwrap_or_else(|e| panic!("killing {component}: {e}"));
    println!("fault {fault}: injected");
    let started = Instant::now();
    loop {
        let back = cp
            .component_pids()
            .iter()
            .any(|(name, p)| name == component && *p != pid);
        let ready = tokio::task::spawn_blocking(move || {
            cp.kubectl(&["get", "--raw", "/readyz", "--request-timeout=5s"])
        })
        .await
        .expect("kubectl");
        if back && ready.is_ok() {
            return;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "{component} did not come back: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: {value}\n")
}

/// The ConfigMaps of `ns` made from Git (named `cm-…`): name -> (uid, v).
async fn live(h: &Harness, ns: &str) -> BTreeMap<String, (String, String)> {
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), ns);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return BTreeMap::new();
    };
    list.items
        .into_iter()
        .filter_map(|cm| {
            let name = cm.metadata.name?;
            let value = cm.data.and_then(|d| d.get("v").cloned())?;
            name.starts_with("cm-")
                .then_some((name, (cm.metadata.uid?, value)))
        })
        .collect()
}

/// Waits until between 1 and `total - 1` objects have value `value`: the
/// sync is under way, not finished.
async fn mid_sync(h: &Harness, ns: &str, total: usize, value: &str) {
    driftless_testkit::faults::mid_sync(total, common::TIMEOUT, async || {
        live(h, ns)
            .await
            .values()
            .filter(|(_, v)| v == value)
            .count()
    })
    .await;
}

/// A repository of `total` ConfigMaps `cm-NNN` with value `value`, and an
/// automated Application `name` of it into a new namespace; returns the
/// namespace, the repository and the commit.
async fn big_app(
    h: &Harness,
    name: &str,
    total: usize,
    value: &str,
) -> (String, driftless_testkit::git::TestRepo, String) {
    let dest = h.namespace(&format!("{name}-dest")).await;
    let repo = h.git.create_repo(name);
    write_all(&repo, total, value);
    let sha = repo.commit(&format!("{total} objects"));
    h.apply(&common::application_yaml(
        name,
        &h.apps_ns,
        &h.git.git_url(name),
        "app",
        &dest,
        "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n",
    ));
    (dest, repo, sha)
}

fn write_all(repo: &driftless_testkit::git::TestRepo, total: usize, value: &str) {
    for i in 0..total {
        repo.write(
            &format!("app/cm-{i:03}.yaml"),
            &cm(&format!("cm-{i:03}"), value),
        );
    }
}

/// Waits (up to [`CONVERGE`]) until `name` is Synced and Healthy at `sha`
/// with an operation that Succeeded at it; returns the number of resources
/// in its status.
async fn converged(h: &Harness, name: &str, sha: &str) -> usize {
    let started = Instant::now();
    loop {
        if let Ok(Some(app)) = h.apps().get_opt(name).await {
            let status = app.status.clone().unwrap_or_default();
            let op_done = status.operation_state.as_ref().is_some_and(|op| {
                op.phase == OperationPhase::Succeeded
                    && op.sync_result.as_ref().map(|r| r.revision.as_str()) == Some(sha)
            });
            let synced = status.sync.as_ref().map(|s| s.status) == Some(SyncStatusCode::Synced);
            if op_done
                && synced
                && common::synced_healthy(&app)
                && common::revision_of(&app) == Some(sha)
            {
                return status.resources.len();
            }
            assert!(
                started.elapsed() < CONVERGE,
                "{name} did not converge at {sha}: {}",
                serde_json::to_string(&status).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Names of `live` not at `value`, and of `cm-000…` up to `total` missing.
fn wrong_or_missing(
    live: &BTreeMap<String, (String, String)>,
    total: usize,
    value: &str,
) -> Vec<String> {
    let mut problems: Vec<String> = (0..total)
        .map(|i| format!("cm-{i:03}"))
        .filter(|n| !live.contains_key(n))
        .map(|n| format!("LOST: {n} is missing"))
        .collect();
    problems.extend(
        live.iter()
            .filter(|(_, (_, v))| v != value)
            .map(|(n, (_, v))| format!("{n} has {v:?}, not {value:?}")),
    );
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_server_killed_mid_sync_of_500_objects_then_restarted() {
    let _serial = SERIAL.lock().await;
    let cp = plane().await;
    let mut h = Harness::on(cp, "cp-api").await;
    h.start_controller(Duration::from_secs(2)).await;
    let total = 500;
    let (dest, _repo, sha) = big_app(&h, "api-killed", total, "one").await;

    mid_sync(&h, &dest, total, "one").await;
    kill_and_await_restart(cp, "kube-apiserver", "apiserver-killed-mid-sync").await;

    let resources = converged(&h, "api-killed", &sha).await;
    let objects = live(&h, &dest).await;
    assert_eq!(resources, total, "the status lists every resource once");
    assert_eq!(objects.len(), total, "exactly the objects of Git exist");
    assert_eq!(
        wrong_or_missing(&objects, total, "one"),
        Vec::<String>::new()
    );
    println!("fault apiserver-killed-mid-sync: survived");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_killed_mid_sync_then_restarted_with_its_data() {
    let _serial = SERIAL.lock().await;
    let cp = plane().await;
    let mut h = Harness::on(cp, "cp-etcd").await;
    h.start_controller(Duration::from_secs(2)).await;
    let total = 200;
    let (dest, repo, first) = big_app(&h, "etcd-killed", total, "one").await;
    converged(&h, "etcd-killed", &first).await;
    let before = live(&h, &dest).await;

    write_all(&repo, total, "two");
    let second = tokio::task::block_in_place(|| repo.commit("every value changes"));
    mid_sync(&h, &dest, total, "two").await;
    kill_and_await_restart(cp, "etcd", "etcd-killed-mid-sync").await;

    converged(&h, "etcd-killed", &second).await;
    let after = live(&h, &dest).await;
    assert_eq!(wrong_or_missing(&after, total, "two"), Vec::<String>::new());
    let recreated: Vec<&String> = before
        .iter()
        .filter(|(name, (uid, _))| after.get(*name).map(|a| &a.0) != Some(uid))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        recreated,
        Vec::<&String>::new(),
        "LOST: deleted or recreated"
    );
    println!("fault etcd-killed-mid-sync: survived");
    h.stop_controller().await;
}
