//! `GET /api/v1/stream`: server-sent events. The overview is sent at once,
//! then again whenever a watched Application or Kustomization changed (at
//! most about four times a second, and only when the caller's view
//! changed). RBAC is asked again for every push, and the token is
//! reviewed again every minute: an expired or revoked token ends the stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::watch;

use super::{build_overview, caller};
use crate::auth::{self, Caller, Permissions};
use crate::error::ApiError;
use crate::server::Shared;

/// How long changes are gathered before one push.
const DEBOUNCE: Duration = Duration::from_millis(250);
/// How often the token is reviewed again.
const REVIEW_EVERY: Duration = Duration::from_secs(60);

struct Live {
    shared: Arc<Shared>,
    caller: Caller,
    token: String,
    reviewed: Instant,
    ended: bool,
    changes: watch::Receiver<u64>,
    last: Option<String>,
    first: bool,
}

impl Live {
    /// The next event to send; `None` ends the stream (server shutting down).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.ended {
                return None;
            }
            if !self.first {
                self.wait_for_change().await?;
            }
            self.first = false;
            if self.reviewed.elapsed() >= REVIEW_EVERY {
                match auth::authenticate(&self.shared.client, &self.token).await {
                    Ok(caller) if caller == self.caller => self.reviewed = Instant::now(),
                    Ok(_) | Err(_) => {
                        self.ended = true;
                        let why = "the token is no longer accepted; sign in again";
                        return Some(Event::default().event("problem").data(why));
                    }
                }
            }
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

impl Live {
    /// Waits for a change (or for the token's next review); `None` when the
    /// watches are gone.
    async fn wait_for_change(&mut self) -> Option<()> {
        let review_due = REVIEW_EVERY.saturating_sub(self.reviewed.elapsed());
        tokio::select! {
            changed = self.changes.changed() => changed.ok()?,
            _ = tokio::time::sleep(review_due) => return Some(()),
        }
        tokio::time::sleep(DEBOUNCE).await;
        self.changes.borrow_and_update();
        Some(())
    }
}

/// The live overview.
pub(crate) async fn stream(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let token = auth::bearer(&headers)?;
    let perms = caller(&shared, &headers).await?;
    let live = Live {
        token,
        reviewed: Instant::now(),
        ended: false,
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
