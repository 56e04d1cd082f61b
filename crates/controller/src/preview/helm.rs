//! A Helm Application's preview: its `ref` sources resolved in the
//! preview's own repository cache, then the reconcile's Helm render
//! ([`crate::helm_render::render_with`]) with the preview's helm, the
//! cluster's capabilities and the repository Secrets the controller reads.

use std::path::Path;
use std::sync::Arc;

use driftless_api::{Application, ApplicationSource};
use driftless_render::{DiskTree, FileTree, Object};

use crate::helm_render::{self, ChartInput, HelmEnv, RefTree};

use super::{PreviewError, Previewer};

impl Previewer {
    /// The `ref` sources of `app` besides `main`, each at its target
    /// revision (fetched into this cache).
    pub(super) async fn ref_trees(
        &self,
        owner: &str,
        app: &Application,
        main: &ApplicationSource,
    ) -> Result<Vec<RefTree>, PreviewError> {
        let mut trees = Vec::new();
        for (name, source) in crate::reconcile::ref_sources(&app.spec.spec.sources, main) {
            let (sha, tree) = self.git_tree(owner, source).await?;
            trees.push(RefTree {
                name: name.to_string(),
                revision: sha,
                tree: Arc::new(tree),
            });
        }
        Ok(trees)
    }

    /// Renders the chart of `source` (`input`) as the reconcile does; the
    /// error names the owner (the caller adds what was rendered).
    pub(super) async fn render_chart(
        &self,
        owner: &str,
        app: &Application,
        source: &ApplicationSource,
        input: ChartInput,
        refs: Vec<RefTree>,
    ) -> Result<(String, Vec<Object>), String> {
        if self.helm.is_none() {
            return Err(format!(
                "{owner} is a Helm chart, and no helm was given: set --helm or DRIFTLESS_HELM"
            ));
        }
        let env = HelmEnv {
            helm: self.helm.clone(),
            capabilities: &self.capabilities,
            client: &self.client,
            credentials_namespace: &self.credentials_namespace,
        };
        let inputs = crate::reconcile::helm_inputs(app, source, refs);
        let out = helm_render::render_with(&env, input, inputs).await?;
        Ok((out.version, out.rendered.objects))
    }
}

/// The chart input for a working copy: the chart directory `dir` (holding
/// `Chart.yaml`) read from its Git work tree (or from itself), as the
/// controller reads a chart in a Git path. `None` when `dir` is no chart
/// and `source` sets no `helm` options.
pub(super) fn local_chart(
    source: &ApplicationSource,
    dir: &Path,
) -> Result<Option<ChartInput>, String> {
    let (root, relative) = super::work_tree(dir)?;
    let tree = DiskTree::new(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let is_chart = helm_render::is_chart_dir(&tree, &relative);
    if !is_chart && (source.helm.is_none() || source.chart().is_some()) {
        return Ok(None);
    }
    let tree: Arc<dyn FileTree> = Arc::new(tree);
    Ok(Some(ChartInput::Git {
        repo: format!("the working copy {}", root.display()),
        revision: format!("working copy of {}", dir.display()),
        path: relative,
        tree,
    }))
}
