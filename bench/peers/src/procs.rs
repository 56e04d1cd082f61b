//! The controllers under measurement, each its own process, read through
//! /proc (CPU time, peak RSS) and their HTTP endpoints (readiness, metrics).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use driftless_testkit::procfs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One running controller process; killed on drop.
pub(crate) struct Proc {
    /// What it is (e.g. `source-controller`).
    pub(crate) name: String,
    child: Child,
    /// Its log (stdout and stderr).
    pub(crate) log: PathBuf,
    /// Where it answers `/readyz`.
    pub(crate) health: SocketAddr,
    /// Where it serves `/metrics`.
    pub(crate) metrics: SocketAddr,
}

/// A free address on 127.0.0.1.
pub(crate) fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], driftless_testkit::free_port()))
}

impl Proc {
    /// Starts `command` with `KUBECONFIG=kubeconfig`, logging to `<work>/<name>.log`.
    pub(crate) fn spawn(
        name: &str,
        mut command: Command,
        kubeconfig: &Path,
        work: &Path,
        health: SocketAddr,
        metrics: SocketAddr,
    ) -> anyhow::Result<Proc> {
        let log = work.join(format!("{name}.log"));
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log,
            health,
            metrics,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error with the last lines of its log if it has exited.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            bail!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// User + system CPU seconds so far (0 once the process is gone).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        procfs::cpu_seconds(self.pid()).unwrap_or(0.0)
    }

    /// Peak resident set size so far, in MiB (VmHWM; 0 once the process is gone).
    pub(crate) fn peak_rss_mib(&self) -> f64 {
        procfs::peak_rss_mib(self.pid()).unwrap_or(0.0)
    }

    /// Waits (up to `limit`) until `/readyz` answers 200.
    pub(crate) async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            self.check_alive()?;
            let probe = tokio::time::timeout(
                Duration::from_secs(2),
                http(self.health, "GET", "/readyz", ""),
            )
            .await;
            if let Ok(Ok((200, _))) = probe {
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!(
                    "{} not ready after {limit:?} (log: {})",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The sum of the samples of metric `name` whose labels contain
    /// `label_filter` (empty: all), from `/metrics`.
    pub(crate) async fn metric(&self, name: &str, label_filter: &str) -> anyhow::Result<f64> {
        let body = self.scrape().await?;
        Ok(driftless_testkit::metrics::sum_metric(
            &body,
            name,
            label_filter,
        ))
    }

    /// Its `/metrics` text.
    pub(crate) async fn scrape(&self) -> anyhow::Result<String> {
        let (code, body) = http(self.metrics, "GET", "/metrics", "")
            .await
            .with_context(|| format!("GET /metrics of {}", self.name))?;
        if code != 200 {
            bail!("GET /metrics of {}: HTTP {code}", self.name);
        }
        Ok(body)
    }

    /// Stops it: SIGTERM, then SIGKILL after 10 s.
    pub(crate) fn stop(&mut self) {
        driftless_testkit::metrics::terminate(&mut self.child);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP/1.0 request to `addr`: status and body.
pub(crate) async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("{method} {path} at {addr}: no HTTP status in {head:?}"))?;
    Ok((code, body.to_string()))
}
