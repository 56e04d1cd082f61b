//! `buildMetadata`: origin and transformer annotations, the managed-by label.

use serde_json::Value;

use super::file::Kustomization;
use super::resource::Resource;
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
            "originAnnotations" | "transformerAnnotations" => {
                for res in resources.iter_mut() {
                    if option == "originAnnotations" {
                        let text = format!("path: {}\n", relative(&k.dir, &res.origin));
                        res.object
                            .set_annotation("config.kubernetes.io/origin", &text);
                    }
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
