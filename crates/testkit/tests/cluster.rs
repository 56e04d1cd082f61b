//! The local control plane is real: Deployments become Available on kwok
//! nodes, and stopping it leaves no process behind.

use std::time::Duration;

use driftless_testkit::cluster::ControlPlane;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};

/// Generous: the point is "eventually", not speed.
const AVAILABLE_TIMEOUT: Duration = Duration::from_secs(180);

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    }))
    .expect("a valid Deployment")
}

#[tokio::test]
async fn three_replica_deployment_becomes_available_on_kwok_nodes() {
    let cp = ControlPlane::shared().await;
    let ns = cp.namespace("deploy").await;
    let client = cp.client().await;

    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("listing nodes");
    let kwok_nodes: Vec<String> = nodes
        .items
        .iter()
        .filter(|n| {
            n.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.get("kwok.x-k8s.io/node").map(String::as_str) == Some("fake"))
        })
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    assert!(!kwok_nodes.is_empty(), "no kwok nodes in {nodes:?}");

    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &deployment("web", 3))
        .await
        .expect("creating the Deployment");

    let start = tokio::time::Instant::now();
    let status = loop {
        let d = deployments
            .get("web")
            .await
            .expect("reading the Deployment");
        let status = d.status.unwrap_or_default();
        if status.available_replicas == Some(3) && status.ready_replicas == Some(3) {
            break status;
        }
        assert!(
            start.elapsed() < AVAILABLE_TIMEOUT,
            "Deployment web in {ns} not 3/3 Available after {AVAILABLE_TIMEOUT:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(status.replicas, Some(3));

    let pods = Api::<Pod>::namespaced(client, &ns)
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("listing pods");
    assert_eq!(pods.items.len(), 3, "pods: {pods:?}");
    for pod in &pods.items {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        assert!(
            node.as_ref().is_some_and(|n| kwok_nodes.contains(n)),
            "pod {:?} is on {node:?}, not a kwok node",
            pod.metadata.name
        );
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        assert_eq!(
            phase.as_deref(),
            Some("Running"),
            "pod {:?}",
            pod.metadata.name
        );
    }

    let out = cp
        .kubectl(&["get", "deployment", "web", "-n", &ns, "--no-headers"])
        .expect("kubectl get deployment");
    assert!(out.contains("3/3"), "kubectl shows: {out}");
}

#[tokio::test]
async fn namespaces_are_fresh_and_clients_work_per_runtime() {
    let cp = ControlPlane::shared().await;
    let a = cp.namespace("fresh").await;
    let b = cp.namespace("fresh").await;
    assert_ne!(a, b);
    let out = cp
        .kubectl(&["get", "namespace", &a, "-o", "jsonpath={.status.phase}"])
        .expect("kubectl get namespace");
    assert_eq!(out, "Active");
    let err = cp
        .kubectl(&["get", "namespace", "does-not-exist-here"])
        .expect_err("a missing namespace is an error");
    assert!(err.contains("not found"), "{err}");
}

/// True if `pid` is still one of the control-plane binaries (not a zombie,
/// and not a recycled pid running something else).
fn still_running_component(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
    if matches!(state, Some(Some('Z' | 'X'))) {
        return false;
    }
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|exe| exe.to_string_lossy().contains("driftless/bin"))
        .unwrap_or(false)
}

#[test]
fn stopping_a_control_plane_leaves_no_process_behind() {
    let cp = ControlPlane::start().unwrap_or_else(|e| panic!("{e}"));
    let pids = cp.component_pids();
    let names: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok"
        ]
    );
    for (name, pid) in &pids {
        assert!(
            still_running_component(*pid),
            "{name} ({pid}) is not running"
        );
    }
    let nodes = cp
        .kubectl(&["get", "nodes", "-o", "name"])
        .expect("kubectl get nodes");
    assert_eq!(nodes.lines().count(), 3, "nodes: {nodes}");
    let state_dir = cp
        .kubeconfig_path()
        .parent()
        .expect("kubeconfig in a state dir")
        .to_path_buf();

    cp.stop();

    let left: Vec<_> = pids
        .iter()
        .filter(|(_, pid)| still_running_component(*pid))
        .collect();
    assert!(left.is_empty(), "still running after stop: {left:?}");
    if std::env::var_os("DRIFTLESS_KEEP_STATE").is_none() {
        assert!(
            !state_dir.exists(),
            "{} was not removed",
            state_dir.display()
        );
    }
}

#[test]
fn two_control_planes_run_side_by_side() {
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(ControlPlane::start);
        let b = scope.spawn(ControlPlane::start);
        (a.join().expect("start a"), b.join().expect("start b"))
    });
    let a = a.unwrap_or_else(|e| panic!("{e}"));
    let b = b.unwrap_or_else(|e| panic!("{e}"));
    let server = |cp: &ControlPlane| {
        cp.kubectl(&[
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ])
        .expect("kubectl config view")
    };
    assert_ne!(server(&a), server(&b));
    a.kubectl(&["create", "namespace", "only-in-a"])
        .expect("create in a");
    assert!(a.kubectl(&["get", "namespace", "only-in-a"]).is_ok());
    assert!(b.kubectl(&["get", "namespace", "only-in-a"]).is_err());
    a.stop();
    b.stop();
}

/// Env var telling [`holds_a_control_plane_until_killed`] where to write the
/// component pids.
const HOLDER_PIDS_FILE: &str = "DRIFTLESS_TEST_HOLDER_PIDS";

/// Run as a child process by
/// [`a_killed_test_process_leaves_no_process_behind`]: starts a control
/// plane, writes its pids, and waits to be killed.
#[test]
#[ignore = "helper: runs only inside a_killed_test_process_leaves_no_process_behind"]
fn holds_a_control_plane_until_killed() {
    let file = std::env::var(HOLDER_PIDS_FILE).expect("run by the killed-process test");
    let cp = ControlPlane::start().unwrap_or_else(|e| panic!("{e}"));
    let pids: Vec<String> = cp
        .component_pids()
        .iter()
        .map(|(_, p)| p.to_string())
        .collect();
    std::fs::write(format!("{file}.tmp"), pids.join("\n")).expect("writing pids");
    std::fs::rename(format!("{file}.tmp"), &file).expect("publishing pids");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn a_killed_test_process_leaves_no_process_behind() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let pids_file = dir.path().join("pids");
    let mut holder = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "holds_a_control_plane_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env(HOLDER_PIDS_FILE, &pids_file)
        .env_remove("DRIFTLESS_KEEP_STATE")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting the holder process");

    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let pids: Vec<u32> = loop {
        if let Ok(text) = std::fs::read_to_string(&pids_file) {
            break text.lines().filter_map(|l| l.parse().ok()).collect();
        }
        if let Some(status) = holder.try_wait().expect("polling the holder") {
            panic!("the holder process exited ({status}) before its control plane was up");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "holder never wrote {}",
            pids_file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(pids.len(), 5, "pids: {pids:?}");
    assert!(
        pids.iter().all(|p| still_running_component(*p)),
        "pids: {pids:?}"
    );

    holder.kill().expect("SIGKILL to the holder");
    holder.wait().expect("reaping the holder");

    // The supervisor gets SIGTERM from the kernel and stops its components
    // (SIGKILL after 15 s); wait generously for that to finish.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left: Vec<_> = pids
            .iter()
            .filter(|p| still_running_component(**p))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 60 s after the test process was killed: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
