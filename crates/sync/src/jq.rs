//! A practical subset of jq path expressions, as used in Argo CD's
//! `ignoreDifferences.jqPathExpressions`:
//!
//! - `.a.b`, `."key.with.dots"`, `.["key"]`, `.a[0]`, `.a[]`
//! - pipes: `.spec.containers[] | select(.name == "app") | .image`
//! - `select(PATH == VALUE)` and `select(PATH != VALUE)` with a string,
//!   number, boolean or null literal.
//!
//! An expression evaluates to the concrete paths it selects in a document.

use serde_json::Value;

use crate::path::{Path, Step};

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Each,
    Select {
        path: Vec<Segment>,
        equal: bool,
        value: Value,
    },
}

/// A parsed jq path expression.
#[derive(Clone, Debug, PartialEq)]
pub struct JqPath(Vec<Segment>);

impl JqPath {
    /// Parses an expression; the error says what is not supported.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        for part in split_pipes(expr) {
            let part = part.trim();
            if let Some(inner) = part
                .strip_prefix("select(")
                .and_then(|s| s.strip_suffix(')'))
            {
                segments.push(parse_select(inner)?);
            } else if part != "." {
                segments.extend(parse_path(part)?);
            }
        }
        Ok(JqPath(segments))
    }

    /// The paths this expression selects in `doc`.
    pub fn select(&self, doc: &Value) -> Vec<Path> {
        let mut found = Vec::new();
        walk(doc, &self.0, Vec::new(), &mut found);
        found
    }
}

fn walk(node: &Value, segments: &[Segment], at: Path, found: &mut Vec<Path>) {
    let Some((first, rest)) = segments.split_first() else {
        found.push(at);
        return;
    };
    let mut descend = |child: &Value, step: Step| {
        let mut next = at.clone();
        next.push(step);
        walk(child, rest, next, found);
    };
    match (first, node) {
        (Segment::Key(k), Value::Object(map)) => {
            if let Some(child) = map.get(k) {
                descend(child, Step::Key(k.clone()));
            }
        }
        (Segment::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get(*i) {
                descend(child, Step::Index(*i));
            }
        }
        (Segment::Each, Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                descend(child, Step::Index(i));
            }
        }
        (Segment::Each, Value::Object(map)) => {
            for (k, child) in map {
                descend(child, Step::Key(k.clone()));
            }
        }
        (Segment::Select { path, equal, value }, _) => {
            let mut hits = Vec::new();
            walk(node, path, Vec::new(), &mut hits);
            let actual = hits.first().and_then(|p| lookup(node, p));
            let matches = actual.unwrap_or(&Value::Null) == value;
            if matches == *equal {
                walk(node, rest, at, found);
            }
        }
        _ => {}
    }
}

fn lookup<'a>(node: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(node, |n, step| match (n, step) {
        (Value::Object(map), Step::Key(k)) => map.get(k),
        (Value::Array(items), Step::Index(i)) => items.get(*i),
        _ => None,
    })
}

/// Splits on `|` outside quotes and parentheses.
fn split_pipes(expr: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '|' if !quoted && depth == 0 => {
                parts.push(&expr[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&expr[start..]);
    parts
}

fn parse_select(inner: &str) -> Result<Segment, String> {
    let (lhs, rhs, equal) = if let Some((l, r)) = inner.split_once("==") {
        (l, r, true)
    } else if let Some((l, r)) = inner.split_once("!=") {
        (l, r, false)
    } else {
        return Err(format!(
            "select({inner}) is not supported: only select(PATH == VALUE) and select(PATH != VALUE)"
        ));
    };
    let value: Value = serde_json::from_str(rhs.trim())
        .map_err(|_| format!("select value {} is not a JSON literal", rhs.trim()))?;
    Ok(Segment::Select {
        path: parse_path(lhs.trim())?,
        equal,
        value,
    })
}

fn parse_path(src: &str) -> Result<Vec<Segment>, String> {
    let unsupported = || format!("jq path {src:?} is not supported");
    let chars: Vec<char> = src.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    if chars.first() != Some(&'.') {
        return Err(unsupported());
    }
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'"') => {
                let (key, end) = quoted(&chars, i + 1).ok_or_else(unsupported)?;
                segments.push(Segment::Key(key));
                i = end;
            }
            '.' if chars.get(i + 1) == Some(&'[') || i + 1 == chars.len() => i += 1,
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len()
                    && (chars[end].is_alphanumeric() || "_-$".contains(chars[end]))
                {
                    end += 1;
                }
                if end == start {
                    return Err(unsupported());
                }
                segments.push(Segment::Key(chars[start..end].iter().collect()));
                i = end;
            }
            '[' if chars.get(i + 1) == Some(&']') => {
                segments.push(Segment::Each);
                i += 2;
            }
            '[' if chars.get(i + 1) == Some(&'"') => {
                let (key, end) = quoted(&chars, i + 1).ok_or_else(unsupported)?;
                if chars.get(end) != Some(&']') {
                    return Err(unsupported());
                }
                segments.push(Segment::Key(key));
                i = end + 1;
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(unsupported)?
                    + i;
                let index: String = chars[i + 1..close].iter().collect();
                let index = index.trim().parse().map_err(|_| unsupported())?;
                segments.push(Segment::Index(index));
                i = close + 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => return Err(unsupported()),
        }
    }
    Ok(segments)
}

/// Reads a JSON string starting at the quote at `start`; returns it and the
/// index after its closing quote.
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut i = start + 1;
    let mut escaped = false;
    while i < chars.len() {
        match chars[i] {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let literal: String = chars[start..=i].iter().collect();
                return serde_json::from_str(&literal).ok().map(|s| (s, i + 1));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"metadata": {"annotations": {"a.b/c": "x"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:1"}]}}}})
    }

    fn select(expr: &str) -> Vec<Path> {
        JqPath::parse(expr).unwrap().select(&doc())
    }

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn simple_paths() {
        assert_eq!(
            select(".spec.replicas"),
            vec![vec![key("spec"), key("replicas")]]
        );
        assert_eq!(
            select(".metadata.annotations.\"a.b/c\""),
            vec![vec![key("metadata"), key("annotations"), key("a.b/c")]]
        );
        assert_eq!(
            select(".metadata.annotations[\"a.b/c\"]"),
            vec![vec![key("metadata"), key("annotations"), key("a.b/c")]]
        );
        assert!(select(".spec.missing").is_empty());
    }

    #[test]
    fn iteration_and_select() {
        let images = select(".spec.template.spec.containers[].image");
        assert_eq!(images.len(), 2);
        assert_eq!(images[1][4], Step::Index(1));
        let app = select(".spec.template.spec.containers[] | select(.name == \"app\") | .image");
        assert_eq!(app.len(), 1);
        assert_eq!(app[0][4], Step::Index(0));
        let others = select(".spec.template.spec.containers[] | select(.name != \"app\")");
        assert_eq!(
            others,
            vec![vec![
                key("spec"),
                key("template"),
                key("spec"),
                key("containers"),
                Step::Index(1)
            ]]
        );
        assert_eq!(select(".spec.template.spec.containers[1].name").len(), 1);
    }

    #[test]
    fn unsupported_expressions_are_errors() {
        assert!(JqPath::parse("del(.spec)").is_err());
        assert!(JqPath::parse(".spec | select(.a > 1)").is_err());
        assert!(JqPath::parse(".spec[abc]").is_err());
    }
}
