//! PreDelete and PostDelete hooks: the finalizer runs them around the
//! cascade delete of an Application's resources. They are read from the
//! revision the Application last synced (rendered as a sync renders it,
//! and checked against its project), and run through the sync engine.

use driftless_api::Application;
use driftless_sync::hooks::HookType;
use driftless_sync::{Hook, Target};

use super::{Failure, Reconciler};
use crate::context::Context;

/// The PreDelete and PostDelete hooks of `app` at the revision it last
/// synced (its target revision when it never synced). An error names what
/// could not be read.
pub(crate) async fn deletion_hooks(app: &Application, ctx: &Context) -> Result<Vec<Hook>, String> {
    let mut r = Reconciler::new(app, &app.spec.spec, ctx);
    r.read_deletion_hooks().await.map_err(|f| f.message)
}

impl Reconciler<'_> {
    async fn read_deletion_hooks(&mut self) -> Result<Vec<Hook>, Failure> {
        let (project_name, project) = self.project().await?;
        let sources = self.validate(&project_name, &project)?;
        // The last synced revision (a commit or a chart version) of a
        // single source; several sources at their target revisions.
        let last = self
            .prev
            .sync
            .as_ref()
            .and_then(|s| s.revision.clone())
            .filter(|r| !r.is_empty() && !r.contains(',') && sources.len() == 1);
        let wanted: Vec<String> = sources
            .iter()
            .map(|s| last.clone().unwrap_or_else(|| s.revision().to_string()))
            .collect();
        let found = self
            .resolve_and_render_all(&sources, &wanted, false, false)
            .await?;
        let (revision, rendered) = (found.revision, found.rendered);
        let target = self.target(None);
        let cmp = self.diff(&target, &rendered.objects, &revision).await?;
        self.check_project(&project_name, &project, &cmp)?;
        Ok(cmp
            .hooks
            .into_iter()
            .filter(|h| h.spec.is(HookType::PreDelete) || h.spec.is(HookType::PostDelete))
            .collect())
    }
}

/// Runs the `hook_type` hooks of `hooks` for `target`; an error is the
/// message of the first that failed.
pub(crate) async fn run(
    ctx: &Context,
    target: &Target,
    hooks: &[Hook],
    hook_type: HookType,
) -> Result<(), String> {
    if !hooks.iter().any(|h| h.spec.is(hook_type)) {
        return Ok(());
    }
    let mut target = target.clone();
    target.hooks = true;
    let result = ctx.engine.0.run_hooks(&target, hooks, hook_type).await;
    if result.succeeded {
        tracing::info!(message = %result.message, "deletion hooks ran");
        Ok(())
    } else {
        Err(result.message)
    }
}
