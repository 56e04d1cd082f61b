//! Running sync hooks: deleting the previous instance
//! (`BeforeHookCreation`), creating the new one with `create` (so
//! `generateName` works and a Job is never patched), judging how it ended,
//! and deleting it per its delete policy.

use std::time::Instant;

use driftless_render::ObjectKey;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::Value;

use super::SyncEngine;
use crate::discovery::Resolved;
use crate::hooks::{DeletePolicy, HOOK_INSTANCE_LABEL, HookType};
use crate::kubeapi;
use crate::model::{Action, Hook, HookPhase, ResourceOutcome};
use crate::options::PropagationPolicy;
use crate::order::Phase;
use crate::tracking::{Ownership, TRACKING_ANNOTATION, ownership};

/// How long a previous hook instance may take to disappear.
const DELETE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A hook instance created (or found) by this sync.
pub(super) struct Instance<'a> {
    pub hook: &'a Hook,
    pub hook_type: HookType,
    pub phase: Phase,
    /// The key with the instance's real name.
    pub key: ObjectKey,
    pub resolved: Resolved,
}

/// The outcome of a hook instance.
pub(super) fn hook_outcome(
    hook: &Hook,
    key: ObjectKey,
    (hook_type, phase): (HookType, Phase),
    (action, hook_phase): (Action, HookPhase),
    message: impl Into<String>,
) -> ResourceOutcome {
    ResourceOutcome {
        key,
        version: hook.version.clone(),
        action,
        message: message.into(),
        phase,
        wave: hook.wave,
        hook: Some((hook_type, hook_phase)),
    }
}

impl SyncEngine {
    /// Starts `hook` as `hook_type` in `phase`: deletes the previous
    /// instance when the policy says so, then creates a new one (a named
    /// hook without `BeforeHookCreation` that exists is used as it is).
    pub(super) async fn start_hook<'a>(
        &self,
        app: &str,
        hook: &'a Hook,
        (hook_type, phase): (HookType, Phase),
    ) -> Result<Instance<'a>, String> {
        if let Some(e) = &hook.error {
            return Err(e.clone());
        }
        // A kind unknown when compared may be served now: its CRD was
        // applied by an earlier phase of this sync.
        let resolved = match &hook.resolved {
            Some(r) => r.clone(),
            None => self
                .catalog
                .resolve(&hook.key.group, &hook.version, &hook.key.kind)
                .await
                .ok()
                .flatten()
                .ok_or_else(|| {
                    format!(
                        "{}: the cluster does not serve {} {}",
                        hook.key,
                        hook.object.api_version(),
                        hook.key.kind
                    )
                })?,
        };
        let api = kubeapi::api(&self.client, &resolved, &hook.key.namespace);
        let instance = |name: String| Instance {
            hook,
            hook_type,
            phase,
            key: ObjectKey {
                name,
                ..hook.key.clone()
            },
            resolved: resolved.clone(),
        };
        if hook.spec.deletes_on(DeletePolicy::BeforeHookCreation) {
            self.delete_previous(app, hook, &api).await?;
        } else if !hook.generated {
            let existing = api.get_opt(&hook.key.name).await;
            if let Ok(Some(_)) = existing {
                return Ok(instance(hook.key.name.clone()));
            }
        }
        let obj: DynamicObject = serde_json::from_value(Value::Object(hook.object.0.clone()))
            .map_err(|e| format!("{}: not a valid object: {e}", hook.key))?;
        let params = PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        };
        let created = api
            .create(&params, &obj)
            .await
            .map_err(|e| format!("{}: create failed: {}", hook.key, kubeapi::message(&e)))?;
        let name = created.metadata.name.unwrap_or_default();
        tracing::debug!(hook = %hook.key, %name, "hook created");
        Ok(instance(name))
    }

    /// Deletes every earlier instance of `hook` (found by its instance
    /// label; a named hook also by name when it is this Application's) and
    /// waits until they are gone.
    async fn delete_previous(
        &self,
        app: &str,
        hook: &Hook,
        api: &Api<DynamicObject>,
    ) -> Result<(), String> {
        let label = hook
            .object
            .label(HOOK_INSTANCE_LABEL)
            .unwrap_or_default()
            .to_string();
        let listed = api
            .list_metadata(&ListParams::default().labels(&format!("{HOOK_INSTANCE_LABEL}={label}")))
            .await
            .map_err(|e| {
                format!(
                    "{}: listing earlier instances failed: {}",
                    hook.key,
                    kubeapi::message(&e)
                )
            })?;
        let mut names: Vec<String> = listed
            .items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect();
        if !hook.generated && !names.contains(&hook.key.name) {
            let existing = api
                .get_opt(&hook.key.name)
                .await
                .map_err(|e| format!("{}: get failed: {}", hook.key, kubeapi::message(&e)))?;
            if let Some(obj) = existing {
                // An object of the same name that is not an instance of this
                // hook is only replaced when this Application tracks it (a
                // hook applied as an ordinary object before).
                let tracked = obj
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(TRACKING_ANNOTATION));
                if ownership(app, &hook.key, tracked.map(String::as_str)) != Ownership::Ours {
                    return Err(format!(
                        "{} exists and is not an instance of this Application's hook; it is not replaced",
                        hook.key
                    ));
                }
                names.push(hook.key.name.clone());
            }
        }
        for name in &names {
            kubeapi::delete(api, name, PropagationPolicy::Background, None)
                .await
                .map_err(|e| {
                    format!(
                        "{}: deleting the earlier instance {name} failed: {}",
                        hook.key,
                        kubeapi::message(&e)
                    )
                })?;
        }
        let started = Instant::now();
        for name in &names {
            while api.get_opt(name).await.ok().flatten().is_some() {
                if started.elapsed() > DELETE_TIMEOUT {
                    return Err(format!(
                        "{}: the earlier instance {name} is still being deleted after {}s",
                        hook.key,
                        DELETE_TIMEOUT.as_secs()
                    ));
                }
                tokio::time::sleep(self.poll_interval).await;
            }
        }
        Ok(())
    }

    /// How `instance` ended (after its wave was waited for), deleting it
    /// per its policy; a `terminated` sync deletes a hook still running.
    pub(super) async fn finish_hook(
        &self,
        instance: &Instance<'_>,
        terminated: bool,
    ) -> ResourceOutcome {
        let health = self.health_of(&instance.key, &instance.resolved).await;
        let mut message = health.message.clone().unwrap_or_default();
        use driftless_api::HealthStatusCode as H;
        let mut phase = match health.status {
            H::Healthy | H::Suspended => HookPhase::Succeeded,
            H::Degraded => HookPhase::Failed,
            _ => HookPhase::Running,
        };
        let delete = match phase {
            HookPhase::Succeeded => instance.hook.spec.deletes_on(DeletePolicy::HookSucceeded),
            HookPhase::Failed => instance.hook.spec.deletes_on(DeletePolicy::HookFailed),
            HookPhase::Running => terminated,
        };
        if terminated && phase == HookPhase::Running {
            phase = HookPhase::Failed;
            message = "Terminated".into();
        }
        if delete {
            let api = kubeapi::api(&self.client, &instance.resolved, &instance.key.namespace);
            match kubeapi::delete(
                &api,
                &instance.key.name,
                PropagationPolicy::Background,
                None,
            )
            .await
            {
                Ok(()) if !terminated => {
                    message = format!("{message} (deleted per its delete policy)")
                }
                Ok(()) => {}
                Err(e) => {
                    message = format!("{message}; deleting it failed: {}", kubeapi::message(&e));
                }
            }
        }
        let action = if phase == HookPhase::Failed {
            Action::Failed
        } else {
            Action::Created
        };
        hook_outcome(
            instance.hook,
            instance.key.clone(),
            (instance.hook_type, instance.phase),
            (action, phase),
            truncate(message, 1024),
        )
    }
}

/// `message` cut to at most `max` bytes (on a character boundary), so an
/// operation state stays bounded whatever a hook's status says.
fn truncate(mut message: String, max: usize) -> String {
    if message.len() > max {
        message.truncate(message.floor_char_boundary(max));
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short".into(), 10), "short");
        let cut = truncate("ééééé".into(), 3);
        assert_eq!(cut, "é…");
    }
}
