//! The metadata transformers: namespace, name prefix/suffix, labels and
//! annotations, each driven by field specs.

use serde_json::{Map, Value};

use super::config::Config;
use super::fieldpath::FieldSpec;
use super::resource::{Resource, is_cluster_scoped_in};
use crate::error::RenderError;

/// Applies `f` to every resource, recording id changes in their history.
pub fn each(
    resources: &mut [Resource],
    mut f: impl FnMut(&mut Resource) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    for resource in resources {
        let before = resource.id();
        f(resource)?;
        resource.record(before);
    }
    Ok(())
}

/// Sets `value` at every field `spec` finds (creating it when the spec says so).
fn set_string(
    resource: &mut Resource,
    spec: &FieldSpec,
    value: &str,
    file: &str,
) -> Result<(), RenderError> {
    if !spec.selects(&resource.object) {
        return Ok(());
    }
    let new = Value::String(value.to_string());
    spec.apply(&mut resource.object, &new, &mut |v| {
        *v = new.clone();
        Ok(())
    })
    .map_err(|e| RenderError::field(file, "namespace", e))
}

/// The namespace transformer: `metadata.namespace` of every namespaced
/// object, the name of `Namespace` objects, RoleBinding subjects in the
/// `default` namespace, and configured extra fields.
pub fn namespace(
    resources: &mut [Resource],
    namespace: &str,
    config: &Config,
    file: &str,
) -> Result<(), RenderError> {
    each(resources, |res| {
        let kind = res.object.kind().to_string();
        if kind == "Namespace" && res.object.api_version() == "v1" {
            res.object
                .metadata_mut()
                .insert("name".into(), Value::String(namespace.into()));
        } else if !is_cluster_scoped_in(res.object.group(), &kind) {
            res.object.set_namespace(namespace);
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = res.object.0.get_mut("subjects")
        {
            for subject in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if subject.get("name").and_then(Value::as_str) == Some("default") {
                    subject.insert("namespace".into(), Value::String(namespace.into()));
                }
            }
        }
        for spec in &config.namespace {
            set_string(res, spec, namespace, file)?;
        }
        Ok(())
    })
}

/// Kinds whose names prefixes and suffixes leave alone.
fn keeps_name(res: &Resource) -> bool {
    let obj = &res.object;
    matches!(obj.kind(), "CustomResourceDefinition" | "Namespace")
        || (obj.kind() == "APIService" && obj.group() == "apiregistration.k8s.io")
}

/// Adds a name prefix and suffix (either may be empty).
pub fn prefix_suffix(
    resources: &mut [Resource],
    prefix: &str,
    suffix: &str,
    config: &Config,
    file: &str,
) -> Result<(), RenderError> {
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    each(resources, |res| {
        if keeps_name(res) {
            return Ok(());
        }
        if let Some(kinds) = &config.prefix_kinds
            && !kinds.iter().any(|s| s.selects(&res.object))
        {
            return Ok(());
        }
        let name = format!("{prefix}{}{suffix}", res.object.name());
        res.object
            .metadata_mut()
            .insert("name".into(), Value::String(name));
        if !prefix.is_empty() {
            res.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            res.suffixes.push(suffix.to_string());
        }
        for spec in &config.name_prefix {
            if !spec.selects(&res.object) {
                continue;
            }
            spec.apply(&mut res.object, &Value::Null, &mut |v| {
                if let Value::String(s) = v {
                    *s = format!("{prefix}{s}{suffix}");
                }
                Ok(())
            })
            .map_err(|e| RenderError::field(file, "namePrefix", e))?;
        }
        Ok(())
    })
}

/// Merges `pairs` into every map found by `specs` (plus `metadata/<field>`).
pub fn add_to_maps(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    field: &str,
    specs: &[FieldSpec],
    file: &str,
) -> Result<(), RenderError> {
    if pairs.is_empty() {
        return Ok(());
    }
    let meta = FieldSpec::new("", &format!("metadata/{field}"), true);
    let mut all = vec![meta];
    all.extend(specs.iter().cloned());
    add_to_fields(resources, pairs, field, &all, file)
}

/// Merges `pairs` into every map found by `specs` only.
pub fn add_to_fields(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    field: &str,
    specs: &[FieldSpec],
    file: &str,
) -> Result<(), RenderError> {
    each(resources, |res| {
        for spec in specs {
            if !spec.selects(&res.object) {
                continue;
            }
            spec.apply(&mut res.object, &Value::Object(Map::new()), &mut |v| {
                if v.is_null() {
                    *v = Value::Object(Map::new());
                }
                let Value::Object(map) = v else {
                    return Err("expected a map".into());
                };
                for (k, val) in pairs {
                    map.insert(k.clone(), Value::String(val.clone()));
                }
                Ok(())
            })
            .map_err(|e| RenderError::field(file, field, e))?;
        }
        Ok(())
    })
}

/// One entry of a kustomization's `labels`: (pairs, includeSelectors,
/// includeTemplates, extra fields).
pub type LabelsEntry = (Vec<(String, String)>, bool, bool, Vec<FieldSpec>);

/// The `labels` entries.
pub fn labels_entries(value: &Value, file: &str) -> Result<Vec<LabelsEntry>, RenderError> {
    let Some(entries) = value.as_array() else {
        return Err(RenderError::field(file, "labels", "must be a list"));
    };
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let field = format!("labels[{i}]");
        let get = |k: &str| {
            entry
                .as_object()
                .and_then(|m| m.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)))
                .map(|(_, v)| v)
        };
        let pairs = match get("pairs") {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), super::file::scalar_text(v)))
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(RenderError::field(file, &field, "pairs must be a map")),
        };
        let flag = |k: &str| get(k).and_then(Value::as_bool).unwrap_or(false);
        let fields = match get("fields") {
            Some(v) if !v.is_null() => FieldSpec::parse_list(v, file, &field)
                .map_err(|e| RenderError::field(file, &field, e))?,
            _ => Vec::new(),
        };
        out.push((
            pairs,
            flag("includeSelectors"),
            flag("includeTemplates"),
            fields,
        ));
    }
    Ok(out)
}
