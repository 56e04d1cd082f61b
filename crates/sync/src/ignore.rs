//! `ignoreDifferences`: which entries apply to an object, and removing the
//! fields they name (JSON pointers, jq paths, fields owned by named field
//! managers) from a document.

use driftless_api::ResourceIgnoreDifferences;
use driftless_render::ObjectKey;
use serde_json::Value;

use crate::jq::JqPath;
use crate::path::{self, Path, Step};

/// The entries of `rules` that match the object `key` (group and kind
/// exactly, name and namespace when given).
pub fn matching<'a>(
    rules: &'a [ResourceIgnoreDifferences],
    key: &ObjectKey,
) -> Vec<&'a ResourceIgnoreDifferences> {
    rules
        .iter()
        .filter(|r| {
            r.group == key.group
                && (r.kind == key.kind || r.kind == "*")
                && r.name
                    .as_deref()
                    .is_none_or(|n| n.is_empty() || n == key.name)
                && r.namespace
                    .as_deref()
                    .is_none_or(|ns| ns.is_empty() || ns == key.namespace)
        })
        .collect()
}

/// The paths the pointer and jq rules name in `doc`. Expressions that cannot
/// be parsed are returned as error messages.
pub fn paths(rules: &[&ResourceIgnoreDifferences], doc: &Value) -> (Vec<Path>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for rule in rules {
        for pointer in &rule.json_pointers {
            match path::from_pointer(doc, pointer) {
                Some(p) if !p.is_empty() => found.push(p),
                _ => errors.push(format!(
                    "ignoreDifferences jsonPointer {pointer:?} is malformed"
                )),
            }
        }
        for expr in &rule.jq_path_expressions {
            match JqPath::parse(expr) {
                Ok(jq) => found.extend(jq.select(doc)),
                Err(e) => errors.push(format!("ignoreDifferences jqPathExpression: {e}")),
            }
        }
    }
    (found, errors)
}

/// The paths in `doc` of the fields owned by any of `managers`, read from
/// the `metadata.managedFields` of `live` (`doc` may be `live` itself, or
/// another version of the same object).
pub fn managed_paths(live: &Value, doc: &Value, managers: &[&str]) -> Vec<Path> {
    let mut found = Vec::new();
    if managers.is_empty() {
        return found;
    }
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in entries {
        let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
        if !managers.contains(&manager) {
            continue;
        }
        if let Some(fields) = entry.get("fieldsV1").and_then(Value::as_object) {
            fields_v1(doc, fields, Vec::new(), &mut found);
        }
    }
    found
}

/// Walks a `fieldsV1` set: `f:<name>` is a field, `k:<json>` a list item
/// with those keys, `v:<json>` a list item with that value, `i:<n>` an index,
/// `.` the node itself. A leaf (empty set, or only `.`) is owned whole.
fn fields_v1(
    node: &Value,
    fields: &serde_json::Map<String, Value>,
    at: Path,
    found: &mut Vec<Path>,
) {
    for (raw, children) in fields {
        if raw == "." {
            continue;
        }
        let Some((step, child)) = resolve(node, raw) else {
            continue;
        };
        let mut next = at.clone();
        next.push(step);
        let sub = children.as_object();
        let leaf = sub.is_none_or(|m| m.keys().all(|k| k == "."));
        match sub {
            Some(m) if !leaf => fields_v1(child, m, next, found),
            _ => found.push(next),
        }
    }
}

fn resolve<'a>(node: &'a Value, raw: &str) -> Option<(Step, &'a Value)> {
    if let Some(name) = raw.strip_prefix("f:") {
        let child = node.as_object()?.get(name)?;
        return Some((Step::Key(name.to_string()), child));
    }
    let items = node.as_array()?;
    let position = if let Some(keys) = raw.strip_prefix("k:") {
        let keys: serde_json::Map<String, Value> = serde_json::from_str(keys).ok()?;
        items
            .iter()
            .position(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?
    } else if let Some(value) = raw.strip_prefix("v:") {
        let value: Value = serde_json::from_str(value).ok()?;
        items.iter().position(|item| *item == value)?
    } else {
        raw.strip_prefix("i:")?.parse().ok()?
    };
    Some((Step::Index(position), items.get(position)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(kind: &str, name: Option<&str>) -> ResourceIgnoreDifferences {
        ResourceIgnoreDifferences {
            group: "apps".into(),
            kind: kind.into(),
            name: name.map(Into::into),
            json_pointers: vec!["/spec/replicas".into()],
            ..Default::default()
        }
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    #[test]
    fn matches_group_kind_name_namespace() {
        let rules = [
            rule("Deployment", None),
            rule("Deployment", Some("other")),
            rule("StatefulSet", None),
            ResourceIgnoreDifferences {
                namespace: Some("elsewhere".into()),
                ..rule("Deployment", None)
            },
        ];
        let hits = matching(&rules, &key("web"));
        assert_eq!(hits.len(), 1);
        assert_eq!(matching(&rules, &key("other")).len(), 2);
    }

    #[test]
    fn pointer_and_jq_paths() {
        let mut r = rule("Deployment", None);
        r.jq_path_expressions = vec![
            ".spec.template.spec.containers[].image".into(),
            "bad".into(),
        ];
        let doc = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "x"}]}}}});
        let (found, errors) = paths(&[&r], &doc);
        assert_eq!(found.len(), 2);
        assert_eq!(errors.len(), 1);
        let mut doc2 = doc.clone();
        path::remove_all(&mut doc2, found);
        assert_eq!(
            doc2,
            json!({"spec": {"template": {"spec": {"containers": [{}]}}}})
        );
    }

    #[test]
    fn fields_owned_by_a_manager() {
        let live = json!({
            "metadata": {"managedFields": [
                {"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "driftless", "fieldsV1": {"f:spec": {"f:template": {}}}},
                {"manager": "injector", "fieldsV1": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}}}}},
            ]},
            "spec": {"replicas": 5, "template": {}, "containers": [{"name": "app"}, {"name": "sidecar", "image": "s"}]}
        });
        let mut doc = live.clone();
        path::remove_all(&mut doc, managed_paths(&live, &live, &["hpa", "injector"]));
        assert_eq!(
            doc["spec"],
            json!({"template": {}, "containers": [{"name": "app"}, {}]})
        );
    }
}
