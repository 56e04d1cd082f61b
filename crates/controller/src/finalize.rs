//! Deleting an Application: with the finalizer
//! `resources-finalizer.argocd.argoproj.io` (foreground) or its
//! `/background` form, every object tracked to it (except `Delete=false`
//! ones; `Prune=false` only matters to syncs) is deleted through the sync
//! engine's delete path before the finalizer is removed; without it, the
//! resources stay. The Application's PreDelete hooks run (and must succeed)
//! before anything is deleted, its PostDelete hooks once everything is gone.
//!
//! A deletion that does not progress backs off (1 s, doubling, at most
//! [`MAX_DELAY`]); what blocks it (an object that keeps a finalizer, a
//! refused delete) is reported in a `DeletionError` condition, and an Event
//! is published only when that report changes.

use std::time::Duration;

use driftless_api::{Application, ApplicationCondition, RESOURCES_FINALIZER};
use driftless_sync::hooks::HookType;
use driftless_sync::{Deletion, Hook, PropagationPolicy, Target, parse_sync_options};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::context::Context;
use crate::cycle::AppId;
use crate::error::{Error, Result};
use crate::events;
use crate::reconcile::{app_id, delete_hooks, tracking_name};
use crate::watched::NextReconcile;

/// The condition naming what keeps an Application's deletion from
/// finishing (Argo CD's name for it).
pub(crate) const DELETION_ERROR: &str = "DeletionError";
/// The longest wait between two passes of a deletion that does not progress.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(120);
/// Passes without progress before objects still being deleted (and not
/// refused) are reported as blocking: foreground deletion and ordinary
/// finalizers take a few seconds.
const STALLED_PASSES: u32 = 3;
/// The most objects named in the condition and Events.
const NAMED: usize = 5;

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

/// Handles an Application being deleted: one pass of deleting its
/// resources, then the finalizer's removal once nothing is left.
pub async fn finalize(app: &Application, ctx: &Context) -> Result<NextReconcile> {
    let id = app_id(app);
    let label = format!("{}/{}", id.0, id.1);
    let Some((finalizer, background)) = our_finalizer(app) else {
        ctx.forget(&id);
        return Ok(NextReconcile::OnChange);
    };
    let target = deletion_target(app, ctx, background);
    ctx.set_tracking_name(&target.app, &id);
    let hooks = deletion_hooks(app, ctx, &id).await;
    if !ctx.memory(&id, |m| m.pre_delete_done) {
        if let Err(m) = delete_hooks::run(ctx, &target, &hooks, HookType::PreDelete).await {
            let stalled = record_pass(ctx, &id, None);
            report(
                app,
                ctx,
                &label,
                &[format!("its PreDelete hooks failed: {m}")],
            )
            .await?;
            return Ok(NextReconcile::After(deletion_delay(stalled)));
        }
        ctx.memory(&id, |m| m.pre_delete_done = true);
    }
    let owner = crate::engine::Owner::new("application", &id.0, &id.1);
    let deletion = match crate::engine::delete(&ctx.engine, &owner, &target).await {
        Ok(d) => d,
        Err(e) => {
            let failed = vec![format!("cannot find its resources: {}", e.message)];
            let stalled = record_pass(ctx, &id, None);
            report(app, ctx, &label, &failed).await?;
            return Ok(NextReconcile::After(deletion_delay(stalled)));
        }
    };
    if deletion.finished() {
        if let Err(m) = delete_hooks::run(ctx, &target, &hooks, HookType::PostDelete).await {
            let stalled = record_pass(ctx, &id, None);
            report(
                app,
                ctx,
                &label,
                &[format!("its PostDelete hooks failed: {m}")],
            )
            .await?;
            return Ok(NextReconcile::After(deletion_delay(stalled)));
        }
        tracing::info!(
            kept = deletion.kept.len(),
            "resources deleted; removing the finalizer"
        );
        remove_finalizer(app, ctx, &label, &finalizer).await?;
        ctx.forget(&id);
        return Ok(NextReconcile::OnChange);
    }
    if !deletion.deleted.is_empty() {
        let names: Vec<String> = deletion.deleted.iter().map(ToString::to_string).collect();
        let note = format!(
            "deleting {} resources of application {label}: {}",
            names.len(),
            named(&names)
        );
        events::publish(ctx, app, false, events::reason::DELETING, note);
    }
    let stalled = record_pass(ctx, &id, Some(&deletion));
    report(app, ctx, &label, &blockers(&deletion, stalled)).await?;
    Ok(NextReconcile::After(deletion_delay(stalled)))
}

/// The PreDelete/PostDelete hooks of `app`, read once per deletion. When
/// they cannot be read (the repository is gone, the path no longer
/// renders), the deletion goes on without them and says so in an Event.
async fn deletion_hooks(app: &Application, ctx: &Context, id: &AppId) -> Vec<Hook> {
    if let Some(hooks) = ctx.memory(id, |m| m.deletion_hooks.clone()) {
        return hooks;
    }
    let hooks = match delete_hooks::deletion_hooks(app, ctx).await {
        Ok(hooks) => hooks,
        Err(message) => {
            let note =
                format!("its PreDelete/PostDelete hooks cannot be read, so none run: {message}");
            tracing::warn!(%note, "deleting without hooks");
            events::publish(ctx, app, true, DELETION_ERROR, note);
            Vec::new()
        }
    };
    ctx.memory(id, |m| m.deletion_hooks = Some(hooks.clone()));
    hooks
}

/// What deleting `app` searches and deletes with: its tracking name, its
/// sync options, the finalizer's propagation policy, and its last
/// `status.resources` (so kinds no longer rendered are searched too).
fn deletion_target(app: &Application, ctx: &Context, background: bool) -> Target {
    let spec = &app.spec.spec;
    let options = spec
        .sync_policy
        .as_ref()
        .map(|p| p.sync_options.clone())
        .unwrap_or_default();
    let mut target = Target {
        app: tracking_name(app, &ctx.config.control_plane_namespace),
        namespace: spec.destination.namespace.clone().filter(|n| !n.is_empty()),
        options: parse_sync_options(&options).0,
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
    target
}

/// What blocks the deletion now: refused deletes at once, objects still
/// being deleted once the deletion stalled for [`STALLED_PASSES`] passes.
fn blockers(deletion: &Deletion, stalled: u32) -> Vec<String> {
    if stalled >= STALLED_PASSES || !deletion.failed.is_empty() {
        deletion.blockers()
    } else {
        Vec::new()
    }
}

/// Records one pass (`None`: it failed before deleting anything) and
/// returns how many passes in a row made no progress (deleted nothing, and
/// nothing went away).
fn record_pass(ctx: &Context, id: &AppId, deletion: Option<&Deletion>) -> u32 {
    let left = deletion.map(|d| d.deleted.len() + d.waiting.len() + d.failed.len());
    let deleted = deletion.is_some_and(|d| !d.deleted.is_empty());
    ctx.memory(id, |m| {
        let progress = deleted || matches!((left, m.deletion_left), (Some(l), Some(p)) if l < p);
        m.deletion_stalled = if progress {
            0
        } else {
            m.deletion_stalled.saturating_add(1)
        };
        m.deletion_left = left;
        m.deletion_stalled
    })
}

/// The delay before the next pass after `stalled` passes in a row without
/// progress: 1 s while objects are deleted or go away, then doubling up to
/// [`MAX_DELAY`].
pub(crate) fn deletion_delay(stalled: u32) -> Duration {
    Duration::from_secs(1u64 << stalled.min(16)).min(MAX_DELAY)
}

/// The first [`NAMED`] of `names`, and how many more there are.
fn named(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if names.len() > NAMED {
        text.push_str(&format!("; and {} more", names.len() - NAMED));
    }
    text
}

/// The `DeletionError` message for `blockers` (`None` when nothing blocks).
pub(crate) fn deletion_message(label: &str, blockers: &[String]) -> Option<String> {
    (!blockers.is_empty()).then(|| {
        format!(
            "application {label}: deleting its resources is blocked: {}",
            named(blockers)
        )
    })
}

/// Sets (or clears) the `DeletionError` condition; writes and publishes an
/// Event only when its message changed since the last report.
async fn report(app: &Application, ctx: &Context, label: &str, blockers: &[String]) -> Result<()> {
    let id = app_id(app);
    let message = deletion_message(label, blockers);
    let status = app.status.clone().unwrap_or_default();
    let shown = status
        .conditions
        .iter()
        .find(|c| c.type_ == DELETION_ERROR)
        .map(|c| c.message.clone());
    let last = ctx
        .memory(&id, |m| m.deletion_report.clone())
        .unwrap_or(shown);
    if last == message {
        return Ok(());
    }
    let mut conditions: Vec<ApplicationCondition> = status
        .conditions
        .into_iter()
        .filter(|c| c.type_ != DELETION_ERROR)
        .collect();
    if let Some(m) = &message {
        tracing::warn!(message = %m, "deletion blocked");
        conditions.push(ApplicationCondition {
            type_: DELETION_ERROR.to_string(),
            message: m.clone(),
            last_transition_time: Some(Time(Timestamp::now())),
        });
        events::publish(ctx, app, true, DELETION_ERROR, m.clone());
    }
    let api: Api<Application> = Api::namespaced(ctx.client.clone(), &id.0);
    let body = json!({ "status": { "conditions": conditions } });
    api.patch_status(&id.1, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .map_err(|e| Error::kube(label, "write the DeletionError condition", e))?;
    ctx.metrics.app_writes.inc();
    ctx.memory(&id, |m| m.deletion_report = Some(message));
    Ok(())
}

/// Removes `finalizer`, letting the Application go.
async fn remove_finalizer(
    app: &Application,
    ctx: &Context,
    label: &str,
    finalizer: &str,
) -> Result<()> {
    let id = app_id(app);
    let api: Api<Application> = Api::namespaced(ctx.client.clone(), &id.0);
    crate::finalizers::set(&api, app, finalizer, false)
        .await
        .map_err(|e| Error::kube(label, format!("remove finalizer {finalizer}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_render::ObjectKey;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "dev".into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_stalled_deletion_backs_off_up_to_two_minutes() {
        let secs: Vec<u64> = (0..10).map(|n| deletion_delay(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
        assert_eq!(deletion_delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn refusals_block_at_once_objects_being_deleted_once_stalled() {
        let waiting = Deletion {
            waiting: vec![(key("slow"), "being deleted".into())],
            ..Deletion::default()
        };
        assert!(blockers(&waiting, 0).is_empty(), "a first wait is normal");
        assert_eq!(
            blockers(&waiting, STALLED_PASSES),
            ["ConfigMap dev/slow: being deleted"]
        );
        let refused = Deletion {
            failed: vec![(key("locked"), "delete failed: forbidden".into())],
            ..Deletion::default()
        };
        assert_eq!(
            blockers(&refused, 0),
            ["ConfigMap dev/locked: delete failed: forbidden"]
        );
    }

    #[test]
    fn the_message_names_the_first_objects_and_counts_the_rest() {
        assert_eq!(deletion_message("argocd/web", &[]), None);
        let many: Vec<String> = (0..7).map(|i| format!("ConfigMap dev/c{i}: x")).collect();
        let m = deletion_message("argocd/web", &many).expect("blocked");
        assert!(m.starts_with("application argocd/web: deleting its resources is blocked: "));
        assert!(
            m.contains("ConfigMap dev/c4: x") && !m.contains("c5"),
            "{m}"
        );
        assert!(m.ends_with("; and 2 more"), "{m}");
    }
}
