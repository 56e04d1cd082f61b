//! `driftless diff`: a unified diff of the live objects and what Git (or a
//! working copy) renders, through the sync engine's server-side dry-run
//! (Secret values redacted). Exit 0 in sync, 1 different, 2 error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use driftless_api::Application;
use driftless_render::{DiskTree, Object, RenderOptions};
use driftless_source::MirrorCache;
use driftless_sync::{Comparison, ResourceState, SyncEngine, Target, parse_sync_options};
use kube::ResourceExt;

use crate::cluster::{Cluster, KubeFlags, block_on};
use crate::error::CliError;
use crate::kinds;
use crate::output::color::{self, Color};

/// Arguments of `driftless diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 in sync, 1 different, 2 error (so CI can gate on it).

Examples:
  driftless diff guestbook                     # live vs the Application's target revision
  driftless diff guestbook --local ./apps/web  # live vs a working copy (before pushing)
  driftless diff --path overlays/prod --app guestbook   # no Application needed"
)]
pub(crate) struct Args {
    /// The Application to compare (omit with `--path`).
    #[arg(required_unless_present = "path", conflicts_with = "path")]
    name: Option<String>,
    /// Render this directory instead of the Application's Git revision
    /// (the Application's overrides and destination still apply).
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
    let engine = SyncEngine::new(cluster.client.clone());
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
        return diff(&engine, &target, objects).await;
    }
    let name = args.name.as_deref().unwrap_or_default();
    let app = match kinds::find(&cluster, name).await? {
        kinds::Found::App(app) => *app,
        kinds::Found::Ks(ks) => {
            return Err(CliError::Usage(format!(
                "Kustomization {}: diff compares Applications; for a Flux path use \
                 `driftless diff --path DIR --app NAME`",
                ks.name_any()
            ))
            .into());
        }
    };
    let source = app
        .spec
        .spec
        .source
        .clone()
        .or_else(|| app.spec.spec.sources.first().cloned())
        .ok_or_else(|| CliError::Usage(format!("Application {name} has no source")))?;
    let options = driftless_controller::overrides::render_options(&source)
        .map_err(|e| CliError::Usage(format!("Application {name}: {e}")))?;
    let objects = match &args.local {
        Some(dir) => render_dir(dir, &options)?,
        None => render_git(&cluster, &app, &source, &options, args).await?,
    };
    diff(&engine, &target_of(&app), objects).await
}

async fn diff(
    engine: &SyncEngine,
    target: &Target,
    objects: Vec<Object>,
) -> anyhow::Result<Comparison> {
    engine
        .diff(target, objects)
        .await
        .with_context(|| format!("comparing {} with the cluster", target.app))
}

/// The sync engine's target for `app`, as the controller builds it.
fn target_of(app: &Application) -> Target {
    let spec = &app.spec.spec;
    let policy = spec.sync_policy.clone().unwrap_or_default();
    let (options, _unknown) = parse_sync_options(&policy.sync_options);
    Target {
        app: driftless_controller::reconcile::tracking_name(
            app,
            &app.namespace().unwrap_or_default(),
        ),
        namespace: spec.destination.namespace.clone().filter(|n| !n.is_empty()),
        options,
        ignore_differences: spec.ignore_differences.clone(),
        prune: true,
        previous: app.status.clone().unwrap_or_default().resources,
        // Sync hooks are not part of an Application's diff.
        hooks: true,
        ..Target::default()
    }
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
    let path = dir
        .canonicalize()
        .with_context(|| format!("{}: cannot open", dir.display()))?;
    if !path.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let root = path
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.clone());
    let relative = path
        .strip_prefix(&root)
        .unwrap_or(Path::new(""))
        .to_string_lossy()
        .replace('\\', "/");
    let tree = DiskTree::new(&root)?;
    let rendered = driftless_render::render(&tree, &relative, options)
        .with_context(|| format!("rendering {}", dir.display()))?;
    Ok(rendered.objects)
}

async fn render_git(
    cluster: &Cluster,
    app: &Application,
    source: &driftless_api::ApplicationSource,
    options: &RenderOptions,
    args: &Args,
) -> anyhow::Result<Vec<Object>> {
    let cache_dir = match &args.cache_dir {
        Some(d) => d.clone(),
        None => default_cache_dir()?,
    };
    let creds_ns = args
        .credentials_namespace
        .clone()
        .unwrap_or_else(|| app.namespace().unwrap_or_default());
    let credentials = driftless_source::credentials::KubeSecretCredentials::new(
        cluster.client.clone(),
        &creds_ns,
    );
    let cache = MirrorCache::new(
        &cache_dir,
        Arc::new(credentials),
        driftless_source::Options::default(),
    )
    .with_context(|| format!("repository cache {}", cache_dir.display()))?;
    let repo = &source.repo_url;
    let revision = source.revision();
    let resolved = cache
        .resolve(repo, revision, true)
        .await
        .with_context(|| format!("resolving {revision} of {}", driftless_source::redact(repo)))?;
    let tree = cache
        .tree(repo, &resolved.sha)
        .with_context(|| format!("reading commit {}", resolved.sha))?;
    let (path, options) = (source.path().to_string(), options.clone());
    let rendered =
        tokio::task::spawn_blocking(move || driftless_render::render(&tree, &path, &options))
            .await
            .context("the render task failed")?
            .with_context(|| format!("rendering {} at {}", source.path(), resolved.sha))?;
    Ok(rendered.objects)
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
