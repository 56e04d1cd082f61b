//! The HTTP server: `POST /api/webhook` (Git push webhooks), `/metrics`
//! (Prometheus), `/healthz` and `/readyz`. Webhook requests pass
//! [`limit::admit`] first (size, rate and concurrency caps).

mod limit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use driftless_source::webhook::{self, DEFAULT_MAX_PAYLOAD_BYTES, WebhookEvent};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The controller's context.
    pub ctx: Arc<Context>,
    /// Set once the controller watches and (when electing) leads.
    pub ready: Arc<AtomicBool>,
}

/// The router.
pub fn router(state: HttpState) -> Router {
    let max_body = match state.ctx.config.webhook_secrets.max_payload_bytes {
        0 => DEFAULT_MAX_PAYLOAD_BYTES,
        n => n,
    };
    let gate = Arc::new(limit::Gate::new(max_body));
    Router::new()
        .route(
            "/api/webhook",
            post(handle_webhook)
                .layer(DefaultBodyLimit::max(max_body))
                .route_layer(axum::middleware::from_fn_with_state(gate, limit::admit)),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Binds `addr` and serves until `shutdown` resolves; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    state: HttpState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Listen { addr, source })?;
    let handle = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "HTTP server stopped");
        }
    });
    tracing::info!(%bound, "serving /api/webhook, /metrics, /healthz, /readyz");
    Ok((bound, handle))
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        state.ctx.metrics.encode(),
    )
        .into_response()
}

async fn handle_webhook(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = &state.ctx;
    let event = match webhook::parse(&headers, &body, &ctx.config.webhook_secrets) {
        Ok(e) => e,
        Err(error) => {
            Metrics::count(&ctx.metrics.webhooks, "rejected");
            let code = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            tracing::info!(%error, "webhook refused");
            return (code, error.to_string()).into_response();
        }
    };
    let push = match event {
        WebhookEvent::Push(p) => p,
        WebhookEvent::Ignored { event, .. } => {
            Metrics::count(&ctx.metrics.webhooks, "ignored");
            return (StatusCode::OK, format!("ignored event {event}")).into_response();
        }
    };
    let mut refreshed = Vec::new();
    for id in ctx.remembered_where(|memory| crate::webhook::affects(&push, memory)) {
        ctx.memory(&id, |m| m.dirty = true);
        ctx.trigger(&id);
        refreshed.push(format!("{}/{}", id.0, id.1));
    }
    let sources = crate::webhook::refresh_git_repositories(&push, ctx);
    Metrics::count(&ctx.metrics.webhooks, "push");
    tracing::info!(git_ref = %push.git_ref, apps = ?refreshed, gitrepositories = ?sources, "push received");
    (
        StatusCode::OK,
        format!(
            "refreshing {} applications and {} gitrepositories\n",
            refreshed.len(),
            sources.len()
        ),
    )
        .into_response()
}
