//! Resolve and render: when to fetch, the render cache, and the child
//! Applications a render holds (App of Apps, cycles).

use std::collections::BTreeSet;
use std::sync::Arc;

use driftless_api::{ApplicationSource, condition};
use driftless_render::Object;
use kube::Resource;

use crate::cycle::{self, AppId};
use crate::error::{Error, Result};
use crate::overrides;
use crate::render_cache::RenderKey;

use super::{Failure, Reconciler};

impl<'a> Reconciler<'a> {
    pub(super) fn should_fetch(&self, asked: bool) -> bool {
        let changed_spec = self.app.meta().generation != self.prev.observed_generation;
        let interval = self.ctx.config.requeue_interval / 2;
        self.ctx.memory(&self.id, |m| {
            asked || changed_spec || m.dirty || m.last_fetch.is_none_or(|t| t.elapsed() >= interval)
        })
    }

    pub(super) async fn render(
        &self,
        source: &ApplicationSource,
        sha: &str,
        bypass_cache: bool,
    ) -> Result<Arc<driftless_render::Rendered>, Failure> {
        let key = RenderKey {
            repo: source.repo_url.clone(),
            commit: sha.to_string(),
            path: source.path().to_string(),
            overrides: overrides::fingerprint(source),
        };
        if !bypass_cache && let Some(hit) = self.ctx.render_cache.get(&key) {
            return Ok(hit);
        }
        let render_error = |message: String| Error::Render {
            app: self.label.clone(),
            repo: source.repo_url.clone(),
            revision: sha.to_string(),
            path: source.path().to_string(),
            message,
        };
        let mut options = overrides::render_options(source).map_err(|m| Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {m}", self.label),
        })?;
        options
            .external_kustomize
            .clone_from(&self.ctx.config.kustomize_command);
        let rendered = self
            .ctx
            .source
            .render(&source.repo_url, sha, source.path(), &options)
            .await
            .map_err(|e| render_error(e.0))?;
        let rendered = Arc::new(rendered);
        self.ctx.render_cache.insert(key, rendered.clone());
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
