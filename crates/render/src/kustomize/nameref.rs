//! Name references: after names changed (prefixes, suffixes, hashes of
//! generated objects), rewrite every field that names another object to the
//! object's new name, as kustomize's nameReference transformer does.

use serde_json::Value;

use super::config::{Config, NameReference};
use super::fieldpath::FieldSpec;
use super::resource::{ResId, Resource, is_cluster_scoped};
use crate::error::RenderError;

/// What the rewrite needs to know about a possible referral.
struct Candidate {
    group: String,
    kind: String,
    /// Every id the object had, oldest first, the current one last.
    ids: Vec<ResId>,
    name: String,
    namespace: String,
    actual_namespace: Option<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Candidate {
    /// The ids the object had before its current one.
    fn previous(&self) -> &[ResId] {
        &self.ids[..self.ids.len().saturating_sub(1)]
    }
}

/// Rewrites references in `resources` to the current names.
pub fn fix(resources: &mut [Resource], config: &Config, file: &str) -> Result<(), RenderError> {
    let candidates: Vec<Candidate> = resources
        .iter()
        .map(|r| Candidate {
            group: r.object.group().to_string(),
            kind: r.object.kind().to_string(),
            ids: r.all_ids().collect(),
            name: r.object.name().to_string(),
            namespace: r.id().effective_namespace().to_string(),
            actual_namespace: r.object.namespace().map(str::to_string),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        })
        .collect();
    for resource in resources.iter_mut() {
        for nr in &config.name_reference {
            for spec in &nr.referrers {
                if !spec.selects(&resource.object) {
                    continue;
                }
                let referrer = Referrer {
                    cluster_scoped: is_cluster_scoped(resource.object.kind()),
                    namespace: resource.id().effective_namespace().to_string(),
                    prefixes: resource.prefixes.clone(),
                    suffixes: resource.suffixes.clone(),
                };
                // `.../name` inside a reference with a `kind` (roleRef,
                // scaleTargetRef) only names objects of that kind.
                let parent = spec
                    .path
                    .strip_suffix("/name")
                    .filter(|p| !p.is_empty())
                    .map(|p| FieldSpec {
                        path: p.to_string(),
                        ..spec.clone()
                    });
                let mut visit = |v: &mut Value| -> Result<(), String> {
                    if parent.is_some() {
                        let Value::Object(map) = v else {
                            return Ok(());
                        };
                        if map
                            .get("kind")
                            .and_then(Value::as_str)
                            .is_some_and(|k| k != nr.kind)
                        {
                            return Ok(());
                        }
                        return match map.get_mut("name") {
                            Some(name) => rewrite(name, nr, &referrer, &candidates),
                            None => Ok(()),
                        };
                    }
                    rewrite(v, nr, &referrer, &candidates)
                };
                parent
                    .as_ref()
                    .unwrap_or(spec)
                    .apply(&mut resource.object, &Value::Null, &mut visit)
                    .map_err(|e| RenderError::resource(file, format!("name reference: {e}")))?;
            }
        }
    }
    Ok(())
}

struct Referrer {
    cluster_scoped: bool,
    namespace: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

fn rewrite(
    value: &mut Value,
    nr: &NameReference,
    referrer: &Referrer,
    candidates: &[Candidate],
) -> Result<(), String> {
    match value {
        Value::String(name) => {
            if let Some(c) = find(nr, name, None, false, referrer, candidates)? {
                *name = c.name.clone();
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite(item, nr, referrer, candidates)?;
            }
        }
        Value::Object(map) => {
            // subjects (kind/name/namespace) or a webhook service (name/namespace).
            if let Some(kind) = map.get("kind").and_then(Value::as_str)
                && kind != nr.kind
            {
                return Ok(());
            }
            let Some(name) = map.get("name").and_then(Value::as_str).map(str::to_string) else {
                return Ok(());
            };
            let ns = match map.get("namespace") {
                None => None,
                Some(Value::String(ns)) if !ns.is_empty() => Some(ns.clone()),
                Some(_) => {
                    return Err(format!(
                        "Invalid Input: namespace is blank for {} {name:?}",
                        nr.kind
                    ));
                }
            };
            if let Some(c) = find(nr, &name, ns.as_deref(), true, referrer, candidates)? {
                map.insert("name".into(), Value::String(c.name.clone()));
                if let Some(actual) = &c.actual_namespace {
                    map.insert("namespace".into(), Value::String(actual.clone()));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn find<'c>(
    nr: &NameReference,
    name: &str,
    namespace: Option<&str>,
    map_ref: bool,
    referrer: &Referrer,
    candidates: &'c [Candidate],
) -> Result<Option<&'c Candidate>, String> {
    let mut found: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.kind == nr.kind)
        .filter(|c| {
            nr.group.is_empty()
                || c.group == nr.group
                || nr.group.starts_with(&format!("{}/", c.group))
        })
        .filter(|c| {
            c.ids.iter().any(|id| {
                id.name == name
                    && match namespace {
                        Some(ns) => id.effective_namespace() == ns || is_cluster_scoped(&id.kind),
                        None => true,
                    }
            })
        })
        .filter(|c| {
            namespace.is_some()
                || referrer.cluster_scoped
                || c.namespace.is_empty()
                || c.namespace == referrer.namespace
        })
        .collect();
    if found.len() > 1 {
        for allow_empty in [false, true] {
            let same_context: Vec<&Candidate> = found
                .iter()
                .copied()
                .filter(|c| {
                    same_ending(&c.prefixes, &referrer.prefixes, allow_empty)
                        && same_ending(&c.suffixes, &referrer.suffixes, allow_empty)
                })
                .collect();
            if !same_context.is_empty() {
                found = same_context;
                break;
            }
        }
    }
    if found.len() > 1
        && let Some(ns) = namespace
    {
        // A namespaced reference to an object that moved follows the move.
        let moved: Vec<&Candidate> = found
            .iter()
            .copied()
            .filter(|c| {
                c.previous()
                    .iter()
                    .any(|id| id.name == name && id.effective_namespace() == ns)
            })
            .collect();
        if !moved.is_empty() {
            found = moved;
        }
    }
    if found.len() > 1 && !map_ref && found.iter().all(|c| c.name == name) {
        // Every candidate still has the name: nothing to rewrite.
        return Ok(None);
    }
    if found.len() > 1 {
        let names: Vec<String> = found
            .iter()
            .map(|c| c.ids.last().map(ToString::to_string).unwrap_or_default())
            .collect();
        return Err(format!(
            "found multiple possible referrals for {} {name:?}: {}",
            nr.kind,
            names.join(", ")
        ));
    }
    Ok(found.first().copied())
}

/// Whether the shorter list is the end of the longer one (kustomize's
/// `SameEndingSubSlice`): the prefixes or suffixes of two objects built in
/// the same branch of the tree. An empty list matches only an empty one,
/// unless `allow_empty`.
fn same_ending(a: &[String], b: &[String], allow_empty: bool) -> bool {
    if a.is_empty() || b.is_empty() {
        return allow_empty || a.len() == b.len();
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.ends_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Object;
    use serde_json::json;

    fn res(value: Value, prefixes: &[&str], renamed_from: Option<&str>) -> Resource {
        let mut r = Resource::new(Object::from_value(value).unwrap(), "f");
        r.prefixes = prefixes.iter().map(|p| p.to_string()).collect();
        if let Some(old) = renamed_from {
            let mut id = r.id();
            id.name = old.to_string();
            r.history.push(id);
        }
        r
    }

    fn pod(name: &str, cm: &str, prefixes: &[&str]) -> Resource {
        res(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"volumes": [{"name": "v", "configMap": {"name": cm}}]}}),
            prefixes,
            None,
        )
    }

    fn cm(name: &str, old: &str, prefixes: &[&str]) -> Resource {
        res(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
            prefixes,
            Some(old),
        )
    }

    fn volume_ref(r: &Resource) -> &str {
        r.object.0["spec"]["volumes"][0]["configMap"]["name"]
            .as_str()
            .unwrap()
    }

    #[test]
    fn follows_renames_within_the_same_branch() {
        let mut list = vec![
            pod("a-p", "cfg", &["a-"]),
            pod("b-p", "cfg", &["b-"]),
            cm("a-cfg", "cfg", &["a-"]),
            cm("b-cfg", "cfg", &["b-"]),
        ];
        fix(&mut list, &Config::default(), "k").unwrap();
        assert_eq!(volume_ref(&list[0]), "a-cfg");
        assert_eq!(volume_ref(&list[1]), "b-cfg");
    }

    #[test]
    fn ambiguous_referrals_are_errors() {
        let mut list = vec![
            pod("p", "cfg", &[]),
            cm("x-cfg", "cfg", &[]),
            cm("y-cfg", "cfg", &[]),
        ];
        let err = fix(&mut list, &Config::default(), "k")
            .unwrap_err()
            .to_string();
        assert!(err.contains("multiple possible referrals"), "{err}");
    }
}
