//! `GET /api/v1/stream`: server-sent events. The overview is sent at once,
//! then again whenever a watched Application or Kustomization changed (at
//! most about four times a second, and only when the caller's view
//! changed). RBAC is asked again for every push.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::watch;

use super::{build_overview, caller};
use crate::auth::{Caller, Permissions};
use crate::error::ApiError;
use crate::server::Shared;

/// How long changes are gathered before one push.
const DEBOUNCE: Duration = Duration::from_millis(250);

struct Live {
    shared: Arc<Shared>,
    caller: Caller,
    changes: watch::Receiver<u64>,
    last: Option<String>,
    first: bool,
}

impl Live {
    /// The next event to send; `None` ends the stream (server shutting down).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if !self.first {
                self.changes.changed().await.ok()?;
                tokio::time::sleep(DEBOUNCE).await;
                self.changes.borrow_and_update();
            }
            self.first = false;
            let perms = Permissions::new(self.shared.client.clone(), self.caller.clone());
            let data = match build_overview(&self.shared, &perms).await {
                Ok(overview) => serde_json::to_string(&overview).unwrap_or_default(),
                Err(error) => {
                    return Some(Event::default().event("problem").data(error.to_string()));
                }
            };
            if self.last.as_deref() != Some(data.as_str()) {
                self.last = Some(data.clone());
                return Some(Event::default().event("overview").data(data));
            }
        }
    }
}

/// The live overview.
pub(crate) async fn stream(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let perms = caller(&shared, &headers).await?;
    let live = Live {
        changes: shared.stores.subscribe(),
        caller: perms.caller,
        shared,
        last: None,
        first: true,
    };
    let events = futures::stream::unfold(live, |mut live| async move {
        let event = live.next().await?;
        Some((Ok(event), live))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
