//! The listener and its routes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use driftless_controller::preview::Previewer;
use kube::Client;

use crate::api;
use crate::assets;
use crate::error::UiError;
use crate::store::Stores;

/// Where the health panel's numbers come from: the controller's Prometheus
/// text exposition (`Metrics::encode`).
pub type MetricsSource = Arc<dyn Fn() -> String + Send + Sync>;

/// How the page's server is set up.
#[derive(Clone, Default)]
pub struct UiConfig {
    /// The namespaces whose Applications and Kustomizations are shown (the
    /// controller's own list); empty means all namespaces.
    pub namespaces: Vec<String>,
    /// Enables the Sync and Refresh buttons (still only for callers RBAC
    /// lets `patch` the Application). Off: the page is read-only.
    pub actions: bool,
    /// The controller's metrics, for the health panel; `None` hides it.
    pub metrics: Option<MetricsSource>,
    /// Git access for a node's diff against Git and for commit messages
    /// (its own mirror cache and the controller's service account for the
    /// server-side dry-run); `None` answers those requests with 501.
    pub previewer: Option<Arc<Previewer>>,
}

impl std::fmt::Debug for UiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiConfig")
            .field("namespaces", &self.namespaces)
            .field("actions", &self.actions)
            .field("metrics", &self.metrics.is_some())
            .field("previewer", &self.previewer.is_some())
            .finish()
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    /// The server's own client (it reads for the caller after RBAC said yes).
    pub(crate) client: Client,
    pub(crate) stores: Stores,
    pub(crate) config: UiConfig,
}

/// The page's routes.
fn router(shared: Arc<Shared>) -> Router {
    let app = "/api/v1/applications/{namespace}/{name}";
    let ks = "/api/v1/kustomizations/{namespace}/{name}";
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/api/v1/whoami", get(api::whoami))
        .route("/api/v1/overview", get(api::overview))
        .route("/api/v1/stream", get(api::stream))
        .route("/api/v1/health", get(api::health))
        .route("/api/v1/applications", get(api::applications))
        .route(&format!("{app}/tree"), get(api::app_tree))
        .route(&format!("{app}/manifest"), get(api::manifest))
        .route(&format!("{app}/events"), get(api::events))
        .route(&format!("{app}/history"), get(api::history))
        .route(&format!("{app}/diff"), get(api::diff))
        .route(&format!("{app}/revisions/{{sha}}"), get(api::revision))
        .route(&format!("{app}/refresh"), post(api::refresh))
        .route(&format!("{app}/sync"), post(api::sync))
        .route("/api/v1/kustomizations", get(api::kustomizations))
        .route("/api/v1/helmreleases", get(api::helm_releases))
        .route(&format!("{ks}/tree"), get(api::kustomization_tree))
        .route(&format!("{ks}/diff"), get(api::kustomization_diff))
        .route(
            &format!("{ks}/revisions/{{sha}}"),
            get(api::kustomization_revision),
        )
        .with_state(shared)
}

/// Binds `addr`, starts the watches, and serves the page until `shutdown`
/// resolves; returns the bound address and the server's task.
pub async fn serve(
    addr: SocketAddr,
    client: Client,
    config: UiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), UiError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| UiError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| UiError::Listen { addr, source })?;
    let shared = Arc::new(Shared {
        stores: Stores::start(&client, &config.namespaces),
        client,
        config,
    });
    let handle = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(shared))
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "web page server stopped");
        }
    });
    tracing::info!(%bound, "serving the web page");
    Ok((bound, handle))
}
