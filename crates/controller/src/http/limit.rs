//! Admission of webhook requests before their body is read: a declared
//! `Content-Length` over the payload limit is refused at once (413), a token
//! bucket bounds the rate and a semaphore the requests in flight (429 with
//! `Retry-After`). A flood therefore costs at most [`IN_FLIGHT`] bodies of
//! memory, and a refused push is still picked up by the next poll.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Webhook requests admitted per second on average.
pub(crate) const RATE_PER_SECOND: f64 = 100.0;
/// Webhook requests admitted at once after a quiet period.
pub(crate) const BURST: f64 = 200.0;
/// Webhook requests whose body is being read or handled at once.
pub(crate) const IN_FLIGHT: usize = 16;

/// A token bucket: `burst` tokens, refilled at `rate` per second.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    /// Takes one token if there is one at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the webhook route admits.
pub(crate) struct Gate {
    bucket: Mutex<Bucket>,
    in_flight: Arc<Semaphore>,
    max_body: usize,
}

impl Gate {
    /// A gate for payloads of at most `max_body` bytes.
    pub(crate) fn new(max_body: usize) -> Gate {
        Gate {
            bucket: Mutex::new(Bucket::new(RATE_PER_SECOND, BURST, Instant::now())),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
            max_body,
        }
    }

    fn take_token(&self) -> bool {
        self.bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take(Instant::now())
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn too_many(why: &str) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "1")],
        format!("webhook refused: {why}; retry later (the next poll picks up the push anyway)\n"),
    )
        .into_response()
}

/// The middleware: refuses what the gate does not admit, before the body
/// is read.
pub(crate) async fn admit(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    if let Some(length) = declared_length(request.headers())
        && length > gate.max_body
    {
        tracing::info!(
            length,
            limit = gate.max_body,
            "webhook refused: payload too large"
        );
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "webhook payload of {length} bytes exceeds the limit of {} bytes\n",
                gate.max_body
            ),
        )
            .into_response();
    }
    if !gate.take_token() {
        tracing::debug!("webhook refused: rate limit");
        return too_many("more than the allowed webhook requests per second");
    }
    let Ok(permit) = gate.in_flight.clone().try_acquire_owned() else {
        tracing::debug!("webhook refused: too many in flight");
        return too_many("too many webhook requests in flight");
    };
    let response = next.run(request).await;
    drop(permit);
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10.0, 3.0, start);
        assert!((0..3).all(|_| bucket.take(start)), "the burst");
        assert!(!bucket.take(start), "empty");
        let later = start + Duration::from_millis(250);
        assert!(
            bucket.take(later) && bucket.take(later),
            "2.5 tokens refilled"
        );
        assert!(!bucket.take(later));
        let much_later = later + Duration::from_secs(60);
        let admitted = (0..10).filter(|_| bucket.take(much_later)).count();
        assert_eq!(admitted, 3, "never more than the burst");
    }

    #[test]
    fn declared_lengths_are_read_and_garbage_ignored() {
        let mut headers = HeaderMap::new();
        assert_eq!(declared_length(&headers), None);
        headers.insert(header::CONTENT_LENGTH, "104857600".parse().expect("value"));
        assert_eq!(declared_length(&headers), Some(104_857_600));
        headers.insert(header::CONTENT_LENGTH, "lots".parse().expect("value"));
        assert_eq!(declared_length(&headers), None);
    }
}
