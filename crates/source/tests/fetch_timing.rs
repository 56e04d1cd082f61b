//! How long one fetch of an unchanged and of a moved repository takes over
//! git:// and over HTTP with basic auth, against the real Git server on
//! loopback. A measurement (run with `--ignored --nocapture`); the numbers
//! are in bench/README.md. It also checks every fetch succeeded.

mod common;

use std::time::{Duration, Instant};

use driftless_source::Access;
use driftless_source::credentials::RepoCredentials;
use driftless_testkit::git::GitServer;

use common::*;

const ROUNDS: usize = 15;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn fetch_latency_git_vs_http_basic_auth() {
    let server = GitServer::start().await;
    let (repo, _) = seeded(&server, "timed");
    let (user, password) = server.credentials();
    let basic = Access {
        credentials: Some(RepoCredentials {
            username: Some(user.into()),
            password: Some(password.into()),
            ..Default::default()
        }),
        ..Access::default()
    };
    for (name, url, access) in [
        ("git://", server.git_url("timed"), Access::default()),
        ("http+basic", server.http_url("timed"), basic),
    ] {
        let (_dir, cache) = cache();
        cache.fetch_with(&url, &access).await.unwrap();
        let (mut same, mut moved) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let started = Instant::now();
            cache.fetch_with(&url, &access).await.unwrap();
            same.push(started.elapsed());
            repo.write("file.txt", &format!("{name} {round}"));
            let sha = repo.commit("move");
            let started = Instant::now();
            cache.fetch_with(&url, &access).await.unwrap();
            moved.push(started.elapsed());
            assert_eq!(cache.lookup(&url, "refs/heads/main").await.unwrap(), sha);
        }
        println!(
            "{name}: unchanged p50 {:.1} ms, moved p50 {:.1} ms",
            median(same),
            median(moved)
        );
    }
}
