//! A Kustomization's preview: planned as the controller plans it (its
//! stored spec examined for unknown fields and v1beta2 patches), its
//! GitRepository's artifact rendered with the source's ignore rules, then
//! `postBuild`, `commonMetadata` and Flux's owner labels, compared for its
//! sync target with pruning limited to its inventory.

use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::source::v1::GitRepository;
use driftless_render::Object;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject};

use super::{Origin, Preview, PreviewError, Previewer, render_dir, render_tree};
use crate::filtered_tree::FilteredTree;
use crate::kustomization::{inventory, plan, raw, source};

impl Previewer {
    /// Renders `ks` (from its GitRepository's artifact, or from a local
    /// directory) and compares it with the cluster.
    pub async fn kustomization(
        &self,
        ks: &Kustomization,
        origin: &Origin,
    ) -> Result<Preview, PreviewError> {
        let ns = ks.namespace().unwrap_or_default();
        let owner = format!("Kustomization {ns}/{}", ks.name_any());
        let plan = self.plan(&owner, ks).await?;
        let (revision, objects) = match origin {
            Origin::Local(dir) => {
                let objects =
                    render_dir(dir, &plan.render).map_err(|message| PreviewError::Render {
                        owner: owner.clone(),
                        path: dir.display().to_string(),
                        revision: "the working copy".into(),
                        message,
                    })?;
                (dir.display().to_string(), objects)
            }
            Origin::Git => self.render_artifact(&owner, &plan).await?,
        };
        let mut objects = crate::flux_build::after_render(&self.client, &ns, &ks.spec, objects)
            .await
            .map_err(|e| PreviewError::Render {
                owner: owner.clone(),
                path: plan.path.clone(),
                revision: revision.clone(),
                message: e.to_string(),
            })?;
        for obj in &mut objects {
            crate::kustomization::label(obj, &plan.labels);
        }
        let prev_inventory = ks.status.as_ref().and_then(|s| s.inventory.as_ref());
        let target = plan.target(inventory::previous(prev_inventory));
        let mut comparison = self.compare(&owner, &target, objects).await?;
        inventory::restrict_pruning(&mut comparison, prev_inventory);
        Ok(Preview {
            revision,
            sources: Vec::new(),
            comparison,
        })
    }

    /// The plan, with the render options of the stored spec (which keeps
    /// what the typed one drops); unknown fields are refused as the
    /// controller refuses them.
    async fn plan(&self, owner: &str, ks: &Kustomization) -> Result<plan::Plan, PreviewError> {
        let spec_error = |message: String| PreviewError::Spec {
            owner: owner.to_string(),
            message,
        };
        let mut plan = plan::plan(ks).map_err(|e| spec_error(e.to_string()))?;
        let resource = ApiResource::erase::<Kustomization>(&());
        let ns = ks.namespace().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &ns, &resource);
        let stored = api
            .get(&ks.name_any())
            .await
            .map_err(|e| spec_error(format!("reading its stored spec: {e}")))?;
        let raw = raw::examine(stored.data.get("spec").unwrap_or(&serde_json::Value::Null))
            .map_err(spec_error)?;
        if !raw.unknown.is_empty() {
            return Err(spec_error(
                plan::PlanError::Unknown(raw.unknown.join(", ")).to_string(),
            ));
        }
        plan.render = raw.render;
        Ok(plan)
    }

    /// The GitRepository's artifact, fetched into this cache with the
    /// repository's own credentials when the commit is not there yet.
    async fn render_artifact(
        &self,
        owner: &str,
        plan: &plan::Plan,
    ) -> Result<(String, Vec<Object>), PreviewError> {
        let source_error = |message: String| PreviewError::Source {
            owner: owner.to_string(),
            message,
        };
        if plan.source.kind != "GitRepository" {
            return Err(source_error(format!(
                "its source is a {}; only GitRepository sources can be previewed",
                plan.source.kind
            )));
        }
        let api: Api<GitRepository> = Api::namespaced(self.client.clone(), &plan.source.namespace);
        let gitrepo = match api.get_opt(&plan.source.name).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(source_error(
                    source::SourceError::NotFound(plan.source.clone()).to_string(),
                ));
            }
            Err(e) => return Err(source_error(format!("Source '{}': {e}", plan.source))),
        };
        let artifact =
            source::artifact_of(&plan.source, &gitrepo).map_err(|e| source_error(e.to_string()))?;
        let url = &artifact.url;
        if self.cache.lookup(url, &artifact.sha).await.is_err() {
            let access = crate::gitrepository::credentials(&self.client, &gitrepo)
                .await
                .map_err(|e| source_error(format!("Source '{}': {e}", plan.source)))?;
            self.cache.fetch_with(url, &access).await.map_err(|e| {
                source_error(format!("fetching {}: {e}", driftless_source::redact(url)))
            })?;
        }
        let tree = self
            .cache
            .tree(url, &artifact.sha)
            .map_err(|e| source_error(format!("reading commit {}: {e}", artifact.sha)))?;
        let filtered = FilteredTree::new(tree, artifact.ignore.as_deref())
            .map_err(|e| source_error(format!("Source '{}': {e}", plan.source)))?;
        let objects = render_tree(filtered, plan.path.clone(), plan.render.clone())
            .await
            .map_err(|message| PreviewError::Render {
                owner: owner.to_string(),
                path: plan.path.clone(),
                revision: artifact.revision.clone(),
                message,
            })?;
        Ok((artifact.sha, objects))
    }
}
