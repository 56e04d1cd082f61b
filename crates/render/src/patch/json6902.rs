//! JSON patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy`, `test`.

use serde_json::{Map, Value};

use super::error::PatchError;
use super::pointer::{self, ArrayIndex};

/// Applies a list of RFC 6902 operations to `target`, in order. On error the
/// target may be partly patched; callers should patch a copy when that
/// matters. Errors name the operation's index and path.
pub fn apply_json6902(target: &mut Value, ops: &Value) -> Result<(), PatchError> {
    let list = match ops {
        Value::Array(list) => list,
        Value::Null => return Ok(()),
        other => {
            return Err(PatchError::NotAPatch(format!(
                "a JSON 6902 patch must be a list of operations, found a {}",
                pointer::kind_name(other)
            )));
        }
    };
    for (index, op) in list.iter().enumerate() {
        apply_one(target, index, op)?;
    }
    Ok(())
}

fn apply_one(target: &mut Value, index: usize, op: &Value) -> Result<(), PatchError> {
    let invalid = |op_name: &str, message: String| PatchError::InvalidOperation {
        index,
        op: op_name.to_string(),
        message,
    };
    let Value::Object(fields) = op else {
        return Err(invalid(
            "?",
            format!(
                "an operation must be a map, found a {}",
                pointer::kind_name(op)
            ),
        ));
    };
    let name = match fields.get("op") {
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(invalid("?", "'op' must be a string".to_string())),
        None => return Err(invalid("?", "missing 'op'".to_string())),
    };
    let path_text = string_field(fields, "path").map_err(|m| invalid(name, m))?;
    let path = pointer::parse(path_text)
        .ok_or_else(|| invalid(name, format!("path '{path_text}' must start with '/'")))?;
    let failed = |message: String| PatchError::OperationFailed {
        index,
        op: name.to_string(),
        path: path_text.to_string(),
        message,
    };
    match name {
        "add" => {
            let value = value_field(fields).map_err(|m| invalid(name, m))?;
            add(target, &path, value.clone()).map_err(failed)
        }
        "remove" => remove(target, &path).map(drop).map_err(failed),
        "replace" => {
            let value = value_field(fields).map_err(|m| invalid(name, m))?;
            replace(target, &path, value.clone()).map_err(failed)
        }
        "move" => {
            let from_text = string_field(fields, "from").map_err(|m| invalid(name, m))?;
            let from = pointer::parse(from_text)
                .ok_or_else(|| invalid(name, format!("from '{from_text}' must start with '/'")))?;
            if from == path {
                return Ok(());
            }
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return Err(failed(format!(
                    "cannot move {from_text} into one of its own children"
                )));
            }
            let value = remove(target, &from).map_err(|m| failed(format!("from: {m}")))?;
            add(target, &path, value).map_err(failed)
        }
        "copy" => {
            let from_text = string_field(fields, "from").map_err(|m| invalid(name, m))?;
            let from = pointer::parse(from_text)
                .ok_or_else(|| invalid(name, format!("from '{from_text}' must start with '/'")))?;
            let value = pointer::get(target, &from)
                .cloned()
                .ok_or_else(|| failed(format!("from: {from_text} does not exist")))?;
            add(target, &path, value).map_err(failed)
        }
        "test" => {
            let value = value_field(fields).map_err(|m| invalid(name, m))?;
            let found = pointer::get(target, &path);
            let matches = match found {
                Some(found) => found == value,
                None => value.is_null(),
            };
            if matches {
                Ok(())
            } else {
                Err(PatchError::TestFailed {
                    index,
                    path: path_text.to_string(),
                    found: found.map_or_else(|| "nothing".to_string(), Value::to_string),
                })
            }
        }
        other => Err(invalid(other, format!("unknown operation '{other}'"))),
    }
}

fn string_field<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match fields.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("'{key}' must be a string")),
        None => Err(format!("missing '{key}'")),
    }
}

fn value_field(fields: &Map<String, Value>) -> Result<&Value, String> {
    fields
        .get("value")
        .ok_or_else(|| "missing 'value'".to_string())
}

/// Adds `value` at `path`: sets a map key, or inserts into a list.
fn add(target: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *target = value;
        return Ok(());
    };
    let parent = pointer::get_mut(target, parent_path)?;
    match parent {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            match pointer::array_index(last, items.len(), true)
                .map_err(|e| format!("{}: {e}", pointer::display(path)))?
            {
                ArrayIndex::At(i) => items.insert(i, value),
                ArrayIndex::End => items.push(value),
            }
            Ok(())
        }
        other => Err(format!(
            "{}: cannot add to a {}",
            pointer::display(parent_path),
            pointer::kind_name(other)
        )),
    }
}

/// Replaces the value at `path`. Like the JSON patch library kustomize
/// uses, a missing key of an existing map is added; a list index must exist.
fn replace(target: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *target = value;
        return Ok(());
    };
    match pointer::get_mut(target, parent_path)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            match pointer::array_index(last, items.len(), false)
                .map_err(|e| format!("{}: {e}", pointer::display(path)))?
            {
                ArrayIndex::At(i) => items[i] = value,
                ArrayIndex::End => {
                    return Err(format!("{} does not exist", pointer::display(path)));
                }
            }
            Ok(())
        }
        other => Err(format!(
            "{}: cannot replace in a {}",
            pointer::display(parent_path),
            pointer::kind_name(other)
        )),
    }
}

/// Removes and returns the value at `path`.
fn remove(target: &mut Value, path: &[String]) -> Result<Value, String> {
    let Some((last, parent_path)) = path.split_last() else {
        return Err("cannot remove the whole document".to_string());
    };
    let parent = pointer::get_mut(target, parent_path)?;
    match parent {
        Value::Object(map) => map
            .shift_remove(last)
            .ok_or_else(|| format!("{} does not exist", pointer::display(path))),
        Value::Array(items) => {
            match pointer::array_index(last, items.len(), false)
                .map_err(|e| format!("{}: {e}", pointer::display(path)))?
            {
                ArrayIndex::At(i) => Ok(items.remove(i)),
                ArrayIndex::End => Err(format!("{} does not exist", pointer::display(path))),
            }
        }
        other => Err(format!(
            "{}: cannot remove from a {}",
            pointer::display(parent_path),
            pointer::kind_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(mut doc: Value, ops: Value) -> Result<Value, PatchError> {
        apply_json6902(&mut doc, &ops)?;
        Ok(doc)
    }

    #[test]
    fn add_sets_keys_and_inserts_into_lists() {
        let doc = json!({"a": {"b": 1}, "l": [1, 2]});
        let out = patched(
            doc,
            json!([
                {"op": "add", "path": "/a/c", "value": 2},
                {"op": "add", "path": "/l/0", "value": 0},
                {"op": "add", "path": "/l/-", "value": 3},
                {"op": "add", "path": "/l/4", "value": 4},
            ]),
        );
        assert_eq!(
            out,
            Ok(json!({"a": {"b": 1, "c": 2}, "l": [0, 1, 2, 3, 4]}))
        );
    }

    #[test]
    fn add_needs_an_existing_parent() {
        let err = patched(
            json!({}),
            json!([{"op": "add", "path": "/a/b", "value": 1}]),
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("json patch operation 0 (add /a/b): /a does not exist".to_string())
        );
    }

    #[test]
    fn remove_and_replace_need_the_target() {
        let doc = json!({"a": 1, "l": ["x", "y"]});
        assert_eq!(
            patched(doc.clone(), json!([{"op": "remove", "path": "/l/0"}])),
            Ok(json!({"a": 1, "l": ["y"]}))
        );
        assert_eq!(
            patched(
                doc.clone(),
                json!([{"op": "replace", "path": "/a", "value": {"z": 1}}])
            ),
            Ok(json!({"a": {"z": 1}, "l": ["x", "y"]}))
        );
        let err = patched(
            doc.clone(),
            json!([{"op": "remove", "path": "/a"}, {"op": "remove", "path": "/b"}]),
        )
        .unwrap_err();
        assert!(
            matches!(err, PatchError::OperationFailed { index: 1, .. }),
            "{err}"
        );
        let err = patched(
            doc.clone(),
            json!([{"op": "replace", "path": "/l/5", "value": 1}]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("out of bounds"), "{err}");
        // As with kubectl kustomize: replacing a missing key of an existing
        // map adds it; a missing parent is an error.
        assert_eq!(
            patched(
                doc.clone(),
                json!([{"op": "replace", "path": "/b", "value": 2}])
            ),
            Ok(json!({"a": 1, "l": ["x", "y"], "b": 2}))
        );
        assert!(patched(doc, json!([{"op": "replace", "path": "/c/d", "value": 2}])).is_err());
    }

    #[test]
    fn move_and_copy() {
        let doc = json!({"a": {"b": 1}, "c": [1]});
        assert_eq!(
            patched(
                doc.clone(),
                json!([{"op": "move", "from": "/a/b", "path": "/c/0"}])
            ),
            Ok(json!({"a": {}, "c": [1, 1]}))
        );
        assert_eq!(
            patched(
                doc.clone(),
                json!([{"op": "copy", "from": "/a", "path": "/d"}])
            ),
            Ok(json!({"a": {"b": 1}, "c": [1], "d": {"b": 1}}))
        );
        assert!(patched(doc, json!([{"op": "move", "from": "/a", "path": "/a/x"}])).is_err());
    }

    #[test]
    fn escaped_tokens_address_keys_with_slashes_and_tildes() {
        let doc = json!({"metadata": {"annotations": {"a/b": "1", "c~d": "2"}}});
        let out = patched(
            doc,
            json!([
                {"op": "replace", "path": "/metadata/annotations/a~1b", "value": "x"},
                {"op": "remove", "path": "/metadata/annotations/c~0d"},
            ]),
        );
        assert_eq!(out, Ok(json!({"metadata": {"annotations": {"a/b": "x"}}})));
    }

    #[test]
    fn test_op_compares_values() {
        let doc = json!({"a": [1, {"b": "x"}]});
        assert!(
            patched(
                doc.clone(),
                json!([{"op": "test", "path": "/a/1", "value": {"b": "x"}}])
            )
            .is_ok()
        );
        let err = patched(doc, json!([{"op": "test", "path": "/a/0", "value": 2}])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "json patch operation 0 (test /a/0): value does not match, found 1"
        );
    }

    #[test]
    fn malformed_operations_are_named() {
        let err = patched(json!({}), json!([{"path": "/a"}])).unwrap_err();
        assert_eq!(err.to_string(), "json patch operation 0 (?): missing 'op'");
        let err = patched(json!({}), json!([{"op": "add", "path": "/a"}])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "json patch operation 0 (add): missing 'value'"
        );
        let err = patched(json!({}), json!([{"op": "frob", "path": "/a"}])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "json patch operation 0 (frob): unknown operation 'frob'"
        );
        let err = patched(json!({}), json!([{"op": "add", "path": "a", "value": 1}])).unwrap_err();
        assert!(err.to_string().contains("must start with '/'"));
    }

    #[test]
    fn empty_path_replaces_the_document() {
        assert_eq!(
            patched(
                json!({"a": 1}),
                json!([{"op": "add", "path": "", "value": {"b": 2}}])
            ),
            Ok(json!({"b": 2}))
        );
    }
}
