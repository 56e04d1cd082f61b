//! The patch transformers (`patchesStrategicMerge`, `patches`,
//! `patchesJson6902`): finding each patch's targets and calling the patch
//! module.

use serde_json::Value;

use super::build::Context;
use super::file::Kustomization;
use super::resource::{ResId, Resource};
use super::select::Selector;
use crate::error::RenderError;
use crate::object::Object;
use crate::patch::{self, PatchKind};

/// Where a patch came from, for errors.
struct Source {
    file: String,
    text: String,
}

/// Reads a patch given as a path (relative to the kustomization) or inline.
fn load(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    path: Option<&str>,
    inline: Option<&str>,
    field: &str,
) -> Result<Source, RenderError> {
    match (path, inline) {
        (Some(path), None) => {
            let file = ctx.file_path(k, path, field)?;
            Ok(Source {
                text: ctx.reader.read_text(&file)?,
                file,
            })
        }
        (None, Some(text)) => Ok(Source {
            file: k.file.clone(),
            text: text.to_string(),
        }),
        (Some(_), Some(_)) => Err(RenderError::field(
            &k.file,
            field,
            "patch and path cannot both be set",
        )),
        (None, None) => Err(RenderError::field(&k.file, field, "must set patch or path")),
    }
}

fn parse(source: &Source, field: &str) -> Result<PatchKind, RenderError> {
    patch::parse_patch_text(&source.text)
        .map_err(|e| RenderError::field(&source.file, field, e.to_string()))
}

/// Applies a strategic merge patch to one resource; `true` when the patch deletes it.
fn merge(
    ctx: &Context<'_, '_>,
    res: &mut Resource,
    patch_doc: &Value,
    file: &str,
) -> Result<bool, RenderError> {
    if patch::is_delete_patch(patch_doc) {
        return Ok(true);
    }
    let mut value = Value::Object(std::mem::take(&mut res.object.0));
    let result = match &ctx.schema {
        Some(schema) => patch::strategic_merge_with(&mut value, patch_doc, schema),
        None => patch::strategic_merge(&mut value, patch_doc),
    };
    let object = res.id().to_string();
    match value {
        Value::Object(map) => res.object.0 = map,
        Value::Null => return Ok(true),
        _ => {}
    }
    result.map_err(|e| RenderError::Patch {
        file: file.to_string(),
        object,
        message: e.to_string(),
    })?;
    Ok(false)
}

fn json6902(res: &mut Resource, ops: &Value, file: &str) -> Result<(), RenderError> {
    let object = res.id().to_string();
    let mut value = Value::Object(std::mem::take(&mut res.object.0));
    let result = patch::apply_json6902(&mut value, ops);
    if let Value::Object(map) = value {
        res.object.0 = map;
    }
    result.map_err(|e| RenderError::Patch {
        file: file.to_string(),
        object,
        message: e.to_string(),
    })
}

/// The id a strategic merge patch names (its apiVersion, kind, name, namespace).
fn patch_id(doc: &Value) -> ResId {
    let obj = Object::from_value(doc.clone()).unwrap_or(Object(Default::default()));
    ResId::of(&obj)
}

/// The resources a target-less strategic merge patch applies to: those with
/// the patch's id, current or earlier.
fn by_id(resources: &[Resource], doc: &Value, file: &str) -> Result<usize, RenderError> {
    let id = patch_id(doc);
    let matches = |strict_ns: bool| -> Vec<usize> {
        resources
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.all_ids().any(|known| {
                    known.kind == id.kind
                        && known.name == id.name
                        && known.group == id.group
                        && (id.version.is_empty() || known.version == id.version)
                        && (!strict_ns || known.effective_namespace() == id.effective_namespace())
                })
            })
            .map(|(i, _)| i)
            .collect()
    };
    let mut found = matches(true);
    if found.is_empty() && id.namespace.is_empty() {
        found = matches(false);
    }
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(RenderError::resource(
            file,
            format!("no matches for Id {id}; failed to find unique target for patch"),
        )),
        _ => Err(RenderError::resource(
            file,
            format!("multiple matches for Id {id}; failed to find unique target for patch"),
        )),
    }
}

fn apply_smp_untargeted(
    ctx: &Context<'_, '_>,
    resources: &mut Vec<Resource>,
    docs: &[Value],
    file: &str,
) -> Result<(), RenderError> {
    for doc in docs {
        let i = by_id(resources, doc, file)?;
        let before = resources[i].id();
        let doc = retarget(doc, &resources[i].object, false, false);
        if merge(ctx, &mut resources[i], &doc, file)? {
            resources.remove(i);
        } else {
            resources[i].record(before);
        }
    }
    Ok(())
}

/// `patchesStrategicMerge`: paths or inline patches, each matched by id.
pub fn strategic_merge_field(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
) -> Result<(), RenderError> {
    let Some(list) = k.get("patchesStrategicMerge") else {
        return Ok(());
    };
    let list = list
        .as_array()
        .ok_or_else(|| RenderError::field(&k.file, "patchesStrategicMerge", "must be a list"))?;
    for (i, entry) in list.iter().enumerate() {
        let field = format!("patchesStrategicMerge[{i}]");
        let text = entry
            .as_str()
            .ok_or_else(|| RenderError::field(&k.file, &field, "must be a string"))?;
        let inline = text.contains('\n') || text.trim_start().starts_with('{');
        let source = if inline {
            load(ctx, k, None, Some(text), &field)?
        } else {
            load(ctx, k, Some(text), None, &field)?
        };
        match parse(&source, &field)? {
            PatchKind::StrategicMerge(docs) if docs.is_empty() => {
                return Err(RenderError::field(
                    &source.file,
                    &field,
                    "patch appears to be empty",
                ));
            }
            PatchKind::StrategicMerge(docs) => {
                apply_smp_untargeted(ctx, resources, &docs, &source.file)?
            }
            PatchKind::Json6902(_) => {
                return Err(RenderError::field(
                    &source.file,
                    &field,
                    "a JSON 6902 patch needs a target; use patches with a target",
                ));
            }
        }
    }
    Ok(())
}

/// One entry of `patches` or `patchesJson6902`.
/// Applies one patch entry (`path` or `patch`, optional `target` and
/// `options`), as in `patches`; `field` names it in errors.
pub fn targeted(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    entry: &Value,
    field: &str,
) -> Result<(), RenderError> {
    let map = entry
        .as_object()
        .ok_or_else(|| RenderError::field(&k.file, field, "must be a map"))?;
    let get = |key: &str| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    };
    let path = get("path").and_then(Value::as_str);
    let inline = get("patch").and_then(Value::as_str);
    let source = load(ctx, k, path, inline, field)?;
    let kind = parse(&source, field)?;
    let options = get("options");
    let allow = |key: &str| {
        options
            .and_then(|o| o.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let (allow_name, allow_kind) = (allow("allowNameChange"), allow("allowKindChange"));
    let Some(target) = get("target") else {
        return match kind {
            PatchKind::StrategicMerge(docs) => {
                apply_smp_untargeted(ctx, resources, &docs, &source.file)
            }
            PatchKind::Json6902(_) => Err(RenderError::field(
                &k.file,
                field,
                "a JSON 6902 patch must have a target",
            )),
        };
    };
    let selector = Selector::parse(target, &k.file, &format!("{field}.target"))?;
    let mut i = 0;
    while i < resources.len() {
        if !selector.selects(&resources[i]) {
            i += 1;
            continue;
        }
        let before = resources[i].id();
        let mut deleted = false;
        match &kind {
            PatchKind::Json6902(ops) => json6902(&mut resources[i], ops, &source.file)?,
            PatchKind::StrategicMerge(docs) => {
                for doc in docs {
                    let doc = retarget(doc, &resources[i].object, allow_name, allow_kind);
                    if merge(ctx, &mut resources[i], &doc, &source.file)? {
                        deleted = true;
                        break;
                    }
                }
            }
        }
        if deleted {
            resources.remove(i);
        } else {
            resources[i].record(before);
            i += 1;
        }
    }
    Ok(())
}

/// `patches`.
pub fn patches_field(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
) -> Result<(), RenderError> {
    entries(ctx, k, resources, "patches")
}

/// `patchesJson6902`.
pub fn json6902_field(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
) -> Result<(), RenderError> {
    entries(ctx, k, resources, "patchesJson6902")
}

fn entries(
    ctx: &Context<'_, '_>,
    k: &Kustomization,
    resources: &mut Vec<Resource>,
    field: &str,
) -> Result<(), RenderError> {
    let Some(list) = k.get(field) else {
        return Ok(());
    };
    let list = list
        .as_array()
        .ok_or_else(|| RenderError::field(&k.file, field, "must be a list"))?;
    for (i, entry) in list.iter().enumerate() {
        targeted(ctx, k, resources, entry, &format!("{field}[{i}]"))?;
    }
    Ok(())
}

/// The patch with the target's name, namespace and kind, unless the
/// options allow the patch to change them.
fn retarget(doc: &Value, target: &Object, allow_name: bool, allow_kind: bool) -> Value {
    let mut doc = doc.clone();
    if let Value::Object(map) = &mut doc {
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(meta) = meta {
            let name_given = meta.get("name").and_then(Value::as_str).is_some();
            if !allow_name || !name_given {
                meta.insert("name".into(), Value::String(target.name().to_string()));
            }
            match target.namespace() {
                Some(ns) => {
                    meta.insert("namespace".into(), Value::String(ns.to_string()));
                }
                None => {
                    meta.remove("namespace");
                }
            }
        }
        let kind_given = map.get("kind").and_then(Value::as_str).is_some();
        if !allow_kind || !kind_given {
            map.insert("kind".into(), Value::String(target.kind().to_string()));
            map.insert(
                "apiVersion".into(),
                Value::String(target.api_version().to_string()),
            );
        }
    }
    doc
}
