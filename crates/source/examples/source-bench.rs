//! Benchmark of the mirror cache against the `git` command line, on the
//! local Git server (run it with `bench/source.sh`):
//!
//! * cold clone of a 5,000-file / 500-commit repository: `MirrorCache::resolve`
//!   on an empty cache vs `git clone --mirror`;
//! * warm no-op fetch: `resolve(.., refresh = true)` vs `git fetch` in the mirror;
//! * fetch of one new commit changing one file (what a push costs);
//! * resolve + read a 50-file overlay from the mirror (no network).
//!
//! Over `git://` and `http://` (basic auth). Each figure is the median of
//! `--runs` runs (default 5); the ratio is driftless / git (below 1 is faster).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use driftless_render::tree::FileTree;
use driftless_source::credentials::{RepoCredentials, StaticCredentials};
use driftless_source::{MirrorCache, Options};
use driftless_testkit::git::{GitServer, GitServerOptions};

const FILES: usize = 5_000;
const COMMITS: usize = 500;
const OVERLAY_FILES: usize = 50;

fn main() -> anyhow::Result<()> {
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            other => anyhow::bail!("unknown argument {other}; usage: source-bench [--runs N]"),
        }
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let server = GitServer::start_blocking(GitServerOptions {
        ssh: false,
        ..Default::default()
    });
    let repo = server.create_repo("bench");
    let started = Instant::now();
    build_history(repo.bare_path())?;
    println!(
        "repository: {FILES} files, {COMMITS} commits, built in {:.1}s (git fast-import); profile: {}",
        started.elapsed().as_secs_f64(),
        if cfg!(debug_assertions) {
            "dev (deps opt-level 1)"
        } else {
            "release"
        }
    );
    let pack = dir_size(repo.bare_path());
    println!("server repository size: {:.1} MiB", pack as f64 / 1048576.0);
    println!();
    println!(
        "{:<8} {:<26} {:>12} {:>12} {:>8}",
        "proto", "operation", "driftless", "git", "ratio"
    );
    let (user, password) = server.credentials();
    let creds = StaticCredentials::default().with_prefix(
        &format!("http://127.0.0.1:{}/", server.http_port()),
        RepoCredentials {
            username: Some(user.to_string()),
            password: Some(password.to_string()),
            ..Default::default()
        },
    );
    let creds = Arc::new(creds);
    for (proto, url, git_url) in [
        ("git://", server.git_url("bench"), server.git_url("bench")),
        (
            "http://",
            server.http_url("bench"),
            server.http_url_with_credentials("bench"),
        ),
    ] {
        let mut cold = Vec::new();
        let mut cold_git = Vec::new();
        let mut warm = Vec::new();
        let mut warm_git = Vec::new();
        let mut pushed = Vec::new();
        let mut pushed_git = Vec::new();
        let mut overlay = Vec::new();
        for run in 0..runs {
            let tmp = tempfile::tempdir()?;
            let cache =
                MirrorCache::new(tmp.path().join("cache"), creds.clone(), Options::default())?;
            let t = Instant::now();
            let resolved = runtime.block_on(cache.resolve(&url, "main", false))?;
            cold.push(t.elapsed());

            let mirror = tmp.path().join("git-mirror.git");
            let t = Instant::now();
            git(
                tmp.path(),
                &["clone", "--quiet", "--mirror", &git_url, "git-mirror.git"],
            )?;
            cold_git.push(t.elapsed());

            let t = Instant::now();
            let again = runtime.block_on(cache.resolve(&url, "main", true))?;
            warm.push(t.elapsed());
            anyhow::ensure!(
                again.fetched && again.sha == resolved.sha,
                "warm fetch did not fetch"
            );

            let t = Instant::now();
            git(&mirror, &["fetch", "--quiet", "--prune", "origin"])?;
            warm_git.push(t.elapsed());

            commit_one(repo.bare_path(), &format!("{proto} run {run}"))?;
            let t = Instant::now();
            let next = runtime.block_on(cache.resolve(&url, "main", true))?;
            pushed.push(t.elapsed());
            anyhow::ensure!(
                next.sha != resolved.sha,
                "the pushed commit was not fetched"
            );
            let t = Instant::now();
            git(&mirror, &["fetch", "--quiet", "--prune", "origin"])?;
            pushed_git.push(t.elapsed());

            let t = Instant::now();
            let r = runtime.block_on(cache.resolve(&url, "main", false))?;
            let tree = cache.tree(&url, &r.sha)?;
            let mut bytes = 0;
            for (name, _) in tree.list("overlays/bench")? {
                bytes += tree.read(&format!("overlays/bench/{name}"))?.len();
            }
            overlay.push(t.elapsed());
            anyhow::ensure!(bytes > 0, "overlay empty");
        }
        row(
            proto,
            "cold clone",
            median(&mut cold),
            Some(median(&mut cold_git)),
        );
        row(
            proto,
            "warm no-op fetch",
            median(&mut warm),
            Some(median(&mut warm_git)),
        );
        row(
            proto,
            "fetch of one pushed commit",
            median(&mut pushed),
            Some(median(&mut pushed_git)),
        );
        row(
            proto,
            &format!("resolve + read {OVERLAY_FILES} files"),
            median(&mut overlay),
            None,
        );
    }
    Ok(())
}

fn row(proto: &str, op: &str, ours: Duration, theirs: Option<Duration>) {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    match theirs {
        Some(t) => println!(
            "{proto:<8} {op:<26} {:>12} {:>12} {:>8.2}",
            ms(ours),
            ms(t),
            ours.as_secs_f64() / t.as_secs_f64()
        ),
        None => println!(
            "{proto:<8} {op:<26} {:>12} {:>12} {:>8}",
            ms(ours),
            "-",
            "-"
        ),
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Writes the history with `git fast-import`: the first commit adds
/// 5,000 files (50 of them an overlay), each later one changes 10 files.
fn build_history(bare: &Path) -> anyhow::Result<()> {
    fast_import(bare, |input| {
        let file = |i: usize, rev: usize| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  revision: \"{rev}\"\n  payload: \"{}\"\n",
                "x".repeat(64 + i % 128)
            )
        };
        for c in 0..COMMITS {
            writeln!(input, "commit refs/heads/main")?;
            writeln!(
                input,
                "committer Bench <bench@example.com> {} +0000",
                1_700_000_000 + c
            )?;
            let msg = format!("commit {c}");
            writeln!(input, "data {}\n{msg}", msg.len())?;
            let changed: Vec<usize> = if c == 0 {
                (0..FILES).collect()
            } else {
                (0..10).map(|k| (c * 37 + k * 501) % FILES).collect()
            };
            for i in changed {
                let path = if i < OVERLAY_FILES {
                    format!("overlays/bench/cm-{i}.yaml")
                } else {
                    format!("apps/app-{:02}/cm-{i}.yaml", i % 50)
                };
                let body = file(i, c);
                writeln!(input, "M 100644 inline {path}\ndata {}\n{body}", body.len())?;
            }
            writeln!(input)?;
        }
        Ok(())
    })
}

/// Adds one commit on `main` changing one file, as a push would.
fn commit_one(bare: &Path, label: &str) -> anyhow::Result<()> {
    fast_import(bare, |input| {
        writeln!(input, "commit refs/heads/main")?;
        writeln!(
            input,
            "committer Bench <bench@example.com> 1800000000 +0000"
        )?;
        writeln!(input, "data {}\n{label}", label.len())?;
        writeln!(input, "from refs/heads/main^0")?;
        let body = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pushed\ndata:\n  run: \"{label}\"\n"
        );
        writeln!(
            input,
            "M 100644 inline apps/app-07/pushed.yaml\ndata {}\n{body}",
            body.len()
        )?;
        writeln!(input)
    })
}

/// Runs `git fast-import` on `bare`, fed by `write`.
fn fast_import(
    bare: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut input = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    write(&mut input)?;
    input.flush()?;
    drop(input);
    anyhow::ensure!(child.wait()?.success(), "git fast-import failed");
    Ok(())
}
