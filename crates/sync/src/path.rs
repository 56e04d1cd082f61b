//! Concrete paths into a JSON document, and removing them.

use serde_json::Value;

/// One step of a path: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path from the document root.
pub type Path = Vec<Step>;

/// Parses an RFC 6901 JSON pointer (`/spec/replicas`, `~1` for `/`, `~0`
/// for `~`). Numeric steps are resolved against `doc`: an index when the
/// parent is an array, a key otherwise. `None` when the pointer is malformed.
pub fn from_pointer(doc: &Value, pointer: &str) -> Option<Path> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    let mut path = Vec::new();
    let mut node = Some(doc);
    for raw in rest.split('/') {
        let token = raw.replace("~1", "/").replace("~0", "~");
        let step = match (node, token.parse::<usize>()) {
            (Some(Value::Array(_)), Ok(index)) => Step::Index(index),
            _ => Step::Key(token),
        };
        node = node.and_then(|n| get(n, &step));
        path.push(step);
    }
    Some(path)
}

fn get<'a>(node: &'a Value, step: &Step) -> Option<&'a Value> {
    match (node, step) {
        (Value::Object(map), Step::Key(k)) => map.get(k),
        (Value::Array(items), Step::Index(i)) => items.get(*i),
        _ => None,
    }
}

/// Removes every path in `paths` from `doc`. Paths that do not exist are
/// skipped. Array elements are removed from the highest index down, so
/// that removing one does not shift another.
pub fn remove_all(doc: &mut Value, mut paths: Vec<Path>) {
    paths.sort();
    paths.dedup();
    for path in paths.iter().rev() {
        remove(doc, path);
    }
}

fn remove(doc: &mut Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = doc;
    for step in parents {
        let next = match (node, step) {
            (Value::Object(map), Step::Key(k)) => map.get_mut(k),
            (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    match (node, last) {
        (Value::Object(map), Step::Key(k)) => {
            map.shift_remove(k);
        }
        (Value::Array(items), Step::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_resolve_indices_against_the_document() {
        let doc = json!({"a": [{"b": 1}], "m": {"0": 1, "x/y": 2}});
        assert_eq!(
            from_pointer(&doc, "/a/0/b"),
            Some(vec![
                Step::Key("a".into()),
                Step::Index(0),
                Step::Key("b".into())
            ])
        );
        assert_eq!(
            from_pointer(&doc, "/m/0"),
            Some(vec![Step::Key("m".into()), Step::Key("0".into())])
        );
        assert_eq!(
            from_pointer(&doc, "/m/x~1y"),
            Some(vec![Step::Key("m".into()), Step::Key("x/y".into())])
        );
        assert_eq!(from_pointer(&doc, "no-slash"), None);
    }

    #[test]
    fn removes_high_indices_first() {
        let mut doc = json!({"a": [0, 1, 2, 3], "b": {"c": 1, "d": 2}});
        remove_all(
            &mut doc,
            vec![
                vec![Step::Key("a".into()), Step::Index(1)],
                vec![Step::Key("a".into()), Step::Index(3)],
                vec![Step::Key("b".into()), Step::Key("c".into())],
                vec![Step::Key("missing".into()), Step::Key("x".into())],
            ],
        );
        assert_eq!(doc, json!({"a": [0, 2], "b": {"d": 2}}));
    }
}
