//! The kustomization's `replicas` field (kustomize v5.5's
//! `ReplicaCountTransformer`): set `spec.replicas` of the objects with a
//! given name (current or previous, see [`super::replacements::object_ids`]).
//!
//! The default field specs ([`default_field_specs`]) cover Deployment,
//! ReplicationController, ReplicaSet and StatefulSet; `configurations` may
//! add more ([`apply_with_field_specs`]). An entry that matches no object
//! is an error, as in kustomize.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::fieldpath::{FieldSpec, split_slash_path};
use super::replacements::object_ids;
use crate::error::RenderError;
use crate::object::Object;

/// One `replicas` entry.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Replica {
    /// Name of the objects to scale.
    pub name: String,
    /// The replica count.
    pub count: i64,
}

/// kustomize's default field specs for `replicas`: `spec/replicas`
/// (created when missing) of Deployment, StatefulSet, ReplicaSet and
/// ReplicationController (kubectl v5.5's order, seen in its errors).
pub fn default_field_specs() -> Vec<FieldSpec> {
    [
        "Deployment",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
    ]
    .into_iter()
    .map(|kind| FieldSpec::new(kind, "spec/replicas", true))
    .collect()
}

/// Parses the `replicas` field (`file` names the kustomization in errors).
pub fn parse(replicas: &Value, file: &str) -> Result<Vec<Replica>, RenderError> {
    if replicas.is_null() {
        return Ok(Vec::new());
    }
    let list = replicas
        .as_array()
        .ok_or_else(|| RenderError::field(file, "replicas", "must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry.clone())
                .map_err(|e| RenderError::field(file, &format!("replicas[{i}]"), e.to_string()))
        })
        .collect()
}

/// Applies the `replicas` field to `objects` with the default field specs.
pub fn apply(objects: &mut [Object], replicas: &Value, file: &str) -> Result<(), RenderError> {
    apply_with_field_specs(objects, replicas, file, &default_field_specs())
}

/// Applies the `replicas` field with the given field specs (the defaults
/// plus those of `configurations`).
pub fn apply_with_field_specs(
    objects: &mut [Object],
    replicas: &Value,
    file: &str,
    field_specs: &[FieldSpec],
) -> Result<(), RenderError> {
    let replicas = parse(replicas, file)?;
    if replicas.is_empty() {
        return Ok(());
    }
    if field_specs.iter().any(may_change_ids) {
        return apply_scanning(objects, replicas, file, field_specs);
    }
    // No field spec can change an object's names (current and previous):
    // find the objects of each name once.
    let names: Vec<Result<Vec<String>, String>> = objects.iter().map(object_names).collect();
    let first_error = names.iter().position(Result::is_err);
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, object_names) in names.iter().enumerate() {
        for name in object_names.iter().flatten() {
            let indices = by_name.entry(name.as_str()).or_default();
            if indices.last() != Some(&i) {
                indices.push(i);
            }
        }
    }
    for (i, replica) in replicas.iter().enumerate() {
        let field = format!("replicas[{i}]");
        let mut found = false;
        let count = Value::from(replica.count);
        let named = by_name
            .get(replica.name.as_str())
            .map_or(&[][..], Vec::as_slice);
        for spec in field_specs {
            // Objects are visited in order, and the first whose previous
            // ids cannot be read stops the first pass.
            let before_error = named
                .iter()
                .take_while(|&&j| first_error.is_none_or(|e| j < e));
            for &j in before_error {
                let object = &mut objects[j];
                if !spec.selects(object) {
                    continue;
                }
                found = true;
                set_count(object, spec, &count, file, &field)?;
            }
            if let Some(Err(message)) = first_error.map(|e| &names[e]) {
                return Err(RenderError::field(file, &field, message.clone()));
            }
        }
        if !found {
            return Err(not_found(replica, file, &field, field_specs));
        }
    }
    Ok(())
}

/// Whether these field specs can scale `object` (or may change ids, when
/// any object may come to match): only such objects need their previous
/// names.
pub fn may_scale(object: &Object, field_specs: &[FieldSpec]) -> bool {
    field_specs
        .iter()
        .any(|spec| may_change_ids(spec) || spec.selects(object))
}

/// Whether a field spec's path starts at `metadata`, `kind` or
/// `apiVersion` (and so may change the ids the entries are matched with).
fn may_change_ids(spec: &FieldSpec) -> bool {
    let segments = split_slash_path(&spec.path);
    let first = segments.first().map_or("", String::as_str);
    matches!(
        first.strip_suffix("[]").unwrap_or(first),
        "metadata" | "kind" | "apiVersion"
    )
}

/// Sets the count at `spec` in `object`.
fn set_count(
    object: &mut Object,
    spec: &FieldSpec,
    count: &Value,
    file: &str,
    field: &str,
) -> Result<(), RenderError> {
    let key = object.key();
    spec.apply(object, count, &mut |v| {
        *v = count.clone();
        Ok(())
    })
    .map_err(|m| RenderError::field(file, field, format!("{key}: {m}")))
}

/// The error for an entry that matched no object.
fn not_found(replica: &Replica, file: &str, field: &str, field_specs: &[FieldSpec]) -> RenderError {
    let gvks: Vec<String> = field_specs.iter().map(gvk_string).collect();
    RenderError::field(
        file,
        field,
        format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            replica.name,
            gvks.join(" ")
        ),
    )
}

/// kustomize's order without an index: every entry, field spec and object
/// in turn, reading an object's names again after a spec changed it.
fn apply_scanning(
    objects: &mut [Object],
    replicas: Vec<Replica>,
    file: &str,
    field_specs: &[FieldSpec],
) -> Result<(), RenderError> {
    let mut names: Vec<Result<Vec<String>, String>> = objects.iter().map(object_names).collect();
    for (i, replica) in replicas.iter().enumerate() {
        let field = format!("replicas[{i}]");
        let mut found = false;
        let count = Value::from(replica.count);
        for spec in field_specs {
            for (object, names) in objects.iter_mut().zip(names.iter_mut()) {
                let named = match names {
                    Ok(names) => names.contains(&replica.name),
                    Err(m) => return Err(RenderError::field(file, &field, m.clone())),
                };
                if !named || !spec.selects(object) {
                    continue;
                }
                found = true;
                set_count(object, spec, &count, file, &field)?;
                *names = object_names(object);
            }
        }
        if !found {
            return Err(not_found(replica, file, &field, field_specs));
        }
    }
    Ok(())
}

/// The names of [`object_ids`].
fn object_names(object: &Object) -> Result<Vec<String>, String> {
    object_ids(object).map(|ids| ids.into_iter().map(|id| id.name).collect())
}

/// kustomize's `Gvk.String()`: `Kind.version.group` with `[noKind]`,
/// `[noVer]`, `[noGrp]` for empty parts.
fn gvk_string(spec: &FieldSpec) -> String {
    let or = |s: &Option<String>, empty: &str| match s.as_deref() {
        None | Some("") => empty.to_string(),
        Some(s) => s.to_string(),
    };
    format!(
        "{}.{}.{}",
        or(&spec.kind, "[noKind]"),
        or(&spec.version, "[noVer]"),
        or(&spec.group, "[noGrp]")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::replacements::{PREVIOUS_KINDS, PREVIOUS_NAMES, PREVIOUS_NAMESPACES};
    use serde_json::json;

    fn obj(kind: &str, name: &str, spec: Value) -> Object {
        Object::from_value(json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}))
            .unwrap()
    }

    #[test]
    fn sets_and_creates_replicas() {
        let mut objects = vec![
            obj("Deployment", "web", json!({"replicas": 1})),
            obj("StatefulSet", "web", json!({})),
            obj("DaemonSet", "web", json!({})),
            obj("Deployment", "other", json!({"replicas": 1})),
        ];
        apply(
            &mut objects,
            &json!([{"name": "web", "count": 5}]),
            "k.yaml",
        )
        .unwrap();
        assert_eq!(objects[0].0["spec"]["replicas"], 5);
        assert_eq!(objects[1].0["spec"]["replicas"], 5);
        assert!(objects[2].0["spec"].get("replicas").is_none());
        assert_eq!(objects[3].0["spec"]["replicas"], 1);
    }

    #[test]
    fn matches_previous_names() {
        let mut d = obj("Deployment", "p-web", json!({"replicas": 1}));
        d.set_annotation(PREVIOUS_NAMES, "web");
        d.set_annotation(PREVIOUS_KINDS, "Deployment");
        d.set_annotation(PREVIOUS_NAMESPACES, "default");
        let mut objects = vec![d];
        apply(
            &mut objects,
            &json!([{"name": "web", "count": 0}]),
            "k.yaml",
        )
        .unwrap();
        assert_eq!(objects[0].0["spec"]["replicas"], 0);
    }

    #[test]
    fn custom_field_specs() {
        let mut objects = vec![
            Object::from_value(json!({"apiVersion": "x/v1", "kind": "MyKind",
            "metadata": {"name": "m"}, "spec": {"size": 1}}))
            .unwrap(),
        ];
        let mut specs = default_field_specs();
        specs.push(FieldSpec::new("MyKind", "spec/size", false));
        apply_with_field_specs(
            &mut objects,
            &json!([{"name": "m", "count": 3}]),
            "k.yaml",
            &specs,
        )
        .unwrap();
        assert_eq!(objects[0].0["spec"]["size"], 3);
    }

    /// The name index gives what scanning every object gives, errors and
    /// partial changes included.
    #[test]
    fn index_agrees_with_scanning() {
        let with_previous = |kind: &str, name: &str, previous: &str, kinds: &str| {
            let mut o = obj(kind, name, json!({"replicas": 1}));
            o.set_annotation(PREVIOUS_NAMES, previous);
            o.set_annotation(PREVIOUS_KINDS, kinds);
            o.set_annotation(PREVIOUS_NAMESPACES, "default");
            o
        };
        let objects = vec![
            obj("Deployment", "web", json!({})),
            with_previous("StatefulSet", "p-web", "web,web", "StatefulSet,StatefulSet"),
            obj("MyKind", "web", json!({"size": 1})),
            with_previous("Deployment", "db2", "db", "Deployment"),
            obj("Deployment", "db", json!({"replicas": 2})),
        ];
        let broken = with_previous("ConfigMap", "c", "a,b", "ConfigMap");
        let mut specs = default_field_specs();
        specs.push(FieldSpec::new("MyKind", "spec/size", false));
        specs.push(FieldSpec::new("", "spec/replicas", false));
        let entries = [
            json!([{"name": "web", "count": 3}, {"name": "db", "count": 4}]),
            json!([{"name": "db", "count": 0}, {"name": "nope", "count": 1}]),
        ];
        for mut inputs in [objects.clone(), {
            let mut o = objects.clone();
            o.insert(3, broken);
            o
        }] {
            for entry in &entries {
                let mut scanned = inputs.clone();
                let want = apply_scanning(
                    &mut scanned,
                    parse(entry, "k.yaml").unwrap(),
                    "k.yaml",
                    &specs,
                )
                .map_err(|e| e.to_string());
                let got = apply_with_field_specs(&mut inputs, entry, "k.yaml", &specs)
                    .map_err(|e| e.to_string());
                assert_eq!(got, want, "{entry}");
                assert_eq!(inputs, scanned, "{entry}");
            }
        }
    }

    /// Unreadable previous ids are an error even on an object no field
    /// spec selects, as in kustomize's order of checks.
    #[test]
    fn previous_ids_are_read_for_every_object() {
        let mut d = obj("ConfigMap", "c", json!({}));
        d.set_annotation(PREVIOUS_NAMES, "a,b");
        d.set_annotation(PREVIOUS_KINDS, "ConfigMap");
        d.set_annotation(PREVIOUS_NAMESPACES, "default");
        let mut objects = vec![obj("Deployment", "web", json!({})), d];
        let err = apply(
            &mut objects,
            &json!([{"name": "web", "count": 2}]),
            "k.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("number of previous names"), "{err}");
    }

    #[test]
    fn errors() {
        let mut objects = vec![obj("Deployment", "web", json!({}))];
        let err = apply(
            &mut objects,
            &json!([{"name": "nope", "count": 1}]),
            "k.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("resource with name nope does not match a config with the following GVK [Deployment.[noVer].[noGrp] StatefulSet.[noVer].[noGrp] ReplicaSet.[noVer].[noGrp] ReplicationController.[noVer].[noGrp]]"),
            "{err}"
        );
        let err = apply(
            &mut objects,
            &json!([{"name": "web", "count": "x"}]),
            "k.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("k.yaml") && err.contains("replicas[0]"),
            "{err}"
        );
    }
}
