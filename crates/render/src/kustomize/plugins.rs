//! Built-in transformer plugin configs listed under `transformers:`
//! (`apiVersion: builtin`): run natively with the same code as the
//! kustomization fields they mirror. Anything else is refused by name.

use serde_json::{Map, Value};

use super::build::{Context, unsupported_plugin, with_objects, with_objects_where};
use super::config::Config;
use super::fieldpath::FieldSpec;
use super::file::{Kustomization, scalar_text};
use super::resource::Resource;
use super::{images, patches, replacements, replicas, transform};
use crate::error::RenderError;

/// The field specs of a plugin config.
fn field_specs(doc: &Value, file: &str, field: &str) -> Result<Vec<FieldSpec>, RenderError> {
    match doc.get("fieldSpecs") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => {
            FieldSpec::parse_list(v, file, field).map_err(|e| RenderError::field(file, field, e))
        }
    }
}

fn pairs(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect())
        .unwrap_or_default()
}

fn text<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

/// Runs one transformer config on `resources`.
pub fn run_transformer(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    config: &Config,
    doc: &Value,
    file: &str,
    field: &str,
) -> Result<(), RenderError> {
    let builtin = matches!(text(doc, "apiVersion"), Some("builtin") | None);
    let kind = text(doc, "kind").unwrap_or("");
    if !builtin {
        return Err(unsupported_plugin(file, field, doc));
    }
    match kind {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let specs = field_specs(doc, file, field)?;
            let mut local = config.clone();
            let (names, extra): (Vec<FieldSpec>, Vec<FieldSpec>) =
                specs.into_iter().partition(|s| s.path == "metadata/name");
            local.name_prefix = extra;
            local.prefix_kinds = (!names.is_empty()).then_some(names);
            let prefix = text(doc, "prefix").unwrap_or("");
            let suffix = text(doc, "suffix").unwrap_or("");
            transform::prefix_suffix(resources, prefix, "", &local, file)?;
            transform::prefix_suffix(resources, "", suffix, &local, file)
        }
        "NamespaceTransformer" => {
            let ns = doc
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            if ns.is_empty() {
                return Ok(());
            }
            let mut local = config.clone();
            local.namespace = field_specs(doc, file, field)?
                .into_iter()
                .filter(|s| s.path != "metadata/namespace")
                .collect();
            transform::namespace(resources, ns, &local, file)
        }
        "LabelTransformer" => {
            let specs = field_specs(doc, file, field)?;
            transform::add_to_fields(resources, &pairs(doc.get("labels")), "labels", &specs, file)
        }
        "AnnotationsTransformer" => {
            let specs = field_specs(doc, file, field)?;
            transform::add_to_fields(
                resources,
                &pairs(doc.get("annotations")),
                "annotations",
                &specs,
                file,
            )
        }
        "PatchTransformer" => {
            let mut entry = Map::new();
            for key in ["path", "patch", "target", "options"] {
                if let Some(v) = doc.get(key).filter(|v| !v.is_null()) {
                    entry.insert(key.into(), v.clone());
                }
            }
            patches::targeted(ctx, k, resources, &Value::Object(entry), field)
        }
        "PatchJson6902Transformer" => {
            let mut entry = Map::new();
            for (from, to) in [("path", "path"), ("jsonOp", "patch"), ("target", "target")] {
                if let Some(v) = doc.get(from).filter(|v| !v.is_null()) {
                    entry.insert(to.into(), v.clone());
                }
            }
            patches::targeted(ctx, k, resources, &Value::Object(entry), field)
        }
        "PatchStrategicMergeTransformer" => {
            let mut list: Vec<Value> = doc
                .get("paths")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(inline) = doc.get("patches").and_then(Value::as_str) {
                list.push(Value::String(inline.to_string()));
            }
            for (i, entry) in list.iter().enumerate() {
                let mut e = Map::new();
                let key = match entry.as_str() {
                    Some(s) if s.contains('\n') => "patch",
                    _ => "path",
                };
                e.insert(key.into(), entry.clone());
                patches::targeted(
                    ctx,
                    k,
                    resources,
                    &Value::Object(e),
                    &format!("{field}.paths[{i}]"),
                )?;
            }
            Ok(())
        }
        "ImageTagTransformer" => {
            let image = doc.get("imageTag").cloned().unwrap_or(Value::Null);
            let mut specs = field_specs(doc, file, field)?;
            if specs.is_empty() {
                specs = images::default_field_specs();
            }
            let list = Value::Array(vec![image]);
            with_objects_where(
                resources,
                |_| false,
                |objects| images::apply_with_field_specs(objects, &list, file, &specs),
            )
        }
        "ReplicaCountTransformer" => {
            let replica = doc.get("replica").cloned().unwrap_or(Value::Null);
            let mut specs = field_specs(doc, file, field)?;
            if specs.is_empty() {
                specs = replicas::default_field_specs();
            }
            let list = Value::Array(vec![replica]);
            with_objects(resources, |objects| {
                replicas::apply_with_field_specs(objects, &list, file, &specs)
            })
        }
        "ReplacementTransformer" => {
            let list = doc
                .get("replacements")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            let tree: &dyn crate::tree::FileTree = ctx.reader;
            with_objects(resources, |objects| {
                replacements::apply(objects, &list, tree, &k.dir, file)
            })
        }
        _ => Err(unsupported_plugin(file, field, doc)),
    }
}
