//! `driftless diff`: a unified diff of the live objects and what Git (or a
//! working copy) renders for an Application (Helm charts included, with the
//! pinned helm of `--helm`) or a Kustomization (see
//! `driftless_controller::preview`), through the sync engine's server-side
//! dry-run (Secret values redacted). Exit 0 in sync, 1 different, 2 error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use driftless_controller::preview::{Origin, Previewer};
use driftless_render::{Object, RenderOptions};
use driftless_sync::{Comparison, ResourceState, SyncEngine, Target};
use kube::ResourceExt;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::kinds;
use crate::output::color::{self, Color};

/// Arguments of `driftless diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 in sync, 1 different, 2 error (so CI can gate on it).

Examples:
  driftless diff guestbook                     # live vs the Application's target revision
  driftless diff guestbook --local ./apps/web  # live vs a working copy (before pushing)
  driftless diff prometheus --helm ~/bin/helm  # a Helm chart Application
  driftless diff ks/apps -n flux-system        # a Flux Kustomization at its source's artifact
  driftless diff --path overlays/prod --app guestbook   # no Application needed"
)]
pub(crate) struct Args {
    /// The Application or Kustomization to compare (omit with `--path`).
    #[arg(required_unless_present = "path", conflicts_with = "path")]
    name: Option<String>,
    /// Render this directory instead of the Git revision (the
    /// Application's overrides and destination, or the Kustomization's
    /// build options, postBuild and target namespace, still apply). A
    /// directory holding `Chart.yaml` renders with helm; of several
    /// sources, it replaces the first that renders (the others come from Git).
    #[arg(long, value_name = "DIR")]
    local: Option<PathBuf>,
    /// Compare this directory with the cluster, without an Application
    /// (objects without a namespace go to `-n`).
    #[arg(long, value_name = "DIR")]
    path: Option<PathBuf>,
    /// With `--path`: the Application name written in the tracking
    /// annotation, so objects an Application applied compare equal.
    #[arg(long, value_name = "NAME", requires = "path")]
    app: Option<String>,
    /// Where Git mirrors are kept (default: ~/.cache/driftless/cli-repos).
    #[arg(long, value_name = "DIR", env = "DRIFTLESS_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// The namespace of repository credential Secrets (Argo CD format);
    /// default: the Application's.
    #[arg(long)]
    credentials_namespace: Option<String>,
    /// The pinned `helm` that renders a Helm Application's chart (sandboxed
    /// as the controller runs it). Default: `helm` on `PATH`.
    #[arg(long, value_name = "PATH", env = "DRIFTLESS_HELM")]
    helm: Option<PathBuf>,
    #[command(flatten)]
    kube: KubeFlags,
}

/// Runs `diff` and returns its exit status.
pub(crate) fn run(args: &Args) -> ExitCode {
    let result = block_on(compare(args)).and_then(|r| r);
    match result {
        Ok(cmp) => print(&cmp),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn compare(args: &Args) -> anyhow::Result<Comparison> {
    let cluster = Cluster::connect(&args.kube).await?;
    if let Some(dir) = &args.path {
        let app = match &args.app {
            Some(a) => a.clone(),
            None => dir_name(dir)?,
        };
        let target = Target {
            app,
            namespace: Some(cluster.namespace.clone()),
            ..Target::default()
        };
        let objects = render_dir(dir, &RenderOptions::default())?;
        return SyncEngine::new(cluster.client.clone())
            .diff(&target, objects)
            .await
            .with_context(|| format!("comparing {} with the cluster", target.app));
    }
    let name = args.name.as_deref().unwrap_or_default();
    let found = kinds::find(&cluster, name).await?;
    let owner_ns = match &found {
        kinds::Found::App(app) => app.namespace(),
        kinds::Found::Ks(ks) => ks.namespace(),
    }
    .unwrap_or_default();
    let creds_ns = args.credentials_namespace.clone().unwrap_or(owner_ns);
    let cache_dir = match &args.cache_dir {
        Some(d) => d.clone(),
        None => default_cache_dir()?,
    };
    let previewer = Previewer::new(cluster.client.clone(), &cache_dir, &creds_ns, None)?
        .with_helm(crate::charts::find_helm(args.helm.as_deref()));
    let origin = match &args.local {
        Some(dir) => Origin::Local(dir.clone()),
        None => Origin::Git,
    };
    let preview = match &found {
        kinds::Found::App(app) => previewer.application(app, &origin).await?,
        kinds::Found::Ks(ks) => previewer.kustomization(ks, &origin).await?,
    };
    Ok(preview.comparison)
}

fn dir_name(dir: &Path) -> anyhow::Result<String> {
    let abs = dir
        .canonicalize()
        .with_context(|| format!("{}: cannot open", dir.display()))?;
    Ok(abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into()))
}

/// Renders a directory on disk, confined to its Git work tree (or itself).
pub(crate) fn render_dir(dir: &Path, options: &RenderOptions) -> anyhow::Result<Vec<Object>> {
    driftless_controller::preview::render_dir(dir, options).map_err(anyhow::Error::msg)
}

fn default_cache_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set: give --cache-dir")?;
    Ok(base.join("driftless").join("cli-repos"))
}

/// Prints the diffs (colored on a terminal) and returns 0, 1 or 2.
fn print(cmp: &Comparison) -> ExitCode {
    let colored = color::stdout_wants_color();
    let mut out = std::io::stdout().lock();
    let mut errors = 0;
    for r in &cmp.resources {
        if let Some(error) = &r.error {
            eprintln!("error: {}: {error}", r.key);
            errors += 1;
        }
        let text = if r.diff.is_empty() && r.state == ResourceState::RequiresPruning {
            format!(
                "--- live/{}\n+++ desired/{}\n(to be pruned: no longer rendered)\n",
                r.key, r.key
            )
        } else {
            r.diff.clone()
        };
        let _ = out.write_all(colorize(&text, colored).as_bytes());
    }
    let _ = out.flush();
    let different = cmp.out_of_sync().count();
    if errors > 0 {
        ExitCode::from(2)
    } else if different > 0 {
        if std::io::stderr().is_terminal() {
            eprintln!("{different} object(s) differ");
        }
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Colors a unified diff: headers bold, removals red, additions green.
pub(crate) fn colorize(diff: &str, colored: bool) -> String {
    if !colored {
        return diff.to_string();
    }
    diff.lines()
        .map(|line| {
            let c = if line.starts_with("---") || line.starts_with("+++") {
                Some(Color::Bold)
            } else if line.starts_with('-') {
                Some(Color::Red)
            } else if line.starts_with('+') {
                Some(Color::Green)
            } else if line.starts_with("@@") {
                Some(Color::Dim)
            } else {
                None
            };
            let text = match c {
                Some(c) => color::paint(line, c, true),
                None => line.to_string(),
            };
            text + "\n"
        })
        .collect()
}
