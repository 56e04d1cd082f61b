//! Errors: [`UiError`] when the server cannot start, [`ApiError`] for one
//! request (its HTTP status and a message naming what failed).

use std::net::SocketAddr;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why the page's server could not start.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The listen address could not be bound.
    #[error("web page: cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Why one API request failed; answered as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No bearer token, or the API server did not authenticate it.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but RBAC does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// No such object (or not one the caller may see).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Comparing with Git or reading a commit failed (the message names
    /// the Application, repository or revision).
    #[error("{0}")]
    Git(String),
    /// This server was started without Git access (no previewer).
    #[error("{0}")]
    Unavailable(String),
    /// A call to the API server failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The client's error.
        source: kube::Error,
    },
}

impl ApiError {
    /// Wraps a client error with what was being done.
    pub(crate) fn kube(what: impl Into<String>, source: kube::Error) -> Self {
        ApiError::Kube {
            what: what.into(),
            source,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Git(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Kube { source, .. } => match source {
                kube::Error::Api(status) if status.code == 404 => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "web page API request failed");
        }
        let mut response =
            (status, Json(serde_json::json!({"error": self.to_string()}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
