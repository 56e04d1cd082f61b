//! Resolve and render: when to fetch, the render cache, and the child
//! Applications a render holds (App of Apps, cycles).

use std::collections::BTreeSet;
use std::sync::Arc;

use driftless_api::{ApplicationSource, Operation, OperationPhase, OperationState, condition};
use driftless_render::{Object, Rendered};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;

use crate::cycle::{self, AppId};
use crate::engine::{self, RenderRequest};
use crate::error::{Error, Result};
use crate::events::reason;
use crate::helm_render;
use crate::overrides;
use crate::status;

use super::helm::Refs;
use super::{Failure, Reconciler};

impl<'a> Reconciler<'a> {
    pub(super) fn should_fetch(&self, asked: bool) -> bool {
        let changed_spec = self.app.meta().generation != self.prev.observed_generation;
        let interval = self.ctx.config.requeue_interval / 2;
        self.ctx.memory(&self.id, |m| {
            asked || changed_spec || m.dirty || m.last_fetch.is_none_or(|t| t.elapsed() >= interval)
        })
    }

    /// The status to show while a fetch is slow (it may take minutes on a
    /// slow remote): a new Application shows Unknown instead of blank
    /// SYNC/HEALTH, and a requested sync shows Running, fetching (the last
    /// known values stay).
    pub(super) fn waiting_status(
        &self,
        operation: Option<&Operation>,
        repo: &str,
        revision: &str,
    ) -> driftless_api::ApplicationStatus {
        let running = operation
            .filter(|op| op.sync.is_some())
            .map(|op| OperationState {
                operation: op.clone(),
                phase: OperationPhase::Running,
                message: Some(format!("fetching {revision} of {repo}")),
                started_at: Some(Time(self.now)),
                retry_count: Some(0),
                ..Default::default()
            });
        status::waiting(&self.prev, running)
    }

    /// Resolves `source` at `wanted` (fetching when `fetch`) and renders it:
    /// a chart from a Helm repository or OCI registry, or a Git path (a
    /// chart directory, kustomize or plain YAML), with the `ref` sources'
    /// files. Returns the revision (commit or chart version), the render,
    /// and every source's revision for a multi-source Application.
    pub(super) async fn resolve_and_render(
        &mut self,
        source: &ApplicationSource,
        wanted: &str,
        fetch: bool,
        hard: bool,
    ) -> Result<(String, Arc<Rendered>, Vec<String>), Failure> {
        let repo = source.repo_url.clone();
        let found = match source.chart() {
            Some(chart) => {
                let refs = self.resolve_refs(source, fetch).await?;
                self.fetched(fetch, None);
                let asked = self.chart_version_to_render(wanted, fetch);
                let (rendered, version) = self
                    .render_remote_chart(source, chart, &asked, &refs)
                    .await?;
                let resolved = (wanted.to_string(), version.clone());
                self.ctx
                    .memory(&self.id, |m| m.chart_version = Some(resolved));
                let revisions =
                    super::helm::revisions(&self.app.spec.spec.sources, source, &version, &refs);
                (version, rendered, revisions)
            }
            None => {
                let resolved = engine::resolve(self.ctx, &self.owner(), &repo, wanted, fetch)
                    .await
                    .map_err(Error::from)?;
                let refs = self.resolve_refs(source, fetch).await?;
                let sha = resolved.sha;
                self.fetched(fetch, resolved.stale);
                self.report_stale(&repo, wanted, &sha).await;
                // Render (cached by repository, commit, path and overrides).
                let rendered = self.render(source, &sha, hard, &refs).await?;
                let revisions =
                    super::helm::revisions(&self.app.spec.spec.sources, source, &sha, &refs);
                (sha, rendered, revisions)
            }
        };
        Ok(found)
    }

    /// Renders the source at `sha` (from the cache unless `bypass_cache`);
    /// what the render skipped becomes a ComparisonWarning condition.
    /// A path holding `Chart.yaml` (or a source with `helm` options) is a
    /// Helm chart, rendered by helm with the `refs` value files.
    pub(super) async fn render(
        &mut self,
        source: &ApplicationSource,
        sha: &str,
        bypass_cache: bool,
        refs: &Refs,
    ) -> Result<Arc<Rendered>, Failure> {
        if source.plugin.is_none() {
            let tree = self
                .ctx
                .source
                .tree(&source.repo_url, sha)
                .map_err(|e| Error::Source {
                    app: self.label.clone(),
                    repo: source.repo_url.clone(),
                    revision: sha.to_string(),
                    message: e.0,
                })?;
            if source.helm.is_some() || helm_render::is_chart_dir(tree.as_ref(), source.path()) {
                return self.render_git_chart(source, sha, tree, refs).await;
            }
        }
        let rendered = self.render_cached(source, sha, bypass_cache).await?;
        self.report_render_warnings(source, sha, &rendered).await;
        Ok(rendered)
    }

    async fn report_render_warnings(
        &mut self,
        source: &ApplicationSource,
        sha: &str,
        rendered: &Rendered,
    ) {
        let short = &sha[..sha.len().min(7)];
        for warning in &rendered.warnings {
            let message = format!(
                "application {}: path {:?} at {short}: {warning}",
                self.label,
                source.path()
            );
            self.warn(
                condition::COMPARISON_WARNING,
                reason::COMPARISON_WARNING,
                message,
            )
            .await;
        }
    }

    async fn render_cached(
        &self,
        source: &ApplicationSource,
        sha: &str,
        bypass_cache: bool,
    ) -> Result<Arc<Rendered>, Failure> {
        let render_error = |message: String| Error::Render {
            app: self.label.clone(),
            repo: source.repo_url.clone(),
            revision: sha.to_string(),
            path: source.path().to_string(),
            message,
        };
        if let Some(plugin) = &source.plugin {
            return Err(render_error(unsupported_plugin(plugin)).into());
        }
        let mut options = overrides::render_options(source).map_err(|m| Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {m}", self.label),
        })?;
        options.external_kustomize = None;
        let request = RenderRequest {
            repo: source.repo_url.clone(),
            commit: sha.to_string(),
            path: source.path().to_string(),
            options,
            fingerprint: overrides::fingerprint(source),
            filter: None,
        };
        let rendered = engine::render(self.ctx, &self.owner(), &request, bypass_cache)
            .await
            .map_err(Error::from)?;
        Ok(rendered)
    }

    /// Records the child Applications of this one (App of Apps) and drops
    /// those that would close a cycle; returns true when a cycle was found.
    pub(super) fn check_children(&mut self, desired: &mut Vec<Object>) -> bool {
        let dest_ns = self.app.spec.spec.destination.namespace.clone();
        let child_id = |o: &Object| -> AppId {
            let ns = o
                .namespace()
                .map(str::to_string)
                .or(dest_ns.clone())
                .unwrap_or_else(|| self.id.0.clone());
            (ns, o.name().to_string())
        };
        let is_app = |o: &Object| o.group() == driftless_api::GROUP && o.kind() == "Application";
        let children: BTreeSet<AppId> =
            desired.iter().filter(|o| is_app(o)).map(child_id).collect();
        let cycle = {
            let mut graph = self.ctx.graph();
            graph.set_children(self.id.clone(), children);
            graph.cycle_through(&self.id)
        };
        let Some(cycle) = cycle else {
            return false;
        };
        let in_cycle: BTreeSet<AppId> = cycle.iter().cloned().collect();
        desired.retain(|o| !(is_app(o) && in_cycle.contains(&child_id(o))));
        self.conditions.push((
            condition::CYCLIC_DEPENDENCY_ERROR.to_string(),
            cycle::describe(&cycle),
        ));
        cycle.len() > 1
    }
}

/// Why a `source.plugin` Application is not rendered (never as a plain
/// directory: that would deploy nothing and report Synced).
fn unsupported_plugin(plugin: &driftless_api::ApplicationSourcePlugin) -> String {
    match plugin.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("source.plugin {name}: config management plugins are not supported"),
        None => "source.plugin: config management plugins are not supported".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::ApplicationSourcePlugin;

    #[test]
    fn plugin_messages_name_the_plugin() {
        let named = ApplicationSourcePlugin {
            name: Some("argocd-vault-plugin".into()),
        };
        assert_eq!(
            unsupported_plugin(&named),
            "source.plugin argocd-vault-plugin: config management plugins are not supported"
        );
        assert_eq!(
            unsupported_plugin(&ApplicationSourcePlugin::default()),
            "source.plugin: config management plugins are not supported"
        );
    }
}
