//! Plain-directory rendering (no kustomization file), as Argo CD does it:
//! every `.yaml`, `.yml` and `.json` file, multi-document YAML, `kind: List`
//! flattened, every `.jsonnet` file evaluated ([`crate::jsonnet`]), in the
//! order of a walk of the directory, with `directory.recurse`, `include`
//! and `exclude` globs.
//!
//! What is not rendered is never silently dropped: a Helm chart directory
//! is an error; symlinks that are not followed are warnings.

use regex::Regex;
use serde_json::Value;

use crate::DirectoryOptions;
use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{EntryKind, join};
use crate::warning::RenderWarning;
use crate::yaml::Reader;

/// The file that makes a directory a Helm chart.
const HELM_CHART_FILE: &str = "Chart.yaml";
/// Jsonnet files, evaluated.
const JSONNET_EXTENSION: &str = ".jsonnet";

/// What a plain directory rendered, and what it left out.
#[derive(Clone, Debug, Default)]
pub struct Plain {
    /// The objects, in file order.
    pub objects: Vec<Object>,
    /// What was skipped.
    pub warnings: Vec<RenderWarning>,
}

/// The files found under the rendered directory.
#[derive(Default)]
struct Found {
    /// Manifest and Jsonnet files in walk order, as (tree path, path
    /// relative to the rendered dir, whether it is Jsonnet).
    files: Vec<(String, String, bool)>,
    /// Symlinks that were not followed.
    warnings: Vec<RenderWarning>,
}

/// Renders the manifests of the directory `dir`.
pub fn render(
    reader: &Reader<'_>,
    dir: &str,
    options: Option<&DirectoryOptions>,
) -> Result<Plain, RenderError> {
    let defaults = DirectoryOptions::default();
    let options = options.unwrap_or(&defaults);
    let filter = Filter::new(options)?;
    let mut found = Found::default();
    collect(reader, dir, "", options.recurse, &mut found)?;
    let mut objects = Vec::new();
    for (path, _, is_jsonnet) in found.files.iter().filter(|(_, rel, _)| filter.keeps(rel)) {
        let docs = if *is_jsonnet {
            vec![crate::jsonnet::evaluate(
                reader,
                path,
                dir,
                &options.jsonnet,
            )?]
        } else {
            reader.read_documents(path)?
        };
        for doc in docs {
            let first = objects.len();
            flatten(doc, path, &mut objects)?;
            if let Some(problem) = objects[first..].iter().find_map(identity_problem) {
                return Err(RenderError::resource(path, problem));
            }
        }
    }
    Ok(Plain {
        objects,
        warnings: found.warnings,
    })
}

/// `directory.include` and `directory.exclude`.
struct Filter {
    include: Option<Glob>,
    exclude: Option<Glob>,
}

impl Filter {
    fn new(options: &DirectoryOptions) -> Result<Self, RenderError> {
        let glob = |pattern: &Option<String>, field: &str| {
            pattern
                .as_deref()
                .filter(|g| !g.is_empty())
                .map(|g| Glob::new(g, field))
                .transpose()
        };
        Ok(Filter {
            include: glob(&options.include, "directory.include")?,
            exclude: glob(&options.exclude, "directory.exclude")?,
        })
    }

    /// Whether the file at `rel` (relative to the rendered dir) is rendered.
    fn keeps(&self, rel: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.matches(rel))
            && !self.exclude.as_ref().is_some_and(|g| g.matches(rel))
    }
}

/// Lists the files under `dir` (recursing when asked), refusing Helm charts
/// and recording the symlinks left out.
fn collect(
    reader: &Reader<'_>,
    dir: &str,
    rel: &str,
    recurse: bool,
    found: &mut Found,
) -> Result<(), RenderError> {
    let here = join(dir, rel)?;
    let entries = reader.list(&here)?;
    if entries.contains(&(HELM_CHART_FILE.to_string(), EntryKind::File)) {
        return Err(RenderError::HelmChart { path: here });
    }
    for link in reader.tree().skipped_links(&here)? {
        found.warnings.push(RenderWarning::SkippedLink {
            link: join(&here, &link.name)?,
            target: link.target,
            reason: link.reason,
        });
    }
    for (name, kind) in entries {
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        match kind {
            EntryKind::Dir if recurse && !name.starts_with('.') => {
                collect(reader, dir, &child_rel, recurse, found)?;
            }
            EntryKind::File if is_manifest(&name) => {
                found.files.push((join(dir, &child_rel)?, child_rel, false));
            }
            EntryKind::File if has_extension(&name, JSONNET_EXTENSION) => {
                found.files.push((join(dir, &child_rel)?, child_rel, true));
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_manifest(name: &str) -> bool {
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| has_extension(name, ext))
}

fn has_extension(name: &str, extension: &str) -> bool {
    name.to_ascii_lowercase().ends_with(extension)
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

/// What a plain manifest lacks to be applied: an `apiVersion`, or a
/// `metadata.name` (or `generateName`). Caught here so the error names the
/// file, which is all that identifies a nameless object.
fn identity_problem(object: &Object) -> Option<String> {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let map = &object.0;
    let kind = text(map.get("kind")).unwrap_or("object");
    if text(map.get("apiVersion")).is_none() {
        let name = text(map.get("metadata").and_then(|m| m.get("name")));
        return Some(format!(
            "a {kind}{} has no apiVersion",
            name.map(|n| format!(" named {n}")).unwrap_or_default()
        ));
    }
    let metadata = map.get("metadata");
    let named = text(metadata.and_then(|m| m.get("name"))).is_some()
        || text(metadata.and_then(|m| m.get("generateName"))).is_some();
    (!named).then(|| format!("a {kind} has no metadata.name"))
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

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

    #[test]
    fn objects_without_api_version_or_name_are_refused_naming_the_file() {
        let (_d, t) = tree(&[
            ("noapi/a.yaml", "kind: ConfigMap\nmetadata:\n  name: cm\n"),
            (
                "noname/b.yaml",
                "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
            ),
            (
                "generated/c.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: run-\n",
            ),
        ]);
        let err = render_dir(&t, "noapi", false).unwrap_err().to_string();
        assert!(
            err.contains("noapi/a.yaml") && err.contains("a ConfigMap named cm has no apiVersion"),
            "{err}"
        );
        let err = render_dir(&t, "noname", false).unwrap_err().to_string();
        assert!(
            err.contains("noname/b.yaml") && err.contains("a ConfigMap has no metadata.name"),
            "{err}"
        );
        assert_eq!(render_dir(&t, "generated", false).unwrap().objects.len(), 1);
    }

    /// A tree on disk with `files` (path, contents) under a temp dir.
    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, crate::DiskTree) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let tree = crate::DiskTree::new(dir.path()).unwrap();
        (dir, tree)
    }

    fn render_dir(tree: &crate::DiskTree, dir: &str, recurse: bool) -> Result<Plain, RenderError> {
        let options = DirectoryOptions {
            recurse,
            ..Default::default()
        };
        render(&Reader::new(tree), dir, Some(&options))
    }

    #[test]
    fn a_helm_chart_directory_is_refused_by_name() {
        let (_d, t) = tree(&[
            ("chart/Chart.yaml", "apiVersion: v2\nname: web\n"),
            ("chart/templates/cm.yaml", CM),
            ("apps/web/Chart.yaml", "name: web\n"),
            ("apps/cm.yaml", CM),
        ]);
        let err = render_dir(&t, "chart", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Helm chart directory chart: Helm is not supported yet"
        );
        let err = render_dir(&t, "apps", true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Helm chart directory apps/web: Helm is not supported yet"
        );
        // Not recursing, the chart below is not part of the render.
        assert_eq!(render_dir(&t, "apps", false).unwrap().objects.len(), 1);
    }

    #[test]
    fn symlinks_not_followed_are_warnings_naming_link_and_target() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yaml"), CM).unwrap();
        let (d, t) = tree(&[("app/cm.yaml", CM), ("app/sub/x.yaml", CM)]);
        let app = d.path().join("app");
        let secret = outside.path().join("secret.yaml");
        std::os::unix::fs::symlink(&secret, app.join("leak.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc", app.join("etc")).unwrap();
        std::os::unix::fs::symlink("missing.yaml", app.join("gone.yaml")).unwrap();
        std::os::unix::fs::symlink("cm.yaml", app.join("alias.yaml")).unwrap();
        std::os::unix::fs::symlink("sub", app.join("subdir")).unwrap();
        let out = render_dir(&t, "app", false).unwrap();
        assert_eq!(out.objects.len(), 2, "cm.yaml and its in-tree alias");
        let messages: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "symlink app/etc -> /etc skipped: it leads outside the repository".to_string(),
                "symlink app/gone.yaml -> missing.yaml skipped: its target does not exist"
                    .to_string(),
                format!(
                    "symlink app/leak.yaml -> {} skipped: it leads outside the repository",
                    secret.display()
                ),
            ]
        );
    }
}
