//! The Helm renderer behind a kustomization's `helmCharts`: driftless-helm's
//! sandboxed, pinned `helm template`, found at `--helm-command` or as `helm`
//! on `PATH`. Without a helm, `helmCharts` stay an error naming the field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use driftless_helm::{Helm, Renderer};
use driftless_render::SharedInflater;

/// The inflater for `helm` (found by [`find_helm`]), keeping its charts
/// below `work_dir`; `None` when there is no helm to run.
pub(crate) fn chart_inflater(helm: Option<&Path>, work_dir: &Path) -> Option<SharedInflater> {
    let renderer = Renderer::new(Helm::new(find_helm(helm)?), work_dir);
    Some(SharedInflater(Arc::new(renderer)))
}

/// The helm to run: `explicit` (`--helm`), else `helm` on `PATH`, else the
/// container image's `/usr/local/bin/helm`.
pub(crate) fn find_helm(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    on_path("helm").or_else(|| {
        let image = PathBuf::from("/usr/local/bin/helm");
        image.is_file().then_some(image)
    })
}

/// Where the charts and sandboxes of helm renders go by default.
pub(crate) fn default_work_dir() -> PathBuf {
    std::env::temp_dir().join("driftless-helm")
}

/// Searched when `PATH` is unset (a container image without an environment;
/// the image installs helm in `/usr/local/bin`).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The first file called `name` in a `PATH` directory.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The `helm template` inputs `driftless render` takes for a chart
/// directory.
#[derive(Debug, Default)]
pub(crate) struct ChartArgs {
    /// The release name (`helm template`'s default: `release-name`).
    pub(crate) release_name: String,
    /// The release namespace.
    pub(crate) namespace: Option<String>,
    /// `--values` files, in order.
    pub(crate) values: Vec<PathBuf>,
    /// `--set` arguments as given (`a=1,b.c=2`).
    pub(crate) set: Vec<String>,
    /// `--set-string` arguments as given.
    pub(crate) set_string: Vec<String>,
    /// Leave the chart's `crds/` out.
    pub(crate) skip_crds: bool,
}

/// Renders the chart at `path` of `tree` with the pinned `helm`, as the
/// controller renders a chart in a Git path (dependencies fetched from
/// their repositories, CRDs included unless `skip_crds`).
/// `shown` is how messages name the chart directory (as the user gave it).
pub(crate) fn render_chart(
    helm: Option<&Path>,
    tree: &dyn driftless_render::FileTree,
    path: &str,
    shown: &Path,
    args: &ChartArgs,
) -> anyhow::Result<Vec<driftless_render::Object>> {
    let Some(program) = find_helm(helm) else {
        anyhow::bail!(
            "{} is a Helm chart (it holds Chart.yaml) and no helm was found: \
             give --helm or set DRIFTLESS_HELM",
            shown.display()
        );
    };
    let value_trees = value_file_trees(&args.values)?;
    let mut options = driftless_helm::TemplateOptions::new(args.release_name.clone());
    options.namespace = args.namespace.clone();
    options.skip_crds = args.skip_crds;
    options.value_files = value_trees
        .iter()
        .map(|(tree, name, label)| driftless_helm::FileRef::Tree {
            tree,
            path: name.clone(),
            label: label.clone(),
        })
        .collect();
    options.parameters = parameters(&args.set, false)?;
    options
        .parameters
        .extend(parameters(&args.set_string, true)?);
    let source = driftless_helm::ChartSource::Tree(driftless_helm::TreeChart {
        tree,
        path: path.to_string(),
        repo_url: "the working copy".to_string(),
        revision: "working-copy".to_string(),
        dependency_credentials: Vec::new(),
    });
    let renderer = Renderer::new(Helm::new(program), default_work_dir());
    let rendered = renderer.render(&source, &options)?;
    Ok(rendered.objects.as_ref().clone())
}

/// Each value file as a tree of its directory, its name and its label.
fn value_file_trees(
    files: &[PathBuf],
) -> anyhow::Result<Vec<(driftless_render::DiskTree, String, String)>> {
    files
        .iter()
        .map(|file| {
            let label = file.display().to_string();
            let absolute = file
                .canonicalize()
                .map_err(|e| anyhow::anyhow!("values file {label}: {e}"))?;
            let (Some(dir), Some(name)) = (absolute.parent(), absolute.file_name()) else {
                anyhow::bail!("values file {label} is not a file");
            };
            let tree = driftless_render::DiskTree::new(dir)
                .map_err(|e| anyhow::anyhow!("values file {label}: {e}"))?;
            Ok((tree, name.to_string_lossy().into_owned(), label))
        })
        .collect()
}

/// `--set` arguments as parameters: each argument split on the commas
/// helm splits on (not escaped, not inside `{...}`), each part `NAME=VALUE`.
fn parameters(
    arguments: &[String],
    force_string: bool,
) -> anyhow::Result<Vec<driftless_helm::Parameter>> {
    let mut out = Vec::new();
    for argument in arguments {
        for part in split_set(argument) {
            let Some((name, value)) = part.split_once('=') else {
                anyhow::bail!("--set {argument}: {part:?} is not NAME=VALUE");
            };
            if name.is_empty() {
                anyhow::bail!("--set {argument}: {part:?} has no name");
            }
            out.push(driftless_helm::Parameter {
                name: name.to_string(),
                value: value.to_string(),
                force_string,
            });
        }
    }
    Ok(out)
}

fn split_set(argument: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut depth, mut previous) = (0usize, None);
    for c in argument.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 && previous != Some('\\') => {
                parts.push(String::new());
                previous = Some(c);
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
        previous = Some(c);
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_arguments_split_like_helm() {
        assert_eq!(split_set("a=1,b.c=2"), ["a=1", "b.c=2"]);
        assert_eq!(split_set("list={x,y},z=3"), ["list={x,y}", "z=3"]);
        assert_eq!(split_set(r"a=x\,y"), [r"a=x\,y"]);
    }

    #[test]
    fn a_set_without_a_value_names_it() {
        let error = parameters(&["a=1,oops".to_string()], false).unwrap_err();
        assert!(
            error.to_string().contains("\"oops\" is not NAME=VALUE"),
            "{error}"
        );
        let ok = parameters(&["image.tag=v2".to_string()], true).unwrap();
        assert_eq!(ok[0].name, "image.tag");
        assert_eq!(ok[0].value, "v2");
        assert!(ok[0].force_string);
    }
}
