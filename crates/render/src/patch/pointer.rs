//! JSON Pointer (RFC 6901) parsing and navigation over `serde_json::Value`.

use serde_json::Value;

/// Splits a JSON pointer into unescaped reference tokens. `""` is the whole
/// document (no tokens). Returns `None` when the pointer does not start
/// with `/`.
pub fn parse(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Where an array token points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayIndex {
    /// An existing position (already resolved from a negative index).
    At(usize),
    /// `-`: one past the last element.
    End,
}

/// Resolves an array reference token against an array of `len` elements.
/// `allow_end` admits the position just past the end (for `add`). Negative
/// indexes count from the end, as the JSON patch library kustomize uses does.
pub fn array_index(token: &str, len: usize, allow_end: bool) -> Result<ArrayIndex, String> {
    if token == "-" {
        return if allow_end {
            Ok(ArrayIndex::End)
        } else {
            Err("'-' names no existing element".to_string())
        };
    }
    let valid_digits = !token.is_empty()
        && (token == "0" || !token.starts_with('0'))
        && token.chars().all(|c| c.is_ascii_digit());
    let negative = token
        .strip_prefix('-')
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
    let limit = if allow_end { len + 1 } else { len };
    if valid_digits {
        let index: usize = token
            .parse()
            .map_err(|_| format!("array index {token} is too large"))?;
        if index < limit {
            return Ok(if index == len {
                ArrayIndex::End
            } else {
                ArrayIndex::At(index)
            });
        }
        return Err(format!(
            "array index {index} is out of bounds (length {len})"
        ));
    }
    if let Some(digits) = negative {
        let back: usize = digits
            .parse()
            .map_err(|_| format!("array index {token} is too large"))?;
        if back == 0 || back > limit {
            return Err(format!(
                "array index {token} is out of bounds (length {len})"
            ));
        }
        let index = limit - back;
        return Ok(if index == len {
            ArrayIndex::End
        } else {
            ArrayIndex::At(index)
        });
    }
    Err(format!("'{token}' is not an array index"))
}

/// Returns the value at `tokens`, if present.
pub fn get<'a>(root: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut current = root;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get(token)?,
            Value::Array(items) => match array_index(token, items.len(), false).ok()? {
                ArrayIndex::At(i) => items.get(i)?,
                ArrayIndex::End => return None,
            },
            _ => return None,
        };
    }
    Some(current)
}

/// Returns the value at `tokens` mutably, or a message naming the first
/// token that could not be followed.
pub fn get_mut<'a>(root: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut current = root;
    for (depth, token) in tokens.iter().enumerate() {
        let shown = display(&tokens[..=depth]);
        current = match current {
            Value::Object(map) => map
                .get_mut(token)
                .ok_or_else(|| format!("{shown} does not exist"))?,
            Value::Array(items) => {
                let len = items.len();
                match array_index(token, len, false).map_err(|e| format!("{shown}: {e}"))? {
                    ArrayIndex::At(i) => &mut items[i],
                    ArrayIndex::End => return Err(format!("{shown} does not exist")),
                }
            }
            other => {
                return Err(format!("{shown}: cannot index into a {}", kind_name(other)));
            }
        };
    }
    Ok(current)
}

/// Formats tokens back into a pointer (escaped), for messages.
pub fn display(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A short name for the JSON type of a value, for messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_unescapes_tokens() {
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(
            parse("/metadata/annotations/a~1b~0c"),
            Some(vec![
                "metadata".to_string(),
                "annotations".to_string(),
                "a/b~c".to_string()
            ])
        );
        assert_eq!(parse("/~01"), Some(vec!["~1".to_string()]));
        assert_eq!(parse("no-slash"), None);
        assert_eq!(parse("/"), Some(vec![String::new()]));
    }

    #[test]
    fn array_indexes() {
        assert_eq!(array_index("0", 2, false), Ok(ArrayIndex::At(0)));
        assert_eq!(array_index("2", 2, true), Ok(ArrayIndex::End));
        assert!(array_index("2", 2, false).is_err());
        assert!(array_index("01", 2, false).is_err());
        assert_eq!(array_index("-", 2, true), Ok(ArrayIndex::End));
        assert!(array_index("-", 2, false).is_err());
        assert_eq!(array_index("-1", 2, false), Ok(ArrayIndex::At(1)));
        assert_eq!(array_index("-1", 2, true), Ok(ArrayIndex::End));
        assert!(array_index("-3", 2, false).is_err());
        assert!(array_index("x", 2, false).is_err());
    }

    #[test]
    fn gets_nested_values() {
        let doc = json!({"a": [{"b": 1}, {"b": 2}]});
        let tokens = parse("/a/1/b").unwrap_or_default();
        assert_eq!(get(&doc, &tokens), Some(&json!(2)));
        assert_eq!(get(&doc, &parse("/a/2").unwrap_or_default()), None);
        let mut doc = doc;
        let err = get_mut(&mut doc, &parse("/a/0/c/d").unwrap_or_default()).unwrap_err();
        assert_eq!(err, "/a/0/c does not exist");
    }
}
