//! What a comparison shows about boundaries: objects the project does not
//! allow where the sync would write them (refusing the whole sync), and
//! objects tracked by another Application (left to it, reported on both).

use driftless_api::{AppProjectSpec, Application, condition};
use kube::api::Api;

use crate::events::{self, reason};
use crate::project;

use super::{Failure, Reconciler};

impl Reconciler<'_> {
    /// Refuses the sync when any object, in the namespace the sync engine
    /// would write it to, is outside the project's destinations or kinds.
    /// Runs on the comparison (nothing is written before it), so it sees the
    /// namespaces and scopes the engine resolved through discovery.
    pub(super) fn check_project(
        &self,
        project_name: &str,
        project: &AppProjectSpec,
        cmp: &driftless_sync::Comparison,
    ) -> Result<(), Failure> {
        let forbidden = project::forbidden_resources(
            project,
            project_name,
            &self.app.spec.spec.destination,
            cmp.resources
                .iter()
                .map(|r| &r.key)
                .chain(cmp.hooks.iter().map(|h| &h.key)),
        );
        if forbidden.is_empty() {
            return Ok(());
        }
        Err(Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!(
                "application {}: nothing was applied: {}",
                self.label,
                forbidden.join("; ")
            ),
        })
    }

    /// Publishes a SharedResourceWarning Event on this Application and on
    /// each other owner, when a shared object is newly reported (not on
    /// every reconcile).
    pub(super) async fn report_shared(&self, cmp: &driftless_sync::Comparison) {
        let known = |message: &str| {
            self.prev.conditions.iter().any(|c| {
                c.type_ == condition::SHARED_RESOURCE_WARNING && c.message.contains(message)
            })
        };
        for r in &cmp.resources {
            let Some(owner) = r.shared_with.as_deref() else {
                continue;
            };
            let Some(warning) = cmp.warnings.iter().find(|w| {
                w.condition == condition::SHARED_RESOURCE_WARNING
                    && w.message.starts_with(&r.key.to_string())
            }) else {
                continue;
            };
            if known(&warning.message) {
                continue;
            }
            let note = format!("application {}: {}", self.label, warning.message);
            events::publish(self.ctx, self.app, true, reason::SHARED_RESOURCE, note);
            if let Some(other) = self.owner_app(owner).await {
                let note = format!(
                    "{} is also rendered by Application {}; it stays with this one",
                    r.key, self.label
                );
                events::publish(self.ctx, &other, true, reason::SHARED_RESOURCE, note);
            }
        }
    }

    /// The Application writing `tracking_name` into tracking ids: known to
    /// this controller, else `<namespace>_<name>` or a bare name in the
    /// control-plane namespace (as Argo CD writes them).
    async fn owner_app(&self, tracking_name: &str) -> Option<Application> {
        let (ns, name) = self
            .ctx
            .app_by_tracking_name(tracking_name)
            .unwrap_or_else(|| match tracking_name.split_once('_') {
                Some((ns, name)) => (ns.to_string(), name.to_string()),
                None => (
                    self.ctx.config.control_plane_namespace.clone(),
                    tracking_name.to_string(),
                ),
            });
        let api: Api<Application> = Api::namespaced(self.ctx.client.clone(), &ns);
        api.get_opt(&name).await.ok().flatten()
    }
}
