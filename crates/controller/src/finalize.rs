//! Deleting an Application: with the finalizer
//! `resources-finalizer.argocd.argoproj.io` (foreground) or its
//! `/background` form, every object tracked to it (except `Delete=false`
//! ones) is deleted before the finalizer is removed; without it, the
//! resources stay.

use std::time::Duration;

use driftless_api::{Application, RESOURCES_FINALIZER, SyncOperationResource};
use driftless_sync::{PropagationPolicy, ResourceState, Target, parse_sync_options};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::{self, reason};
use crate::reconcile::{app_id, tracking_name};

/// Our finalizers on `app`: (the name, background?).
pub fn our_finalizer(app: &Application) -> Option<(String, bool)> {
    app.finalizers().iter().find_map(|f| {
        if f == RESOURCES_FINALIZER {
            Some((f.clone(), false))
        } else if f.strip_prefix(RESOURCES_FINALIZER) == Some("/background") {
            Some((f.clone(), true))
        } else {
            None
        }
    })
}

/// Handles an Application being deleted.
pub async fn finalize(app: &Application, ctx: &Context) -> Result<Action> {
    let id = app_id(app);
    let label = format!("{}/{}", id.0, id.1);
    let Some((finalizer, background)) = our_finalizer(app) else {
        ctx.forget(&id);
        return Ok(Action::await_change());
    };
    let spec = &app.spec.spec;
    let (options, _) = parse_sync_options(
        &spec
            .sync_policy
            .as_ref()
            .map(|p| p.sync_options.clone())
            .unwrap_or_default(),
    );
    let mut target = Target {
        app: tracking_name(app, &ctx.config.control_plane_namespace),
        namespace: spec.destination.namespace.clone().filter(|n| !n.is_empty()),
        options,
        prune: true,
        allow_empty: true,
        previous: app.status.clone().unwrap_or_default().resources,
        ..Default::default()
    };
    target.options.prune_propagation_policy = Some(if background {
        PropagationPolicy::Background
    } else {
        PropagationPolicy::Foreground
    });
    let delete_error = |message: String| Error::Delete {
        app: label.clone(),
        message,
    };
    // Everything tracked to the app, as seen with nothing rendered.
    let cmp = ctx
        .engine
        .diff(&target, Vec::new())
        .await
        .map_err(|e| delete_error(e.to_string()))?;
    let deletable: Vec<SyncOperationResource> = cmp
        .resources
        .iter()
        .filter(|r| r.state == ResourceState::RequiresPruning && r.options.allows_delete())
        .map(|r| SyncOperationResource {
            group: r.key.group.clone(),
            kind: r.key.kind.clone(),
            name: r.key.name.clone(),
            namespace: (!r.key.namespace.is_empty()).then(|| r.key.namespace.clone()),
        })
        .collect();
    if !deletable.is_empty() {
        let pending = cmp
            .resources
            .iter()
            .filter(|r| {
                r.live
                    .as_ref()
                    .is_some_and(|l| l.pointer("/metadata/deletionTimestamp").is_none())
            })
            .count();
        if pending > 0 {
            events::publish(
                ctx,
                app,
                false,
                reason::DELETING,
                format!(
                    "deleting {} resources of application {label}",
                    deletable.len()
                ),
            )
            .await;
        }
        target.resources = Some(deletable.clone());
        let result = ctx
            .engine
            .sync(&target, cmp)
            .await
            .map_err(|e| delete_error(e.to_string()))?;
        tracing::info!(deleted = deletable.len(), message = %result.message, "deleting resources");
        // Objects deleted in the foreground stay until their dependents go.
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    // Nothing left: let the Application go.
    let remaining: Vec<String> = app
        .finalizers()
        .iter()
        .filter(|f| **f != finalizer)
        .cloned()
        .collect();
    let api: Api<Application> = Api::namespaced(ctx.client.clone(), &id.0);
    let body = json!({
        "metadata": {
            "finalizers": remaining,
            "resourceVersion": app.meta().resource_version,
        }
    });
    api.patch(&id.1, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map_err(|e| Error::kube(&label, format!("remove finalizer {finalizer}"), e))?;
    ctx.forget(&id);
    Ok(Action::await_change())
}
