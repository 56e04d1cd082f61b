//! A HelmRelease's values, composed as Flux does: every `valuesFrom`
//! ConfigMap or Secret in order (a YAML mapping merged in, or with
//! `targetPath` one value set at a dotted path), then `values` merged last.
//! Merging is recursive for mappings; anything else is replaced. Errors
//! name the object and key, never a value; only the digest of the result
//! is ever reported.

use std::collections::BTreeMap;

use driftless_api::flux::helm::v2::{HelmReleaseSpec, ValuesReference};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The default data key of a `valuesFrom` reference.
const DEFAULT_KEY: &str = "values.yaml";

/// Why the values cannot be composed (reported as `InitFailed`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValuesError {
    /// A `valuesFrom` kind other than ConfigMap or Secret.
    #[error("valuesFrom[{index}]: kind {kind:?} is not supported (ConfigMap or Secret)")]
    Kind {
        /// The position in `valuesFrom`.
        index: usize,
        /// The kind given.
        kind: String,
    },
    /// The object or its key does not exist (and `optional` is false).
    #[error("could not find {what} '{namespace}/{name}'{key}")]
    NotFound {
        /// `ConfigMap` or `Secret`.
        what: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// ` key 'k'` when the key is missing.
        key: String,
    },
    /// Reading it failed.
    #[error("reading {what} '{namespace}/{name}': {message}")]
    Api {
        /// `ConfigMap` or `Secret`.
        what: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        message: String,
    },
    /// Its key does not hold a YAML mapping (for a Secret, without the
    /// parser's message, which could quote the value).
    #[error("{what} '{namespace}/{name}' key '{key}': {message}")]
    Invalid {
        /// `ConfigMap` or `Secret`.
        what: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The composed values and their digest (`sha256:<hex>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    /// The values, as one mapping.
    pub values: Value,
    /// The digest of their canonical JSON (safe to report).
    pub digest: String,
}

impl Values {
    /// The values as the text handed to helm (JSON is YAML).
    pub fn text(&self) -> String {
        self.values.to_string()
    }
}

/// One `valuesFrom` entry's content: `Ok(None)` when optional and absent.
type Read = Result<Option<String>, ValuesError>;

/// Reads the data key of one reference in `namespace`.
async fn read(client: &kube::Client, namespace: &str, index: usize, r: &ValuesReference) -> Read {
    let key = r.values_key.clone().filter(|k| !k.is_empty());
    let key = key.as_deref().unwrap_or(DEFAULT_KEY);
    let api_error = |e: kube::Error| ValuesError::Api {
        what: r.kind.clone(),
        namespace: namespace.into(),
        name: r.name.clone(),
        message: e.to_string(),
    };
    let data: Option<Option<String>> = match r.kind.as_str() {
        "ConfigMap" => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
            let found = api.get_opt(&r.name).await.map_err(api_error)?;
            found.map(|cm| cm.data.unwrap_or_default().get(key).cloned())
        }
        "Secret" => {
            let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
            let found = api.get_opt(&r.name).await.map_err(api_error)?;
            found.map(|s| secret_value(s, key))
        }
        other => {
            return Err(ValuesError::Kind {
                index,
                kind: other.to_string(),
            });
        }
    };
    match data {
        Some(Some(text)) => Ok(Some(text)),
        _ if r.optional => Ok(None),
        None => Err(not_found(r, namespace, String::new())),
        Some(None) => Err(not_found(r, namespace, format!(" key '{key}'"))),
    }
}

fn secret_value(secret: Secret, key: &str) -> Option<String> {
    if let Some(bytes) = secret.data.unwrap_or_default().get(key) {
        return Some(String::from_utf8_lossy(&bytes.0).into_owned());
    }
    secret.string_data.unwrap_or_default().get(key).cloned()
}

fn not_found(r: &ValuesReference, namespace: &str, key: String) -> ValuesError {
    ValuesError::NotFound {
        what: r.kind.clone(),
        namespace: namespace.into(),
        name: r.name.clone(),
        key,
    }
}

/// Composes the values of `spec` for a HelmRelease in `namespace`.
pub async fn compose(
    client: &kube::Client,
    namespace: &str,
    spec: &HelmReleaseSpec,
) -> Result<Values, ValuesError> {
    let mut read_all = Vec::with_capacity(spec.values_from.len());
    for (i, r) in spec.values_from.iter().enumerate() {
        read_all.push((r, read(client, namespace, i, r).await?));
    }
    let mut values = Value::Object(Map::new());
    for (r, text) in read_all {
        let Some(text) = text else { continue };
        apply(&mut values, r, namespace, &text)?;
    }
    if let Some(inline) = spec.values.as_ref().filter(|v| v.is_object()) {
        merge(&mut values, inline.clone());
    }
    Ok(with_digest(values))
}

/// Merges one `valuesFrom` entry's text into `values` (pure).
pub fn apply(
    values: &mut Value,
    r: &ValuesReference,
    namespace: &str,
    text: &str,
) -> Result<(), ValuesError> {
    let key = r.values_key.clone().unwrap_or_else(|| DEFAULT_KEY.into());
    let invalid = |message: String| ValuesError::Invalid {
        what: r.kind.clone(),
        namespace: namespace.into(),
        name: r.name.clone(),
        key: key.clone(),
        message,
    };
    if let Some(path) = r.target_path.as_deref().filter(|p| !p.is_empty()) {
        return set_path(values, path, scalar(text)).map_err(invalid);
    }
    let parsed: Value = match serde_saphyr::from_str::<Value>(text) {
        Ok(v) => v,
        Err(e) if r.kind == "ConfigMap" => return Err(invalid(format!("not YAML: {e}"))),
        Err(_) => {
            return Err(invalid(
                "not YAML (the parser's message is withheld: it could quote the Secret)".into(),
            ));
        }
    };
    match parsed {
        Value::Object(_) => {
            merge(values, parsed);
            Ok(())
        }
        Value::Null => Ok(()),
        _ => Err(invalid("not a YAML mapping of values".into())),
    }
}

/// A `targetPath` value as `helm --set` types it: `true`/`false`, an
/// integer, `null`, else a string.
fn scalar(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
    }
}

/// Sets `value` at the dotted `path` (`a.b.c`; `\.` escapes a dot).
fn set_path(values: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => current.push(chars.next().unwrap_or('.')),
            '.' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    if parts
        .iter()
        .any(|p| p.is_empty() || p.contains(['[', ']', '=']))
    {
        return Err(format!("targetPath {path:?} is not a dotted path of names"));
    }
    let mut node = values;
    for part in &parts[..parts.len() - 1] {
        if !node.get(part).is_some_and(Value::is_object) {
            node[part.as_str()] = Value::Object(Map::new());
        }
        node = &mut node[part.as_str()];
    }
    node[parts[parts.len() - 1].as_str()] = value;
    Ok(())
}

/// Merges `from` into `into` as Flux does: mappings recursively, anything
/// else replaced, a null kept (Helm then drops the chart's default).
fn merge(into: &mut Value, from: Value) {
    driftless_render::merge::deep_merge(into, from, driftless_render::merge::Nulls::Keep);
}

fn with_digest(values: Value) -> Values {
    // serde_json maps are sorted (no preserve_order): the text is canonical.
    let sorted: BTreeMap<String, Value> = match &values {
        Value::Object(m) => m.clone().into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let text = serde_json::to_string(&sorted).unwrap_or_default();
    let hex: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Values {
        values,
        digest: format!("sha256:{hex}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(kind: &str, target: Option<&str>) -> ValuesReference {
        ValuesReference {
            kind: kind.into(),
            name: "vals".into(),
            values_key: None,
            target_path: target.map(Into::into),
            optional: false,
        }
    }

    #[test]
    fn mappings_merge_in_order_and_target_paths_set_one_value() {
        let mut v = json!({});
        let cm = reference("ConfigMap", None);
        apply(
            &mut v,
            &cm,
            "ns",
            "image:\n  tag: '1'\n  repo: web\nreplicas: 1\n",
        )
        .unwrap();
        apply(&mut v, &cm, "ns", "image:\n  tag: '2'\n").unwrap();
        let secret = reference("Secret", Some("auth.password"));
        apply(&mut v, &secret, "ns", "hunter2").unwrap();
        apply(&mut v, &reference("Secret", Some("replicas")), "ns", "3").unwrap();
        merge(&mut v, json!({"image": {"repo": "site"}}));
        assert_eq!(
            v,
            json!({"image": {"tag": "2", "repo": "site"}, "replicas": 3, "auth": {"password": "hunter2"}})
        );
    }

    #[test]
    fn bad_secret_values_are_reported_without_their_content() {
        let mut v = json!({});
        let e = apply(
            &mut v,
            &reference("Secret", None),
            "ns",
            "password: [unclosed hunter2",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("Secret 'ns/vals' key 'values.yaml'"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        let e = apply(&mut v, &reference("ConfigMap", None), "ns", "- a list").unwrap_err();
        assert!(e.to_string().contains("not a YAML mapping"), "{e}");
        let e = apply(&mut v, &reference("ConfigMap", Some("a..b")), "ns", "x").unwrap_err();
        assert!(e.to_string().contains("targetPath"), "{e}");
    }

    #[test]
    fn the_digest_follows_the_values_not_their_order() {
        let a = with_digest(json!({"a": 1, "b": {"c": 2}}));
        let b = with_digest(json!({"b": {"c": 2}, "a": 1}));
        let c = with_digest(json!({"a": 2, "b": {"c": 2}}));
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert!(a.digest.starts_with("sha256:"));
    }
}
