//! The `crds` field: OpenAPI definitions of custom types whose properties
//! carry `x-kubernetes-object-ref-kind`, turned into name references (so
//! renamed objects are followed into custom resources).

use serde_json::Value;

use super::config::{Config, NameReference};
use super::fieldpath::FieldSpec;

/// Deepest property nesting followed (definitions may refer to themselves).
const MAX_DEPTH: usize = 12;

/// Adds the name references declared by the definitions in `doc`.
pub fn add_name_references(config: &mut Config, doc: &Value) {
    let Some(definitions) = doc.as_object() else {
        return;
    };
    for (key, definition) in definitions {
        let schema = definition.get("Schema").unwrap_or(definition);
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        if !(props.contains_key("kind") && props.contains_key("apiVersion")) {
            continue;
        }
        let kind = key.rsplit('.').next().unwrap_or(key).to_string();
        let mut found = Vec::new();
        walk(doc, schema, &mut Vec::new(), 0, &mut found);
        for (path, target) in found {
            let spec = FieldSpec::new(&kind, &format!("{path}/name"), false);
            match config.name_reference.iter_mut().find(|n| n.kind == target) {
                Some(nr) => {
                    if !nr.referrers.contains(&spec) {
                        nr.referrers.push(spec);
                    }
                }
                None => config.name_reference.push(NameReference {
                    group: String::new(),
                    version: String::new(),
                    kind: target,
                    referrers: vec![spec],
                }),
            }
        }
    }
}

fn walk(
    doc: &Value,
    schema: &Value,
    path: &mut Vec<String>,
    depth: usize,
    found: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        if name == "metadata" && depth == 0 {
            continue;
        }
        path.push(name.clone());
        if let Some(kind) = prop
            .get("x-kubernetes-object-ref-kind")
            .and_then(Value::as_str)
        {
            found.push((path.join("/"), kind.to_string()));
        } else if let Some(target) = prop
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| doc.get(r))
        {
            walk(
                doc,
                target.get("Schema").unwrap_or(target),
                path,
                depth + 1,
                found,
            );
        } else {
            walk(doc, prop, path, depth + 1, found);
        }
        path.pop();
    }
}
