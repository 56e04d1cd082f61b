//! A [`CredentialSource`] that remembers another source's answer for each
//! repository URL for a short while, so that a thousand fetches of one
//! repository read its Secrets once rather than a thousand times.
//!
//! What it remembers is forgotten when a fetch with it fails (a wrong
//! password, an untrusted host key, any other error): the next fetch reads
//! the Secrets again, so a fixed Secret is used at once. A changed Secret
//! whose old values still work is picked up once the answer is older than
//! the time to live given to [`Remembered::new`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{CredentialSource, RepoCredentials};
use crate::error::Result;

/// How long an answer is remembered by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Values remembered per key for a time to live: what [`Remembered`]
/// keeps per URL, and what the GitRepository controller keeps per Flux
/// Secret.
pub struct Recent<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> Recent<V> {
    /// Keeps values for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key` stored less than the time to live ago.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.lock();
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Stores `value` for `key`; drops the values past their time, so keys
    /// no longer asked for do not pile up.
    pub fn insert(&self, key: &str, value: V) {
        let mut entries = self.lock();
        entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        entries.insert(key.to_string(), (Instant::now(), value));
    }

    /// Forgets the value for `key`.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

impl<V: Clone> Default for Recent<V> {
    /// Keeps values for [`DEFAULT_TTL`].
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

/// Remembers `inner`'s credentials per URL for a time to live.
pub struct Remembered<S> {
    inner: S,
    answers: Recent<Option<RepoCredentials>>,
}

impl<S: CredentialSource> Remembered<S> {
    /// Remembers `inner`'s answers for `ttl`.
    pub fn new(inner: S, ttl: Duration) -> Self {
        Self {
            inner,
            answers: Recent::new(ttl),
        }
    }

    async fn lookup(&self, url: &str) -> Result<Option<RepoCredentials>> {
        if let Some(creds) = self.answers.get(url) {
            return Ok(creds);
        }
        let creds = self.inner.credentials(url).await?;
        self.answers.insert(url, creds.clone());
        Ok(creds)
    }
}

impl<S: CredentialSource> CredentialSource for Remembered<S> {
    fn credentials<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Option<RepoCredentials>>> {
        Box::pin(self.lookup(url))
    }

    fn fetch_failed(&self, url: &str) {
        self.answers.forget(url);
        self.inner.fetch_failed(url);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts lookups; answers with a password naming the count.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl CredentialSource for Counting {
        fn credentials<'a>(
            &'a self,
            _url: &'a str,
        ) -> BoxFuture<'a, Result<Option<RepoCredentials>>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                Ok(Some(RepoCredentials {
                    password: Some(format!("p{n}")),
                    ..Default::default()
                }))
            })
        }
    }

    fn password(c: Option<RepoCredentials>) -> String {
        c.and_then(|c| c.password).unwrap_or_default()
    }

    #[tokio::test]
    async fn one_lookup_per_url_until_a_fetch_fails() {
        let r = Remembered::new(Counting::default(), Duration::from_secs(60));
        let (a, b) = ("https://h/a", "https://h/b");
        assert_eq!(password(r.credentials(a).await.unwrap()), "p1");
        assert_eq!(password(r.credentials(a).await.unwrap()), "p1");
        assert_eq!(password(r.credentials(b).await.unwrap()), "p2");
        r.fetch_failed(a);
        assert_eq!(password(r.credentials(a).await.unwrap()), "p3");
        assert_eq!(password(r.credentials(b).await.unwrap()), "p2");
        assert_eq!(r.inner.0.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn answers_older_than_the_ttl_are_read_again() {
        let r = Remembered::new(Counting::default(), Duration::from_millis(20));
        assert_eq!(password(r.credentials("u").await.unwrap()), "p1");
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(password(r.credentials("u").await.unwrap()), "p2");
        assert_eq!(r.answers.lock().len(), 1);
    }
}
