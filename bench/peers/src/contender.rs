//! One contender on its own fresh control plane and Git server: Flux's two
//! controllers with Flux's CRDs, or `driftless controller` with driftless'
//! CRDs serving Kustomizations or Applications.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::git::{GitServer, TestRepo};
use kube::Client;

use crate::hook::Hook;
use crate::procs::{Proc, free_addr};
use crate::workload::{self, DEST, NAMESPACE};

/// Which tool, serving which API.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// Flux's source-controller and kustomize-controller from this dir
    /// (binaries and `crds/`, as `tests/cluster/build-flux.sh` leaves it).
    Flux(PathBuf),
    /// `driftless controller` (this binary) serving Kustomizations.
    DriftlessKustomizations(PathBuf),
    /// `driftless controller` (this binary) serving Argo CD Applications.
    DriftlessApplications(PathBuf),
}

impl Kind {
    /// The name printed in the table.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Kind::Flux(_) => "flux (Kustomization)",
            Kind::DriftlessKustomizations(_) => "driftless (Kustomization)",
            Kind::DriftlessApplications(_) => "driftless (Application)",
        }
    }

    /// Whether it is given Kustomizations (else Applications).
    pub(crate) fn kustomizations(&self) -> bool {
        !matches!(self, Kind::DriftlessApplications(_))
    }

    /// The metric counting its reconciles of the objects under test, and the
    /// label its samples must carry.
    pub(crate) fn reconcile_metric(&self) -> (&'static str, &'static str) {
        match self {
            Kind::Flux(_) => (
                "controller_runtime_reconcile_total",
                "controller=\"kustomization\"",
            ),
            Kind::DriftlessKustomizations(_) => (
                "driftless_flux_reconciles_total",
                "controller=\"Kustomization\"",
            ),
            Kind::DriftlessApplications(_) => ("driftless_reconciles_total", ""),
        }
    }

    /// The metric counting its controllers' own API requests (each client's
    /// count of what it sent).
    pub(crate) fn request_metric(&self) -> &'static str {
        match self {
            // controller-runtime's client-go metrics, in every Flux controller.
            Kind::Flux(_) => "rest_client_requests_total",
            _ => "driftless_api_requests_total",
        }
    }

    /// The histogram of its Git fetch durations; `Err` says why there is none.
    pub(crate) fn fetch_metric(&self) -> Result<&'static str, &'static str> {
        match self {
            Kind::Flux(_) => Err("not measured alone"),
            _ => Ok("driftless_git_fetch_duration_seconds"),
        }
    }

    /// The metric counting its renders of the objects under test, and the
    /// label its samples must carry; `Err` says why there is none.
    pub(crate) fn render_metric(&self) -> Result<(&'static str, &'static str), &'static str> {
        match self {
            // kustomize-controller builds at every reconcile.
            Kind::Flux(_) => Ok(self.reconcile_metric()),
            Kind::DriftlessKustomizations(_) => Ok((
                "driftless_flux_reconciles_total",
                "controller=\"Kustomization\",render=\"rendered\"",
            )),
            // Render requests that built objects (not from the render
            // cache, not taken over from an earlier commit).
            Kind::DriftlessApplications(_) => {
                Ok(("driftless_renders_total", "outcome=\"rendered\""))
            }
        }
    }
}

/// A contender running: control plane, Git server with the N apps, its processes.
pub(crate) struct Running {
    pub(crate) kind: Kind,
    pub(crate) cp: ControlPlane,
    pub(crate) client: Client,
    pub(crate) git: GitServer,
    pub(crate) repo: TestRepo,
    pub(crate) procs: Vec<Proc>,
    /// Flux's notification-controller, serving the Receiver the pushes are
    /// announced to: not one of the two controllers whose RSS and CPU are
    /// measured (`procs`).
    /// Its Receiver endpoint is the address beside it.
    pub(crate) receiver: Option<(Proc, std::net::SocketAddr)>,
    /// What pushes are announced with.
    pub(crate) hook: Hook,
    /// Logs and state of the processes.
    pub(crate) work: PathBuf,
}

/// The image app `i` runs first.
pub(crate) const FIRST_IMAGE: &str = "nginx:1.27";

/// The directory of driftless' generated CRDs in this repository.
pub(crate) fn driftless_crds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds")
}

impl Running {
    /// Starts a fresh control plane and Git server for `kind`, with `n` apps
    /// committed, the CRDs installed and the controllers ready; pushes are
    /// announced to the tool's webhook receiver when `webhooks`, else (the
    /// Kustomization contenders) with `requestedAt` on the GitRepository.
    pub(crate) async fn start(
        kind: Kind,
        n: usize,
        work: PathBuf,
        webhooks: bool,
    ) -> anyhow::Result<Running> {
        let cp = tokio::task::spawn_blocking(ControlPlane::start)
            .await?
            .context("starting a fresh control plane (tests/cluster/ctl.sh's run.sh)")?;
        let client = cp.client().await;
        let crds = match &kind {
            Kind::Flux(dir) => dir.join("crds"),
            _ => driftless_crds(),
        };
        install_crds(&cp, &crds)?;
        for ns in [NAMESPACE, DEST] {
            cp.kubectl(&["create", "namespace", ns])
                .map_err(anyhow::Error::msg)?;
        }
        let git = GitServer::start().await;
        let repo = git.create_repo("bench");
        for i in 0..n {
            for (path, body) in workload::files(i, FIRST_IMAGE) {
                repo.write(&path, &body);
            }
        }
        repo.commit(&format!("{n} apps"));
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let procs = spawn(&kind, cp.kubeconfig_path(), &work)?;
        let receiver = match &kind {
            Kind::Flux(dir) if webhooks => Some(spawn_receiver(dir, cp.kubeconfig_path(), &work)?),
            _ => None,
        };
        let mut running = Running {
            kind,
            cp,
            client,
            git,
            repo,
            procs,
            receiver,
            hook: Hook::RequestedAt,
            work,
        };
        for p in running
            .procs
            .iter_mut()
            .chain(running.receiver.as_mut().map(|(p, _)| p))
        {
            p.wait_ready(Duration::from_secs(120)).await?;
        }
        running.hook = running.hook(webhooks).await?;
        Ok(running)
    }

    /// What its pushes are announced with.
    async fn hook(&self, webhooks: bool) -> anyhow::Result<Hook> {
        let driftless = |repo_url: String| Hook::Driftless {
            addr: self.procs[0].health,
            repo_url,
        };
        Ok(match (&self.kind, &self.receiver) {
            (Kind::DriftlessApplications(_), _) => driftless(self.git.http_url("bench")),
            (Kind::DriftlessKustomizations(_), _) if webhooks => {
                driftless(self.git.http_url("bench"))
            }
            (Kind::Flux(_), Some((_, addr))) => {
                crate::hook::flux_receiver(&self.client, *addr).await?
            }
            _ => Hook::RequestedAt,
        })
    }

    /// Sum of the processes' CPU seconds.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        self.procs.iter().map(Proc::cpu_seconds).sum()
    }

    /// Sum of the processes' peak RSS, MiB.
    pub(crate) fn peak_rss_mib(&self) -> f64 {
        self.procs.iter().map(Proc::peak_rss_mib).sum()
    }

    /// An error if any process has exited.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        self.procs
            .iter_mut()
            .chain(self.receiver.as_mut().map(|(p, _)| p))
            .try_for_each(Proc::check_alive)
    }

    /// Reconciles of the objects under test so far (from the metrics).
    pub(crate) async fn reconciles(&self) -> anyhow::Result<f64> {
        let (name, labels) = self.kind.reconcile_metric();
        // Flux: kustomize-controller is the second process; driftless has one.
        let proc = self.procs.last().context("no process")?;
        proc.metric(name, labels).await
    }

    /// The API requests its controller processes sent so far (their own
    /// counters; the webhook receiver's are not included).
    pub(crate) async fn own_requests(&self) -> anyhow::Result<f64> {
        let name = self.kind.request_metric();
        let mut sum = 0.0;
        for proc in &self.procs {
            sum += proc.metric(name, "").await?;
        }
        Ok(sum)
    }

    /// Its Git fetches so far: (seconds in all, how many), or why not counted.
    pub(crate) async fn fetches(&self) -> Result<(f64, f64), String> {
        let name = self.kind.fetch_metric()?;
        let proc = self.procs.last().ok_or("no process")?;
        let body = proc.scrape().await.map_err(|e| format!("{e:#}"))?;
        let read = |suffix: &str| {
            driftless_testkit::metrics::sum_metric(&body, &format!("{name}_{suffix}"), "")
        };
        Ok((read("sum"), read("count")))
    }

    /// Its renders of the objects under test so far, or why not counted.
    pub(crate) async fn renders(&self) -> Result<f64, String> {
        let (name, labels) = self.kind.render_metric()?;
        let proc = self.procs.last().ok_or("no process")?;
        proc.metric(name, labels)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// Stops the processes, then the control plane and Git server.
    pub(crate) fn stop(mut self) {
        for p in self
            .procs
            .iter_mut()
            .chain(self.receiver.as_mut().map(|(p, _)| p))
        {
            p.stop();
        }
        self.cp.stop();
    }
}

/// Applies every CRD in `dir` and waits until they are established.
pub(crate) fn install_crds(cp: &ControlPlane, dir: &Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading CRDs from {}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| p.file_name().is_some_and(|f| f != "kustomization.yaml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no CRD files in {}", dir.display());
    }
    for file in &files {
        let path = file.to_string_lossy();
        cp.kubectl(&["apply", "--server-side", "-f", &path])
            .map_err(|e| anyhow::anyhow!("installing the CRD {path}: {e}"))?;
    }
    cp.kubectl(&[
        "wait",
        "--for=condition=established",
        "--timeout=60s",
        "crd",
        "--all",
    ])
    .map_err(anyhow::Error::msg)?;
    Ok(())
}

/// Starts the contender's processes.
fn spawn(kind: &Kind, kubeconfig: &Path, work: &Path) -> anyhow::Result<Vec<Proc>> {
    match kind {
        Kind::Flux(dir) => {
            let artifacts = work.join("artifacts");
            std::fs::create_dir_all(&artifacts)
                .with_context(|| format!("creating {}", artifacts.display()))?;
            let storage = free_addr();
            let storage_args = [
                format!("--storage-path={}", artifacts.display()),
                format!("--storage-addr={storage}"),
                format!("--storage-adv-addr={storage}"),
            ];
            let source =
                flux_controller(dir, "source-controller", &storage_args, kubeconfig, work)?;
            let kustomize = flux_controller(dir, "kustomize-controller", &[], kubeconfig, work)?;
            Ok(vec![source, kustomize])
        }
        Kind::DriftlessKustomizations(bin) | Kind::DriftlessApplications(bin) => {
            let addr = free_addr();
            let mut command = Command::new(bin);
            command
                .arg("controller")
                .args([
                    "--namespaces",
                    NAMESPACE,
                    "--control-plane-namespace",
                    NAMESPACE,
                ])
                .arg(format!("--listen={addr}"))
                .arg("--cache-dir")
                .arg(work.join("repos"));
            Ok(vec![Proc::spawn(
                "driftless",
                command,
                kubeconfig,
                work,
                addr,
                addr,
            )?])
        }
    }
}

/// Starts Flux's controller `name` from `dir` with `args`, its own health
/// and metrics addresses, all namespaces and no leader election.
fn flux_controller(
    dir: &Path,
    name: &str,
    args: &[String],
    kubeconfig: &Path,
    work: &Path,
) -> anyhow::Result<Proc> {
    let (health, metrics) = (free_addr(), free_addr());
    let mut command = Command::new(dir.join(name));
    command
        .args(args)
        .arg(format!("--metrics-addr={metrics}"))
        .arg(format!("--health-addr={health}"))
        .args([
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
        ])
        .env("RUNTIME_NAMESPACE", NAMESPACE);
    Proc::spawn(name, command, kubeconfig, work, health, metrics)
}

/// Starts Flux's notification-controller from `dir`, its Receiver endpoint
/// on the address returned.
fn spawn_receiver(
    dir: &Path,
    kubeconfig: &Path,
    work: &Path,
) -> anyhow::Result<(Proc, std::net::SocketAddr)> {
    let (events, receiver) = (free_addr(), free_addr());
    let args = [
        format!("--receiverAddr={receiver}"),
        format!("--events-addr={events}"),
    ];
    let proc = flux_controller(dir, "notification-controller", &args, kubeconfig, work)?;
    Ok((proc, receiver))
}
