//! What the CLI's cluster tests share: the real control plane with the
//! CRDs, a namespace per test, the real Git server, an Application
//! controller running in-process that watches only the test's namespace,
//! and the built `driftless` binary run against them.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use driftless_controller::{ControllerConfig, Running};
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::git::GitServer;

/// The outcome of one `driftless` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One test's world.
pub struct World {
    pub cp: &'static ControlPlane,
    pub git: GitServer,
    /// Where the test's Applications live (the controller watches it).
    pub ns: String,
    /// Where they deploy to.
    pub dest: String,
    controller: Option<(Running, tokio::sync::oneshot::Sender<()>)>,
    cache: tempfile::TempDir,
}

fn install_crds(cp: &ControlPlane) {
    cp.install_crds(&["applications.argoproj.io", "appprojects.argoproj.io"]);
}

impl World {
    /// The cluster, a namespace pair and a Git server; no controller yet.
    pub async fn new(prefix: &str) -> World {
        let cp = ControlPlane::shared().await;
        tokio::task::spawn_blocking(move || install_crds(cp))
            .await
            .expect("installing CRDs");
        let ns = cp.namespace(&format!("{prefix}-apps")).await;
        let dest = cp.namespace(&format!("{prefix}-dest")).await;
        World {
            cp,
            git: GitServer::start().await,
            ns,
            dest,
            controller: None,
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Starts the Application controller, watching only this test's namespace.
    pub async fn start_controller(&mut self) {
        self.start_controller_with(|_| {}).await;
    }

    /// Starts the Application controller with `edit` applied to its
    /// configuration (e.g. a helm), watching only this test's namespace.
    pub async fn start_controller_with(&mut self, edit: impl FnOnce(&mut ControllerConfig)) {
        let mut config = ControllerConfig {
            namespaces: vec![self.ns.clone()],
            control_plane_namespace: self.ns.clone(),
            credentials_namespace: self.ns.clone(),
            requeue_interval: Duration::from_secs(600),
            progress_interval: Duration::from_millis(500),
            listen: None,
            repo_cache_dir: self.cache.path().join("controller"),
            ..ControllerConfig::default()
        };
        edit(&mut config);
        // The in-process controller's Jsonnet evaluator: the driftless binary.
        driftless_render::jsonnet::set_evaluator(env!("CARGO_BIN_EXE_driftless"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let client = self.cp.client().await;
        let running = driftless_controller::start(client, config, async move {
            let _ = rx.await;
        })
        .await
        .unwrap_or_else(|e| panic!("starting the controller: {e}"));
        self.controller = Some((running, tx));
    }

    /// `kubectl apply -f -`.
    pub fn apply(&self, yaml: &str) {
        self.cp
            .kubectl_stdin(&["apply", "-f", "-"], yaml)
            .unwrap_or_else(|e| panic!("kubectl apply: {e}\n{yaml}"));
    }

    /// `kubectl <args>`.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.cp
            .kubectl(args)
            .unwrap_or_else(|e| panic!("kubectl: {e}"))
    }

    /// Runs `driftless <args> --kubeconfig <admin> -n <ns>`.
    pub async fn cli(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--kubeconfig".into(),
            self.cp.kubeconfig_path().display().to_string(),
            "-n".into(),
            self.ns.clone(),
        ]);
        run_cli(&all, None).await
    }

    /// A manual (not automated) Application of `path` in repository `repo`.
    pub fn app(&self, name: &str, repo: &str, path: &str, automated: bool) -> String {
        let policy = if automated {
            "  syncPolicy:\n    automated:\n      prune: true\n"
        } else {
            ""
        };
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  source:
    repoURL: {url}
    targetRevision: main
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
{policy}",
            ns = self.ns,
            url = self.git.git_url(repo),
            dest = self.dest,
        )
    }

    /// Polls `check` (a kubectl jsonpath of the Application) until it
    /// returns `want`; panics with the last value after two minutes.
    pub async fn wait_for(&self, app: &str, jsonpath: &str, want: &str) {
        let started = Instant::now();
        loop {
            let got = self.cp.kubectl(&[
                "-n",
                &self.ns,
                "get",
                "application",
                app,
                "-o",
                &format!("jsonpath={jsonpath}"),
            ]);
            if got.as_deref() == Ok(want) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "Application {app}: {jsonpath} is {got:?}, want {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Stops the controller.
    pub async fn stop_controller(&mut self) {
        if let Some((running, tx)) = self.controller.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(30), running.wait()).await;
        }
    }
}

/// Runs the built binary with `args` (in `dir` when given).
pub async fn run_cli(args: &[String], dir: Option<&Path>) -> Run {
    static CACHE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftless"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        // `diff`'s Git mirrors, kept out of the user's cache.
        .env("DRIFTLESS_CACHE_DIR", cache.path());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().await.expect("running driftless");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A ConfigMap manifest.
pub fn configmap(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n")
}
