//! `bench/peers.sh`: driftless and Flux given the very same manifests, each
//! on its own fresh local control plane and Git server, in one invocation:
//! cold start of N Kustomizations (one GitRepository) to all Ready, the same
//! N as Argo CD Applications for driftless alone, push → applied p50/p99,
//! a monorepo push touching one app, drift revert, catching up with the
//! pushes, idle. Prints one table
//! with ratios, writes the chart (SVG), and ends with the line
//! `peers N=<N>: driftless <s> s <MiB> MiB <req> req/app, flux <s> s <MiB> MiB`.
//! Beside them, the raw server-side-apply floor (`floor.rs`): the same
//! objects applied directly to a fresh API server. Each cold start also
//! says where the machine's CPU went (`load.rs`).
//!
//! A measurement, never a test: nothing here asserts a target.
//!
//! Usage: `peers [N] [--idle SECS] [--pushes K] [--out DIR] [--cold-timeout SECS]
//!         [--cold-only] (--flux DIR | --flux-unavailable REASON) --driftless BIN`
//!
//! `--cold-only` measures the floors and each contender's cold start and
//! nothing after it: one run's cold start moves by a quarter with the
//! machine's state (bench/README.md, session 23), so it is run several
//! times for a median.

mod chart;
mod contender;
mod floor;
mod hook;
mod load;
mod phases;
mod procs;
mod report;
mod tracker;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use contender::{Kind, Running};
use phases::{Plan, Results};

/// The command line.
struct Args {
    n: usize,
    idle: Duration,
    pushes: usize,
    out: PathBuf,
    cold_timeout: Option<u64>,
    cold_only: bool,
    flux: Result<PathBuf, String>,
    driftless: PathBuf,
}

const USAGE: &str = "usage: peers [N] [--idle SECS] [--pushes K] [--out DIR] [--cold-timeout SECS] [--cold-only] (--flux DIR | --flux-unavailable REASON) --driftless BIN";

fn parse_args() -> anyhow::Result<Args> {
    let (mut n, mut idle, mut pushes, mut out) = (1000, 300, 30, PathBuf::from("target/peers"));
    let (mut cold_timeout, mut cold_only) = (None, false);
    let (mut flux, mut driftless) = (Err("not given (--flux DIR)".to_string()), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value; {USAGE}"))
        };
        match arg.as_str() {
            "--idle" => idle = value()?.parse().context("--idle: seconds")?,
            "--pushes" => pushes = value()?.parse().context("--pushes: a count")?,
            "--out" => out = value()?.into(),
            "--cold-timeout" => {
                cold_timeout = Some(value()?.parse().context("--cold-timeout: seconds")?)
            }
            "--cold-only" => cold_only = true,
            "--flux" => flux = Ok(PathBuf::from(value()?)),
            "--flux-unavailable" => flux = Err(value()?),
            "--driftless" => driftless = Some(PathBuf::from(value()?)),
            _ if arg.starts_with("--") => bail!("unknown argument {arg}; {USAGE}"),
            _ => {
                n = arg
                    .parse()
                    .with_context(|| format!("N must be a count, not {arg:?}"))?
            }
        }
    }
    let driftless = driftless.with_context(|| format!("--driftless BIN is required; {USAGE}"))?;
    if n < 2 || pushes == 0 {
        bail!("N must be at least 2 and --pushes at least 1");
    }
    Ok(Args {
        n,
        idle: Duration::from_secs(idle),
        pushes,
        out,
        cold_timeout,
        cold_only,
        flux,
        driftless,
    })
}

/// Every figure `n/a (reason)`.
fn unavailable(label: &'static str, reason: String) -> Results {
    Results {
        label,
        cold: phases::na(&reason),
        push: phases::na(&reason),
        monorepo: phases::na(&reason),
        drift: phases::na(&reason),
        caught_up: phases::na(&reason),
        idle: phases::na(&reason),
    }
}

/// Starts `kind` on a fresh control plane, measures it, stops it.
async fn run(kind: Kind, plan: &Plan, out: &std::path::Path, webhooks: bool) -> Results {
    let label = kind.label();
    let work = out.join(label.replace([' ', '(', ')'], ""));
    eprintln!(
        "peers: {label}: starting a fresh control plane, Git server and the controller(s) ..."
    );
    let mut running = match Running::start(kind, plan.n, work, webhooks).await {
        Ok(r) => r,
        Err(e) => return unavailable(label, format!("could not start: {e:#}")),
    };
    eprintln!(
        "peers: {label}: measuring (logs in {}) ...",
        running.work.display()
    );
    let results = phases::measure(&mut running, plan).await;
    running.stop();
    eprintln!("peers: {label}: done");
    results
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let plan = Plan {
        n: args.n,
        pushes: args.pushes,
        idle: args.idle,
        cold_timeout: Duration::from_secs(args.cold_timeout.unwrap_or(120 + args.n as u64)),
        cold_only: args.cold_only,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    // Absolute: the controllers run with their own paths (Flux's storage path must be absolute).
    let out = std::fs::canonicalize(&args.out)
        .with_context(|| format!("resolving {}", args.out.display()))?;
    let args = Args { out, ..args };
    eprintln!(
        "peers: raw SSA floor: a fresh control plane, {} applies ...",
        4 * args.n
    );
    let floor = floor::measure(args.n, args.pushes).await;
    if let Err(e) = &floor {
        eprintln!("peers: raw SSA floor: n/a ({e})");
    }
    // Each tool's webhook receiver announces the pushes, unless Flux's
    // Receiver (notification-controller) was not built: then both
    // Kustomization contenders get `requestedAt` on the GitRepository.
    let webhooks = match &args.flux {
        Ok(dir) => dir.join("notification-controller").exists(),
        Err(_) => true,
    };
    if !webhooks {
        eprintln!(
            "peers: Flux's notification-controller is not built: pushes are announced with requestedAt for both"
        );
    }
    let k = run(
        Kind::DriftlessKustomizations(args.driftless.clone()),
        &plan,
        &args.out,
        webhooks,
    )
    .await;
    let flux = match &args.flux {
        Ok(dir) => run(Kind::Flux(dir.clone()), &plan, &args.out, webhooks).await,
        Err(reason) => unavailable(Kind::Flux(PathBuf::new()).label(), reason.clone()),
    };
    let apps = run(
        Kind::DriftlessApplications(args.driftless.clone()),
        &plan,
        &args.out,
        true,
    )
    .await;

    let table = report::table(args.n, &k, &flux, &apps, &floor);
    let svg = args.out.join(format!("peers-{}.svg", args.n));
    let chart = chart::write(&svg, args.n, &[&k, &flux, &apps]);
    let summary = report::summary(args.n, &k, &flux);
    std::fs::write(
        args.out.join(format!("peers-{}.txt", args.n)),
        format!("{table}\n{summary}\n"),
    )
    .with_context(|| format!("writing the table to {}", args.out.display()))?;
    println!("{table}");
    match chart {
        Ok(()) => println!("chart: {}", svg.display()),
        Err(e) => println!("chart: not written ({e:#})"),
    }
    println!("{summary}");
    Ok(())
}
