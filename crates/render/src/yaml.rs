//! Reading files from the tree (recording which were read) and parsing them
//! as YAML or JSON into ordered JSON values; printing objects back as YAML.
//!
//! Parsing follows kustomize (go-yaml v3): only `true`/`false` are
//! booleans (`yes`, `on` stay strings), and an integer with a leading zero
//! is octal (`defaultMode: 0644` is 420, as the API server reads
//! kustomize's output).

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::Value;

use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{EntryKind, FileTree, TreeError};

/// Most YAML events one file may produce before it is refused.
const MAX_EVENTS: usize = 5_000_000;
/// Most documents in one file.
const MAX_DOCUMENTS: usize = 100_000;
/// Most nodes (mappings, sequences, scalars) one file may expand to, aliases
/// counted at every use: what stops an alias bomb.
const MAX_NODES: usize = 250_000;
/// Deepest nesting of mappings and sequences.
const MAX_DEPTH: usize = 64;

/// A [`FileTree`] reader that remembers every file it read.
pub struct Reader<'a> {
    tree: &'a dyn FileTree,
    read: Mutex<BTreeSet<String>>,
}

impl<'a> Reader<'a> {
    /// Wraps `tree`.
    pub fn new(tree: &'a dyn FileTree) -> Self {
        Self {
            tree,
            read: Mutex::new(BTreeSet::new()),
        }
    }

    /// The underlying tree.
    pub fn tree(&self) -> &'a dyn FileTree {
        self.tree
    }

    /// What is at `path`.
    pub fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        self.tree.entry(path)
    }

    /// The entries of a directory.
    pub fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        self.tree.list(path)
    }

    /// The bytes of a file, recorded as read.
    /// A file reached through a symbolic link is recorded under both paths.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.read_recorded(path).map(|(bytes, _)| bytes)
    }

    fn read_recorded(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
        self.record(path.to_string());
        let (bytes, real) = self.tree.read_resolved(path)?;
        if let Some(real) = &real {
            self.record(real.clone());
        }
        Ok((bytes, real))
    }

    fn record(&self, path: String) {
        if let Ok(mut read) = self.read.lock() {
            read.insert(path);
        }
    }

    /// The text of a file (UTF-8), recorded as read.
    pub fn read_text(&self, path: &str) -> Result<String, RenderError> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|_| RenderError::Parse {
            file: path.to_string(),
            message: "file is not valid UTF-8".into(),
        })
    }

    /// Parses every YAML document of a file; empty documents are dropped.
    pub fn read_documents(&self, path: &str) -> Result<Vec<Value>, RenderError> {
        let text = self.read_text(path)?;
        parse_documents(&text, path)
    }

    /// Every file read so far, sorted.
    pub fn into_files_read(self) -> Vec<String> {
        self.read
            .into_inner()
            .map(|set| set.into_iter().collect())
            .unwrap_or_default()
    }
}

impl FileTree for Reader<'_> {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        self.tree.entry(path)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        Reader::read(self, path)
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        self.tree.list(path)
    }

    fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
        self.read_recorded(path)
    }
}

fn options(duplicates: serde_saphyr::options::DuplicateKeyPolicy) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: MAX_EVENTS,
            max_documents: MAX_DOCUMENTS,
            max_nodes: MAX_NODES,
            max_depth: MAX_DEPTH,
        },
        strict_booleans: true,
        duplicate_keys: duplicates,
        legacy_octal_numbers: true,
        underscored_numbers_as_strings: true,
    }
}

/// Parses a (multi-document) YAML or JSON text; `file` names it in errors.
/// Empty and null documents are dropped.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>, RenderError> {
    parse_with(text, file, serde_saphyr::options::DuplicateKeyPolicy::Error)
}

/// Like [`parse_documents`], but a key repeated in a mapping keeps its last
/// value instead of being an error (kustomization files are read that way).
pub fn parse_documents_lenient(text: &str, file: &str) -> Result<Vec<Value>, RenderError> {
    parse_with(
        text,
        file,
        serde_saphyr::options::DuplicateKeyPolicy::LastWins,
    )
}

fn parse_with(
    text: &str,
    file: &str,
    duplicates: serde_saphyr::options::DuplicateKeyPolicy,
) -> Result<Vec<Value>, RenderError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options(duplicates))
        .map_err(|e| RenderError::Parse {
            file: file.to_string(),
            message: error_message(&e),
        })?;
    Ok(docs
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|mut d| {
            compact(&mut d);
            d
        })
        .collect())
}

/// Gives back the spare capacity parsing (or a transformer) left in every
/// map, array and string (they grow by doubling): parsed objects are kept
/// for a whole render (and in the controller's render cache), so their size
/// is the render's memory.
fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => compact_map(map),
        Value::Array(items) => {
            items.iter_mut().for_each(compact);
            items.shrink_to_fit();
        }
        Value::String(text) => text.shrink_to_fit(),
        _ => {}
    }
}

/// [`compact`] for a map (an object's top level).
pub(crate) fn compact_map(map: &mut serde_json::Map<String, Value>) {
    let mut exact: serde_json::Map<String, Value> = std::mem::take(map)
        .into_iter()
        .map(|(mut key, mut item)| {
            key.shrink_to_fit();
            compact(&mut item);
            (key, item)
        })
        .collect();
    std::mem::swap(map, &mut exact);
}

/// Parses a single YAML document (a kustomization, an inline patch).
pub fn parse_one(text: &str, file: &str) -> Result<Value, RenderError> {
    let mut docs = parse_documents_lenient(text, file)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(RenderError::Parse {
            file: file.to_string(),
            message: format!("expected one YAML document, found {n}"),
        }),
    }
}

/// A parse error for people: a breached budget says which limit in words
/// (the parser's own text is `budget breached: Nodes { nodes: 250001 }`),
/// anything else is the parser's first line.
fn error_message(error: &serde_saphyr::Error) -> String {
    let mut inner = error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    let serde_saphyr::Error::Budget { breach, location } = inner else {
        return first_line(&error.to_string());
    };
    let what = budget_message(breach);
    match location.line() {
        0 => what,
        line => format!("{what} (at line {line})"),
    }
}

fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { .. } => format!(
            "YAML document expands to more than {} nodes (alias bomb?)",
            thousands(MAX_NODES)
        ),
        B::Aliases { .. } | B::AliasAnchorRatio { .. } => {
            "YAML document uses aliases too often (alias bomb?)".to_string()
        }
        B::Events { .. } => format!(
            "YAML text is too large: more than {} parser events",
            thousands(MAX_EVENTS)
        ),
        B::Documents { .. } => format!(
            "YAML file has more than {} documents",
            thousands(MAX_DOCUMENTS)
        ),
        B::Depth { .. } => format!("YAML document nests deeper than {MAX_DEPTH} levels"),
        other => format!("YAML document exceeds a parser limit ({other:?})"),
    }
}

/// `250000` as `250,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}

/// Serializes a value (or a map) with every map's keys sorted, as
/// `kubectl kustomize` prints them, without copying it.
enum Sorted<'a> {
    Value(&'a Value),
    Map(&'a serde_json::Map<String, Value>),
}

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match *self {
            Sorted::Map(map) | Sorted::Value(Value::Object(map)) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted::Value(value))?;
                }
                out.end()
            }
            Sorted::Value(Value::Array(items)) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted::Value(item))?;
                }
                out.end()
            }
            Sorted::Value(scalar) => scalar.serialize(serializer),
        }
    }
}

/// Appends one object as a YAML document (keys sorted) to `out`.
fn push_document(out: &mut String, object: &Object) -> Result<(), RenderError> {
    serde_saphyr::to_fmt_writer(out, &Sorted::Map(&object.0))
        .map_err(|e| RenderError::Output(e.to_string()))?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

/// Prints objects as YAML documents separated by `---`, keys sorted like
/// `kubectl kustomize` prints them.
pub fn to_yaml(objects: &[Object]) -> Result<String, RenderError> {
    let mut out = Vec::new();
    write_yaml(objects, &mut out)?;
    String::from_utf8(out).map_err(|e| RenderError::Output(e.to_string()))
}

/// Writes objects as [`to_yaml`] prints them, one document at a time, so a
/// large render is never held twice in memory.
pub fn write_yaml(objects: &[Object], out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let mut document = String::new();
    for (i, object) in objects.iter().enumerate() {
        document.clear();
        if i > 0 {
            document.push_str("---\n");
        }
        push_document(&mut document, object)?;
        out.write_all(document.as_bytes())
            .map_err(|e| RenderError::Output(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_2_scalars() {
        let docs =
            parse_documents("a: yes\nb: 0755\nc: true\nd: 3\n---\n---\ne: ~\n", "f").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["a"], "yes");
        assert_eq!(docs[0]["b"], 0o755);
        assert_eq!(docs[0]["c"], true);
        assert_eq!(docs[0]["d"], 3);
        assert!(docs[1]["e"].is_null());
    }

    /// One file, `real.yaml`, also reached as `link.yaml`.
    struct Linked;

    impl FileTree for Linked {
        fn entry(&self, _: &str) -> Result<Option<EntryKind>, TreeError> {
            Ok(Some(EntryKind::File))
        }
        fn read(&self, _: &str) -> Result<Vec<u8>, TreeError> {
            Ok(b"a: 1\n".to_vec())
        }
        fn list(&self, _: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
            Ok(Vec::new())
        }
        fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
            let real = (path == "link.yaml").then(|| "real.yaml".to_string());
            Ok((self.read(path)?, real))
        }
    }

    #[test]
    fn a_file_read_through_a_link_is_recorded_under_both_paths() {
        let reader = Reader::new(&Linked);
        reader.read("link.yaml").unwrap();
        reader.read("other.yaml").unwrap();
        assert_eq!(
            reader.into_files_read(),
            ["link.yaml", "other.yaml", "real.yaml"]
        );
    }

    #[test]
    fn errors_name_the_file() {
        let err = parse_documents("a: [1, 2", "dir/bad.yaml").unwrap_err();
        assert!(err.to_string().starts_with("dir/bad.yaml:"), "{err}");
    }

    #[test]
    fn an_alias_bomb_is_refused_in_words() {
        // Each level doubles the one before: 2^20 nodes from 20 lines.
        let mut text = String::from("a0: &a0 [x, x]\n");
        for i in 1..20 {
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}]\n", p = i - 1));
        }
        let err = parse_documents(&text, "bomb.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "bomb.yaml: YAML document expands to more than 250,000 nodes (alias bomb?)"
            ),
            "{err}"
        );
        assert!(!err.contains("budget breached"), "{err}");
    }

    #[test]
    fn too_deep_nesting_is_refused_in_words() {
        let text = format!("{}{}", "[".repeat(70), "]".repeat(70));
        let err = parse_documents(&text, "deep.yaml").unwrap_err().to_string();
        assert!(err.contains("nests deeper than 64 levels"), "{err}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
    }

    #[test]
    fn round_trip() {
        let obj = Object::from_value(serde_json::json!({"kind": "A", "list": [1, "x"]})).unwrap();
        let text = to_yaml(&[obj.clone(), obj.clone()]).unwrap();
        let docs = parse_documents(&text, "out").unwrap();
        assert_eq!(docs, vec![obj.clone().into_value(), obj.into_value()]);
    }
}
