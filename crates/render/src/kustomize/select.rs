//! Patch targets: selecting resources by group/version/kind, name and
//! namespace (regular expressions anchored at both ends), and label and
//! annotation selectors.

use regex::Regex;
use serde_json::Value;

use super::resource::Resource;
use crate::error::RenderError;
use crate::object::Object;

/// A compiled `target` selector.
#[derive(Debug, Default)]
pub struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

impl Selector {
    /// Parses a `target` map; `file` and `field` name it in errors.
    pub fn parse(value: &Value, file: &str, field: &str) -> Result<Self, RenderError> {
        let map = value
            .as_object()
            .ok_or_else(|| RenderError::field(file, field, "target must be a map"))?;
        let text = |key: &str| -> Result<Option<String>, RenderError> {
            let found = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key));
            match found.map(|(_, v)| v) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Ok(Some(super::file::scalar_text(other))),
            }
        };
        let regex = |pattern: Option<String>, key: &str| -> Result<Option<Pattern>, RenderError> {
            pattern
                .map(|p| {
                    Pattern::new(&p).map_err(|e| {
                        RenderError::field(file, &format!("{field}.{key}"), e.to_string())
                    })
                })
                .transpose()
        };
        let requirements = |key: &str| -> Result<Vec<Requirement>, RenderError> {
            match text(key)? {
                None => Ok(Vec::new()),
                Some(s) => parse_requirements(&s)
                    .map_err(|e| RenderError::field(file, &format!("{field}.{key}"), e)),
            }
        };
        Ok(Self {
            group: text("group")?,
            version: text("version")?,
            kind: text("kind")?,
            name: regex(text("name")?, "name")?,
            namespace: regex(text("namespace")?, "namespace")?,
            labels: requirements("labelSelector")?,
            annotations: requirements("annotationSelector")?,
        })
    }

    /// Whether the selector selects `resource`: by any of its ids (current
    /// or earlier) for group/version/kind/name/namespace, and by its
    /// current labels and annotations.
    pub fn selects(&self, resource: &Resource) -> bool {
        let id_matches = resource.all_ids().any(|id| {
            eq(&self.group, &id.group)
                && eq(&self.version, &id.version)
                && eq(&self.kind, &id.kind)
                && self.name.as_ref().is_none_or(|re| re.is_match(&id.name))
                && self
                    .namespace
                    .as_ref()
                    .is_none_or(|re| re.is_match(&id.namespace))
        });
        id_matches
            && matches_all(&self.labels, &resource.object, "labels")
            && matches_all(&self.annotations, &resource.object, "annotations")
    }
}

/// A name or namespace pattern: a regular expression anchored at both
/// ends, compared as plain text when it has no special characters (most
/// targets name one object; this skips building a regex for them).
#[derive(Debug)]
enum Pattern {
    Literal(String),
    Regex(Regex),
}

impl Pattern {
    fn new(pattern: &str) -> Result<Self, regex::Error> {
        let literal = pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if literal {
            Ok(Self::Literal(pattern.to_string()))
        } else {
            Regex::new(&format!("^(?:{pattern})$")).map(Self::Regex)
        }
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Self::Literal(literal) => literal == text,
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

fn eq(want: &Option<String>, have: &str) -> bool {
    want.as_deref().is_none_or(|w| w == have)
}

fn matches_all(requirements: &[Requirement], object: &Object, field: &str) -> bool {
    let map = object
        .0
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_object);
    requirements.iter().all(|r| {
        let value = map
            .and_then(|m| m.get(&r.key))
            .map(super::file::scalar_text);
        r.matches(value.as_deref())
    })
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    In,
    NotIn,
    Exists,
    NotExists,
}

impl Requirement {
    fn matches(&self, value: Option<&str>) -> bool {
        match self.op {
            Op::Exists => value.is_some(),
            Op::NotExists => value.is_none(),
            Op::In => value.is_some_and(|v| self.values.iter().any(|w| w == v)),
            Op::NotIn => value.is_none_or(|v| self.values.iter().all(|w| w != v)),
        }
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

/// Parses a Kubernetes label selector (`a=b,c!=d,e in (f,g),!h,i`).
fn parse_requirements(text: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    for part in split_top(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("bad selector {part:?}: expected (values)"))?;
            Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        let req = if let Some(key) = part.strip_prefix('!') {
            Requirement {
                key: key.trim().into(),
                op: Op::NotExists,
                values: vec![],
            }
        } else if let Some((key, value)) = part.split_once("!=") {
            Requirement {
                key: key.trim().into(),
                op: Op::NotIn,
                values: vec![value.trim().into()],
            }
        } else if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement {
                key: key.trim().into(),
                op: Op::In,
                values: vec![value.trim().into()],
            }
        } else if let Some((key, rest)) = part.split_once(" notin ") {
            Requirement {
                key: key.trim().into(),
                op: Op::NotIn,
                values: set(rest)?,
            }
        } else if let Some((key, rest)) = part.split_once(" in ") {
            Requirement {
                key: key.trim().into(),
                op: Op::In,
                values: set(rest)?,
            }
        } else {
            Requirement {
                key: part.into(),
                op: Op::Exists,
                values: vec![],
            }
        };
        out.push(req);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(labels: Value) -> Resource {
        let obj = Object::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web-1", "labels": labels}}))
        .unwrap();
        Resource::new(obj, "f")
    }

    #[test]
    fn patterns_match_whole_names_literal_or_not() {
        let literal = Pattern::new("web-1").unwrap();
        assert!(matches!(literal, Pattern::Literal(_)));
        assert!(literal.is_match("web-1"));
        assert!(!literal.is_match("web-10"));
        assert!(!literal.is_match("my-web-1"));
        // A dot is a regex wildcard, as in kustomize.
        let dotted = Pattern::new("web.1").unwrap();
        assert!(dotted.is_match("web-1") && dotted.is_match("web.1"));
        assert!(!dotted.is_match("web-10"));
        assert!(Pattern::new("web(").is_err());
    }

    #[test]
    fn selects_by_regex_name_and_labels() {
        let s = Selector::parse(
            &json!({"kind": "Deployment", "name": "web-.*",
            "labelSelector": "app=web,tier in (a,b),!canary"}),
            "k",
            "patches[0].target",
        )
        .unwrap();
        assert!(s.selects(&res(json!({"app": "web", "tier": "a"}))));
        assert!(!s.selects(&res(json!({"app": "web", "tier": "c"}))));
        assert!(!s.selects(&res(json!({"app": "web", "tier": "a", "canary": "y"}))));
        let s = Selector::parse(&json!({"name": "web"}), "k", "t").unwrap();
        assert!(!s.selects(&res(json!({}))), "names are anchored");
    }
}
