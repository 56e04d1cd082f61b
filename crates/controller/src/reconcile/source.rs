//! Resolve and render: when to fetch, the render cache, and the child
//! Applications a render holds (App of Apps, cycles).

use std::collections::BTreeSet;
use std::sync::Arc;

use driftless_api::{
    Application, ApplicationSource, Operation, OperationPhase, OperationState, condition,
};
use driftless_render::{FileTree, Object, Rendered};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{Resource, ResourceExt};

use crate::cycle::{self, AppId};
use crate::engine::{self, RenderRequest};
use crate::error::{Error, Result};
use crate::events::reason;
use crate::helm_render;
use crate::overrides;
use crate::status;

use super::helm::Refs;
use super::{Failure, Reconciler};

/// The moment after which the object's spec was last written: the latest
/// of its managers' writes other than to a subresource (its creation when
/// it was never changed), plus a second (the API server keeps whole
/// seconds). `None` when the object does not say.
fn spec_written(meta: &ObjectMeta) -> Option<Timestamp> {
    let writes = meta
        .managed_fields
        .iter()
        .flatten()
        .filter(|f| f.subresource.as_deref().unwrap_or_default().is_empty())
        .filter_map(|f| f.time.as_ref().map(|t| t.0));
    let never_changed = meta.generation.is_none_or(|g| g <= 1);
    let latest = match writes.max() {
        Some(at) => at,
        None if never_changed => meta.creation_timestamp.as_ref()?.0,
        None => return None,
    };
    latest.checked_add(SignedDuration::from_secs(1)).ok()
}

/// What the rendering sources of an Application gave.
pub(super) struct Found {
    /// The leading (first rendering) source's revision: a commit or a
    /// chart version.
    pub(super) revision: String,
    /// The objects of every rendering source (their union).
    pub(super) rendered: Arc<Rendered>,
    /// For several sources: each one's revision, in `spec.sources` order.
    pub(super) revisions: Vec<String>,
    /// For several sources: each one's source type (empty for a ref).
    pub(super) source_types: Vec<String>,
}

impl<'a> Reconciler<'a> {
    /// Resolves and renders every source of `sources` (the rendering ones,
    /// each at its `wanted` revision) and combines their objects (see
    /// [`super::multi_source`]); an object two sources render becomes a
    /// `RepeatedResourceWarning`. One source is [`Self::resolve_and_render`].
    pub(super) async fn resolve_and_render_all(
        &mut self,
        sources: &[&ApplicationSource],
        wanted: &[String],
        fetch: bool,
        hard: bool,
    ) -> Result<Found, Failure> {
        if let ([only], [want]) = (sources, wanted)
            && self.spec.sources.len() < 2
        {
            let (revision, rendered, revisions) =
                self.resolve_and_render(only, want, fetch, hard).await?;
            if let Some(memory) = self.ref_memory.take() {
                self.ctx.memory(&self.id, |m| m.ref_sources = memory);
            }
            return Ok(Found {
                revision,
                rendered,
                revisions,
                source_types: Vec::new(),
            });
        }
        // What webhooks match on is gathered source by source; a failed
        // render keeps what the last good one knew as well.
        let before = self.ctx.memory(&self.id, |m| m.ref_sources.clone());
        let mut ref_memory = Vec::new();
        let rendered = self
            .render_each(sources, wanted, fetch, hard, &mut ref_memory)
            .await;
        if rendered.is_err() {
            ref_memory.extend(before);
        }
        self.ctx.memory(&self.id, |m| m.ref_sources = ref_memory);
        let (renders, revisions, source_types) = rendered?;
        Ok(self.combine(renders, revisions, source_types))
    }

    /// Resolves and renders each of `sources`: their renders (label,
    /// revision, render), and per `spec.sources` entry its revision and
    /// source type. What webhooks should match goes to `ref_memory`.
    async fn render_each(
        &mut self,
        sources: &[&ApplicationSource],
        wanted: &[String],
        fetch: bool,
        hard: bool,
        ref_memory: &mut Vec<crate::context::RefSourceMemory>,
    ) -> Result<Renders, Failure> {
        let all = &self.spec.sources;
        let mut revisions = vec![String::new(); all.len()];
        let mut source_types = vec![String::new(); all.len()];
        let mut renders = Vec::new();
        for (source, want) in sources.iter().zip(wanted) {
            self.ref_memory = None;
            let (revision, rendered, found) =
                self.resolve_and_render(source, want, fetch, hard).await?;
            ref_memory.extend(self.ref_memory.take().unwrap_or_default());
            for (slot, found) in revisions.iter_mut().zip(found) {
                if !found.is_empty() {
                    *slot = found;
                }
            }
            let index = all.iter().position(|s| s == *source).unwrap_or_default();
            if let Some(slot) = source_types.get_mut(index) {
                *slot = format!("{:?}", rendered.source_type);
            }
            if *source != sources[0] && source.chart().is_none() {
                ref_memory.push(path_memory(source, &rendered));
            }
            let label = super::multi_source::label(index, source);
            renders.push((label, revision, rendered));
        }
        Ok((renders, revisions, source_types))
    }

    /// The union of `renders` (label, revision, render) as one render led
    /// by the first; repeated objects become conditions.
    fn combine(
        &mut self,
        renders: Vec<(String, String, Arc<Rendered>)>,
        revisions: Vec<String>,
        source_types: Vec<String>,
    ) -> Found {
        let parts: Vec<super::multi_source::Part<'_>> = renders
            .iter()
            .map(|(label, _, rendered)| super::multi_source::Part {
                label: label.clone(),
                objects: &rendered.objects,
            })
            .collect();
        let dest = self.app.spec.spec.destination.namespace.as_deref();
        let union = super::multi_source::union(&parts, dest);
        for message in union.repeated {
            self.conditions.push((
                condition::REPEATED_RESOURCE_WARNING.to_string(),
                format!("application {}: {message}", self.label),
            ));
        }
        let (revision, lead) = renders
            .first()
            .map(|(_, revision, rendered)| (revision.clone(), rendered.as_ref()))
            .unzip();
        let rendered = Rendered {
            objects: union.objects,
            source_type: lead
                .map(|r| r.source_type)
                .unwrap_or(driftless_render::SourceType::Directory),
            // Paths of the leading source's repository (webhook matching).
            files_read: lead.map(|r| r.files_read.clone()).unwrap_or_default(),
            warnings: renders
                .iter()
                .flat_map(|(_, _, r)| r.warnings.clone())
                .collect(),
        };
        Found {
            revision: revision.unwrap_or_default(),
            rendered: Arc::new(rendered),
            revisions,
            source_types,
        }
    }

    /// Whether this reconcile fetches its repositories: when asked (a
    /// webhook, a refresh), when a fetch failed, when none was made for
    /// half the requeue interval, and when the spec changed, unless every
    /// Git repository was fetched after the spec was written (a thousand
    /// new Applications of one repository share the fetches made once
    /// they exist, instead of each waiting for its own).
    pub(super) fn should_fetch(&self, asked: bool) -> bool {
        let changed_spec = self.app.meta().generation != self.prev.observed_generation;
        let interval = self.ctx.config.requeue_interval / 2;
        let dirty = self.ctx.memory(&self.id, |m| m.dirty);
        let sources = || self.spec.source.iter().chain(&self.spec.sources);
        let written = spec_written(self.app.meta());
        let fresh_since_written = |s: &ApplicationSource| {
            s.chart().is_none() && written.is_some_and(|at| self.ctx.fetched_since(&s.repo_url, at))
        };
        asked
            || dirty
            || (changed_spec && !sources().all(fresh_since_written))
            || sources().any(|s| !self.ctx.fetched_within(&s.repo_url, interval))
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
                self.fetched(fetch, &repo, wanted, None);
                // Remembered per repository and chart: two chart sources
                // asking for the same range may resolve differently.
                let key = format!("{} {chart} {wanted}", source.repo_url);
                let asked = match self.chart_version_to_render(&key, fetch) {
                    remembered if remembered != key => remembered,
                    _ => wanted.to_string(),
                };
                let source = &crate::build_env::substituted(self.app, self.ctx, source, &asked);
                let (rendered, version) = self
                    .render_remote_chart(source, chart, &asked, &refs)
                    .await?;
                let resolved = (key, version.clone());
                self.ctx
                    .memory(&self.id, |m| m.chart_version = Some(resolved));
                let revisions = super::helm::revisions(&self.spec.sources, source, &version, &refs);
                (version, rendered, revisions)
            }
            None => {
                let resolved = engine::resolve(self.ctx, &self.owner(), &repo, wanted, fetch)
                    .await
                    .map_err(Error::from)?;
                let refs = self.resolve_refs(source, fetch).await?;
                let sha = resolved.sha;
                self.fetched(fetch, &repo, wanted, resolved.stale);
                self.report_stale(&repo, wanted, &sha);
                let source = &crate::build_env::substituted(self.app, self.ctx, source, &sha);
                // Render (cached by repository, commit, path and overrides).
                let rendered = self.render(source, &sha, hard, &refs).await?;
                let revisions = super::helm::revisions(&self.spec.sources, source, &sha, &refs);
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
            if renders_with_helm(source, tree.as_ref()) {
                return self.render_git_chart(source, sha, tree, refs).await;
            }
        }
        let rendered = self.render_cached(source, sha, bypass_cache).await?;
        self.report_render_warnings(source, sha, &rendered);
        Ok(rendered)
    }

    fn report_render_warnings(
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
            );
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

/// Renders of several sources (label, revision, render), then each
/// `spec.sources` entry's revision and source type.
type Renders = (
    Vec<(String, String, Arc<Rendered>)>,
    Vec<String>,
    Vec<String>,
);

/// What a webhook push must match to refresh an Application through its
/// Git `source` (not the leading one): a file below its path, or one its
/// render read elsewhere.
fn path_memory(source: &ApplicationSource, rendered: &Rendered) -> crate::context::RefSourceMemory {
    let mut files = rendered.files_read.clone();
    files.push(match source.path().trim_end_matches('/') {
        "" | "." => "/".to_string(),
        path => format!("{path}/"),
    });
    crate::context::RefSourceMemory {
        repo: source.repo_url.clone(),
        target_revision: source.revision().to_string(),
        files,
    }
}

/// Whether the Git `source`, whose commit is `tree`, is a Helm chart: it
/// sets `helm` options or its path holds `Chart.yaml` (never a plugin).
pub(crate) fn renders_with_helm(source: &ApplicationSource, tree: &dyn FileTree) -> bool {
    source.plugin.is_none()
        && (source.helm.is_some() || helm_render::is_chart_dir(tree, source.path()))
}

/// The revision to resolve `source` at when no sync names one: its
/// `targetRevision` (`HEAD` by default), or for a chart from a Helm
/// repository the version (range) it asks for.
pub(crate) fn wanted_revision(source: &ApplicationSource) -> &str {
    match source.chart() {
        Some(_) => helm_render::plan::wanted_version(source.target_revision.as_deref()),
        None => source.revision(),
    }
}

/// The `ref` sources of `sources` besides `main`, with their names, in
/// order: the trees a Helm source's `$name/...` value files read.
pub(crate) fn ref_sources<'s>(
    sources: &'s [ApplicationSource],
    main: &'s ApplicationSource,
) -> impl Iterator<Item = (&'s str, &'s ApplicationSource)> + 's {
    sources.iter().filter(move |s| *s != main).filter_map(|s| {
        let name = s.ref_.as_deref().filter(|r| !r.is_empty())?;
        Some((name, s))
    })
}

/// The inputs of a Helm render of `source` of `app` besides the chart: its
/// `helm` options, the release defaults (the Application's name, the
/// destination namespace), the resolved `refs`, and whether a hard refresh
/// asked to bypass the render cache.
pub(crate) fn helm_inputs(
    app: &Application,
    source: &ApplicationSource,
    refs: Vec<helm_render::RefTree>,
) -> helm_render::HelmInputs {
    helm_render::HelmInputs {
        helm: source.helm.clone(),
        app_name: app.name_any(),
        dest_namespace: app.spec.spec.destination.namespace.clone(),
        refs,
        refresh: super::refresh_of(app) == Some(super::Refresh::Hard),
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
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

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

    fn at(s: &str) -> Time {
        Time(s.parse().expect("a timestamp"))
    }

    fn entry(time: &str, subresource: Option<&str>) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            time: Some(at(time)),
            subresource: subresource.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_spec_is_written_by_its_latest_write_that_is_not_a_subresources() {
        let meta = ObjectMeta {
            generation: Some(3),
            creation_timestamp: Some(at("2026-12-05T10:00:00Z")),
            managed_fields: Some(vec![
                entry("2026-12-05T10:00:00Z", None),
                entry("2026-12-05T10:05:00Z", None),
                entry("2026-12-05T10:09:00Z", Some("status")),
            ]),
            ..Default::default()
        };
        let written = spec_written(&meta).expect("known");
        // Whole seconds: the write may have come up to a second later.
        assert_eq!(
            written,
            "2026-12-05T10:05:01Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn a_new_object_without_managed_fields_was_written_at_its_creation() {
        let new = ObjectMeta {
            generation: Some(1),
            creation_timestamp: Some(at("2026-12-05T10:00:00Z")),
            ..Default::default()
        };
        let written = spec_written(&new).expect("known");
        assert_eq!(
            written,
            "2026-12-05T10:00:01Z".parse::<Timestamp>().unwrap()
        );
        // A changed spec with no record of the change: unknown, so fetched.
        let changed = ObjectMeta {
            generation: Some(2),
            ..new
        };
        assert_eq!(spec_written(&changed), None);
    }
}
