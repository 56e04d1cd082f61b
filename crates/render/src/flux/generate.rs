//! The kustomization Flux generates for a path that has none (fluxcd/pkg
//! `kustomize` generator, `scanManifests`).
//!
//! The directory is walked depth-first in name order, as Go's
//! `filepath.Walk` does:
//! - a file whose name ends in `.yaml` or `.yml` (case-sensitive) is a
//!   resource, hidden files included; every other file is ignored;
//! - a sub-directory holding a kustomization file is one resource (built as
//!   a kustomization) and is not descended into; other sub-directories,
//!   hidden ones included, are descended into.
//!
//! A directory with no resource gets an empty kustomization (Flux writes a
//! placeholder namespace so kustomize accepts it), which builds to nothing.
//!
//! One difference: Go's walk does not descend into a symlinked directory;
//! the tree resolves symlinks (inside the repository only), so this walk does.

use serde_json::{Map, Value};

use crate::EntryKind;
use crate::error::RenderError;
use crate::kustomize::{self, file::Kustomization};
use crate::tree::join;
use crate::warning::RenderWarning;
use crate::yaml::Reader;

/// The namespace Flux writes into an empty generated kustomization.
const PLACEHOLDER_NAMESPACE: &str = "_placeholder";

/// The generated kustomization of `dir`, which has no kustomization file,
/// and the symlinks the walk could not follow.
pub(super) fn kustomization(
    reader: &Reader<'_>,
    dir: &str,
) -> Result<(Kustomization, Vec<RenderWarning>), RenderError> {
    let mut found = Found::default();
    scan(reader, dir, "", &mut found)?;
    let Found {
        resources,
        warnings,
    } = found;
    let mut fields = Map::new();
    fields.insert(
        "apiVersion".into(),
        Value::String("kustomize.config.k8s.io/v1beta1".into()),
    );
    fields.insert("kind".into(), Value::String("Kustomization".into()));
    if resources.is_empty() {
        fields.insert(
            "namespace".into(),
            Value::String(PLACEHOLDER_NAMESPACE.into()),
        );
    } else {
        let list = resources.into_iter().map(Value::String).collect();
        fields.insert("resources".into(), Value::Array(list));
    }
    let text = serde_json::to_string(&fields)
        .map_err(|e| RenderError::resource(dir, format!("generating a kustomization: {e}")))?;
    let k = Kustomization::parse(&text, dir, &super::generated_file_name(dir)?)?;
    Ok((k, warnings))
}

/// What the walk found.
#[derive(Default)]
struct Found {
    /// Resources relative to the rendered directory, written `./a/b.yaml`.
    resources: Vec<String>,
    /// Symlinks not followed (outside the repository, dangling, looping).
    warnings: Vec<RenderWarning>,
}

/// Adds what is under `dir/rel` to `found`, in walk order.
fn scan(reader: &Reader<'_>, dir: &str, rel: &str, found: &mut Found) -> Result<(), RenderError> {
    let here = join(dir, rel)?;
    for link in reader.tree().skipped_links(&here)? {
        found.warnings.push(RenderWarning::SkippedLink {
            link: join(&here, &link.name)?,
            target: link.target,
            reason: link.reason,
        });
    }
    for (name, kind) in reader.list(&here)? {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        match kind {
            EntryKind::Dir => {
                let child = join(dir, &child_rel)?;
                if kustomize::find_kustomization(reader.tree(), &child)?.is_some() {
                    found.resources.push(format!("./{child_rel}"));
                } else {
                    scan(reader, dir, &child_rel, found)?;
                }
            }
            EntryKind::File if is_manifest(&name) => found.resources.push(format!("./{child_rel}")),
            EntryKind::File => {}
        }
    }
    Ok(())
}

/// Whether Flux takes the file as a manifest: its extension is `.yaml` or
/// `.yml` (as Go's `filepath.Ext`: the part from the last dot, so a file
/// named `.yaml` counts).
fn is_manifest(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| ext == "yaml" || ext == "yml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_yaml_and_yml_only() {
        for name in ["a.yaml", "a.yml", ".hidden.yaml", ".yaml", "a.b.yml"] {
            assert!(is_manifest(name), "{name}");
        }
        for name in [
            "a.json",
            "a.YAML",
            "a.yaml.bak",
            "README.md",
            "yaml",
            "a.jsonnet",
        ] {
            assert!(!is_manifest(name), "{name}");
        }
    }
}
