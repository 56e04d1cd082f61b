//! `MirrorCache::fetch_with`: a fetch with the caller's own credentials and
//! time limit, against the real Git server. Credentials registered with the
//! cache for the URL are never used for it, another caller's fetch never
//! stands in for it, a failure is returned (not hidden behind the last good
//! mirror), and the password never reaches a log line or an error.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use driftless_source::credentials::RepoCredentials;
use driftless_source::{Access, SourceError};
use driftless_testkit::git::GitServer;

use common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn basic(user: &str, password: &str) -> Access {
    Access {
        credentials: Some(RepoCredentials {
            username: Some(user.into()),
            password: Some(password.into()),
            ..Default::default()
        }),
        ..Access::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_callers_credentials_fetch_and_none_is_logged() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let server = GitServer::start().await;
    let (repo, first) = seeded(&server, "own");
    repo.tag("v1.0.0");
    repo.branch("release");
    let second = repo.commit("second");
    let url = server.http_url("own");
    let (user, password) = server.credentials();
    let wrong = "wrong-Pa55word-do-not-log";
    // The cache knows the right credentials for this URL (Argo CD style);
    // fetch_with must not use them.
    let (_dir, cache) = cache_with(http_credentials(&server), options());

    let err = cache
        .fetch_with(&url, &Access::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err}");
    let mut shown = format!("{err} {err:?}");

    cache
        .fetch_with(&url, &basic(user, password))
        .await
        .unwrap();
    assert_eq!(
        cache.lookup(&url, "refs/heads/release").await.unwrap(),
        second
    );
    assert_eq!(cache.lookup(&url, "refs/tags/v1.0.0").await.unwrap(), first);
    assert_eq!(cache.tags(&url).await.unwrap(), ["v1.0.0"]);
    assert!(cache.contains(&url, &second, &first).await.unwrap());
    assert!(!cache.contains(&url, &first, &second).await.unwrap());
    let missing = cache.lookup(&url, "refs/heads/nope").await.unwrap_err();
    assert!(
        matches!(&missing, SourceError::RevisionNotFound { revision, .. } if revision == "refs/heads/nope"),
        "{missing}"
    );

    // The mirror holds everything now, yet a wrong password still fails:
    // neither the earlier fetch nor the last good mirror answers for it.
    let err = cache
        .fetch_with(&url, &basic(user, wrong))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err}");
    shown += &format!("{err} {err:?} {:?}", cache.all_stats());

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    for haystack in [&logs, &shown] {
        assert!(!haystack.contains(password), "password leaked: {haystack}");
        assert!(
            !haystack.contains(wrong),
            "wrong password leaked: {haystack}"
        );
    }
}

fn bearer(token: &str) -> Access {
    Access {
        credentials: Some(RepoCredentials {
            bearer_token: Some(token.into()),
            ..Default::default()
        }),
        ..Access::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_fetches_and_a_wrong_one_is_refused() {
    let server = GitServer::start().await;
    let (_repo, head) = seeded(&server, "token");
    let url = server.http_url("token");
    // The test server takes its password as a bearer token too.
    let (_user, token) = server.credentials();
    let (_dir, cache) = cache();

    let err = cache
        .fetch_with(&url, &bearer("not-the-token"))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-token"));

    cache.fetch_with(&url, &bearer(token)).await.unwrap();
    assert_eq!(cache.lookup(&url, "refs/heads/main").await.unwrap(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_time_limit_ends_a_stalled_fetch() {
    let server = GitServer::start().await;
    let (_repo, _) = seeded(&server, "slow");
    let url = server.http_url("slow");
    let (user, password) = server.credentials();
    let (_dir, cache) = cache();
    server.stall("slow");
    let access = Access {
        timeout: Some(Duration::from_secs(2)),
        ..basic(user, password)
    };
    let err = cache.fetch_with(&url, &access).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Timeout { seconds: 2, .. }),
        "{err}"
    );
    // A second fetch, while the first still holds the repository's lock
    // (libgit2 waits for its socket timeout), ends with the time limit too.
    let err = cache.fetch_with(&url, &access).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Timeout { seconds: 2, .. }),
        "{err}"
    );
    server.unstall("slow");
}
