//! The webhook endpoint under hostile input, against the in-process
//! controller on loopback: a wrong or missing signature and a malformed
//! body trigger nothing; a 100 MB body is refused before it is read; a
//! flood of 1,000 requests a second for 10 s is rate-limited, every request
//! gets an answer, the controller stays healthy, and a valid push still
//! works afterwards.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Harness;
use driftless_source::webhook::hmac_sha256_hex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET: &str = "wh-hardening-secret-91b2";
const SIGNATURE: &str = "x-driftless-signature-256";

async fn start(prefix: &str) -> Harness {
    let mut h = Harness::new(prefix).await;
    let mut config = h.config(Duration::from_secs(600));
    config.webhook_secrets.generic = Some(SECRET.to_string());
    h.start_controller_with(config).await;
    h
}

fn cm(value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: {value}\n")
}

/// A repository with one ConfigMap and an automated Application of it, synced.
async fn synced_app(h: &Harness, repo_name: &str) -> (driftless_testkit::git::TestRepo, String) {
    let dest = h.namespace(&format!("{repo_name}-dest")).await;
    let repo = h.git.create_repo(repo_name);
    repo.write("app/cm.yaml", &cm("one"));
    let first = repo.commit("first");
    h.apply(&common::application_yaml(
        "hooked",
        &h.apps_ns,
        &h.git.git_url(repo_name),
        "app",
        &dest,
        "  syncPolicy:\n    automated: {}\n",
    ));
    h.wait_synced_healthy("hooked", Some(&first)).await;
    (repo, first)
}

fn push_body(h: &Harness, repo_name: &str) -> String {
    serde_json::json!({"repository": h.git.git_url(repo_name), "ref": "refs/heads/main"})
        .to_string()
}

fn signed(body: &str) -> String {
    format!(
        "sha256={}",
        hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes())
    )
}

/// POSTs `body` to the webhook with extra `headers`; the status code and body.
async fn post(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    common::try_http_request(addr, "POST", "/api/webhook", headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_signatures_and_malformed_bodies_trigger_nothing() {
    let h = start("wh-sig").await;
    let (repo, first) = synced_app(&h, "wh/sig").await;
    repo.write("app/cm.yaml", &cm("two"));
    let second = repo.commit("second");
    let addr = h.http_addr();
    let body = push_body(&h, "wh/sig");

    let refused = [
        ("no signature", vec![], body.clone(), 401),
        (
            "a wrong signature",
            vec![(SIGNATURE, format!("sha256={}", "0".repeat(64)))],
            body.clone(),
            401,
        ),
        (
            "garbage hex",
            vec![(SIGNATURE, "sha256=zz".to_string())],
            body.clone(),
            401,
        ),
        (
            "another body's signature",
            vec![(SIGNATURE, signed("{}"))],
            body.clone(),
            401,
        ),
        (
            "the secret itself",
            vec![(SIGNATURE, SECRET.to_string())],
            body.clone(),
            401,
        ),
        (
            "signed invalid JSON",
            vec![(SIGNATURE, signed("{not json"))],
            "{not json".to_string(),
            400,
        ),
        (
            "signed JSON without a repository",
            vec![(SIGNATURE, signed("{\"ref\":\"main\"}"))],
            "{\"ref\":\"main\"}".to_string(),
            400,
        ),
        (
            "signed JSON of the wrong shape",
            vec![(SIGNATURE, signed("[1,2]"))],
            "[1,2]".to_string(),
            400,
        ),
    ];
    for (what, headers, body, want) in refused {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, text) = post(addr, &headers, &body).await.expect("webhook answered");
        assert_eq!(code, want, "{what}: {text}");
        assert!(
            !text.contains(SECRET),
            "{what}: the answer shows the secret: {text}"
        );
    }
    // Nothing was refreshed: the Application stays at the first commit
    // (it polls only every 10 minutes).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let app = h.apps().get("hooked").await.expect("get");
    assert_eq!(common::revision_of(&app), Some(first.as_str()));

    let (code, text) = post(addr, &[(SIGNATURE, &signed(&body))], &body)
        .await
        .expect("webhook");
    assert_eq!(code, 200, "{text}");
    h.wait_synced_healthy("hooked", Some(&second)).await;
}

/// Sends a `size`-byte body (declared, or chunked when `declared` is false)
/// while reading the answer; the status and how many bytes were sent by then.
async fn post_huge(addr: SocketAddr, size: usize, declared: bool) -> (u16, usize) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writing = tokio::spawn(async move {
        let framing = if declared {
            format!("Content-Length: {size}")
        } else {
            "Transfer-Encoding: chunked".to_string()
        };
        let head = format!(
            "POST /api/webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
        );
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            if declared {
                writer.write_all(&chunk[..n]).await?;
            } else {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                writer.write_all(&chunk[..n]).await?;
                writer.write_all(b"\r\n").await?;
            }
            counter.fetch_add(n as u64, Ordering::SeqCst);
            left -= n;
        }
        if !declared {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        std::io::Result::Ok(())
    });
    let mut first = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match reader.read(&mut first[got..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let sent_by_then = sent.load(Ordering::SeqCst) as usize;
    writing.abort();
    let text = String::from_utf8_lossy(&first[..got]).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, sent_by_then)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_100_mb_body_is_refused_before_it_is_read() {
    let h = start("wh-big").await;
    let addr = h.http_addr();
    let hundred_mb = 100 << 20;
    let (code, sent) = post_huge(addr, hundred_mb, true).await;
    assert_eq!(code, 413, "a declared 100 MB body");
    assert!(
        sent < hundred_mb,
        "answered before the body was sent ({sent} bytes sent)"
    );
    let (code, sent) = post_huge(addr, hundred_mb, false).await;
    assert_eq!(code, 413, "a chunked 100 MB body");
    assert!(
        sent < hundred_mb,
        "answered before the body was sent ({sent} bytes sent)"
    );
    assert_eq!(h.get("/healthz").await.0, 200);
}

/// Tallies the answers of a flood by status (0: no answer).
#[derive(Default)]
struct Tally {
    codes: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

impl Tally {
    fn add(&self, code: u16) {
        *self.codes.lock().expect("tally").entry(code).or_default() += 1;
    }

    fn get(&self, code: u16) -> u64 {
        self.codes
            .lock()
            .expect("tally")
            .get(&code)
            .copied()
            .unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_webhooks_is_rate_limited_and_the_controller_stays_healthy() {
    let h = start("wh-flood").await;
    let (repo, _) = synced_app(&h, "wh/flood").await;
    let addr = h.http_addr();
    let body = Arc::new(push_body(&h, "wh/flood"));
    let signature = Arc::new(signed(&body));
    let tally = Arc::new(Tally::default());
    let (rate, seconds) = (1000u64, 10u64);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let started = Instant::now();
    let mut requests = Vec::new();
    let mut health = Vec::new();
    for i in 0..rate * seconds {
        tick.tick().await;
        let (body, signature, tally) = (body.clone(), signature.clone(), tally.clone());
        requests.push(tokio::spawn(async move {
            // One in ten is a valid push, the rest are unsigned.
            let headers: Vec<(&str, &str)> = if i % 10 == 0 {
                vec![(SIGNATURE, signature.as_str())]
            } else {
                vec![]
            };
            let code = post(addr, &headers, &body).await.map_or(0, |(c, _)| c);
            tally.add(code);
        }));
        if i % rate == 0 {
            health.push(common::try_http_request(addr, "GET", "/healthz", &[], "").await);
        }
    }
    for r in requests {
        r.await.expect("request task");
    }
    let elapsed = started.elapsed();
    let total = rate * seconds;
    let (ok, unauthorized, limited) = (tally.get(200), tally.get(401), tally.get(429));
    println!(
        "webhook flood: {total} requests in {elapsed:?}: {ok} accepted, {unauthorized} unauthorized, {limited} rate-limited"
    );
    assert_eq!(
        ok + unauthorized + limited,
        total,
        "every request is answered 200, 401 or 429: {:?}",
        tally.codes
    );
    assert!(
        limited > 0,
        "the rate limit held back some of {total} requests"
    );
    let admitted = ok + unauthorized;
    let bound = 200 + 100 * (elapsed.as_secs() + 1);
    assert!(
        admitted <= bound,
        "{admitted} admitted, at most {bound} allowed"
    );
    for answer in health {
        assert_eq!(
            answer.expect("healthz answered").0,
            200,
            "healthy during the flood"
        );
    }

    // The limit recovers and a valid push works.
    tokio::time::sleep(Duration::from_secs(2)).await;
    repo.write("app/cm.yaml", &cm("after-the-flood"));
    let next = repo.commit("after the flood");
    let (code, text) = post(addr, &[(SIGNATURE, &signature)], &body)
        .await
        .expect("webhook");
    assert_eq!(code, 200, "{text}");
    h.wait_synced_healthy("hooked", Some(&next)).await;
}
