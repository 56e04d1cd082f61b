//! `buildMetadata`: origin and transformer annotations, the managed-by label.

use serde_json::Value;

use super::file::Kustomization;
use super::resource::{Configured, Resource};
use crate::error::RenderError;

/// Applies the top-level kustomization's `buildMetadata` options.
pub fn build_metadata(k: &Kustomization, resources: &mut [Resource]) -> Result<(), RenderError> {
    let options = k.strings("buildMetadata")?;
    for option in &options {
        match option.as_str() {
            "managedByLabel" => {
                for res in resources.iter_mut() {
                    let labels = res
                        .object
                        .metadata_mut()
                        .entry("labels")
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Value::Object(map) = labels {
                        map.insert(
                            "app.kubernetes.io/managed-by".into(),
                            Value::String("kustomize-v5.5.0".into()),
                        );
                    }
                }
            }
            "originAnnotations" => {
                for res in resources.iter_mut() {
                    let text = match &res.generated_by {
                        Some(by) => configured_text(&k.dir, by, ""),
                        None => format!("path: {}\n", relative(&k.dir, &res.origin)),
                    };
                    res.object
                        .set_annotation("config.kubernetes.io/origin", &text);
                }
            }
            "transformerAnnotations" => {
                for res in resources.iter_mut() {
                    if res.transformations.is_empty() {
                        continue;
                    }
                    let text: String = res
                        .transformations
                        .iter()
                        .map(|t| {
                            let body = configured_text(&k.dir, t, "  ");
                            format!("- {}", body.trim_start())
                        })
                        .collect();
                    res.object
                        .set_annotation("alpha.config.kubernetes.io/transformations", &text);
                }
            }
            other => {
                return Err(RenderError::field(
                    &k.file,
                    "buildMetadata",
                    format!("unknown option {other:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// `path` relative to the directory `from` (both tree paths).
pub fn relative(from: &str, path: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// `configuredIn: ...` / `configuredBy: {apiVersion, kind, name}` as YAML
/// lines, each indented by `indent`.
fn configured_text(root: &str, by: &Configured, indent: &str) -> String {
    let mut text = format!(
        "{indent}configuredIn: {}\n{indent}configuredBy:\n{indent}  apiVersion: builtin\n{indent}  kind: {}\n",
        relative(root, &by.configured_in),
        by.kind
    );
    if let Some(name) = &by.name {
        text.push_str(&format!("{indent}  name: {name}\n"));
    }
    if let Some(namespace) = &by.namespace {
        text.push_str(&format!("{indent}  namespace: {namespace}\n"));
    }
    text
}
