//! Plain-directory rendering (no kustomization file), as Argo CD does it:
//! every `.yaml`, `.yml` and `.json` file, multi-document YAML, `kind: List`
//! flattened, with `directory.recurse`, `include` and `exclude` globs.

use regex::Regex;
use serde_json::Value;

use crate::DirectoryOptions;
use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{EntryKind, join};
use crate::yaml::Reader;

/// Renders the manifests of the directory `dir`.
pub fn render(
    reader: &Reader<'_>,
    dir: &str,
    options: Option<&DirectoryOptions>,
) -> Result<Vec<Object>, RenderError> {
    let defaults = DirectoryOptions::default();
    let options = options.unwrap_or(&defaults);
    let include = options
        .include
        .as_deref()
        .filter(|g| !g.is_empty())
        .map(|g| Glob::new(g, "directory.include"))
        .transpose()?;
    let exclude = options
        .exclude
        .as_deref()
        .filter(|g| !g.is_empty())
        .map(|g| Glob::new(g, "directory.exclude"))
        .transpose()?;
    let mut files = Vec::new();
    collect(reader, dir, "", options.recurse, &mut files)?;
    let mut objects = Vec::new();
    for (path, rel) in files {
        if include.as_ref().is_some_and(|g| !g.matches(&rel)) {
            continue;
        }
        if exclude.as_ref().is_some_and(|g| g.matches(&rel)) {
            continue;
        }
        for doc in reader.read_documents(&path)? {
            flatten(doc, &path, &mut objects)?;
        }
    }
    Ok(objects)
}

/// Lists manifest files under `dir` as (tree path, path relative to the rendered dir).
fn collect(
    reader: &Reader<'_>,
    dir: &str,
    rel: &str,
    recurse: bool,
    out: &mut Vec<(String, String)>,
) -> Result<(), RenderError> {
    let here = join(dir, rel)?;
    for (name, kind) in reader.list(&here)? {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        match kind {
            EntryKind::Dir if recurse && !name.starts_with('.') => {
                collect(reader, dir, &child_rel, recurse, out)?;
            }
            EntryKind::File if is_manifest(&name) => out.push((join(dir, &child_rel)?, child_rel)),
            _ => {}
        }
    }
    Ok(())
}

fn is_manifest(name: &str) -> bool {
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| name.to_ascii_lowercase().ends_with(ext))
}

/// Adds a parsed document to `out`, flattening `kind: List` (and JSON arrays).
pub fn flatten(doc: Value, file: &str, out: &mut Vec<Object>) -> Result<(), RenderError> {
    match doc {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                flatten(item, file, out)?;
            }
            Ok(())
        }
        Value::Object(mut map) => {
            let is_list = map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k == "List" || (k.ends_with("List") && map.contains_key("items")));
            if is_list {
                if let Some(Value::Array(items)) = map.remove("items") {
                    for item in items {
                        flatten(item, file, out)?;
                    }
                }
                return Ok(());
            }
            if !map.get("kind").is_some_and(Value::is_string) {
                return Err(RenderError::resource(
                    file,
                    "a document has no kind: not a Kubernetes object",
                ));
            }
            out.push(Object(map));
            Ok(())
        }
        _ => Err(RenderError::resource(
            file,
            "a document is not a mapping: not a Kubernetes object",
        )),
    }
}

/// An Argo CD style glob: `*` and `**` match any characters, `?` one,
/// `[...]` a class, `{a,b}` alternatives.
struct Glob(Regex);

impl Glob {
    fn new(pattern: &str, field: &str) -> Result<Self, RenderError> {
        let mut re = String::from("^(?:");
        let mut depth = 0usize;
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                '{' => {
                    depth += 1;
                    re.push_str("(?:");
                }
                '}' if depth > 0 => {
                    depth -= 1;
                    re.push(')');
                }
                ',' if depth > 0 => re.push('|'),
                '[' => {
                    re.push('[');
                    if chars.peek() == Some(&'!') {
                        chars.next();
                        re.push('^');
                    }
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                        if c == '\\' || c == '[' {
                            re.push('\\');
                        }
                        re.push(c);
                    }
                    re.push(']');
                }
                '\\' => {
                    if let Some(next) = chars.next() {
                        re.push_str(&regex::escape(&next.to_string()));
                    }
                }
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
        re.push_str(")$");
        Regex::new(&re).map(Self).map_err(|e| {
            RenderError::field("Application", field, format!("bad glob {pattern:?}: {e}"))
        })
    }

    fn matches(&self, path: &str) -> bool {
        self.0.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = Glob::new("{app,db}/*.yaml", "f").unwrap();
        assert!(g.matches("app/x.yaml"));
        assert!(g.matches("db/y.yaml"));
        assert!(!g.matches("web/x.yaml"));
        assert!(Glob::new("*.json", "f").unwrap().matches("a/b.json"));
        assert!(!Glob::new("*.json", "f").unwrap().matches("a/b.yaml"));
    }

    #[test]
    fn lists_are_flattened() {
        let mut out = Vec::new();
        let list = serde_json::json!({"kind": "List", "items": [{"kind": "A"}, {"kind": "B"}]});
        flatten(list, "f", &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(flatten(serde_json::json!("x"), "f", &mut out).is_err());
    }
}
