//! `spec.commonMetadata`, as kustomize-controller sets it just before the
//! apply (fluxcd/pkg `ssa/utils.SetCommonMetadata`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::object::Object;

/// Sets `labels` and `annotations` in every object's `metadata`, replacing
/// values of the same keys. Only `metadata` changes: selectors, pod
/// templates and other nested metadata are left as rendered (unlike
/// kustomize's `commonLabels`).
pub fn set_common_metadata(
    objects: &mut [Object],
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) {
    for object in objects {
        let metadata = object.metadata_mut();
        add(metadata, "labels", labels);
        add(metadata, "annotations", annotations);
    }
}

fn add(metadata: &mut Map<String, Value>, key: &str, pairs: &BTreeMap<String, String>) {
    if pairs.is_empty() {
        return;
    }
    let entry = metadata
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(map) = entry {
        for (k, v) in pairs {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sets_metadata_only_and_overrides_existing_keys() {
        let mut objects = vec![
            Object::from_value(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web", "team": "old"}},
                "spec": {"selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}}}
            }))
            .unwrap(),
            Object::from_value(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            )
            .unwrap(),
        ];
        let labels = BTreeMap::from([("team".to_string(), "payments".to_string())]);
        let annotations = BTreeMap::from([("owner".to_string(), "ops".to_string())]);
        set_common_metadata(&mut objects, &labels, &annotations);
        let web = objects[0].clone().into_value();
        assert_eq!(
            web["metadata"]["labels"],
            json!({"app": "web", "team": "payments"})
        );
        assert_eq!(web["metadata"]["annotations"], json!({"owner": "ops"}));
        assert_eq!(
            web["spec"]["selector"]["matchLabels"],
            json!({"app": "web"})
        );
        assert_eq!(
            web["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
        assert_eq!(objects[1].label("team"), Some("payments"));
        // Nothing to add leaves metadata without empty maps.
        let mut bare = vec![objects[1].clone()];
        bare[0].metadata_mut().remove("annotations");
        set_common_metadata(&mut bare, &BTreeMap::new(), &BTreeMap::new());
        assert!(
            bare[0].clone().into_value()["metadata"]
                .get("annotations")
                .is_none()
        );
    }
}
