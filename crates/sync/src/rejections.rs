//! Remembered rejections: when the API server refuses a dry-run as invalid
//! or too large (HTTP 400, 413, 422), the identical request gets the
//! identical answer, so it is not sent again while neither the desired
//! object nor the live one changed (the fingerprint of
//! [`crate::verdicts::fingerprint`]), for at most [`TTL`] (a changed schema
//! or admission rule is noticed then). The diff reports the remembered
//! message instead: a 5 MB object is not re-sent at requeue speed. A sync
//! still applies the object: its retries are paced by the caller's retry
//! policy. Only a fingerprint and the message are kept, never the object.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use driftless_render::ObjectKey;

/// How long a rejection is remembered.
pub(crate) const TTL: Duration = Duration::from_secs(600);
/// More objects than this and the rejections are forgotten (all at once).
const CAPACITY: usize = 10_000;

/// Whether a refusal with this HTTP status is about the request itself (so
/// repeating it cannot succeed), not about the server's state.
pub(crate) fn is_permanent(status: Option<u16>) -> bool {
    matches!(status, Some(400 | 413 | 422))
}

/// The refused dry-runs, by object: (fingerprint, message, when).
#[derive(Default)]
pub(crate) struct Rejections {
    refused: Mutex<HashMap<ObjectKey, (u64, String, Instant)>>,
}

impl Rejections {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, (u64, String, Instant)>> {
        self.refused.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The message of a rejection of `key` with this fingerprint, when one
    /// is remembered and younger than [`TTL`].
    pub(crate) fn get(&self, key: &ObjectKey, fingerprint: u64) -> Option<String> {
        self.get_at(key, fingerprint, Instant::now())
    }

    fn get_at(&self, key: &ObjectKey, fingerprint: u64, now: Instant) -> Option<String> {
        let map = self.map();
        let (print, message, at) = map.get(key)?;
        (*print == fingerprint && now.duration_since(*at) < TTL).then(|| message.clone())
    }

    /// Remembers that the request with this fingerprint for `key` was refused.
    pub(crate) fn record(&self, key: &ObjectKey, fingerprint: u64, message: &str) {
        let mut map = self.map();
        if map.len() >= CAPACITY && !map.contains_key(key) {
            map.clear();
        }
        map.insert(
            key.clone(),
            (fingerprint, message.to_string(), Instant::now()),
        );
    }

    /// Forgets `key` (its dry-run was accepted).
    pub(crate) fn forget(&self, key: &ObjectKey) {
        self.map().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "ns".into(),
            name: "big".into(),
        }
    }

    #[test]
    fn only_refusals_of_the_request_itself_are_permanent() {
        assert!(is_permanent(Some(413)) && is_permanent(Some(422)) && is_permanent(Some(400)));
        for transient in [Some(500), Some(503), Some(409), Some(429), Some(404), None] {
            assert!(!is_permanent(transient), "{transient:?}");
        }
    }

    #[test]
    fn a_rejection_holds_for_the_same_inputs_until_it_expires_or_is_forgotten() {
        let r = Rejections::default();
        assert_eq!(r.get(&key(), 1), None);
        r.record(&key(), 1, "too large");
        assert_eq!(r.get(&key(), 1).as_deref(), Some("too large"));
        assert_eq!(r.get(&key(), 2), None, "another desired or live object");
        let later = Instant::now() + TTL;
        assert_eq!(r.get_at(&key(), 1, later), None, "expired");
        r.forget(&key());
        assert_eq!(r.get(&key(), 1), None);
    }
}
