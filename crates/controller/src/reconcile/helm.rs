//! Helm charts in the reconcile: the `ref` sources of a multi-source
//! Application resolved to trees, a chart from a Helm repository or OCI
//! registry (no Git revision: its version is the revision), and a chart in
//! a Git path, rendered through [`crate::helm_render`].

use std::sync::Arc;

use driftless_api::{ApplicationSource, condition};
use driftless_render::Rendered;

use crate::context::RefSourceMemory;
use crate::engine;
use crate::error::Error;
use crate::events::reason;
use crate::helm_render::{self, ChartInput, HelmInputs, HelmOutput, RefTree};

use super::{Failure, Reconciler};

/// The `ref` sources of a multi-source Application, resolved.
pub(super) struct Refs {
    /// Each ref's source and tree, in `spec.sources` order.
    pub(super) resolved: Vec<(ApplicationSource, RefTree)>,
}

impl Refs {
    fn trees(&self) -> Vec<RefTree> {
        self.resolved.iter().map(|(_, t)| t.clone()).collect()
    }
}

impl<'a> Reconciler<'a> {
    /// Resolves every source besides `main` that has a `ref` name to a
    /// commit (fetching when `fetch`), and opens its tree.
    pub(super) async fn resolve_refs(
        &mut self,
        main: &ApplicationSource,
        fetch: bool,
    ) -> Result<Refs, Failure> {
        let mut resolved = Vec::new();
        for (name, source) in super::ref_sources(&self.spec.sources, main) {
            // The revision a sync operation asks for it, else its own.
            let revision = self
                .revisions
                .of(self.spec, source)
                .unwrap_or(source.revision());
            let repo = &source.repo_url;
            let found = engine::resolve(self.ctx, &self.owner(), repo, revision, fetch)
                .await
                .map_err(Error::from)?;
            if fetch && found.stale.is_none() {
                self.ctx.note_fetched(repo, revision, self.now);
            }
            let tree = self
                .ctx
                .source
                .tree(repo, &found.sha)
                .map_err(|e| Error::Source {
                    app: self.label.clone(),
                    repo: repo.clone(),
                    revision: found.sha.clone(),
                    message: e.0,
                })?;
            let tree = RefTree {
                name: name.to_string(),
                revision: found.sha,
                tree,
            };
            resolved.push((source.clone(), tree));
        }
        Ok(Refs { resolved })
    }

    /// The version to render for `wanted`: until a fetch is due, the
    /// version `wanted` last resolved to (an exact version is served from
    /// the chart cache without asking the repository again).
    pub(super) fn chart_version_to_render(&self, wanted: &str, fetch: bool) -> String {
        let last = self.ctx.memory(&self.id, |m| m.chart_version.clone());
        match last {
            Some((asked, version)) if !fetch && asked == wanted => version,
            _ => wanted.to_string(),
        }
    }

    /// Renders the chart `source.chart` names from its Helm repository or
    /// OCI registry at `version`; the chart version rendered is the
    /// revision.
    pub(super) async fn render_remote_chart(
        &mut self,
        source: &ApplicationSource,
        chart: &str,
        version: &str,
        refs: &Refs,
    ) -> Result<(Arc<Rendered>, String), Failure> {
        let input = ChartInput::Remote {
            source: Box::new(source.clone()),
            chart: chart.to_string(),
            version: version.to_string(),
        };
        let out = helm_render::render(self.ctx, input, self.helm_inputs(source, refs))
            .await
            .map_err(|message| Error::Chart {
                app: self.label.clone(),
                repo: source.repo_url.clone(),
                chart: chart.to_string(),
                version: version.to_string(),
                message,
            })?;
        self.after_helm(&out, refs);
        let version = out.version.clone();
        Ok((Arc::new(out.rendered), version))
    }

    /// Renders the chart in the Git path of `source` at commit `sha`.
    pub(super) async fn render_git_chart(
        &mut self,
        source: &ApplicationSource,
        sha: &str,
        tree: Arc<dyn driftless_render::FileTree>,
        refs: &Refs,
    ) -> Result<Arc<Rendered>, Failure> {
        let input = ChartInput::Git {
            repo: source.repo_url.clone(),
            revision: sha.to_string(),
            path: source.path().to_string(),
            tree,
        };
        let out = helm_render::render(self.ctx, input, self.helm_inputs(source, refs))
            .await
            .map_err(|message| Error::Render {
                app: self.label.clone(),
                repo: source.repo_url.clone(),
                revision: sha.to_string(),
                path: source.path().to_string(),
                message,
            })?;
        self.after_helm(&out, refs);
        Ok(Arc::new(out.rendered))
    }

    fn helm_inputs(&self, source: &ApplicationSource, refs: &Refs) -> HelmInputs {
        super::helm_inputs(self.app, source, refs.trees())
    }

    /// Remembers the ref files read (webhook matching) and reports the
    /// value files skipped.
    fn after_helm(&mut self, out: &HelmOutput, refs: &Refs) {
        let memory: Vec<RefSourceMemory> = refs
            .resolved
            .iter()
            .enumerate()
            .map(|(i, (source, _))| RefSourceMemory {
                repo: source.repo_url.clone(),
                target_revision: source.revision().to_string(),
                files: out
                    .ref_files
                    .iter()
                    .filter(|(index, _)| *index == i)
                    .map(|(_, path)| path.clone())
                    .collect(),
            })
            .collect();
        self.ref_memory = Some(memory);
        if !out.skipped_value_files.is_empty() {
            let message = format!(
                "application {}: chart version {}: value files skipped because they do not \
                 exist (ignoreMissingValueFiles): {}",
                self.label,
                out.version,
                out.skipped_value_files.join(", ")
            );
            self.warn(
                condition::COMPARISON_WARNING,
                reason::COMPARISON_WARNING,
                message,
            );
        }
    }
}

/// The revision of each of `sources` for `status.sync.revisions`: the
/// rendering source's `main_revision`, each ref source's commit.
pub(super) fn revisions(
    sources: &[ApplicationSource],
    main: &ApplicationSource,
    main_revision: &str,
    refs: &Refs,
) -> Vec<String> {
    if sources.len() < 2 {
        return Vec::new();
    }
    sources
        .iter()
        .map(|s| {
            if s == main {
                return main_revision.to_string();
            }
            refs.resolved
                .iter()
                .find(|(r, _)| r == s)
                .map(|(_, t)| t.revision.clone())
                .unwrap_or_default()
        })
        .collect()
}
