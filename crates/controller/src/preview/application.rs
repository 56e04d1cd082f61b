//! An Application's preview: its rendering source (picked as the reconcile
//! picks it) rendered with its overrides (a Git path, or a Helm chart from
//! Git, a Helm repository or an OCI registry, with its `$ref` sources),
//! compared for the sync target the controller builds.

use std::path::Path;
use std::sync::Arc;

use driftless_api::{Application, ApplicationSource};
use driftless_render::Object;
use driftless_sync::{Target, parse_sync_options};
use kube::ResourceExt;

use super::{
    Origin, Preview, PreviewError, Previewer, SourceRevision, helm, render_dir, render_tree,
};
use crate::helm_render::ChartInput;

impl Previewer {
    /// Renders `app` (from Git at its target revision, or from a local
    /// directory) and compares it with the cluster.
    pub async fn application(
        &self,
        app: &Application,
        origin: &Origin,
    ) -> Result<Preview, PreviewError> {
        let owner = format!(
            "Application {}/{}",
            app.namespace().unwrap_or_default(),
            app.name_any()
        );
        let sources = crate::reconcile::rendering_sources(&app.spec.spec).map_err(|message| {
            PreviewError::Spec {
                owner: owner.clone(),
                message,
            }
        })?;
        let mut renders = Vec::new();
        for (i, source) in sources.into_iter().enumerate() {
            let rendered = match (origin, i, source.chart()) {
                (Origin::Local(dir), 0, _) => self.render_local(&owner, app, source, dir).await?,
                (_, _, Some(chart)) => self.render_remote(&owner, app, source, chart).await?,
                _ => self.render_git(&owner, app, source).await?,
            };
            renders.push((source, rendered));
        }
        let (sources, objects) = union(app, renders);
        let target = self.target_of(app);
        let comparison = self.compare(&owner, &target, objects).await?;
        let revisions: Vec<&str> = sources.iter().map(|s| s.revision.as_str()).collect();
        Ok(Preview {
            revision: revisions.join(","),
            sources: if sources.len() > 1 {
                sources
            } else {
                Vec::new()
            },
            comparison,
        })
    }

    /// A working copy: a chart directory (or a source with `helm`
    /// options) through helm, anything else as the directory renderer.
    async fn render_local(
        &self,
        owner: &str,
        app: &Application,
        source: &ApplicationSource,
        dir: &Path,
    ) -> Result<(String, Vec<Object>), PreviewError> {
        let label = dir.display().to_string();
        let failed = |message: String| PreviewError::Render {
            owner: owner.to_string(),
            path: label.clone(),
            revision: "the working copy".into(),
            message,
        };
        let source = &self.with_build_env(app, source, &label);
        if let Some(input) = helm::local_chart(source, dir).map_err(failed)? {
            let refs = self.ref_trees(owner, app, source).await?;
            let (_, objects) = self
                .render_chart(owner, app, source, input, refs)
                .await
                .map_err(failed)?;
            return Ok((label, objects));
        }
        let options = spec_options(owner, source)?;
        let objects = render_dir(dir, &options).map_err(failed)?;
        Ok((label, objects))
    }

    /// A chart from a Helm repository or OCI registry at the version (or
    /// range) it asks for; the revision is the version rendered.
    async fn render_remote(
        &self,
        owner: &str,
        app: &Application,
        source: &ApplicationSource,
        chart: &str,
    ) -> Result<(String, Vec<Object>), PreviewError> {
        let version = crate::reconcile::wanted_revision(source).to_string();
        let source = &self.with_build_env(app, source, &version);
        let refs = self.ref_trees(owner, app, source).await?;
        let input = ChartInput::Remote {
            source: Box::new(source.clone()),
            chart: chart.to_string(),
            version: version.clone(),
        };
        self.render_chart(owner, app, source, input, refs)
            .await
            .map_err(|message| PreviewError::Chart {
                owner: owner.to_string(),
                chart: chart.to_string(),
                version,
                repository: driftless_source::redact(&source.repo_url),
                message,
            })
    }

    /// A Git path at its target revision: a chart directory through helm,
    /// anything else (Kustomize, plain YAML) through the native renderer.
    async fn render_git(
        &self,
        owner: &str,
        app: &Application,
        source: &ApplicationSource,
    ) -> Result<(String, Vec<Object>), PreviewError> {
        let (sha, tree) = self.git_tree(owner, source).await?;
        let source = &self.with_build_env(app, source, &sha);
        let path = source.path().to_string();
        let failed = |message: String| PreviewError::Render {
            owner: owner.to_string(),
            path: path.clone(),
            revision: sha.clone(),
            message,
        };
        if crate::reconcile::renders_with_helm(source, &tree) {
            let refs = self.ref_trees(owner, app, source).await?;
            let input = ChartInput::Git {
                repo: source.repo_url.clone(),
                revision: sha.clone(),
                path: path.clone(),
                tree: Arc::new(tree),
            };
            let (_, objects) = self
                .render_chart(owner, app, source, input, refs)
                .await
                .map_err(failed)?;
            return Ok((sha, objects));
        }
        let options = spec_options(owner, source)?;
        let objects = render_tree(tree, path.clone(), options)
            .await
            .map_err(failed)?;
        Ok((sha, objects))
    }

    /// The controller's control-plane namespace for `app` (its own when
    /// none was given: every Application tracked by its bare name).
    fn control_of(&self, app: &Application) -> String {
        self.control_namespace
            .clone()
            .unwrap_or_else(|| app.namespace().unwrap_or_default())
    }

    /// `source` with Argo CD's build environment of rendering it at
    /// `revision` substituted, as the reconcile renders it.
    fn with_build_env(
        &self,
        app: &Application,
        source: &ApplicationSource,
        revision: &str,
    ) -> ApplicationSource {
        crate::build_env::substituted_in(app, &self.control_of(app), source, revision)
    }

    /// The sync engine's target for `app`, as the controller builds it.
    fn target_of(&self, app: &Application) -> Target {
        let spec = &app.spec.spec;
        let policy = spec.sync_policy.clone().unwrap_or_default();
        let (options, _unknown) = parse_sync_options(&policy.sync_options);
        Target {
            app: crate::reconcile::tracking_name(app, &self.control_of(app)),
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
}

/// Each source with the revision it was rendered at, and the union of the
/// sources' objects, as the reconcile builds it.
fn union(
    app: &Application,
    mut renders: Vec<(&ApplicationSource, (String, Vec<Object>))>,
) -> (Vec<SourceRevision>, Vec<Object>) {
    use crate::reconcile::multi_source;
    if let [(_, (revision, objects))] = renders.as_mut_slice() {
        let only = SourceRevision {
            source: "spec.source".into(),
            revision: std::mem::take(revision),
        };
        return (vec![only], std::mem::take(objects));
    }
    let all = &app.spec.spec.sources;
    let labels: Vec<String> = renders
        .iter()
        .map(|(source, _)| {
            let index = all.iter().position(|s| s == *source).unwrap_or_default();
            multi_source::label(index, source)
        })
        .collect();
    let parts: Vec<multi_source::Part<'_>> = renders
        .iter()
        .zip(&labels)
        .map(|((_, (_, objects)), label)| multi_source::Part {
            label: label.clone(),
            objects,
        })
        .collect();
    let dest = app.spec.spec.destination.namespace.as_deref();
    let objects = multi_source::union(&parts, dest).objects;
    let sources = renders
        .iter()
        .zip(labels)
        .map(|((_, (revision, _)), source)| SourceRevision {
            source,
            revision: revision.clone(),
        })
        .collect();
    (sources, objects)
}

/// The native renderer's options for `source` (its overrides).
fn spec_options(
    owner: &str,
    source: &ApplicationSource,
) -> Result<driftless_render::RenderOptions, PreviewError> {
    crate::overrides::render_options(source).map_err(|message| PreviewError::Spec {
        owner: owner.to_string(),
        message,
    })
}
