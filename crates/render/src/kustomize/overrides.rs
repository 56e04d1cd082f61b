//! Argo CD's `spec.source.kustomize` overrides, applied to the root
//! kustomization as `kustomize edit set/add ...` would before the build.

use serde_json::{Map, Value};

use super::file::Kustomization;
use super::images::parse_argo_image;
use crate::error::RenderError;
use crate::{KustomizeOverrides, PatchTarget};

/// Edits `k` in place.
pub fn apply(k: &mut Kustomization, o: &KustomizeOverrides) -> Result<(), RenderError> {
    let f = &mut k.fields;
    if !o.images.is_empty() {
        let mut list = take_list(f, "images");
        for spec in &o.images {
            let entry = parse_argo_image(spec)?;
            let name = entry.get("name").cloned();
            list.retain(|e| e.get("name") != name.as_ref());
            list.push(entry);
        }
        f.insert("images".into(), Value::Array(list));
    }
    if let Some(prefix) = &o.name_prefix {
        f.insert("namePrefix".into(), Value::String(prefix.clone()));
    }
    if let Some(suffix) = &o.name_suffix {
        f.insert("nameSuffix".into(), Value::String(suffix.clone()));
    }
    if let Some(ns) = &o.namespace {
        f.insert("namespace".into(), Value::String(ns.clone()));
    }
    add_map(f, "commonLabels", &o.common_labels);
    add_map(f, "commonAnnotations", &o.common_annotations);
    if !o.replicas.is_empty() {
        let mut list = take_list(f, "replicas");
        for (name, count) in &o.replicas {
            list.retain(|e| e.get("name").and_then(Value::as_str) != Some(name));
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(name.clone()));
            entry.insert("count".into(), Value::from(*count));
            list.push(Value::Object(entry));
        }
        f.insert("replicas".into(), Value::Array(list));
    }
    if !o.patches.is_empty() {
        let mut list = take_list(f, "patches");
        for patch in &o.patches {
            let mut entry = Map::new();
            if let Some(path) = &patch.path {
                entry.insert("path".into(), Value::String(path.clone()));
            }
            if let Some(text) = &patch.patch {
                entry.insert("patch".into(), Value::String(text.clone()));
            }
            if let Some(target) = &patch.target {
                entry.insert("target".into(), target_value(target));
            }
            if !patch.options.is_empty() {
                let options = patch
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Bool(*v)))
                    .collect();
                entry.insert("options".into(), Value::Object(options));
            }
            list.push(Value::Object(entry));
        }
        f.insert("patches".into(), Value::Array(list));
    }
    if !o.components.is_empty() {
        let mut list = take_list(f, "components");
        for c in &o.components {
            if !list.iter().any(|e| e.as_str() == Some(c)) {
                list.push(Value::String(c.clone()));
            }
        }
        f.insert("components".into(), Value::Array(list));
    }
    Ok(())
}

fn take_list(f: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match f.remove(key) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    }
}

fn add_map(f: &mut Map<String, Value>, key: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let mut map = match f.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (k, v) in pairs {
        map.insert(k.clone(), Value::String(v.clone()));
    }
    f.insert(key.into(), Value::Object(map));
}

fn target_value(t: &PatchTarget) -> Value {
    let mut map = Map::new();
    for (key, value) in [
        ("group", &t.group),
        ("version", &t.version),
        ("kind", &t.kind),
        ("name", &t.name),
        ("namespace", &t.namespace),
        ("labelSelector", &t.label_selector),
        ("annotationSelector", &t.annotation_selector),
    ] {
        if let Some(v) = value {
            map.insert(key.into(), Value::String(v.clone()));
        }
    }
    Value::Object(map)
}
