//! A Flux Kustomization's fields written into the root kustomization, as
//! fluxcd/pkg's generator (`GenerateManifest`) writes them before the build.

use serde_json::{Map, Value};

use super::{FluxImage, FluxOptions};
use crate::PatchTarget;
use crate::error::RenderError;
use crate::kustomize::file::Kustomization;
use crate::tree::{FileTree, join};

/// Where errors about the Kustomization's own fields point.
const SPEC: &str = "Flux Kustomization spec";

/// A kustomization file without resources gets `buildMetadata:
/// [originAnnotations]`, as Flux's generator writes it (to keep kustomize
/// from refusing the file as empty); its objects then carry
/// `config.kubernetes.io/origin`.
pub(super) fn allow_empty_resources(k: &mut Kustomization) {
    let has_resources = k
        .get("resources")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty());
    if !has_resources {
        k.fields.insert(
            "buildMetadata".into(),
            Value::Array(vec![Value::String("originAnnotations".into())]),
        );
    }
}

/// Writes `flux` into `k`, in Flux's order.
pub(super) fn apply(
    k: &mut Kustomization,
    flux: &FluxOptions,
    tree: &dyn FileTree,
) -> Result<(), RenderError> {
    let f = &mut k.fields;
    for (field, value) in [
        ("namespace", &flux.target_namespace),
        ("namePrefix", &flux.name_prefix),
        ("nameSuffix", &flux.name_suffix),
    ] {
        if let Some(value) = value {
            f.insert(field.into(), Value::String(value.clone()));
        }
    }
    let patches = flux.patches.iter().map(|p| {
        let mut entry = Map::new();
        entry.insert("patch".into(), Value::String(p.patch.clone()));
        if let Some(target) = &p.target {
            entry.insert("target".into(), target_value(target));
        }
        Value::Object(entry)
    });
    append(f, "patches", patches.collect());
    let components = components(&k.dir, flux, tree)?;
    let f = &mut k.fields;
    append(f, "components", components);
    let strategic = flux
        .patches_strategic_merge
        .iter()
        .map(|p| Value::String(p.to_string()))
        .collect();
    append(f, "patchesStrategicMerge", strategic);
    let json6902 = flux.patches_json6902.iter().map(|p| {
        let mut entry = Map::new();
        let ops = Value::Array(p.operations.clone()).to_string();
        entry.insert("patch".into(), Value::String(ops));
        entry.insert("target".into(), target_value(&p.target));
        Value::Object(entry)
    });
    append(f, "patchesJson6902", json6902.collect());
    merge_images(f, &flux.images, &k.file)
}

/// The components to add: local relative paths only; missing ones left
/// out when `ignore_missing_components` is set.
fn components(
    dir: &str,
    flux: &FluxOptions,
    tree: &dyn FileTree,
) -> Result<Vec<Value>, RenderError> {
    let mut out = Vec::new();
    for (i, component) in flux.components.iter().enumerate() {
        if !is_local_relative(component) {
            return Err(RenderError::field(
                SPEC,
                &format!("components[{i}]"),
                format!("component path {component:?} must be local and relative"),
            ));
        }
        if flux.ignore_missing_components && tree.entry(&join(dir, component)?)?.is_none() {
            continue;
        }
        out.push(Value::String(component.clone()));
    }
    Ok(out)
}

/// Flux's `IsLocalRelativePath`: no remote prefix, not absolute.
fn is_local_relative(path: &str) -> bool {
    const REMOTE: [&str; 8] = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    let lower = path.to_ascii_lowercase();
    let remote = REMOTE
        .iter()
        .any(|p| p.len() < path.len() && lower.starts_with(p));
    let absolute = path.starts_with('/') || lower.trim_start_matches("file://").starts_with('/');
    !remote && !absolute
}

/// Appends `items` to the list field `key` (created when missing).
fn append(f: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    let mut list = match f.remove(key) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    list.extend(items);
    f.insert(key.into(), Value::Array(list));
}

/// Merges `images` into the field `images` by name: `newName` replaces the
/// entry's when set; `newTag` and `digest` replace both of the entry's when
/// either is set; an image not listed yet is appended.
fn merge_images(
    f: &mut Map<String, Value>,
    images: &[FluxImage],
    file: &str,
) -> Result<(), RenderError> {
    if images.is_empty() {
        return Ok(());
    }
    let mut list = match f.remove("images") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(RenderError::field(file, "images", "must be a list")),
    };
    for (i, image) in images.iter().enumerate() {
        if image.name.is_empty() {
            return Err(RenderError::field(
                SPEC,
                &format!("images[{i}].name"),
                "an image needs a name",
            ));
        }
        let existing = list.iter_mut().find_map(|entry| {
            entry
                .as_object_mut()
                .filter(|e| e.get("name").and_then(Value::as_str) == Some(image.name.as_str()))
        });
        match existing {
            Some(entry) => update_image(entry, image),
            None => {
                let mut entry = Map::new();
                entry.insert("name".into(), Value::String(image.name.clone()));
                update_image(&mut entry, image);
                list.push(Value::Object(entry));
            }
        }
    }
    f.insert("images".into(), Value::Array(list));
    Ok(())
}

fn update_image(entry: &mut Map<String, Value>, image: &FluxImage) {
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(name) = set(&image.new_name) {
        entry.insert("newName".into(), Value::String(name));
    }
    let (tag, digest) = (set(&image.new_tag), set(&image.digest));
    if tag.is_some() || digest.is_some() {
        entry.remove("newTag");
        entry.remove("digest");
        if let Some(tag) = tag {
            entry.insert("newTag".into(), Value::String(tag));
        }
        if let Some(digest) = digest {
            entry.insert("digest".into(), Value::String(digest));
        }
    }
}

/// A patch target as a kustomization writes it.
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
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            map.insert(key.into(), Value::String(v.to_string()));
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_and_absolute_components_are_not_local() {
        for path in ["../components/a", "comp", "./x/y", "file-based"] {
            assert!(is_local_relative(path), "{path}");
        }
        for path in [
            "https://example.com/c",
            "GitHub.com/org/repo",
            "git@host:repo",
            "/abs",
            "file:///abs",
            "gh:org/repo",
        ] {
            assert!(!is_local_relative(path), "{path}");
        }
    }

    #[test]
    fn images_merge_by_name_tag_and_digest_together() {
        let mut f = Map::new();
        f.insert(
            "images".into(),
            serde_json::json!([{"name": "app", "newName": "reg/app", "digest": "sha256:old"}]),
        );
        let images = [
            FluxImage {
                name: "app".into(),
                new_tag: Some("2.0".into()),
                ..FluxImage::default()
            },
            FluxImage {
                name: "db".into(),
                new_name: Some("reg/db".into()),
                ..FluxImage::default()
            },
        ];
        merge_images(&mut f, &images, "k.yaml").unwrap();
        assert_eq!(
            f["images"],
            serde_json::json!([
                {"name": "app", "newName": "reg/app", "newTag": "2.0"},
                {"name": "db", "newName": "reg/db"}
            ])
        );
        let err = merge_images(&mut f, &[FluxImage::default()], "k.yaml").unwrap_err();
        assert!(err.to_string().contains("images[0].name"), "{err}");
    }
}
