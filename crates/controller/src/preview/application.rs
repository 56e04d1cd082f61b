//! An Application's preview: its (first) source rendered with its
//! overrides, compared for the sync target the controller builds.

use driftless_api::{Application, ApplicationSource};
use driftless_render::{Object, RenderOptions};
use driftless_sync::{Target, parse_sync_options};
use kube::ResourceExt;

use super::{Origin, Preview, PreviewError, Previewer, render_dir, render_tree};

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
        let spec_error = |message: String| PreviewError::Spec {
            owner: owner.clone(),
            message,
        };
        let source = app
            .spec
            .spec
            .source
            .clone()
            .or_else(|| app.spec.spec.sources.first().cloned())
            .ok_or_else(|| spec_error("it has no source".into()))?;
        let options = crate::overrides::render_options(&source).map_err(spec_error)?;
        let (revision, objects) = match origin {
            Origin::Local(dir) => {
                let objects =
                    render_dir(dir, &options).map_err(|message| PreviewError::Render {
                        owner: owner.clone(),
                        path: dir.display().to_string(),
                        revision: "the working copy".into(),
                        message,
                    })?;
                (dir.display().to_string(), objects)
            }
            Origin::Git => self.render_git(&owner, &source, options).await?,
        };
        let target = self.target_of(app);
        let comparison = self.compare(&owner, &target, objects).await?;
        Ok(Preview {
            revision,
            comparison,
        })
    }

    async fn render_git(
        &self,
        owner: &str,
        source: &ApplicationSource,
        options: RenderOptions,
    ) -> Result<(String, Vec<Object>), PreviewError> {
        let repo = &source.repo_url;
        let revision = source.revision();
        let source_error = |message: String| PreviewError::Source {
            owner: owner.to_string(),
            message,
        };
        let resolved = self
            .cache
            .resolve(repo, revision, true)
            .await
            .map_err(|e| {
                source_error(format!(
                    "resolving {revision} of {}: {e}",
                    driftless_source::redact(repo)
                ))
            })?;
        let tree = self
            .cache
            .tree(repo, &resolved.sha)
            .map_err(|e| source_error(format!("reading commit {}: {e}", resolved.sha)))?;
        let path = source.path().to_string();
        let objects = render_tree(tree, path.clone(), options)
            .await
            .map_err(|message| PreviewError::Render {
                owner: owner.to_string(),
                path,
                revision: resolved.sha.clone(),
                message,
            })?;
        Ok((resolved.sha, objects))
    }

    /// The sync engine's target for `app`, as the controller builds it.
    fn target_of(&self, app: &Application) -> Target {
        let spec = &app.spec.spec;
        let policy = spec.sync_policy.clone().unwrap_or_default();
        let (options, _unknown) = parse_sync_options(&policy.sync_options);
        let own_namespace = app.namespace().unwrap_or_default();
        let control = self.control_namespace.as_deref().unwrap_or(&own_namespace);
        Target {
            app: crate::reconcile::tracking_name(app, control),
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
