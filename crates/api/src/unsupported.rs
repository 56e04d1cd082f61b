//! Finds the fields of an Application that driftless does not understand.
//!
//! The CRD keeps unknown fields (`x-kubernetes-preserve-unknown-fields`), so
//! a manifest written for Argo CD is never rejected or silently trimmed; the
//! controller reports what it ignores in an `UnsupportedFieldWarning`
//! condition instead. A field is unsupported when it is in the stored object
//! but does not survive a round trip through the Rust types.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ApplicationSpec;

/// The dotted paths (e.g. `spec.source.helm`) of fields in `raw_spec` (the
/// Application's `spec` as stored) that [`ApplicationSpec`] does not model.
/// Paths come in the order the fields appear in `raw_spec`. A spec that does
/// not deserialize at all yields `["spec"]`.
pub fn unsupported_spec_fields(raw_spec: &Value) -> Vec<String> {
    unknown_spec_fields::<ApplicationSpec>(raw_spec)
}

/// The dotted paths of fields in `raw_spec` (a `spec` as stored) that the
/// Rust type `T` does not model (a field from a newer API version, or a
/// typo: the CRDs keep unknown spec fields). A spec that does not
/// deserialize yields `["spec"]`. Empty values are not reported.
pub fn unknown_spec_fields<T: DeserializeOwned + Serialize>(raw_spec: &Value) -> Vec<String> {
    unknown_spec_fields_with::<T>(raw_spec, |_| {})
}

/// [`unknown_spec_fields`] for a type that keeps what it does not model in
/// a field (a `#[serde(flatten)]` map), which `forget` empties before the
/// round trip is compared.
pub fn unknown_spec_fields_with<T: DeserializeOwned + Serialize>(
    raw_spec: &Value,
    forget: impl FnOnce(&mut T),
) -> Vec<String> {
    let Ok(mut spec) = T::deserialize(raw_spec) else {
        return vec!["spec".to_string()];
    };
    forget(&mut spec);
    let known = serde_json::to_value(&spec).unwrap_or(Value::Null);
    let mut out = Vec::new();
    missing_paths(raw_spec, &known, "spec", &mut out);
    out
}

/// The dotted paths (`spec.source.helm`) present in `raw` (an object as
/// stored) but not in `known` (its typed form serialized again), ignoring
/// empty values, which the typed form leaves out.
pub fn unknown_fields(raw: &Value, known: &Value) -> Vec<String> {
    let mut out = Vec::new();
    missing_paths(raw, known, "", &mut out);
    out
}

/// Collects the paths below `path` present in `raw` and absent from `known`.
fn missing_paths(raw: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (raw, known) {
        (Value::Object(raw), Value::Object(known)) => {
            for (key, value) in raw {
                let child = match path {
                    "" => key.clone(),
                    _ => format!("{path}.{key}"),
                };
                match known.get(key) {
                    Some(known_value) => missing_paths(value, known_value, &child, out),
                    // Empty values and nulls carry no meaning, so dropping them loses nothing.
                    None if is_empty(value) => {}
                    None => out.push(child),
                }
            }
        }
        (Value::Array(raw), Value::Array(known)) => {
            for (i, (raw_item, known_item)) in raw.iter().zip(known).enumerate() {
                missing_paths(raw_item, known_item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Whether `value` says nothing: null, false, empty, or made only of such.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().all(is_empty),
        Value::Array(items) => items.iter().all(is_empty),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_fully_supported_spec_reports_nothing() {
        let spec = json!({
            "project": "default",
            "source": {"repoURL": "https://example.com/r.git", "path": "apps", "targetRevision": "main",
                       "directory": {"recurse": true}},
            "sources": [{"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "^1.2",
                         "helm": {"valueFiles": ["$values/web.yaml"], "valuesObject": {"a": {"b": 1}},
                                  "parameters": [{"name": "x", "value": "1", "forceString": true}],
                                  "fileParameters": [{"name": "cfg", "path": "cfg.txt"}],
                                  "releaseName": "web", "skipCrds": true, "apiVersions": ["v1"]}},
                        {"repoURL": "https://example.com/values.git", "ref": "values"}],
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "argocd"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                           "syncOptions": ["CreateNamespace=true"]},
            "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
        });
        assert_eq!(unsupported_spec_fields(&spec), Vec::<String>::new());
    }

    #[test]
    fn unknown_fields_are_named() {
        let spec = json!({
            "source": {"repoURL": "https://example.com/r.git", "helm": {"valueFiles": ["v.yaml"], "skipTests": true}},
            "destination": {},
            "syncPolicy": {"managedNamespaceMetadata": {"labels": {"a": "b"}}},
            "sources": [{"repoURL": "x", "plugin": {"name": "p", "env": [{"name": "A", "value": "b"}]}}],
        });
        assert_eq!(
            unsupported_spec_fields(&spec),
            [
                "spec.source.helm.skipTests",
                "spec.syncPolicy.managedNamespaceMetadata",
                "spec.sources[0].plugin.env"
            ]
        );
    }

    #[test]
    fn unknown_fields_of_an_object_are_named_from_its_top() {
        let raw = json!({"spec": {
            "source": {"repoURL": "x", "helm": {"valueFiles": ["v.yaml"]}, "plugin": {}},
            "syncPolicy": {"syncOptions": [], "managedNamespaceMetadata": {"labels": {"a": "b"}}},
            "sources": [{"repoURL": "y", "chart": "nginx"}]
        }});
        let typed = json!({"spec": {
            "source": {"repoURL": "x"},
            "syncPolicy": {},
            "sources": [{"repoURL": "y"}]
        }});
        assert_eq!(
            unknown_fields(&raw, &typed),
            [
                "spec.source.helm",
                "spec.syncPolicy.managedNamespaceMetadata",
                "spec.sources[0].chart"
            ]
        );
        assert!(unknown_fields(&typed, &typed).is_empty());
    }

    #[test]
    fn empty_unknown_fields_are_not_reported() {
        let spec = json!({"destination": {}, "source": {"repoURL": "x", "helm": {}}});
        assert!(unsupported_spec_fields(&spec).is_empty());
    }

    #[test]
    fn a_spec_of_the_wrong_shape_is_reported_whole() {
        assert_eq!(
            unsupported_spec_fields(&json!({"source": "nope"})),
            ["spec"]
        );
    }
}
