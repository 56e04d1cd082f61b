//! Preparing rendered objects: resolving their kinds, defaulting the
//! namespace, setting the tracking annotation, reading sync options, phase
//! and wave.

use std::collections::{HashMap, HashSet};

use driftless_api::condition;
use driftless_render::{Object, ObjectKey};
use serde_json::Value;

use super::SyncEngine;
use crate::discovery::Resolved;
use crate::error::SyncError;
use crate::hooks::{self, HookSpec};
use crate::model::{Hook, Target, Warning};
use crate::options::{self, SYNC_OPTIONS_ANNOTATION, SyncOptions};
use crate::order::{self, Phase};
use crate::tracking::{TRACKING_ANNOTATION, tracking_id};

/// A rendered object ready to compare and apply.
pub(super) struct Prepared {
    pub obj: Object,
    pub key: ObjectKey,
    pub version: String,
    pub resolved: Option<Resolved>,
    pub phase: Phase,
    pub wave: i64,
    pub options: SyncOptions,
    /// A problem that makes applying pointless (bad wave annotation).
    pub blocking: Option<String>,
    /// A problem the diff reports; applying is still attempted.
    pub problem: Option<String>,
}

/// Kinds defined by CRDs in the same render: (group, kind) → namespaced.
fn crds_in(objects: &[Object]) -> HashMap<(String, String), bool> {
    objects
        .iter()
        .filter(|o| o.group() == "apiextensions.k8s.io" && o.kind() == "CustomResourceDefinition")
        .filter_map(|o| {
            let spec = o.0.get("spec")?;
            let group = spec.get("group")?.as_str()?.to_string();
            let kind = spec.pointer("/names/kind")?.as_str()?.to_string();
            let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
            Some(((group, kind), namespaced))
        })
        .collect()
}

impl SyncEngine {
    /// Resolves, defaults and annotates every rendered object; with
    /// [`Target::hooks`], sync hooks are returned apart (second).
    pub(super) async fn prepare(
        &self,
        target: &Target,
        desired: Vec<Object>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(Vec<Prepared>, Vec<Hook>), SyncError> {
        let crds = crds_in(&desired);
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(desired.len());
        let mut hooks_out = Vec::new();
        for (index, mut obj) in desired.into_iter().enumerate() {
            if target.hooks {
                let (spec, errors) = hooks::hook_of(&obj);
                warnings.extend(errors.into_iter().map(|e| Warning {
                    condition: condition::UNSUPPORTED_FIELD_WARNING,
                    message: e.to_string(),
                }));
                if let Some(spec) = spec {
                    if !spec.skipped() {
                        let hook = self.prepare_hook(target, obj, spec, &crds, index).await?;
                        if !seen.insert(hook.key.clone()) {
                            return Err(SyncError::Duplicate {
                                object: hook.key.to_string(),
                            });
                        }
                        hooks_out.push(hook);
                    }
                    continue;
                }
            } else if obj.annotation(order::HOOK_ANNOTATION).is_some() && obj.name().is_empty() {
                warnings.push(Warning {
                    condition: condition::UNSUPPORTED_FIELD_WARNING,
                    message: format!(
                        "{} {} with generateName is a sync hook; hooks without a name are not applied here",
                        obj.kind(),
                        hooks::generate_name(&obj)
                    ),
                });
                continue;
            }
            let missing = [
                ("apiVersion", obj.api_version().is_empty()),
                ("kind", obj.kind().is_empty()),
                ("metadata.name", obj.name().is_empty()),
            ];
            if let Some((field, _)) = missing.iter().find(|(_, empty)| *empty) {
                return Err(SyncError::InvalidObject {
                    index,
                    object: obj.key().to_string(),
                    reason: format!("{field} is missing"),
                });
            }
            let phase = if target.hooks {
                Phase::Sync
            } else {
                match order::phase(&obj) {
                    Some(phase) => phase,
                    None => continue,
                }
            };
            let resolved = self
                .catalog
                .resolve(obj.group(), obj.version(), obj.kind())
                .await?;
            let crd_scope = crds.get(&(obj.group().to_string(), obj.kind().to_string()));
            default_namespace(target, &mut obj, resolved.as_ref(), crd_scope);
            let key = obj.key();
            if !seen.insert(key.clone()) {
                return Err(SyncError::Duplicate {
                    object: key.to_string(),
                });
            }
            obj.set_annotation(TRACKING_ANNOTATION, &tracking_id(&target.app, &key));

            let mut opts = target.options.clone();
            if let Some(raw) = obj.annotation(SYNC_OPTIONS_ANNOTATION) {
                let (own, bad) = options::parse_annotation(raw);
                opts = opts.overlay(&own);
                warnings.extend(bad.into_iter().map(|m| Warning {
                    condition: condition::UNSUPPORTED_FIELD_WARNING,
                    message: format!("{key}: {m}"),
                }));
            }
            let (wave, blocking) = match order::wave(&obj) {
                Ok(w) => (w, None),
                Err(e) => (0, Some(format!("{key}: {e}"))),
            };
            let problem = match (&resolved, crd_scope) {
                (None, None) if !opts.skips_dry_run_on_missing_resource() => Some(format!(
                    "{key}: the cluster does not serve {} {} (is its CustomResourceDefinition installed?)",
                    obj.api_version(),
                    obj.kind()
                )),
                _ => None,
            };
            out.push(Prepared {
                version: obj.version().to_string(),
                key,
                obj,
                resolved,
                phase,
                wave,
                options: opts,
                blocking,
                problem,
            });
        }
        Ok((out, hooks_out))
    }

    /// A hook ready to create: kind resolved, namespace defaulted, the
    /// instance label and annotations set (no tracking annotation: hooks
    /// are never pruned).
    async fn prepare_hook(
        &self,
        target: &Target,
        mut obj: Object,
        spec: HookSpec,
        crds: &HashMap<(String, String), bool>,
        index: usize,
    ) -> Result<Hook, SyncError> {
        let generated = obj.name().is_empty();
        let prefix = hooks::generate_name(&obj).to_string();
        if generated && prefix.is_empty() {
            return Err(SyncError::InvalidObject {
                index,
                object: obj.key().to_string(),
                reason: "metadata.name and metadata.generateName are both missing".into(),
            });
        }
        let resolved = self
            .catalog
            .resolve(obj.group(), obj.version(), obj.kind())
            .await?;
        let crd_scope = crds.get(&(obj.group().to_string(), obj.kind().to_string()));
        default_namespace(target, &mut obj, resolved.as_ref(), crd_scope);
        let mut key = obj.key();
        if generated {
            key.name = prefix;
        }
        let hook_of = format!(
            "{}:{}/{}:{}/{}",
            target.app, key.group, key.kind, key.namespace, key.name
        );
        obj.set_annotation(hooks::HOOK_OF_ANNOTATION, &hook_of);
        set_label(
            &mut obj,
            hooks::HOOK_INSTANCE_LABEL,
            &hooks::instance_label(&hook_of),
        );
        let (wave, wave_error) = match hooks::hook_wave(&obj) {
            Ok(w) => (w, None),
            Err(e) => (0, Some(format!("{key}: {e}"))),
        };
        Ok(Hook {
            version: obj.version().to_string(),
            key,
            spec,
            wave,
            generated,
            object: obj,
            error: wave_error,
            resolved,
        })
    }
}

/// Gives a namespaced object without a namespace the target's (or
/// `default`), and removes the namespace of a cluster-scoped one.
fn default_namespace(
    target: &Target,
    obj: &mut Object,
    resolved: Option<&Resolved>,
    crd_scope: Option<&bool>,
) {
    let namespaced = resolved
        .map(|r| r.namespaced)
        .or(crd_scope.copied())
        // Unknown kinds count as namespaced, as Argo CD does.
        .unwrap_or(true);
    if namespaced && obj.namespace().is_none() {
        obj.set_namespace(target.namespace.as_deref().unwrap_or("default"));
    } else if !namespaced && obj.namespace().is_some() {
        obj.metadata_mut().shift_remove("namespace");
    }
}

/// Sets label `key` to `value`, creating `metadata.labels` when needed.
fn set_label(obj: &mut Object, key: &str, value: &str) {
    let labels = obj
        .metadata_mut()
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(map) = labels.as_object_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}
