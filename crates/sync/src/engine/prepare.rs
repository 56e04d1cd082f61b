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
use crate::model::{Target, Warning};
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

/// `metadata.generateName`, or "".
fn generate_name(obj: &Object) -> &str {
    obj.0
        .get("metadata")
        .and_then(|m| m.get("generateName"))
        .and_then(Value::as_str)
        .unwrap_or("")
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
    pub(super) async fn prepare(
        &self,
        target: &Target,
        desired: Vec<Object>,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<Prepared>, SyncError> {
        let crds = crds_in(&desired);
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(desired.len());
        for (index, mut obj) in desired.into_iter().enumerate() {
            if obj.annotation(order::HOOK_ANNOTATION).is_some() && obj.name().is_empty() {
                warnings.push(Warning {
                    condition: condition::UNSUPPORTED_FIELD_WARNING,
                    message: format!(
                        "{} {} with generateName is a sync hook; hooks without a name are not supported yet and were not applied",
                        obj.kind(),
                        generate_name(&obj)
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
            let Some(phase) = order::phase(&obj) else {
                continue;
            };
            let resolved = self
                .catalog
                .resolve(obj.group(), obj.version(), obj.kind())
                .await?;
            let crd_scope = crds.get(&(obj.group().to_string(), obj.kind().to_string()));
            let namespaced = resolved
                .as_ref()
                .map(|r| r.namespaced)
                .or(crd_scope.copied())
                // Unknown kinds count as namespaced, as Argo CD does.
                .unwrap_or(true);
            if namespaced && obj.namespace().is_none() {
                obj.set_namespace(target.namespace.as_deref().unwrap_or("default"));
            } else if !namespaced && obj.namespace().is_some() {
                obj.metadata_mut().shift_remove("namespace");
            }
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
        Ok(out)
    }
}
