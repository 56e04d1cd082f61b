//! Secrets never reach log lines or errors: every fetch path runs with a
//! TRACE-level subscriber capturing all output, which is then searched for
//! the password and the private key.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use driftless_source::credentials::{RepoCredentials, StaticCredentials};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_in_logs_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let server = GitServer::start().await;
    let (repo, _) = seeded(&server, "guarded");
    let url = server.http_url("guarded");
    let (user, password) = server.credentials();
    let wrong = "wrong-Pa55word-do-not-log";
    let mut shown = String::new();

    // Right password, then a failing refresh (stale mirror path logs a warning).
    let creds = StaticCredentials::default().with_repository(
        &url,
        RepoCredentials {
            username: Some(user.into()),
            password: Some(password.into()),
            ..Default::default()
        },
    );
    let (_d, cache) = cache_with(Arc::new(creds.clone()), options());
    let r = cache.resolve(&url, "main", true).await.unwrap();
    shown += &format!("{r:?} {:?} {creds:?}", cache.all_stats());
    // The repository vanishes: the refresh fails and the stale mirror is
    // used, which logs a warning with the fetch error.
    let moved = server.base_dir().join("guarded-moved.git");
    std::fs::rename(repo.bare_path(), &moved).unwrap();
    let r = cache.resolve(&url, "main", true).await.unwrap();
    assert!(r.stale.is_some());
    shown += &format!("{r:?}");
    std::fs::rename(&moved, repo.bare_path()).unwrap();

    // Wrong password.
    let creds = StaticCredentials::default().with_repository(
        &url,
        RepoCredentials {
            username: Some(user.into()),
            password: Some(wrong.into()),
            ..Default::default()
        },
    );
    let (_d3, cache) = cache_with(Arc::new(creds), options());
    let err = cache.resolve(&url, "main", true).await.unwrap_err();
    shown += &format!("{err} {err:?} {:?}", cache.all_stats());

    // Password embedded in the URL, wrong.
    let embedded = url.replace("http://", &format!("http://{user}:{wrong}@"));
    let (_d4, cache) = cache_with(
        Arc::new(driftless_source::credentials::NoCredentials),
        options(),
    );
    let err = cache.resolve(&embedded, "main", true).await.unwrap_err();
    shown += &format!("{err} {err:?} {:?}", cache.all_stats());

    // SSH key.
    if let Some(ssh) = server.ssh() {
        let ssh_url = server.ssh_url("guarded").unwrap();
        let creds = StaticCredentials::default().with_repository(
            &ssh_url,
            RepoCredentials {
                ssh_private_key: Some(ssh.private_key.clone()),
                ..Default::default()
            },
        );
        let (_d5, cache) = cache_with(Arc::new(creds), options());
        // Unknown host key: an error that must not carry the key.
        let err = cache.resolve(&ssh_url, "main", true).await.unwrap_err();
        shown += &format!("{err} {err:?}");
    }

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).to_string();
    assert!(
        logs.contains("last good mirror"),
        "the stale-mirror warning was not logged; the test would prove little: {logs}"
    );
    for haystack in [&logs, &shown] {
        assert!(!haystack.contains(password), "password leaked: {haystack}");
        assert!(
            !haystack.contains(wrong),
            "wrong password leaked: {haystack}"
        );
        if let Some(ssh) = server.ssh() {
            for line in ssh.private_key.lines().filter(|l| !l.starts_with("-----")) {
                assert!(!haystack.contains(line), "private key leaked");
            }
        }
    }
}
