//! `v1beta2` → `v1`: the deprecated patch fields become `patches`, as Flux's
//! migration guide rewrites them, so the engine only handles `v1`.

use serde_json::{Map, Value};

use super::{Json6902, Patch, v1, v1beta2};

/// One JSON6902 operation as JSON.
fn operation(op: &Json6902) -> Value {
    let mut out = Map::new();
    out.insert("op".into(), Value::String(op.op.clone()));
    out.insert("path".into(), Value::String(op.path.clone()));
    if let Some(from) = &op.from {
        out.insert("from".into(), Value::String(from.clone()));
    }
    if let Some(value) = &op.value {
        out.insert("value".into(), value.clone());
    }
    Value::Object(out)
}

impl From<v1beta2::KustomizationSpec> for v1::KustomizationSpec {
    fn from(old: v1beta2::KustomizationSpec) -> Self {
        // JSON is YAML, so each patch is kept as its JSON text.
        let strategic = old.patches_strategic_merge.iter().map(|patch| Patch {
            patch: patch.to_string(),
            target: None,
        });
        let json6902 = old.patches_json6902.iter().map(|patch| Patch {
            patch: Value::Array(patch.patch.iter().map(operation).collect()).to_string(),
            target: Some(patch.target.clone()),
        });
        let patches = old
            .patches
            .iter()
            .cloned()
            .chain(strategic)
            .chain(json6902)
            .collect();
        v1::KustomizationSpec {
            common_metadata: old.common_metadata,
            depends_on: old.depends_on,
            decryption: old.decryption,
            interval: old.interval,
            retry_interval: old.retry_interval,
            kube_config: old.kube_config,
            path: old.path,
            post_build: old.post_build,
            prune: old.prune,
            health_checks: old.health_checks,
            name_prefix: old.name_prefix,
            name_suffix: old.name_suffix,
            patches,
            images: old.images,
            service_account_name: old.service_account_name,
            source_ref: old.source_ref,
            suspend: old.suspend,
            target_namespace: old.target_namespace,
            timeout: old.timeout,
            force: old.force,
            wait: old.wait,
            components: old.components,
            ignore_missing_components: false,
            health_check_exprs: Vec::new(),
            deletion_policy: None,
            other: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deprecated_patches_become_patches_after_the_existing_ones() {
        let old: v1beta2::KustomizationSpec = serde_json::from_value(json!({
            "interval": "5m",
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "targetNamespace": "staging",
            "patches": [{"patch": "kind: X", "target": {"kind": "X"}}],
            "patchesStrategicMerge": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}],
            "patchesJson6902": [{"target": {"kind": "Deployment", "name": "web"}, "patch": [{"op": "replace", "path": "/spec/replicas", "value": 3}]}]
        }))
        .unwrap();
        let new = v1::KustomizationSpec::from(old);
        assert_eq!(new.interval, "5m");
        assert!(new.prune);
        assert_eq!(new.target_namespace.as_deref(), Some("staging"));
        assert_eq!(new.patches.len(), 3);
        assert_eq!(new.patches[0].patch, "kind: X");
        let strategic: serde_json::Value = serde_json::from_str(&new.patches[1].patch).unwrap();
        assert_eq!(strategic["spec"]["replicas"], json!(2));
        assert_eq!(new.patches[1].target, None);
        let ops: serde_json::Value = serde_json::from_str(&new.patches[2].patch).unwrap();
        assert_eq!(
            ops,
            json!([{"op": "replace", "path": "/spec/replicas", "value": 3}])
        );
        assert_eq!(
            new.patches[2]
                .target
                .as_ref()
                .and_then(|t| t.name.as_deref()),
            Some("web")
        );
    }
}
