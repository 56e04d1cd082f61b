//! Strategic merge patch, with kustomize's (kyaml `merge2`) semantics.

use serde_json::{Map, Value};

use super::error::PatchError;
use super::pointer::kind_name;
use super::schema::{FieldInfo, Schema};

/// The `$patch` directive key.
const PATCH_DIRECTIVE: &str = "$patch";
/// Keeps only the listed keys of a map.
const RETAIN_KEYS: &str = "$retainKeys";
/// Prefix of the directive removing values from a primitive list.
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
/// Prefix of the directive ordering a list's elements.
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// What a strategic merge did to the target object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The target was patched and still exists.
    Merged,
    /// The patch deleted the whole object (top-level `$patch: delete`, or
    /// nothing left): kustomize drops it from the output.
    Deleted,
}

/// Whether `patch` deletes the object it targets (top-level
/// `$patch: delete`).
pub fn is_delete_patch(patch: &Value) -> bool {
    patch.get(PATCH_DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// Merges `patch` into `target` with the built-in Kubernetes merge keys.
/// When the patch deletes the whole object, `target` becomes
/// `Value::Null`. On error the target is left unspecified: patch a copy if
/// it must survive a failure.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    strategic_merge_with(target, patch, Schema::builtin())
}

/// Like [`strategic_merge`], with merge keys from `schema` (e.g. a custom
/// OpenAPI schema layered over [`Schema::builtin`]).
pub fn strategic_merge_with(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
) -> Result<(), PatchError> {
    if strategic_merge_outcome(target, patch, schema)? == MergeOutcome::Deleted {
        *target = Value::Null;
    }
    Ok(())
}

/// Merges `patch` into `target` and tells whether the object survived.
/// After [`MergeOutcome::Deleted`] the content of `target` is meaningless.
pub fn strategic_merge_outcome(
    target: &mut Value,
    patch: &Value,
    schema: &Schema,
) -> Result<MergeOutcome, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::NotAPatch(format!(
            "a strategic merge patch must be a map, found a {}",
            kind_name(patch)
        )));
    }
    let merger = Merger { schema };
    let dest = std::mem::take(target);
    match merger.merge(Some(dest), patch, Ctx::default(), &Path::Root)? {
        Some(Value::Object(map)) if map.is_empty() => Ok(MergeOutcome::Deleted),
        Some(merged) => {
            *target = merged;
            Ok(MergeOutcome::Merged)
        }
        None => Ok(MergeOutcome::Deleted),
    }
}

/// A field path for error messages, built lazily.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Element(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => f.write_str("."),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Element(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Schema context of the value being merged.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx<'s> {
    /// The value's type (for maps: where to find its fields).
    type_name: Option<&'s str>,
    /// The field holding the value (for lists: strategy and keys).
    field: Option<&'s FieldInfo>,
}

struct Merger<'s> {
    schema: &'s Schema,
}

impl<'s> Merger<'s> {
    /// Merges `patch` into `dest` (absent when the field is missing).
    /// Returns `None` when the field is to be removed.
    fn merge(
        &self,
        dest: Option<Value>,
        patch: &Value,
        ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let dest = dest.filter(|d| !d.is_null());
        if patch.is_null() {
            return Ok(None);
        }
        if let Some(d) = &dest
            && shape(d) != shape(patch)
        {
            return Err(PatchError::Merge {
                path: path.to_string(),
                message: format!(
                    "cannot merge a {} into a {}",
                    kind_name(patch),
                    kind_name(d)
                ),
            });
        }
        match patch {
            Value::Object(patch_map) => {
                let ctx = self.with_object_type(ctx, dest.as_ref(), patch);
                let dest_map = match dest {
                    Some(Value::Object(map)) => Some(map),
                    _ => None,
                };
                self.merge_map(dest_map, patch_map, ctx, path)
            }
            Value::Array(patch_list) => {
                let dest_list = match dest {
                    Some(Value::Array(list)) => Some(list),
                    _ => None,
                };
                self.merge_list(dest_list, patch_list, ctx, path)
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// A patch value merged into nothing: directives applied, nulls dropped.
    fn clean(
        &self,
        patch: &Value,
        ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        self.merge(None, patch, ctx, path)
    }

    /// Finds the schema type of an embedded object (one with `apiVersion`
    /// and `kind`) when the context has none, as kyaml does at every level.
    fn with_object_type(&self, ctx: Ctx<'s>, dest: Option<&Value>, patch: &Value) -> Ctx<'s> {
        if ctx.type_name.is_some() {
            return ctx;
        }
        let type_name = [dest, Some(patch)].into_iter().flatten().find_map(|v| {
            let api_version = v.get("apiVersion")?.as_str()?;
            let kind = v.get("kind")?.as_str()?;
            self.schema.type_of(api_version, kind)
        });
        Ctx { type_name, ..ctx }
    }

    fn field_ctx(&self, ctx: Ctx<'s>, key: &str) -> Ctx<'s> {
        let field = ctx
            .type_name
            .and_then(|type_name| self.schema.field(type_name, key));
        Ctx {
            type_name: field.and_then(|f| f.type_name.as_deref()),
            field,
        }
    }

    fn merge_map(
        &self,
        dest: Option<Map<String, Value>>,
        patch: &Map<String, Value>,
        ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let dest = match patch.get(PATCH_DIRECTIVE) {
            None => dest,
            Some(Value::String(directive)) => match directive.as_str() {
                "delete" => return Ok(None),
                "replace" => None,
                "merge" => dest,
                other => {
                    return Err(PatchError::Merge {
                        path: path.to_string(),
                        message: format!("unknown patch strategy '{other}'"),
                    });
                }
            },
            Some(other) => {
                return Err(PatchError::Merge {
                    path: path.to_string(),
                    message: format!("'$patch' must be a string, found {other}"),
                });
            }
        };
        let mut dest = dest.unwrap_or_default();
        for (key, value) in patch {
            if key.starts_with('$') && is_directive(key) {
                continue;
            }
            let child_path = Path::Field(path, key);
            let child_ctx = self.field_ctx(ctx, key);
            let current = dest.get_mut(key).map(Value::take);
            match self.merge(current, value, child_ctx, &child_path)? {
                Some(merged) => {
                    dest.insert(key.clone(), merged);
                }
                None => {
                    dest.shift_remove(key);
                }
            }
        }
        self.apply_map_directives(&mut dest, patch, path)?;
        Ok(Some(Value::Object(dest)))
    }

    /// `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and
    /// `$retainKeys`, applied after the fields are merged.
    fn apply_map_directives(
        &self,
        dest: &mut Map<String, Value>,
        patch: &Map<String, Value>,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        for (key, value) in patch {
            if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
                let removed = directive_list(value, key, path)?;
                if let Some(Value::Array(items)) = dest.get_mut(field) {
                    items.retain(|item| !removed.contains(item));
                }
            } else if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
                let order = directive_list(value, key, path)?;
                if let Some(Value::Array(items)) = dest.get_mut(field) {
                    reorder(items, order);
                }
            }
        }
        if let Some(value) = patch.get(RETAIN_KEYS) {
            let retained = directive_list(value, RETAIN_KEYS, path)?;
            dest.retain(|key, _| retained.iter().any(|r| r.as_str() == Some(key.as_str())));
        }
        Ok(())
    }

    fn merge_list(
        &self,
        dest: Option<Vec<Value>>,
        patch: &[Value],
        ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let Some(field) = ctx.field.filter(|f| f.merges_lists()) else {
            // Not an associative list: the patch's list replaces the target's.
            return Ok(Some(Value::Array(patch.to_vec())));
        };
        let element_ctx = Ctx {
            type_name: field.type_name.as_deref(),
            field: None,
        };
        if patch.iter().any(is_replace_marker) {
            let mut replaced = Vec::new();
            for (index, element) in patch.iter().enumerate() {
                if is_replace_marker(element) {
                    continue;
                }
                let element_path = Path::Element(path, index);
                if let Some(clean) = self.clean(element, element_ctx, &element_path)? {
                    replaced.push(clean);
                }
            }
            return Ok(Some(Value::Array(replaced)));
        }
        if field.keys.is_empty() {
            return Ok(Some(Value::Array(union_primitives(dest, patch))));
        }
        let Some(dest) = dest else {
            return self.clean_keyed_list(patch, element_ctx, path).map(Some);
        };
        if field.keys.len() > 1 {
            return self.merge_multi_key_list(dest, patch, &field.keys, element_ctx, path);
        }
        // kustomize merges with "prepend": the patch's elements come first,
        // in patch order (merged with their target element when there is
        // one), then the target's other elements in their order, then the
        // target's elements that lack a merge key.
        let mut remaining = slots(dest, &field.keys);
        let mut front: Vec<Value> = Vec::new();
        let mut seen: Vec<Vec<Option<String>>> = Vec::new();
        for (index, element) in patch.iter().enumerate() {
            let Some(wanted) = patch_element_keys(element, &field.keys, &mut seen) else {
                continue;
            };
            let element_path = Path::Element(path, index);
            let found = remaining
                .iter_mut()
                .find(|slot| slot.compare(&wanted) == KeyMatch::Exact);
            let merged = match found.and_then(|slot| slot.value.take()) {
                Some(current) => self.merge(Some(current), element, element_ctx, &element_path)?,
                None => self.clean(element, element_ctx, &element_path)?,
            };
            if let Some(merged) = merged.filter(|m| !is_empty_map(m)) {
                front.push(merged);
            }
        }
        let (keyless, keyed): (Vec<Slot>, Vec<Slot>) =
            remaining.into_iter().partition(|slot| match &slot.keys {
                Some(keys) => keys.iter().all(Option::is_none),
                None => true,
            });
        front.extend(keyed.into_iter().filter_map(|slot| slot.value));
        front.extend(keyless.into_iter().filter_map(|slot| slot.value));
        Ok(Some(Value::Array(front)))
    }

    /// A list with several merge keys (ports: number and `protocol`), as
    /// kustomize merges it: a patch element merges into the target element
    /// whose keys are all equal (a key missing on both sides is equal); a
    /// patch element that only partly matches one (e.g. `protocol` given on
    /// one side only) is ignored; any other patch element is new. New
    /// elements come first, in patch order, then the target's elements in
    /// their order.
    fn merge_multi_key_list(
        &self,
        dest: Vec<Value>,
        patch: &[Value],
        keys: &[String],
        element_ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let mut slots = slots(dest, keys);
        let mut front: Vec<Value> = Vec::new();
        let mut seen: Vec<Vec<Option<String>>> = Vec::new();
        for (index, element) in patch.iter().enumerate() {
            let Some(wanted) = patch_element_keys(element, keys, &mut seen) else {
                continue;
            };
            let element_path = Path::Element(path, index);
            let matches: Vec<KeyMatch> = slots.iter().map(|slot| slot.compare(&wanted)).collect();
            if let Some(position) = matches.iter().position(|m| *m == KeyMatch::Exact) {
                let slot = &mut slots[position];
                let current = slot.value.take();
                slot.value = self
                    .merge(current, element, element_ctx, &element_path)?
                    .filter(|m| !is_empty_map(m));
            } else if !matches.contains(&KeyMatch::Partial)
                && let Some(clean) = self.clean(element, element_ctx, &element_path)?
                && !is_empty_map(&clean)
            {
                front.push(clean);
            }
        }
        front.extend(slots.into_iter().filter_map(|slot| slot.value));
        Ok(Some(Value::Array(front)))
    }

    /// A new keyed list from the patch: each element cleaned (deleted ones
    /// dropped), in order.
    fn clean_keyed_list(
        &self,
        patch: &[Value],
        element_ctx: Ctx<'s>,
        path: &Path<'_>,
    ) -> Result<Value, PatchError> {
        let mut out = Vec::with_capacity(patch.len());
        for (index, element) in patch.iter().enumerate() {
            let element_path = Path::Element(path, index);
            if let Some(clean) = self.clean(element, element_ctx, &element_path)?
                && !is_empty_map(&clean)
            {
                out.push(clean);
            }
        }
        Ok(Value::Array(out))
    }
}

/// The coarse shape of a value, to detect map/list/scalar mismatches.
#[derive(PartialEq, Eq)]
enum Shape {
    Map,
    List,
    Scalar,
}

fn shape(value: &Value) -> Shape {
    match value {
        Value::Object(_) => Shape::Map,
        Value::Array(_) => Shape::List,
        _ => Shape::Scalar,
    }
}

/// Keys of the patch that are directives rather than fields.
fn is_directive(key: &str) -> bool {
    key == PATCH_DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
        || key.starts_with(SET_ELEMENT_ORDER)
}

/// A list element `{$patch: replace}`: the list replaces the target's.
fn is_replace_marker(element: &Value) -> bool {
    matches!(element, Value::Object(map)
        if map.len() == 1 && map.get(PATCH_DIRECTIVE).and_then(Value::as_str) == Some("replace"))
}

fn is_empty_map(value: &Value) -> bool {
    matches!(value, Value::Object(map) if map.is_empty())
}

/// The value of a directive that must be a list.
fn directive_list<'v>(
    value: &'v Value,
    key: &str,
    path: &Path<'_>,
) -> Result<&'v Vec<Value>, PatchError> {
    value.as_array().ok_or_else(|| PatchError::Merge {
        path: path.to_string(),
        message: format!("'{key}' must be a list, found a {}", kind_name(value)),
    })
}

/// The merge-key values of a list element, as strings (kyaml compares the
/// scalars' text, so `80` and `"80"` are the same key).
fn key_values(element: &Map<String, Value>, keys: &[String]) -> Vec<Option<String>> {
    keys.iter()
        .map(|key| match element.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        })
        .collect()
}

/// The merge-key values of a patch element, or `None` when kustomize
/// ignores it: not a map, no merge key at all, or the same keys as an
/// earlier element of the patch (recorded in `seen`).
fn patch_element_keys(
    element: &Value,
    keys: &[String],
    seen: &mut Vec<Vec<Option<String>>>,
) -> Option<Vec<Option<String>>> {
    let Value::Object(map) = element else {
        return None;
    };
    let wanted = key_values(map, keys);
    if wanted.iter().all(Option::is_none) || seen.contains(&wanted) {
        return None;
    }
    seen.push(wanted.clone());
    Some(wanted)
}

/// How a target element's merge keys compare with a patch element's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyMatch {
    /// Every key equal (missing on both sides counts as equal).
    Exact,
    /// At least one key equal, the others given on one side only.
    Partial,
    /// A key differs, or no key is shared.
    Different,
}

/// A target list element with its merge-key values, computed once.
struct Slot {
    /// The element; `None` once merged away or deleted.
    value: Option<Value>,
    /// Its merge-key values; `None` when it is not a map.
    keys: Option<Vec<Option<String>>>,
}

impl Slot {
    /// How this element's keys compare with a patch element's.
    fn compare(&self, wanted: &[Option<String>]) -> KeyMatch {
        match (&self.value, &self.keys) {
            (Some(_), Some(have)) => compare_keys(have, wanted),
            _ => KeyMatch::Different,
        }
    }
}

fn slots(dest: Vec<Value>, keys: &[String]) -> Vec<Slot> {
    dest.into_iter()
        .map(|value| Slot {
            keys: match &value {
                Value::Object(map) => Some(key_values(map, keys)),
                _ => None,
            },
            value: Some(value),
        })
        .collect()
}

fn compare_keys(have: &[Option<String>], wanted: &[Option<String>]) -> KeyMatch {
    let mut common = false;
    let mut exact = true;
    for (have, wanted) in have.iter().zip(wanted) {
        match (have, wanted) {
            (Some(h), Some(w)) if h == w => common = true,
            (Some(_), Some(_)) => return KeyMatch::Different,
            (None, None) => {}
            _ => exact = false,
        }
    }
    match (common, exact) {
        (false, _) => KeyMatch::Different,
        (true, true) => KeyMatch::Exact,
        (true, false) => KeyMatch::Partial,
    }
}

/// A merged list of primitives, as kustomize builds it: the patch's values
/// first, then the target's values the patch does not have (each value
/// once).
fn union_primitives(dest: Option<Vec<Value>>, patch: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(patch.len());
    for value in patch.iter().chain(dest.iter().flatten()) {
        if !value.is_null() && !out.iter().any(|have| same_scalar(have, value)) {
            out.push(value.clone());
        }
    }
    out
}

/// Scalars compare by their text, as kyaml compares YAML scalars.
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::String(s), other) | (other, Value::String(s))
            if !other.is_object() && !other.is_array() =>
        {
            s.as_str() == other.to_string().as_str()
        }
        _ => a == b,
    }
}

/// Orders `items` as `order` lists them (elements are matched by equality
/// for primitives, by the fields the order entry gives for maps); items the
/// order does not name keep their relative order after the named ones.
fn reorder(items: &mut Vec<Value>, order: &[Value]) {
    let mut remaining: Vec<Option<Value>> = items.drain(..).map(Some).collect();
    for wanted in order {
        let found = remaining
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|item| element_is(item, wanted)));
        if let Some(slot) = found
            && let Some(item) = slot.take()
        {
            items.push(item);
        }
    }
    items.extend(remaining.into_iter().flatten());
}

fn element_is(item: &Value, wanted: &Value) -> bool {
    match (item, wanted) {
        (Value::Object(item), Value::Object(wanted)) => {
            !wanted.is_empty()
                && wanted
                    .iter()
                    .all(|(k, v)| item.get(k).is_some_and(|have| same_scalar(have, v)))
        }
        _ => same_scalar(item, wanted),
    }
}

#[cfg(test)]
#[path = "smp_tests.rs"]
mod tests;
