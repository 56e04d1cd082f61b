//! The kustomization's `replacements` field (kustomize v5.5's
//! `ReplacementTransformer`): copy a value from one object's field into
//! fields of other objects.
//!
//! Also home of [`ResId`] and [`object_ids`], kustomize's object ids with
//! the *previous* names an object had: replacements, `replicas` and `vars`
//! select objects by any of them.
//!
//! **For the engine:** previous ids are read from the annotations kustomize
//! itself keeps while building, [`PREVIOUS_NAMES`], [`PREVIOUS_KINDS`] and
//! [`PREVIOUS_NAMESPACES`]: comma-separated lists, oldest first, of equal
//! length (an empty namespace written as `default`). Whatever renames an
//! object (prefix/suffix, namespace, patches, the hash suffix) must append
//! the id it had before, as kustomize's `StorePreviousId` does, and the
//! annotations must be removed before output.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::fieldpath::{for_each_match, lookup, scalar_string, split_dotted_path};
use crate::error::RenderError;
use crate::object::Object;
use crate::tree::{self, FileTree};

/// Annotation with an object's previous names (comma-separated, oldest first).
pub const PREVIOUS_NAMES: &str = "internal.config.kubernetes.io/previousNames";
/// Annotation with an object's previous kinds, parallel to [`PREVIOUS_NAMES`].
pub const PREVIOUS_KINDS: &str = "internal.config.kubernetes.io/previousKinds";
/// Annotation with an object's previous namespaces, parallel to [`PREVIOUS_NAMES`].
pub const PREVIOUS_NAMESPACES: &str = "internal.config.kubernetes.io/previousNamespaces";

/// An object id as kustomize compares them: group, version, kind, name and
/// namespace; an empty part in a selector matches anything.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ResId {
    /// API group (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
}

impl ResId {
    /// The namespace kustomize compares: `_non_namespaceable_` for
    /// cluster-scoped kinds, `default` when empty.
    pub fn effective_namespace(&self) -> &str {
        if super::resource::is_cluster_scoped(&self.kind) {
            "_non_namespaceable_"
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `IsSelectedBy`: every part set in `selector` matches
    /// (namespaces compared as effective namespaces).
    pub fn is_selected_by(&self, selector: &ResId) -> bool {
        let part = |want: &str, have: &str| want.is_empty() || want == have;
        part(&selector.name, &self.name)
            && (selector.namespace.is_empty()
                || selector.effective_namespace() == self.effective_namespace())
            && part(&selector.group, &self.group)
            && part(&selector.version, &self.version)
            && part(&selector.kind, &self.kind)
    }

    /// Whether no part is set.
    pub fn is_empty(&self) -> bool {
        *self == ResId::default()
    }
}

impl std::fmt::Display for ResId {
    /// kustomize's form: `Kind.version.group/name.namespace`, with
    /// `[noKind]`, `[noVer]`, `[noGrp]`, `[noName]`, `[noNs]` for empty parts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str, empty: &'static str| {
            if s.is_empty() {
                empty.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

/// The current id of `object`.
pub fn current_id(object: &Object) -> ResId {
    ResId {
        group: object.group().to_string(),
        version: object.version().to_string(),
        kind: object.kind().to_string(),
        name: object.name().to_string(),
        namespace: object.namespace().unwrap_or("").to_string(),
    }
}

/// The current id of `object` followed by its previous ids, oldest first
/// (see the module docs for the annotations read).
pub fn object_ids(object: &Object) -> Result<Vec<ResId>, String> {
    let current = current_id(object);
    let mut ids = vec![current.clone()];
    let Some(names) = object.annotation(PREVIOUS_NAMES) else {
        return Ok(ids);
    };
    let split = |key: &str| -> Vec<String> {
        object
            .annotation(key)
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let names: Vec<String> = names.split(',').map(str::to_string).collect();
    let kinds = split(PREVIOUS_KINDS);
    let namespaces = split(PREVIOUS_NAMESPACES);
    if names.len() != kinds.len() || names.len() != namespaces.len() {
        return Err(format!(
            "{current}: number of previous names, number of previous namespaces, \
             number of previous kinds not equal"
        ));
    }
    for ((name, kind), namespace) in names.into_iter().zip(kinds).zip(namespaces) {
        ids.push(ResId {
            kind,
            name,
            namespace,
            ..current.clone()
        });
    }
    Ok(ids)
}

/// Writes `previous` (the ids an object had before its current one, oldest
/// first) as kustomize's [`PREVIOUS_NAMES`], [`PREVIOUS_KINDS`] and
/// [`PREVIOUS_NAMESPACES`] annotations, so that [`object_ids`] (and so
/// `replicas`, `replacements` and `vars`) see them; nothing is written when
/// `previous` is empty. Undo with [`clear_previous_ids`] before output.
pub fn set_previous_ids(object: &mut Object, previous: &[ResId]) {
    clear_previous_ids(object);
    if previous.is_empty() {
        return;
    }
    let join = |f: &dyn Fn(&ResId) -> String| previous.iter().map(f).collect::<Vec<_>>().join(",");
    let names = join(&|id| id.name.clone());
    let kinds = join(&|id| id.kind.clone());
    let namespaces = join(&|id| id.effective_namespace().to_string());
    object.set_annotation(PREVIOUS_NAMES, &names);
    object.set_annotation(PREVIOUS_KINDS, &kinds);
    object.set_annotation(PREVIOUS_NAMESPACES, &namespaces);
}

/// Removes the previous-id annotations (and `metadata.annotations` when
/// that leaves it empty).
pub fn clear_previous_ids(object: &mut Object) {
    let Some(meta) = object.0.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        let mut removed = false;
        for key in [PREVIOUS_NAMES, PREVIOUS_KINDS, PREVIOUS_NAMESPACES] {
            removed |= annotations.shift_remove(key).is_some();
        }
        if annotations.is_empty() {
            meta.remove("annotations");
        } else if removed {
            // Give back what the temporary annotations grew the map by.
            crate::yaml::compact_map(annotations);
        }
    }
}

/// The id `object` had when it was first read (its oldest previous id, or
/// its current id).
pub fn original_id(object: &Object) -> Result<ResId, String> {
    let mut ids = object_ids(object)?;
    Ok(if ids.len() > 1 {
        ids.swap_remove(1)
    } else {
        ids.swap_remove(0)
    })
}

/// A `select` or `reject` entry: an id plus label/annotation selectors.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    #[serde(flatten)]
    id: ResId,
    #[serde(default)]
    label_selector: String,
    #[serde(default)]
    annotation_selector: String,
}

/// `options` of a source or target.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldOptions {
    #[serde(default)]
    delimiter: String,
    #[serde(default)]
    index: i64,
    #[serde(default)]
    create: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(flatten)]
    id: ResId,
    #[serde(default)]
    field_path: String,
    #[serde(default)]
    options: Option<FieldOptions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    select: Option<Selector>,
    #[serde(default)]
    reject: Vec<Selector>,
    #[serde(default)]
    field_paths: Vec<String>,
    #[serde(default)]
    options: Option<FieldOptions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct Replacement {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    targets: Option<Vec<Target>>,
}

/// A `replacements` entry: inline, or `path:` to a file of one or many.
#[derive(Clone, Debug, Default, Deserialize)]
struct Entry {
    #[serde(default)]
    path: String,
    #[serde(flatten)]
    inline: Replacement,
}

const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Applies the `replacements` field of the kustomization `file` (in `dir`
/// of `tree`, where `path:` entries are read) to `objects`.
pub fn apply(
    objects: &mut [Object],
    replacements: &Value,
    tree: &dyn FileTree,
    dir: &str,
    file: &str,
) -> Result<(), RenderError> {
    for (i, replacement) in load(replacements, tree, dir, file)?.into_iter().enumerate() {
        let field = format!("replacements[{i}]");
        apply_one(objects, &replacement).map_err(|m| RenderError::field(file, &field, m))?;
    }
    Ok(())
}

/// Reads the list, loading `path:` entries from their files.
fn load(
    value: &Value,
    tree: &dyn FileTree,
    dir: &str,
    file: &str,
) -> Result<Vec<Replacement>, RenderError> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let list = value
        .as_array()
        .ok_or_else(|| RenderError::field(file, "replacements", "must be a list"))?;
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let field = format!("replacements[{i}]");
        let entry: Entry = serde_json::from_value(entry.clone())
            .map_err(|e| RenderError::field(file, &field, e.to_string()))?;
        if entry.path.is_empty() {
            out.push(entry.inline);
            continue;
        }
        if entry.inline.source.is_some()
            || entry.inline.targets.as_ref().is_some_and(|t| !t.is_empty())
        {
            return Err(RenderError::field(
                file,
                &field,
                "cannot specify both path and inline replacement",
            ));
        }
        let path = tree::join(dir, &entry.path)?;
        let bytes = tree.read(&path)?;
        let text = String::from_utf8(bytes).map_err(|_| RenderError::Parse {
            file: path.clone(),
            message: "not UTF-8 text".into(),
        })?;
        let content = crate::yaml::parse_one(&text, &path)?;
        let parse = |v: Value| -> Result<Replacement, RenderError> {
            serde_json::from_value(v).map_err(|e| RenderError::Parse {
                file: path.clone(),
                message: e.to_string(),
            })
        };
        match content {
            Value::Array(items) => {
                for item in items {
                    out.push(parse(item)?);
                }
            }
            map @ Value::Object(_) => out.push(parse(map)?),
            other => {
                return Err(RenderError::Parse {
                    file: path.clone(),
                    message: format!(
                        "unsupported replacement type encountered within replacement path: {}",
                        kind_name(&other)
                    ),
                });
            }
        }
    }
    Ok(out)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

fn apply_one(objects: &mut [Object], replacement: &Replacement) -> Result<(), String> {
    let (Some(source), Some(targets)) = (&replacement.source, &replacement.targets) else {
        return Err("replacements must specify a source and at least one target".into());
    };
    let value = source_value(objects, source)?;
    for target in targets {
        let Some(select) = &target.select else {
            return Err("target must specify resources to select".into());
        };
        let default_paths = [DEFAULT_FIELD_PATH.to_string()];
        let paths: &[String] = if target.field_paths.is_empty() {
            &default_paths
        } else {
            &target.field_paths
        };
        for object in objects.iter_mut() {
            if !is_target(object, select, &target.reject)? {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut object.0));
            let result = paths
                .iter()
                .try_for_each(|path| set_path(&mut root, path, &value, target.options.as_ref()));
            if let Value::Object(map) = root {
                object.0 = map;
            }
            result?;
        }
    }
    Ok(())
}

/// Whether `object` is selected by `select` and no `reject` entry.
fn is_target(object: &Object, select: &Selector, reject: &[Selector]) -> Result<bool, String> {
    if !matches_labels_and_annotations(object, select)? {
        return Ok(false);
    }
    for r in reject {
        if (!r.label_selector.is_empty() || !r.annotation_selector.is_empty())
            && matches_labels_and_annotations(object, r)?
        {
            return Ok(false);
        }
    }
    let ids = object_ids(object)?;
    let rejected = ids.iter().any(|id| {
        reject
            .iter()
            .any(|r| !r.id.is_empty() && id.is_selected_by(&r.id))
    });
    Ok(!rejected && ids.iter().any(|id| id.is_selected_by(&select.id)))
}

fn matches_labels_and_annotations(object: &Object, selector: &Selector) -> Result<bool, String> {
    let map_of = |key: &str| -> BTreeMap<String, String> {
        object
            .0
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(
        label_selector_matches(&selector.label_selector, &map_of("labels"))?
            && label_selector_matches(&selector.annotation_selector, &map_of("annotations"))?,
    )
}

/// Whether a Kubernetes label selector (`a=b,c!=d,e in (f,g),h,!i`)
/// matches `labels`; the empty selector matches everything.
pub fn label_selector_matches(
    selector: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    for requirement in split_requirements(selector) {
        let requirement = requirement.trim();
        if requirement.is_empty() {
            continue;
        }
        let ok = if let Some(key) = requirement.strip_prefix('!') {
            !labels.contains_key(key.trim())
        } else if let Some((key, values)) = set_requirement(requirement, " notin ") {
            labels
                .get(key)
                .is_none_or(|v| !values.contains(&v.as_str()))
        } else if let Some((key, values)) = set_requirement(requirement, " in ") {
            labels
                .get(key)
                .is_some_and(|v| values.contains(&v.as_str()))
        } else if let Some((key, value)) = requirement.split_once("!=") {
            labels.get(key.trim()).is_none_or(|v| v != value.trim())
        } else if let Some((key, value)) = requirement
            .split_once("==")
            .or_else(|| requirement.split_once('='))
        {
            labels.get(key.trim()).is_some_and(|v| v == value.trim())
        } else if requirement
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            labels.contains_key(requirement)
        } else {
            return Err(format!(
                "unable to parse requirement {requirement:?} of selector {selector:?}"
            ));
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn split_requirements(selector: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out
}

fn set_requirement<'a>(requirement: &'a str, op: &str) -> Option<(&'a str, Vec<&'a str>)> {
    let (key, rest) = requirement.split_once(op)?;
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some((key.trim(), inner.split(',').map(str::trim).collect()))
}

/// Finds the one source object and reads (and refines) its value.
fn source_value(objects: &[Object], source: &Source) -> Result<Value, String> {
    let mut found: Option<&Object> = None;
    for object in objects {
        if object_ids(object)?
            .iter()
            .any(|id| id.is_selected_by(&source.id))
        {
            if found.is_some() {
                return Err(format!("multiple matches for selector {}", source.id));
            }
            found = Some(object);
        }
    }
    let object = found.ok_or_else(|| format!("nothing selected by {}", source.id))?;
    let path = if source.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let root = Value::Object(object.0.clone());
    let value = lookup(&root, &split_dotted_path(path))
        .map_err(|e| format!("error looking up replacement source: {e}"))?
        .filter(|v| !is_nil_or_empty(v))
        .ok_or_else(|| {
            format!(
                "fieldPath `{path}` is missing for replacement source {}",
                source.id
            )
        })?;
    match source.options.as_ref().filter(|o| !o.delimiter.is_empty()) {
        None => Ok(value.clone()),
        Some(options) => {
            let text = scalar_string(value)
                .ok_or_else(|| "delimiter option can only be used with scalar nodes".to_string())?;
            let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
            usize::try_from(options.index)
                .ok()
                .and_then(|i| parts.get(i))
                .map(|part| Value::String(part.to_string()))
                .ok_or_else(|| {
                    format!(
                        "options.index {} is out of bounds for value {text}",
                        options.index
                    )
                })
        }
    }
}

fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Writes `value` at one target field path of one object (creating
/// missing fields with `options.create`).
fn set_path(
    root: &mut Value,
    path: &str,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let segments = split_dotted_path(path);
    let create = options.is_some_and(|o| o.create);
    let not_found = if create {
        format!("unable to find or create field {path:?} in replacement target")
    } else {
        format!("unable to find field {path:?} in replacement target")
    };
    let mut set_error = None;
    let visited = for_each_match(
        root,
        &segments,
        create.then_some(&Value::Null),
        &mut |slot, created| {
            set_value(slot, value, options, created).map_err(|e| {
                set_error = Some(e);
                String::new()
            })
        },
    );
    if let Some(e) = set_error {
        return Err(e);
    }
    let visited = visited.map_err(|e| format!("{not_found}: {e}"))?;
    if visited == 0 {
        return Err(not_found);
    }
    Ok(())
}

/// kustomize's `setTargetValue`: a scalar keeps its type and takes the
/// source's text (text that does not fit the type is an error, as when
/// kustomize writes its output); maps and lists are replaced by the source
/// value; a field just created takes the type its text has as a plain YAML
/// scalar.
fn set_value(
    target: &mut Value,
    value: &Value,
    options: Option<&FieldOptions>,
    created: bool,
) -> Result<(), String> {
    let mut value = value.clone();
    if let Some(options) = options.filter(|o| !o.delimiter.is_empty()) {
        let current = match &*target {
            Value::Null if created => String::new(),
            other => scalar_string(other)
                .ok_or_else(|| "delimiter option can only be used with scalar nodes".to_string())?,
        };
        let mut parts: Vec<String> = current
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let text = scalar_string(&value).unwrap_or_default();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, text),
            Ok(i) if i >= parts.len() => parts.push(text),
            Ok(i) => parts[i] = text,
        }
        value = Value::String(parts.join(&options.delimiter));
    }
    if created {
        *target = match &value {
            Value::String(text) => plain_scalar(text),
            _ => value,
        };
        return Ok(());
    }
    // Non-scalar sources give scalar targets their (empty) text, as kyaml does.
    let text = scalar_string(&value).unwrap_or_default();
    let mismatch = |what: &str| format!("cannot decode {text:?} as a {what}");
    *target = match &*target {
        Value::Object(_) | Value::Array(_) => value,
        Value::String(_) => Value::String(text),
        Value::Number(_) => match number_or_string(&text) {
            number @ Value::Number(_) => number,
            _ => return Err(mismatch("number")),
        },
        Value::Bool(_) => match text.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(mismatch("boolean")),
        },
        Value::Null if text.is_empty() => Value::Null,
        Value::Null => return Err(mismatch("null")),
    };
    Ok(())
}

fn number_or_string(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.to_string()), Value::Number)
}

/// A created (untyped) field takes the type its text has as a plain YAML
/// scalar, as kyaml writes it without a tag.
fn plain_scalar(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Value::String(text.to_string()),
        _ if text.parse::<i64>().is_ok() => number_or_string(text),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{EntryKind, TreeError};
    use serde_json::json;

    struct Mem(BTreeMap<String, String>);

    impl FileTree for Mem {
        fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
            Ok(self.0.contains_key(path).then_some(EntryKind::File))
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
            self.0
                .get(path)
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| TreeError::NotFound { path: path.into() })
        }
        fn list(&self, _: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
            Ok(Vec::new())
        }
    }

    fn empty() -> Mem {
        Mem(BTreeMap::new())
    }

    fn deploy(name: &str, containers: Value) -> Object {
        Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}
        }))
        .unwrap()
    }

    #[test]
    fn previous_ids_round_trip() {
        let mut obj = deploy("p-web", json!([]));
        let old = ResId {
            kind: "Deployment".into(),
            name: "web".into(),
            ..ResId::default()
        };
        set_previous_ids(&mut obj, std::slice::from_ref(&old));
        assert_eq!(obj.annotation(PREVIOUS_NAMESPACES), Some("default"));
        assert_eq!(original_id(&obj).unwrap().name, "web");
        clear_previous_ids(&mut obj);
        assert!(obj.0["metadata"].get("annotations").is_none());
        assert_eq!(original_id(&obj).unwrap().name, "p-web");
    }

    #[test]
    fn ids_with_previous_names() {
        let mut obj = deploy("p2-p1-target", json!([]));
        obj.set_annotation(PREVIOUS_NAMES, "target,p1-target");
        obj.set_annotation(PREVIOUS_KINDS, "Deployment,Deployment");
        obj.set_annotation(PREVIOUS_NAMESPACES, "default,default");
        let ids = object_ids(&obj).unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(original_id(&obj).unwrap().name, "target");
        assert_eq!(ids[0].to_string(), "Deployment.v1.apps/p2-p1-target.[noNs]");
        let sel = ResId {
            name: "target".into(),
            namespace: "default".into(),
            ..ResId::default()
        };
        assert!(ids[1].is_selected_by(&sel));
        obj.set_annotation(PREVIOUS_KINDS, "Deployment");
        assert!(object_ids(&obj).is_err());
    }

    /// TestReplacementTransformerWithOriginalName.
    #[test]
    fn selects_by_original_name() {
        let mut target = deploy(
            "prefix2-prefix1-target",
            json!([{"image": "nginx:oldtag", "name": "nginx"}]),
        );
        target.set_annotation(PREVIOUS_NAMES, "target,prefix1-target");
        target.set_annotation(PREVIOUS_KINDS, "Deployment,Deployment");
        target.set_annotation(PREVIOUS_NAMESPACES, "default,default");
        let mut source = deploy(
            "prefix2-prefix1-source",
            json!([{"image": "nginx:newtag", "name": "nginx"}]),
        );
        source.set_annotation(PREVIOUS_NAMES, "source,prefix1-source");
        source.set_annotation(PREVIOUS_KINDS, "Deployment,Deployment");
        source.set_annotation(PREVIOUS_NAMESPACES, "default,default");
        let mut objects = vec![target, source];
        let tree = Mem(BTreeMap::from([(
            "replacement.yaml".to_string(),
            "source:\n  name: source\n  fieldPath: spec.template.spec.containers.0.image\ntargets:\n- select:\n    name: prefix1-target\n  fieldPaths:\n  - spec.template.spec.containers.[name=nginx].image\n".to_string(),
        )]));
        apply(
            &mut objects,
            &json!([{"path": "replacement.yaml"}]),
            &tree,
            "",
            "kustomization.yaml",
        )
        .unwrap();
        assert_eq!(
            objects[0].0["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:newtag"
        );
    }

    /// TestReplacementTransformerWithSuffixTransformerAndReject: a reject by
    /// the previous name keeps the object out.
    #[test]
    fn reject_by_any_id() {
        let mut app = deploy(
            "original-name-dev",
            json!([{"image": "app1:1.0", "name": "app"}]),
        );
        app.set_annotation(PREVIOUS_NAMES, "original-name");
        app.set_annotation(PREVIOUS_KINDS, "Deployment");
        app.set_annotation(PREVIOUS_NAMESPACES, "default");
        let cm = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config-dev"}, "data": {"name": "something-else"}}))
        .unwrap();
        let mut objects = vec![cm, app];
        let replacements = json!([{
            "source": {"kind": "ConfigMap", "name": "app-config-dev", "fieldPath": "data.name"},
            "targets": [{"fieldPaths": ["spec.template.spec.containers.0.name"],
                         "select": {"kind": "Deployment"}, "reject": [{"name": "original-name"}]}]
        }]);
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        assert_eq!(
            objects[1].0["spec"]["template"]["spec"]["containers"][0]["name"],
            "app"
        );
        // Without the reject the value is copied.
        let replacements = json!([{
            "source": {"kind": "ConfigMap", "fieldPath": "data.name"},
            "targets": [{"fieldPaths": ["spec.template.spec.containers.0.name"], "select": {"kind": "Deployment"}}]
        }]);
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        assert_eq!(
            objects[1].0["spec"]["template"]["spec"]["containers"][0]["name"],
            "something-else"
        );
    }

    /// Output of kubectl kustomize v5.5 for the same input: delimiters on
    /// both sides (negative index prepends, past-the-end appends, also on a
    /// created field), a map source replacing a map and blanking a scalar.
    #[test]
    fn delimiters_and_maps_like_kubectl() {
        let cm = |name: &str, labels: Value, data: Value| {
            Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": labels}, "data": data}))
            .unwrap()
        };
        let mut objects = vec![
            cm("a", json!({"x": "1", "y": "2"}), json!({"host": "a.b.c"})),
            cm(
                "b",
                json!({"z": "9"}),
                json!({"url": "http://old:80/p", "other": "q"}),
            ),
        ];
        let replacements = json!([
            {"source": {"kind": "ConfigMap", "name": "a", "fieldPath": "data.host",
                        "options": {"delimiter": ".", "index": 2}},
             "targets": [
                {"select": {"name": "b"}, "fieldPaths": ["data.url"], "options": {"delimiter": "/", "index": -1}},
                {"select": {"name": "b"}, "fieldPaths": ["data.new"],
                 "options": {"delimiter": "/", "index": 3, "create": true}}]},
            {"source": {"kind": "ConfigMap", "name": "a", "fieldPath": "metadata.labels"},
             "targets": [{"select": {"name": "b"}, "fieldPaths": ["metadata.labels"]},
                         {"select": {"name": "b"}, "fieldPaths": ["data.other"]}]}
        ]);
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        assert_eq!(
            objects[1].0["data"],
            json!({"url": "c/http://old:80/p", "other": "", "new": "/c"})
        );
        assert_eq!(
            objects[1].0["metadata"]["labels"],
            json!({"x": "1", "y": "2"})
        );
    }

    #[test]
    fn types_delimiters_and_create() {
        let cm = Object::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"count": "3", "host": "a.b.c", "flag": "true"}}),
        )
        .unwrap();
        let mut objects = vec![
            cm,
            deploy(
                "d",
                json!([{"name": "x", "image": "reg/x:1", "args": ["--a=1"]}]),
            ),
        ];
        let replacements = json!([
            {"source": {"kind": "ConfigMap", "fieldPath": "data.count"},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.replicas"]},
                         {"select": {"kind": "Deployment"}, "fieldPaths": ["spec.template.spec.containers.[name=x].env.[name=N].value",
                                                                           "spec.template.metadata.labels.n"],
                          "options": {"create": true}}]},
            {"source": {"kind": "ConfigMap", "fieldPath": "data.host", "options": {"delimiter": ".", "index": 1}},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.template.spec.containers.0.image"],
                          "options": {"delimiter": "/", "index": 0}}]},
            {"source": {"kind": "ConfigMap", "fieldPath": "data.host"},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.template.spec.containers.0.args.0"],
                          "options": {"delimiter": "=", "index": 5}}]},
        ]);
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        let d = &objects[1].0;
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "N", "value": 3}])
        );
        assert_eq!(d["spec"]["template"]["metadata"]["labels"]["n"], 3);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "b/x:1"
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--a=1=a.b.c"
        );
    }

    /// As checked against kubectl kustomize v5.5: created fields take the
    /// text's plain YAML type, existing scalars keep theirs, and text that
    /// does not fit an existing number or null is an error.
    #[test]
    fn scalar_types_like_kubectl() {
        let cm = |name: &str, data: Value| {
            Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name}, "data": data}))
            .unwrap()
        };
        let mut objects = vec![
            cm("a", json!({"n": "3", "t": "true"})),
            cm("b", json!({"existing": "x", "num": 5})),
        ];
        let r = |path: &str, targets: Value| {
            json!([{"source": {"kind": "ConfigMap", "name": "a", "fieldPath": path},
                    "targets": [{"select": {"name": "b"}, "fieldPaths": targets, "options": {"create": true}}]}])
        };
        let replacements = r(
            "data.n",
            json!(["data.created", "data.existing", "data.num"]),
        );
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        let replacements = r("data.t", json!(["data.createdbool"]));
        apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap();
        assert_eq!(
            objects[1].0["data"],
            json!({"existing": "3", "num": 3, "created": 3, "createdbool": true})
        );
        let replacements = r("data.t", json!(["data.num"]));
        let err = apply(&mut objects, &replacements, &empty(), "", "k.yaml").unwrap_err();
        assert!(err.to_string().contains("cannot decode"), "{err}");
        objects[1].0.insert("data".into(), json!({"nul": null}));
        let err = apply(
            &mut objects,
            &r("data.n", json!(["data.nul"])),
            &empty(),
            "",
            "k.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot decode"), "{err}");
    }

    #[test]
    fn label_selectors() {
        let labels = BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "fe".to_string()),
        ]);
        assert!(label_selector_matches("", &labels).unwrap());
        assert!(label_selector_matches("app=web,tier", &labels).unwrap());
        assert!(label_selector_matches("app in (db, web),!env", &labels).unwrap());
        assert!(!label_selector_matches("app notin (web)", &labels).unwrap());
        assert!(!label_selector_matches("tier!=fe", &labels).unwrap());
        assert!(label_selector_matches("app==web", &labels).unwrap());
    }

    #[test]
    fn errors_as_kustomize_words_them() {
        let mut objects = vec![deploy("a", json!([])), deploy("b", json!([]))];
        let run = |objects: &mut Vec<Object>, r: Value| {
            apply(objects, &r, &empty(), "", "k.yaml")
                .unwrap_err()
                .to_string()
        };
        let err = run(
            &mut objects,
            json!([{"source": {"kind": "Deployment"}, "targets": [{"select": {"kind": "X"}}]}]),
        );
        assert!(
            err.contains(
                "multiple matches for selector Deployment.[noVer].[noGrp]/[noName].[noNs]"
            ),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"kind": "Service"}, "targets": [{"select": {"kind": "X"}}]}]),
        );
        assert!(
            err.contains("nothing selected by Service.[noVer].[noGrp]/[noName].[noNs]"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"name": "a", "fieldPath": "spec.nope"}, "targets": [{"select": {}}]}]),
        );
        assert!(
            err.contains("fieldPath `spec.nope` is missing for replacement source"),
            "{err}"
        );
        let err = run(&mut objects, json!([{"source": {"name": "a"}}]));
        assert!(
            err.contains("replacements must specify a source and at least one target"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"name": "a"}, "targets": [{"fieldPaths": ["x"]}]}]),
        );
        assert!(
            err.contains("target must specify resources to select"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"path": "r.yaml", "source": {"name": "a"}}]),
        );
        assert!(
            err.contains("cannot specify both path and inline replacement"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"name": "a"}, "targets": [{"select": {"name": "b"}, "fieldPaths": ["spec.nope"]}]}]),
        );
        assert!(
            err.contains("unable to find field \"spec.nope\" in replacement target"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"name": "a"}, "targets": [{"select": {"name": "b"},
                "fieldPaths": ["spec.template.spec.containers.image"]}]}]),
        );
        assert!(
            err.contains("in replacement target: wrong node kind"),
            "{err}"
        );
        let err = run(
            &mut objects,
            json!([{"source": {"name": "a", "fieldPath": "spec.template.spec.containers.name"},
                    "targets": [{"select": {"name": "b"}}]}]),
        );
        assert!(
            err.contains("error looking up replacement source: wrong node kind"),
            "{err}"
        );
        let err = run(&mut objects, json!([{"path": "missing.yaml"}]));
        assert!(err.contains("missing.yaml"), "{err}");
        assert!(
            err.contains("k.yaml") || err.contains("no such file"),
            "{err}"
        );
    }
}

/// Single-level corpus cases that use only the fields of this module and
/// its siblings (generators, images, replicas, replacements, vars), built
/// with those functions alone and compared with kubectl's output.
#[cfg(test)]
mod corpus {
    use super::super::{generators, images, replicas, vars};
    use super::*;
    use crate::tree::{DiskTree, EntryKind};

    /// Fields the mini build below understands.
    const KNOWN: &[&str] = &[
        "apiVersion",
        "kind",
        "resources",
        "vars",
        "replacements",
        "images",
        "replicas",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "generators",
    ];

    /// The cases expected to pass with this mini build.
    const CASES: &[&str] = &[
        "TestConfigMapGeneratorLiteralNewline",
        "TestCrdWithContainers",
        "TestDataEndsWithQuotes",
        "TestDataIsSingleQuote",
        "TestGeneratingIntoNamespaces",
        "TestGeneratorIntVsStringNoMerge",
        "TestNamespacedGenerator",
        "TestReplacementTransformerWithConfigMapGenerator",
        "TestReplacementsField",
        "TestReplacementsFieldWithPath",
        "TestReplacementsFieldWithPathMultiple",
        "TestSecretGenerator",
        "TestSimpleServicePortVarReplace",
        "TestTransfomersImageDefaultConfig",
        "TestVariableRefIngressBasic",
        "TestVariableRefMaps",
        "TestVariableRefMountPath",
        "TestVariablesDisambiguatedWithNamespace",
    ];

    fn build(tree: &DiskTree, dir: &str) -> Result<Vec<Object>, String> {
        let file = tree::join(dir, "kustomization.yaml").map_err(|e| e.to_string())?;
        let text = String::from_utf8(tree.read(&file).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let k = crate::yaml::parse_one(&text, &file).map_err(|e| e.to_string())?;
        let map = k.as_object().ok_or("not a map")?;
        if let Some(unknown) = map.keys().find(|key| !KNOWN.contains(&key.as_str())) {
            return Err(format!("field {unknown} not handled by the mini build"));
        }
        let err = |e: RenderError| e.to_string();
        let mut objects = Vec::new();
        for rel in map
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let path = tree::join(dir, rel.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            if tree.entry(&path).map_err(|e| e.to_string())? != Some(EntryKind::File) {
                return Err(format!("resource {path} is not a file"));
            }
            let text = String::from_utf8(tree.read(&path).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            for doc in crate::yaml::parse_documents(&text, &path).map_err(err)? {
                objects.extend(Object::from_value(doc));
            }
        }
        let mut generated = generators::generate(
            tree,
            dir,
            &file,
            map.get("configMapGenerator"),
            map.get("secretGenerator"),
            map.get("generatorOptions"),
        )
        .map_err(err)?;
        for rel in map
            .get("generators")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let path = tree::join(dir, rel.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            let text = String::from_utf8(tree.read(&path).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            for doc in crate::yaml::parse_documents(&text, &path).map_err(err)? {
                let g = generators::generate_builtin(tree, dir, &path, &doc).map_err(err)?;
                generated.push(g.ok_or("not a builtin generator")?);
            }
        }
        let hashed: Vec<bool> = std::iter::repeat_n(false, objects.len())
            .chain(generated.iter().map(|g| g.hash_suffix))
            .collect();
        objects.extend(generated.into_iter().map(|g| g.object));
        if let Some(r) = map.get("replicas") {
            replicas::apply(&mut objects, r, &file).map_err(err)?;
        }
        if let Some(i) = map.get("images") {
            images::apply(&mut objects, i, &file).map_err(err)?;
        }
        if let Some(r) = map.get("replacements") {
            apply(&mut objects, r, tree, dir, &file).map_err(err)?;
        }
        for (object, hash) in objects.iter_mut().zip(hashed) {
            if hash {
                let name = format!(
                    "{}-{}",
                    object.name(),
                    generators::content_hash(object).map_err(err)?
                );
                object
                    .metadata_mut()
                    .insert("name".into(), Value::String(name));
            }
        }
        if let Some(v) = map.get("vars") {
            vars::apply(&mut objects, &[(v.clone(), file.clone())]).map_err(err)?;
        }
        Ok(objects)
    }

    fn sorted(mut objects: Vec<Value>) -> Vec<Value> {
        objects.sort_by_key(|o| {
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            let meta = &o["metadata"];
            (
                text(&o["kind"]),
                text(&meta["namespace"]),
                text(&meta["name"]),
            )
        });
        objects
    }

    #[test]
    fn corpus_cases_pass() {
        let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/kustomize/cases");
        if !cases.exists() {
            eprintln!("corpus not found at {}; skipped", cases.display());
            return;
        }
        let mut failures = Vec::new();
        for case in CASES {
            let dir = cases.join(case);
            let root = std::fs::read_to_string(dir.join("root.txt")).unwrap_or_else(|_| ".".into());
            let root = tree::join("", root.trim()).unwrap();
            let tree = DiskTree::new(dir.join("input")).unwrap();
            let expected = std::fs::read_to_string(dir.join("expected.yaml")).unwrap();
            let expected = crate::yaml::parse_documents(&expected, "expected.yaml").unwrap();
            match build(&tree, &root) {
                Ok(objects) => {
                    let got = sorted(objects.into_iter().map(Object::into_value).collect());
                    if got != sorted(expected) {
                        failures.push(format!(
                            "{case}: got {}",
                            serde_json::to_string_pretty(&got).unwrap()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{case}: {e}")),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} failed:\n{}",
            failures.len(),
            CASES.len(),
            failures.join("\n")
        );
    }
}
