//! `driftless render PATH`: render a Kustomize overlay or plain directory and
//! print it as YAML, like `kubectl kustomize PATH`; a Helm chart directory
//! (holding `Chart.yaml`) is rendered by the pinned helm, like `helm
//! template` (see [`crate::charts::render_chart`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use driftless_render::{DiskTree, RenderOptions};

/// Arguments of `driftless render`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless render overlays/prod                # like kubectl kustomize overlays/prod
  driftless render manifests --recurse          # a plain directory and its subdirectories
  driftless render overlays/prod | kubectl diff -f -
  driftless render charts/web --values envs/prod.yaml --set image.tag=v2 --namespace prod")]
pub(crate) struct Args {
    /// The directory to render: a kustomization's directory, a Helm chart
    /// (holding `Chart.yaml`) or a plain directory of manifests (not a file).
    path: PathBuf,
    /// The directory no file may be read from outside of (as a Git repository
    /// confines an Application). Default: the Git work tree holding PATH, or `/`.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// For a plain directory: also read manifests in subdirectories.
    #[arg(long)]
    recurse: bool,
    /// A kustomize command for what the native renderer refuses (Helm charts,
    /// plugins, remote bases), e.g. `kustomize build --enable-helm`; the
    /// directory is appended to it.
    #[arg(long, value_name = "COMMAND", env = "DRIFTLESS_KUSTOMIZE_COMMAND")]
    kustomize_command: Option<String>,
    /// The `helm` that renders a chart directory and a kustomization's
    /// `helmCharts` (sandboxed, no inherited configuration). Default: `helm`
    /// on `PATH`.
    #[arg(long, value_name = "PATH", env = "DRIFTLESS_HELM")]
    helm: Option<PathBuf>,
    /// For a chart directory: a values file (repeatable, applied in order).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    values: Vec<PathBuf>,
    /// For a chart directory: set values, `NAME=VALUE[,NAME=VALUE]`
    /// (repeatable), as `helm template --set`.
    #[arg(long, value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// For a chart directory: set string values, as `helm template --set-string`.
    #[arg(long, value_name = "NAME=VALUE")]
    set_string: Vec<String>,
    /// For a chart directory: the release name.
    #[arg(long, value_name = "NAME", default_value = "release-name")]
    release_name: String,
    /// For a chart directory: the release namespace (`.Release.Namespace`).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// For a chart directory: leave the chart's `crds/` out (included by
    /// default, as Argo CD renders charts).
    #[arg(long)]
    skip_crds: bool,
}

/// Renders and prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let path = args
        .path
        .canonicalize()
        .with_context(|| format!("{}: cannot open", args.path.display()))?;
    if !path.is_dir() {
        anyhow::bail!(
            "{} is a file, not a directory: driftless render takes the directory holding \
             a kustomization or plain manifests (try `driftless render {}`)",
            args.path.display(),
            suggested_directory(&args.path).display()
        );
    }
    let root = match &args.root {
        Some(root) => root
            .canonicalize()
            .with_context(|| format!("{}: cannot open", root.display()))?,
        None => git_work_tree(&path).unwrap_or_else(|| PathBuf::from("/")),
    };
    let relative = path
        .strip_prefix(&root)
        .with_context(|| format!("{} is outside the root {}", path.display(), root.display()))?;
    let relative = relative.to_string_lossy().replace('\\', "/");
    let tree = DiskTree::new(&root)?;
    if path.join("Chart.yaml").is_file() {
        let objects = crate::charts::render_chart(
            args.helm.as_deref(),
            &tree,
            &relative,
            &args.path,
            &chart_args(args),
        )?;
        return print_objects(&objects);
    }
    if !args.values.is_empty() || !args.set.is_empty() || !args.set_string.is_empty() {
        anyhow::bail!(
            "{}: --values, --set and --set-string apply to a Helm chart directory \
             (one holding Chart.yaml), and this is none",
            args.path.display()
        );
    }
    let external_kustomize = external_kustomize(args.kustomize_command.as_deref())?;
    let options = RenderOptions {
        directory: args.recurse.then(|| driftless_render::DirectoryOptions {
            recurse: true,
            ..Default::default()
        }),
        external_kustomize,
        chart_inflater: crate::charts::chart_inflater(
            args.helm.as_deref(),
            &crate::charts::default_work_dir(),
        ),
        ..Default::default()
    };
    let rendered = driftless_render::render(&tree, &relative, &options)?;
    print_objects(&rendered.objects)
}

fn print_objects(objects: &[driftless_render::Object]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    driftless_render::write_yaml(objects, &mut out)?;
    std::io::Write::flush(&mut out).context("writing the output")?;
    Ok(())
}

fn chart_args(args: &Args) -> crate::charts::ChartArgs {
    crate::charts::ChartArgs {
        release_name: args.release_name.clone(),
        namespace: args.namespace.clone(),
        values: args.values.clone(),
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        skip_crds: args.skip_crds,
    }
}

/// The `--kustomize-command` option (of `render` and `controller`); blank
/// means none.
pub(crate) fn external_kustomize(
    command: Option<&str>,
) -> anyhow::Result<Option<driftless_render::ExternalKustomize>> {
    command
        .filter(|c| !c.trim().is_empty())
        .map(driftless_render::ExternalKustomize::parse)
        .transpose()
        .map_err(anyhow::Error::msg)
}

/// The directory holding `file`, as the user spelled it (`.` for a bare name).
fn suggested_directory(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The nearest ancestor of `path` (itself included) that holds `.git`.
fn git_work_tree(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
