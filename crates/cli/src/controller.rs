//! `driftless controller`: run the Application controller, in a Pod or
//! outside the cluster with a kubeconfig.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use driftless_controller::{ControllerConfig, LeaderElection};

/// What `driftless controller --help` says about the HTTP endpoints.
const ENDPOINTS_HELP: &str = "\
Example: driftless controller --namespaces argocd,team-a --requeue-interval 1m

HTTP endpoints (on --listen):
  POST /api/webhook   a Git host's push event: refreshes at once every Application whose
                      repository, target revision and (when the payload lists changed files)
                      path or files read match, instead of waiting for --requeue-interval
  GET  /metrics       Prometheus metrics
  GET  /healthz, /readyz

The web page (on --ui-listen, off by default): open http://<addr>/ and paste a token
(`kubectl create token <serviceaccount> -n <namespace>`); its JSON API is /api/v1/...
with the same token as `Authorization: Bearer <token>`.

Webhook payloads: the provider is detected from the headers: GitHub (X-GitHub-Event),
GitLab (X-Gitlab-Event), Gitea/Forgejo (X-Gitea-Event), Gogs (X-Gogs-Event), Bitbucket
Cloud (X-Event-Key), each with its own push payload; anything else is the generic form
  {\"repository\": \"https://git.example.com/org/app.git\", \"ref\": \"refs/heads/main\",
   \"changedFiles\": [\"apps/web/deployment.yaml\"]}
(\"ref\" may be a branch name; \"repositories\": [...] may list several; \"changedFiles\"
is optional).

Webhook secrets come from the environment only (never a flag, so they stay out of
process listings). A provider without a secret is accepted unverified, as Argo CD does:
  DRIFTLESS_WEBHOOK_GITHUB_SECRET     HMAC-SHA256 in X-Hub-Signature-256
  DRIFTLESS_WEBHOOK_GITLAB_SECRET     equal to X-Gitlab-Token
  DRIFTLESS_WEBHOOK_GITEA_SECRET      HMAC-SHA256 in X-Gitea-Signature
  DRIFTLESS_WEBHOOK_GOGS_SECRET       HMAC-SHA256 in X-Gogs-Signature
  DRIFTLESS_WEBHOOK_BITBUCKET_UUID    equal to X-Hook-UUID
  DRIFTLESS_WEBHOOK_BITBUCKET_SECRET  HMAC in X-Hub-Signature
  DRIFTLESS_WEBHOOK_SECRET            generic form: X-Driftless-Signature-256: sha256=<hex HMAC-SHA256 of the body>
Example: curl -X POST -H 'Content-Type: application/json' \\
  -d '{\"repository\":\"https://git.example.com/org/app.git\",\"ref\":\"main\"}' \\
  http://127.0.0.1:8080/api/webhook";

/// Arguments of `driftless controller`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: driftless controller --namespaces argocd,team-a --requeue-interval 1m\n\n\
                  Push webhooks: POST /api/webhook (GitHub, GitLab, Gitea, Gogs, Bitbucket or a \
                  generic JSON form); `--help` shows the payloads and secrets.",
    after_long_help = ENDPOINTS_HELP
)]
pub(crate) struct Args {
    /// Namespaces whose Applications are reconciled, comma-separated; `*` for
    /// all. Default: `argocd` (or the control-plane namespace) plus the
    /// controller's own namespace. Applications outside the control-plane
    /// namespace also need their project's `sourceNamespaces` to list theirs.
    #[arg(long, value_delimiter = ',', env = "DRIFTLESS_NAMESPACES")]
    namespaces: Vec<String>,
    /// The control-plane namespace (default `argocd`): AppProjects are read
    /// from it, and an Application outside it is reconciled only when its
    /// project's `sourceNamespaces` lists the Application's namespace.
    #[arg(long, env = "DRIFTLESS_CONTROL_PLANE_NAMESPACE")]
    control_plane_namespace: Option<String>,
    /// The namespace holding repository credential Secrets (Argo CD format);
    /// default: the control-plane namespace.
    #[arg(long, env = "DRIFTLESS_CREDENTIALS_NAMESPACE")]
    credentials_namespace: Option<String>,
    /// How often every Application is compared with Git (with ±10% jitter), e.g. `3m`, `30s`.
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    requeue_interval: Duration,
    /// How long a sync waits for one wave's objects to become healthy
    /// before it fails and stops the later waves, e.g. `10m`.
    #[arg(long, default_value = "10m", value_parser = parse_duration, env = "DRIFTLESS_WAVE_TIMEOUT")]
    wave_timeout: Duration,
    /// Where the webhook, metrics and health endpoints listen.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Where Git mirrors are kept.
    #[arg(long, env = "DRIFTLESS_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// How many Applications are reconciled at once.
    #[arg(long, default_value_t = 16)]
    concurrency: u16,
    /// Elect a leader with a Lease, so only one replica writes.
    #[arg(long)]
    leader_elect: bool,
    /// The Lease's name.
    #[arg(long, default_value = "driftless-controller")]
    lease_name: String,
    /// The Lease's namespace; default: the controller's own namespace, else `argocd`.
    #[arg(long)]
    lease_namespace: Option<String>,
    /// Do not watch managed objects for drift (self-heal then acts on the requeue interval only).
    #[arg(long)]
    no_watch_managed: bool,
    /// Serve the web page (overview, resource trees, history, the
    /// controller's health) on this address, e.g. `0.0.0.0:8081`; off when
    /// unset. Visitors sign in with their own Kubernetes token and see only
    /// what their RBAC lets them `get`.
    #[arg(long, value_name = "ADDR", env = "DRIFTLESS_UI_LISTEN")]
    ui_listen: Option<SocketAddr>,
    /// Show the web page's Sync and Refresh buttons (to visitors RBAC lets
    /// `patch` the Application); without it the page is read-only.
    #[arg(long, env = "DRIFTLESS_UI_ACTIONS")]
    ui_actions: bool,
    /// A kustomize command for what the native renderer refuses (Helm charts,
    /// plugins, remote bases), e.g. `kustomize build --enable-helm`; the
    /// directory is appended to it. Without it such paths are a
    /// ComparisonError naming the field.
    #[arg(long, value_name = "COMMAND", env = "DRIFTLESS_KUSTOMIZE_COMMAND")]
    kustomize_command: Option<String>,
    /// The pinned `helm` that renders Helm charts: Application chart
    /// sources, HelmReleases and kustomizations' `helmCharts` (sandboxed, no
    /// inherited configuration). Default: `helm` on `PATH`, else the
    /// container image's `/usr/local/bin/helm`; without one, charts are
    /// reported as errors naming them.
    #[arg(long, value_name = "PATH", env = "DRIFTLESS_HELM")]
    helm: Option<PathBuf>,
}

/// Webhook secrets come from the environment only, so they never show in a
/// process listing.
fn webhook_secrets() -> driftless_source::webhook::WebhookSecrets {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    driftless_source::webhook::WebhookSecrets {
        github: var("DRIFTLESS_WEBHOOK_GITHUB_SECRET"),
        gitlab: var("DRIFTLESS_WEBHOOK_GITLAB_SECRET"),
        gitea: var("DRIFTLESS_WEBHOOK_GITEA_SECRET"),
        gogs: var("DRIFTLESS_WEBHOOK_GOGS_SECRET"),
        bitbucket_uuid: var("DRIFTLESS_WEBHOOK_BITBUCKET_UUID"),
        bitbucket: var("DRIFTLESS_WEBHOOK_BITBUCKET_SECRET"),
        generic: var("DRIFTLESS_WEBHOOK_SECRET"),
        max_payload_bytes: 0,
    }
}

/// Parses `90`, `90s`, `5m`, `1h` or `250ms`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 3m or 1h"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// Runs the controller until SIGTERM or Ctrl-C.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let mut config = ControllerConfig::default();
    if !args.namespaces.is_empty() {
        config.namespaces = args
            .namespaces
            .iter()
            .map(|ns| ns.trim().to_string())
            .filter(|ns| !ns.is_empty() && ns != "*")
            .collect();
    }
    if let Some(ns) = &args.control_plane_namespace {
        config.control_plane_namespace = ns.clone();
        // By default the Applications of the control-plane namespace are watched.
        if args.namespaces.is_empty() && !config.namespaces.contains(ns) {
            config.namespaces.push(ns.clone());
        }
    }
    config.credentials_namespace = args
        .credentials_namespace
        .clone()
        .unwrap_or_else(|| config.control_plane_namespace.clone());
    config.requeue_interval = args.requeue_interval;
    config.wave_timeout = args.wave_timeout;
    config.listen = Some(args.listen);
    if let Some(dir) = &args.cache_dir {
        config.repo_cache_dir = dir.clone();
    }
    config.concurrency = args.concurrency.max(1);
    config.watch_managed = !args.no_watch_managed;
    config.webhook_secrets = webhook_secrets();
    config.helm = crate::charts::find_helm(args.helm.as_deref());
    config.kustomize_command =
        crate::render::external_kustomize(args.kustomize_command.as_deref())?;
    if args.leader_elect {
        let namespace = args
            .lease_namespace
            .clone()
            .or_else(driftless_controller::config::own_namespace)
            .unwrap_or_else(|| driftless_controller::config::DEFAULT_NAMESPACE.to_string());
        let identity = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| format!("driftless-{}", std::process::id()));
        config.leader_election = Some(LeaderElection::new(&args.lease_name, &namespace, &identity));
    }
    crate::malloc::limit_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let ui = args.ui_listen.map(|addr| {
        let config = driftless_ui::UiConfig {
            namespaces: config.namespaces.clone(),
            actions: args.ui_actions,
            metrics: None,
            previewer: None,
        };
        (addr, config)
    });
    runtime.block_on(serve(config, ui))
}

/// Runs the controller, and the web page when `ui` is set, until SIGTERM or Ctrl-C.
async fn serve(
    config: ControllerConfig,
    ui: Option<(SocketAddr, driftless_ui::UiConfig)>,
) -> anyhow::Result<()> {
    use futures::FutureExt;
    let client = driftless_controller::api_requests::default_client()
        .await
        .context("connecting to the API server")?;
    let shutdown = driftless_controller::shutdown_signal().boxed().shared();
    let running = driftless_controller::start(client.clone(), config, shutdown.clone())
        .await
        .context("starting the controller")?;
    if let Some((addr, mut ui)) = ui {
        let metrics = running.context.metrics.clone();
        ui.metrics = Some(std::sync::Arc::new(move || metrics.encode()));
        let config = &running.context.config;
        let previewer = driftless_controller::preview::Previewer::new(
            client.clone(),
            &config.repo_cache_dir.join("web-page"),
            &config.credentials_namespace,
            Some(config.control_plane_namespace.clone()),
        )
        .context("the web page's repository cache")?
        .with_helm(config.helm.clone());
        ui.previewer = Some(std::sync::Arc::new(previewer));
        driftless_ui::serve(addr, client, ui, shutdown)
            .await
            .context("starting the web page")?;
    }
    running.wait().await.context("the controller stopped")
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("m").is_err());
    }
}
