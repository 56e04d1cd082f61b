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
