//! Connecting to the cluster the way kubectl does: `--kubeconfig`,
//! `--context`, `-n/--namespace`, `-A/--all-namespaces`.

use std::path::PathBuf;
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::CliError;

/// kubectl's connection flags, shared by every cluster command.
#[derive(Clone, Debug, Default, clap::Args)]
pub(crate) struct KubeFlags {
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, else `default`).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Every namespace (for `get`).
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
}

/// A connected client and where it points.
pub(crate) struct Cluster {
    /// The client.
    pub client: Client,
    /// The namespace commands act in (`-n`, else the context's).
    pub namespace: String,
    /// Whether `-A` was given.
    pub all_namespaces: bool,
    /// The API server's URL, for error messages.
    pub server: String,
}

/// How long to wait for the API server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Cluster {
    /// Reads the kubeconfig and builds a client (no request is made yet).
    pub(crate) async fn connect(flags: &KubeFlags) -> Result<Cluster, CliError> {
        let options = KubeConfigOptions {
            context: flags.context.clone(),
            ..Default::default()
        };
        let mut config = match &flags.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                    CliError::Kubeconfig(format!("{}: {}", path.display(), error_chain(&e)))
                })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| {
                        CliError::Kubeconfig(format!("{}: {}", path.display(), error_chain(&e)))
                    })?
            }
            None if flags.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| CliError::Kubeconfig(error_chain(&e)))?,
            None => kube::Config::infer()
                .await
                .map_err(|e| CliError::Kubeconfig(error_chain(&e)))?,
        };
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        let server = config.cluster_url.to_string();
        let namespace = flags
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| CliError::Kubeconfig(error_chain(&e)))?;
        Ok(Cluster {
            client,
            namespace,
            all_namespaces: flags.all_namespaces,
            server,
        })
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// Runs `fut` on a runtime of its own (the cluster commands are short-lived).
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))?;
    Ok(runtime.block_on(fut))
}
