//! How the controller is configured (the CLI maps its flags onto this).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use driftless_source::webhook::WebhookSecrets;

/// The namespace Argo CD's Applications live in by default.
pub const DEFAULT_NAMESPACE: &str = "argocd";

/// Leader election with a `coordination.k8s.io/v1` Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderElection {
    /// The Lease's name.
    pub lease_name: String,
    /// The Lease's namespace.
    pub lease_namespace: String,
    /// This replica's identity (the Pod name).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews it.
    pub renew_interval: Duration,
}

impl LeaderElection {
    /// Election on the Lease `name` in `namespace`, as `identity`, with a
    /// 15 s lease renewed every 5 s.
    pub fn new(name: &str, namespace: &str, identity: &str) -> Self {
        LeaderElection {
            lease_name: name.into(),
            lease_namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
        }
    }
}

/// Everything [`crate::run`] needs to know.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Namespaces whose Applications are reconciled; empty means all.
    /// Default: `argocd` plus the controller's own namespace.
    pub namespaces: Vec<String>,
    /// The control-plane namespace (Argo CD's own, `argocd` by default):
    /// AppProjects are looked up here, Applications here may use any
    /// project, and Applications elsewhere only a project whose
    /// `sourceNamespaces` lists their namespace. Their tracking ids carry a
    /// bare name here and `<namespace>_<name>` elsewhere.
    pub control_plane_namespace: String,
    /// The namespace holding repository credential Secrets (Argo CD format);
    /// usually the control-plane namespace.
    pub credentials_namespace: String,
    /// How often every Application is compared with Git (±10 % jitter). Default 3 min.
    pub requeue_interval: Duration,
    /// How soon an Application whose resources are still progressing (or
    /// missing) is looked at again when `watch_managed` is off (with
    /// watches, their changes requeue it). Default 5 s.
    pub progress_interval: Duration,
    /// Where the HTTP server (webhook, metrics, health) listens; `None` for no server.
    pub listen: Option<SocketAddr>,
    /// Where Git mirrors are kept.
    pub repo_cache_dir: PathBuf,
    /// The server-side apply field manager.
    pub field_manager: String,
    /// Leader election; `None` to run without (a single replica).
    pub leader_election: Option<LeaderElection>,
    /// Webhook secrets per Git provider.
    pub webhook_secrets: WebhookSecrets,
    /// How many Applications are reconciled at once. Default 16: a
    /// reconcile mostly waits on the API server and Git (bench_scale).
    pub concurrency: u16,
    /// How many renders are cached.
    pub render_cache_size: usize,
    /// Self-heal: requeue an owner on a change to its objects (seen by the
    /// sync engine's watches of the kinds it manages) and re-sync drift
    /// within about a second.
    pub watch_managed: bool,
    /// The reporting instance name of Kubernetes Events (the Pod name).
    pub instance: Option<String>,
    /// A kustomize command for the paths the native renderer refuses (Helm
    /// charts, plugins, remote bases); `None` reports those as errors.
    pub kustomize_command: Option<driftless_render::ExternalKustomize>,
    /// How long a sync wave may take to become healthy before the sync
    /// fails (and is retried per `syncPolicy.retry`). Default 10 min.
    pub wave_timeout: Duration,
    /// The pinned `helm` binary Helm charts are rendered with (Application
    /// chart sources, kustomizations' `helmCharts`, HelmReleases,
    /// HelmRepository index fetches); `None` (the default) reports them as
    /// errors naming the chart.
    pub helm: Option<PathBuf>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        let mut namespaces = vec![DEFAULT_NAMESPACE.to_string()];
        if let Some(own) = own_namespace()
            && own != DEFAULT_NAMESPACE
        {
            namespaces.push(own);
        }
        ControllerConfig {
            namespaces,
            control_plane_namespace: DEFAULT_NAMESPACE.to_string(),
            credentials_namespace: DEFAULT_NAMESPACE.to_string(),
            requeue_interval: Duration::from_secs(180),
            progress_interval: Duration::from_secs(5),
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 8080))),
            repo_cache_dir: std::env::temp_dir().join("driftless-repos"),
            field_manager: driftless_sync::DEFAULT_FIELD_MANAGER.to_string(),
            leader_election: None,
            webhook_secrets: WebhookSecrets::default(),
            concurrency: 16,
            render_cache_size: 2048,
            watch_managed: true,
            instance: std::env::var("POD_NAME").ok(),
            kustomize_command: None,
            wave_timeout: Duration::from_secs(600),
            helm: None,
        }
    }
}

/// The namespace the controller runs in, when it runs in a Pod.
pub fn own_namespace() -> Option<String> {
    if let Ok(ns) = std::env::var("POD_NAMESPACE")
        && !ns.is_empty()
    {
        return Some(ns);
    }
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
