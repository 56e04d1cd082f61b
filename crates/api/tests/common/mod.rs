//! Helpers shared by the API tests that apply fixtures to the real control
//! plane and read them back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Every `*.yaml` file in `dir`, sorted by name, with its parsed document.
pub fn yaml_documents(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let doc: Value = serde_saphyr::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()));
            (file, doc)
        })
        .collect()
}

/// Every field of `applied` that `live` lacks or holds with another value,
/// as `path: what`. Arrays must match element by element.
pub fn missing_fields(applied: &Value, live: &Value, path: &str, out: &mut Vec<String>) {
    match (applied, live) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let path = format!("{path}.{key}");
                match have.get(key) {
                    Some(live) => missing_fields(value, live, &path, out),
                    None => out.push(format!("{path}: applied {value}, missing when read back")),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (i, (value, live)) in want.iter().zip(have).enumerate() {
                missing_fields(value, live, &format!("{path}[{i}]"), out);
            }
        }
        _ if applied == live => {}
        _ => out.push(format!("{path}: applied {applied}, read back {live}")),
    }
}
