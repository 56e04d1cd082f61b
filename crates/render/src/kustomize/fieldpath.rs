//! Kustomize's two ways of naming a field inside an object, shared by the
//! transformers.
//!
//! # Field specs (slash paths)
//!
//! The built-in transformers (images, replicas, vars, labels, name
//! references, ...) find their fields through *field specs*: an optional
//! group/version/kind that selects objects, and a slash-separated `path`
//! such as `spec/template/spec/containers[]/image`:
//!
//! - each segment names a map field; `\/` escapes a slash inside a name;
//! - a trailing `[]` marks a field holding a list, but any list met on the
//!   way is walked element by element anyway, so `containers/image` and
//!   `containers[]/image` are the same;
//! - with `create: true` missing maps on the way, and the last field, are
//!   created (never list elements); a `null` met on the way is turned into
//!   a map the same way;
//! - a scalar met before the path ends is an error (kustomize: "expected
//!   sequence or mapping node"); a missing field or a `null` is not.
//!
//! [`FieldSpec::apply`] walks one spec and calls a function on every value
//! found.
//!
//! # Field paths (dotted paths, replacements)
//!
//! Replacements use kyaml's dotted paths, e.g.
//! `spec.template.spec.containers.[name=app].image`:
//!
//! - segments are split on `.`, except inside `[...]`;
//! - `name` is a map field, `3` a list index, `-` the last element of a list;
//! - `[key=value]` selects the list elements whose field `key` equals
//!   `value`, `[=value]` the scalar elements equal to `value`; `*` as the
//!   value (or as a whole segment) matches everything.
//!
//! [`lookup`] reads the first match (kyaml's `Lookup`, for sources and
//! vars) and [`for_each_match`] visits, and optionally creates, every match
//! (kyaml's `PathMatcher`, for replacement targets).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::object::Object;

/// A kustomize field spec: which objects (by group/version/kind, each
/// optional) and which field (a slash path, see the module docs).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    /// API group the object must have; empty or absent matches any.
    #[serde(default)]
    pub group: Option<String>,
    /// API version the object must have; empty or absent matches any.
    #[serde(default)]
    pub version: Option<String>,
    /// Kind the object must have; empty or absent matches any.
    #[serde(default)]
    pub kind: Option<String>,
    /// The slash path, e.g. `spec/template/spec/containers[]/image`.
    #[serde(default)]
    pub path: String,
    /// Create missing fields on the way and at the end.
    #[serde(default)]
    pub create: bool,
}

impl FieldSpec {
    /// A spec for objects of `kind` (any kind when empty) at `path`.
    pub fn new(kind: &str, path: &str, create: bool) -> Self {
        Self {
            kind: (!kind.is_empty()).then(|| kind.to_string()),
            path: path.to_string(),
            create,
            ..Self::default()
        }
    }

    /// Parses a list of field specs, as in a `configurations` file
    /// (`images: [{kind, path, create}]`). `file` and `field` name the
    /// source in errors.
    pub fn parse_list(value: &Value, file: &str, field: &str) -> Result<Vec<Self>, String> {
        serde_json::from_value(value.clone())
            .map_err(|e| format!("{file}: field {field}: not a list of field specs: {e}"))
    }

    /// Whether the spec's group/version/kind select `object` (kustomize's
    /// `Gvk.IsSelected`: each part set in the spec must be equal).
    pub fn selects(&self, object: &Object) -> bool {
        // The kind first, and each part of the object read only when the
        // spec sets it: this runs for every object and spec.
        if let Some(kind) = self.kind.as_deref().filter(|w| !w.is_empty())
            && kind != object.kind()
        {
            return false;
        }
        if let Some(group) = self.group.as_deref().filter(|w| !w.is_empty())
            && group != object.group()
        {
            return false;
        }
        if let Some(version) = self.version.as_deref().filter(|w| !w.is_empty())
            && version != object.version()
        {
            return false;
        }
        true
    }

    /// Walks the spec's path in `object` (whether or not [`Self::selects`]
    /// holds: check that first) and calls `set` on every value found.
    ///
    /// With `create`, a missing (or `null`) last field is created as a
    /// clone of `created` before `set` sees it, and missing maps on the way
    /// are created. Errors are messages naming the path.
    pub fn apply(
        &self,
        object: &mut Object,
        created: &Value,
        set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
    ) -> Result<(), String> {
        let create = self.create.then_some(created);
        let mut root = Value::Object(std::mem::take(&mut object.0));
        // This runs for every object and spec: split without copying
        // unless there is an escaped slash.
        let result = if self.path.contains('\\') {
            walk_spec(&mut root, &split_slash_path(&self.path), create, set)
        } else {
            let segments: Vec<&str> = self.path.split('/').collect();
            walk_spec(&mut root, &segments, create, set)
        };
        if let Value::Object(map) = root {
            object.0 = map;
        }
        result.map_err(|e| format!("path {}: {e}", self.path))
    }

    /// Walks the spec's path in `object` as [`Self::apply`] does without
    /// `create` (so nothing is created or changed) and calls `visit` with
    /// the path to, and the value of, every value found; errors are the
    /// same as [`Self::apply`]'s (those of `visit` included).
    pub fn visit(&self, object: &Object, visit: &mut PathVisitor<'_>) -> Result<(), String> {
        let segments = split_slash_path(&self.path);
        let mut path = Vec::new();
        visit_spec(&object.0, &segments, &mut path, visit)
            .map_err(|e| format!("path {}: {e}", self.path))
    }
}

/// One step on the way from an object's root to a value inside it: a map
/// field (`S` is `&str` while the object is borrowed, `String` to keep the
/// path) or a list element.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step<S> {
    /// The map field with this name.
    Field(S),
    /// The list element at this index.
    Index(usize),
}

impl Step<&str> {
    /// The same step, owning its field name.
    pub fn to_owned_step(&self) -> Step<String> {
        match self {
            Step::Field(name) => Step::Field((*name).to_string()),
            Step::Index(i) => Step::Index(*i),
        }
    }
}

/// What [`FieldSpec::visit`] calls with each value found and its path.
pub type PathVisitor<'f> = dyn FnMut(&[Step<&str>], &Value) -> Result<(), String> + 'f;

/// The value at `path` below `root`, if every step exists.
pub fn value_at_mut<'v, S: AsRef<str>>(
    root: &'v mut Map<String, Value>,
    path: &[Step<S>],
) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let Step::Field(name) = first else {
        return None;
    };
    let mut node = root.get_mut(name.as_ref())?;
    for step in rest {
        node = match (step, node) {
            (Step::Field(name), Value::Object(map)) => map.get_mut(name.as_ref())?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Splits a field spec path on `/`, keeping `\/` as a literal slash.
///
/// `metadata/annotations/a\/b` gives `metadata`, `annotations`, `a/b`.
pub fn split_slash_path(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, part) in path.split('/').enumerate() {
        match out.last_mut() {
            Some(last) if i > 0 && last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

fn walk_spec<S: AsRef<str>>(
    node: &mut Value,
    path: &[S],
    create: Option<&Value>,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return set(node);
    };
    let first = first.as_ref();
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk_spec(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (first, false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            let creating = create.filter(|_| !is_seq);
            let template = match (creating, rest.is_empty()) {
                (None, _) => None,
                (Some(leaf), true) => Some(leaf.clone()),
                (Some(_), false) => Some(Value::Object(Map::new())),
            };
            let field = match (map.contains_key(name), template) {
                (true, _) => map.get_mut(name),
                (false, Some(template)) => Some(map.entry(name.to_string()).or_insert(template)),
                (false, None) => None,
            };
            let Some(field) = field else {
                return Ok(());
            };
            if field.is_null()
                && let Some(leaf) = creating
            {
                *field = if rest.is_empty() {
                    leaf.clone()
                } else {
                    Value::Object(Map::new())
                };
            }
            walk_spec(field, rest, create, set)
        }
        _ => Err(format!(
            "expected sequence or mapping node at {first}, found a scalar"
        )),
    }
}

/// [`walk_spec`] without `create`, on a borrowed map (the object's root),
/// keeping the path.
fn visit_spec<'a>(
    map: &'a Map<String, Value>,
    segments: &[String],
    path: &mut Vec<Step<&'a str>>,
    visit: &mut PathVisitor<'_>,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    let name = first.strip_suffix("[]").unwrap_or(first);
    if name.is_empty() {
        return Err("cannot set or create an empty field name".into());
    }
    let Some((key, field)) = map.get_key_value(name) else {
        return Ok(());
    };
    path.push(Step::Field(key.as_str()));
    let result = visit_node(field, rest, path, visit);
    path.pop();
    result
}

fn visit_node<'a>(
    node: &'a Value,
    segments: &[String],
    path: &mut Vec<Step<&'a str>>,
    visit: &mut PathVisitor<'_>,
) -> Result<(), String> {
    let Some(first) = segments.first() else {
        return visit(path, node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                let result = visit_node(item, segments, path, visit);
                path.pop();
                result?;
            }
            Ok(())
        }
        Value::Object(map) => visit_spec(map, segments, path, visit),
        _ => Err(format!(
            "expected sequence or mapping node at {first}, found a scalar"
        )),
    }
}

/// Splits a dotted field path (kyaml's `SmarterPathSplitter`): on `.`,
/// except inside `[...]`.
///
/// `spec.containers.[name=a.b].image` gives `spec`, `containers`,
/// `[name=a.b]`, `image`.
pub fn split_dotted_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

/// One segment of a dotted path, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment<'a> {
    /// A map field.
    Field(&'a str),
    /// A list index.
    Index(usize),
    /// The last element of a list (`-`).
    Last,
    /// `*`: every field of a map or every element of a list.
    Any,
    /// `[key=value]` (`key` empty for scalar elements).
    Match { key: &'a str, value: &'a str },
}

fn parse_segment(segment: &str) -> Result<Segment<'_>, String> {
    if let Some(inner) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let (key, value) = inner.split_once('=').ok_or_else(|| {
            format!("wrong format for list element selector {segment}: expected [key=value]")
        })?;
        return Ok(Segment::Match { key, value });
    }
    if segment == "-" {
        return Ok(Segment::Last);
    }
    if segment == "*" {
        return Ok(Segment::Any);
    }
    if let Ok(index) = segment.parse::<i64>() {
        return usize::try_from(index)
            .map(Segment::Index)
            .map_err(|_| format!("array index {index} cannot be negative"));
    }
    Ok(Segment::Field(segment))
}

/// Whether a list element matches `[key=value]`.
fn element_matches(element: &Value, key: &str, value: &str) -> bool {
    let candidate = if key.is_empty() {
        Some(element)
    } else {
        element.as_object().and_then(|m| m.get(key))
    };
    match candidate {
        Some(found) => value == "*" || scalar_string(found).as_deref() == Some(value),
        None => false,
    }
}

/// kyaml's "wrong node kind" message.
fn wrong_kind(expected: &str, found: &Value) -> String {
    let kind = match found {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    };
    format!("wrong node kind: expected {expected} but got {kind}")
}

/// The text of a scalar (`"a"` -> `a`, `3` -> `3`, `true` -> `true`);
/// `None` for maps, lists and `null`.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads the first value at a dotted path (kyaml's `Lookup`; `[key=value]`
/// compares exactly): `Ok(None)` when a field or element is missing or a
/// `null` is met, an error when a segment does not fit the value's shape
/// (a field of a list, an index into a map).
pub fn lookup<'a>(root: &'a Value, path: &[String]) -> Result<Option<&'a Value>, String> {
    let mut node = root;
    for segment in path {
        let next = match (parse_segment(segment)?, node) {
            (_, Value::Null) => None,
            (Segment::Field(name), Value::Object(map)) => map.get(name),
            (Segment::Field(_), other) => return Err(wrong_kind("MappingNode", other)),
            (Segment::Index(i), Value::Array(items)) => items.get(i),
            (Segment::Last, Value::Array(items)) => items.last(),
            (Segment::Match { key, value }, Value::Array(items)) => {
                items.iter().find(|e| element_matches(e, key, value))
            }
            (Segment::Any, _) => return Err("wildcard is not supported in a source path".into()),
            (_, other) => return Err(wrong_kind("SequenceNode", other)),
        };
        match next {
            Some(found) => node = found,
            None => return Ok(None),
        }
    }
    Ok(Some(node))
}

/// Calls `visit` on every value matching a dotted path as kyaml's
/// `PathMatcher` (used by replacement targets) does, quirks included:
/// `[key=value]` treats `value` as an *unanchored* regular expression
/// (`[name=x]` also matches `xy`; `[name=.*]` matches all), `*` matches
/// every element of a list, an index past the end and a segment that does
/// not fit the value's shape (a field of a list) are errors, a missing
/// field or a `null` just matches nothing.
///
/// With `create` (the value a missing last field starts as), missing
/// fields are created (maps, or lists before a list segment), a
/// `[key=value]` that matches no element appends `{key: value}`, and
/// `visit` is told whether the value it gets was just created. Returns how
/// many values were visited.
pub fn for_each_match(
    root: &mut Value,
    path: &[String],
    create: Option<&Value>,
    visit: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<usize, String> {
    walk_matches(root, path, create, false, visit)
}

/// The container a segment needs: a map for a field, a list otherwise.
fn container_for(segment: &Segment<'_>) -> Value {
    match segment {
        Segment::Field(_) => Value::Object(Map::new()),
        _ => Value::Array(Vec::new()),
    }
}

fn walk_matches(
    node: &mut Value,
    path: &[String],
    create: Option<&Value>,
    created: bool,
    visit: &mut dyn FnMut(&mut Value, bool) -> Result<(), String>,
) -> Result<usize, String> {
    let Some((first, rest)) = path.split_first() else {
        visit(node, created)?;
        return Ok(1);
    };
    let segment = parse_segment(first)?;
    if node.is_null() {
        match create {
            Some(_) => *node = container_for(&segment),
            None => return Ok(0),
        }
    }
    let child_template = |rest: &[String]| -> Result<Value, String> {
        match rest.first() {
            None => Ok(create.cloned().unwrap_or(Value::Null)),
            Some(next) => Ok(container_for(&parse_segment(next)?)),
        }
    };
    let mut count = 0;
    match (segment, node) {
        (Segment::Field(name), Value::Object(map)) => {
            if let Some(field) = map.get_mut(name) {
                count += walk_matches(field, rest, create, false, visit)?;
            } else if create.is_some() {
                let field = map.entry(name.to_string()).or_insert(child_template(rest)?);
                count += walk_matches(field, rest, create, rest.is_empty(), visit)?;
            }
        }
        (Segment::Field(_), other) => return Err(wrong_kind("MappingNode", other)),
        (Segment::Index(index), Value::Array(items)) => {
            let len = items.len();
            let item = items
                .get_mut(index)
                .ok_or_else(|| format!("index {index} specified but only {len} elements found"))?;
            count += walk_matches(item, rest, create, false, visit)?;
        }
        (Segment::Last, Value::Array(items)) => {
            if let Some(item) = items.last_mut() {
                count += walk_matches(item, rest, create, false, visit)?;
            }
        }
        (Segment::Match { key, value }, Value::Array(items)) => {
            let regex =
                regex::Regex::new(value).map_err(|e| format!("error parsing regexp: {e}"))?;
            let mut matched = false;
            for item in items.iter_mut() {
                let candidate = if key.is_empty() {
                    Some(&*item)
                } else {
                    item.as_object().and_then(|m| m.get(key))
                };
                if candidate
                    .and_then(scalar_string)
                    .is_some_and(|text| regex.is_match(&text))
                {
                    matched = true;
                    count += walk_matches(item, rest, create, false, visit)?;
                }
            }
            if !matched && create.is_some() {
                items.push(if key.is_empty() {
                    Value::String(value.to_string())
                } else {
                    let mut map = Map::new();
                    map.insert(key.to_string(), Value::String(value.to_string()));
                    Value::Object(map)
                });
                if let Some(item) = items.last_mut() {
                    count += walk_matches(item, rest, create, rest.is_empty(), visit)?;
                }
            }
        }
        (Segment::Any, Value::Array(items)) => {
            for item in items.iter_mut() {
                count += walk_matches(item, rest, create, false, visit)?;
            }
        }
        (_, other) => return Err(wrong_kind("SequenceNode", other)),
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Object {
        Object::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": {
                "containers": [
                    {"name": "app", "image": "nginx:1.0"},
                    {"name": "side", "image": "busybox"}
                ],
                "initContainers": null
            }}}
        }))
        .unwrap()
    }

    #[test]
    fn slash_paths_with_escapes() {
        assert_eq!(split_slash_path("a/b\\/c/d"), ["a", "b/c", "d"]);
        assert_eq!(split_slash_path("a"), ["a"]);
    }

    #[test]
    fn field_spec_visits_every_list_element() {
        let mut obj = deployment();
        let spec = FieldSpec::new("Deployment", "spec/template/spec/containers[]/image", false);
        assert!(spec.selects(&obj));
        let mut seen = Vec::new();
        spec.apply(&mut obj, &Value::Null, &mut |v| {
            seen.push(v.as_str().unwrap_or("").to_string());
            *v = json!("x");
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["nginx:1.0", "busybox"]);
        assert_eq!(
            obj.0["spec"]["template"]["spec"]["containers"][1]["image"],
            "x"
        );
        // Without [] the list is walked as well.
        let spec = FieldSpec::new("", "spec/template/spec/containers/name", false);
        let mut count = 0;
        spec.apply(&mut obj, &Value::Null, &mut |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn field_spec_visit_gives_paths_and_the_errors_of_apply() {
        let mut obj = deployment();
        let spec = FieldSpec::new("", "spec/template/spec/containers[]/image", false);
        let mut seen = Vec::new();
        spec.visit(&obj, &mut |path, value| {
            seen.push((
                path.iter().map(Step::to_owned_step).collect::<Vec<_>>(),
                value.clone(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        let field = |s: &str| Step::Field(s.to_string());
        assert_eq!(
            seen[1].0,
            [
                field("spec"),
                field("template"),
                field("spec"),
                field("containers"),
                Step::Index(1),
                field("image")
            ]
        );
        assert_eq!(seen[1].1, "busybox");
        *value_at_mut(&mut obj.0, &seen[1].0).unwrap() = json!("x");
        assert_eq!(
            obj.0["spec"]["template"]["spec"]["containers"][1]["image"],
            "x"
        );
        assert!(value_at_mut(&mut obj.0, &[field("spec"), Step::Index(0)]).is_none());
        let bad = FieldSpec::new("", "metadata/name/x", false);
        let visited = bad.visit(&obj, &mut |_, _| Ok(())).unwrap_err();
        let applied = bad
            .apply(&mut obj, &Value::Null, &mut |_| Ok(()))
            .unwrap_err();
        assert_eq!(visited, applied);
    }

    #[test]
    fn field_spec_creates_only_when_asked() {
        let mut obj = deployment();
        let spec = FieldSpec::new("Deployment", "spec/replicas", false);
        let mut called = false;
        spec.apply(&mut obj, &json!(0), &mut |_| {
            called = true;
            Ok(())
        })
        .unwrap();
        assert!(!called);
        let spec = FieldSpec::new("Deployment", "spec/strategy/x", true);
        spec.apply(&mut obj, &json!(0), &mut |v| {
            *v = json!(3);
            Ok(())
        })
        .unwrap();
        assert_eq!(obj.0["spec"]["strategy"]["x"], 3);
        // A null on the way becomes a map when creating.
        let spec = FieldSpec::new("", "spec/template/spec/initContainers/z", true);
        spec.apply(&mut obj, &json!("v"), &mut |_| Ok(())).unwrap();
        assert_eq!(
            obj.0["spec"]["template"]["spec"]["initContainers"]["z"],
            "v"
        );
    }

    /// TestTransformersNoCreateArrays: fields inside list elements are
    /// created, the list itself never is.
    #[test]
    fn field_spec_creates_inside_lists_but_not_lists() {
        let spec = FieldSpec::new(
            "StatefulSet",
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        );
        let mut with = Object::from_value(json!({"kind": "StatefulSet",
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}}))
        .unwrap();
        let mut without = Object::from_value(json!({"kind": "StatefulSet", "spec": {}})).unwrap();
        for obj in [&mut with, &mut without] {
            spec.apply(obj, &json!({}), &mut |v| {
                v.as_object_mut().unwrap().insert("l".into(), json!("x"));
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(
            with.0["spec"]["volumeClaimTemplates"][1]["metadata"]["labels"],
            json!({"l": "x"})
        );
        assert_eq!(without.0["spec"], json!({}));
    }

    #[test]
    fn field_spec_scalar_on_the_way_is_an_error() {
        let mut obj = deployment();
        let spec = FieldSpec::new("", "metadata/name/x", false);
        let err = spec
            .apply(&mut obj, &Value::Null, &mut |_| Ok(()))
            .unwrap_err();
        assert!(err.contains("metadata/name/x"), "{err}");
    }

    #[test]
    fn field_spec_gvk_selection() {
        let obj = deployment();
        let mut spec = FieldSpec::new("Deployment", "x", false);
        spec.group = Some("apps".into());
        assert!(spec.selects(&obj));
        spec.version = Some("v2".into());
        assert!(!spec.selects(&obj));
        assert!(!FieldSpec::new("StatefulSet", "x", false).selects(&obj));
    }

    #[test]
    fn dotted_lookup() {
        let obj = deployment().into_value();
        let path = split_dotted_path("spec.template.spec.containers.[name=side].image");
        assert_eq!(lookup(&obj, &path).unwrap(), Some(&json!("busybox")));
        let path = split_dotted_path("spec.template.spec.containers.0.name");
        assert_eq!(lookup(&obj, &path).unwrap(), Some(&json!("app")));
        let path = split_dotted_path("spec.template.spec.containers.-.name");
        assert_eq!(lookup(&obj, &path).unwrap(), Some(&json!("side")));
        let path = split_dotted_path("spec.missing.x");
        assert_eq!(lookup(&obj, &path).unwrap(), None);
        assert!(lookup(&obj, &split_dotted_path("spec.*")).is_err());
    }

    /// As kubectl v5.5 creates replacement targets (checked).
    #[test]
    fn dotted_create() {
        let mut obj = deployment().into_value();
        let mut set = |path: &str| -> Vec<bool> {
            let mut flags = Vec::new();
            for_each_match(
                &mut obj,
                &split_dotted_path(path),
                Some(&Value::Null),
                &mut |v, created| {
                    flags.push(created);
                    *v = json!("1");
                    Ok(())
                },
            )
            .unwrap();
            flags
        };
        assert_eq!(
            set("spec.template.spec.containers.[name=new].env.[name=A].value"),
            [true]
        );
        assert_eq!(
            set("spec.template.spec.containers.[name=new].env.[name=A].value"),
            [false]
        );
        assert_eq!(set("spec.template.new.deep.field"), [true]);
        // `*` and regular expressions match many and create inside each.
        assert_eq!(
            set("spec.template.spec.containers.*.extra"),
            [true, true, true]
        );
        assert_eq!(
            set("spec.template.spec.containers.[name=.*].env.[name=B].value"),
            [true, true, true]
        );
        assert_eq!(
            obj["spec"]["template"]["new"],
            json!({"deep": {"field": "1"}})
        );
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"][2],
            json!({"name": "new", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}], "extra": "1"})
        );
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "B", "value": "1"}])
        );
        let path = split_dotted_path("spec.template.spec.containers.5.image");
        let err =
            for_each_match(&mut obj, &path, Some(&Value::Null), &mut |_, _| Ok(())).unwrap_err();
        assert!(
            err.contains("index 5 specified but only 3 elements found"),
            "{err}"
        );
    }

    #[test]
    fn dotted_matches_many() {
        let mut obj = deployment().into_value();
        let path = split_dotted_path("spec.template.spec.containers.[name=.*].image");
        let n = for_each_match(&mut obj, &path, None, &mut |v, _| {
            *v = json!("y");
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"][0]["image"],
            "y"
        );
        let path = split_dotted_path("spec.template.spec.containers.*.name");
        let mut names = Vec::new();
        for_each_match(&mut obj, &path, None, &mut |v, _| {
            names.push(v.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(names, [json!("app"), json!("side")]);
        // Unanchored, as kyaml: `[name=id]` matches `side`.
        let path = split_dotted_path("spec.template.spec.containers.[name=id].name");
        let mut names = Vec::new();
        for_each_match(&mut obj, &path, None, &mut |v, _| {
            names.push(v.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(names, [json!("side")]);
        let path = split_dotted_path("spec.template.spec.missing.x");
        assert_eq!(
            for_each_match(&mut obj, &path, None, &mut |_, _| Ok(())).unwrap(),
            0
        );
        let bad = |p: &str| {
            for_each_match(
                &mut obj.clone(),
                &split_dotted_path(p),
                None,
                &mut |_, _| Ok(()),
            )
            .unwrap_err()
        };
        assert!(bad("spec.template.spec.containers.image").contains("wrong node kind"));
        assert!(
            bad("spec.template.spec.containers.5.image").contains("index 5 specified but only 2")
        );
        assert!(bad("spec.*.x").contains("wrong node kind"));
        assert!(bad("spec.template.spec.containers.[name=*].image").contains("regexp"));
    }
}
