//! The union of what several sources of one Application rendered, as Argo
//! CD builds it: every rendering source's objects in `spec.sources` order;
//! an object two sources render (same group, kind, namespace and name) is
//! applied once, as the last of them renders it, with a
//! `RepeatedResourceWarning`. Pure.

use std::collections::HashMap;

use driftless_render::{Object, ObjectKey};

/// One source's render and how messages name it.
pub(crate) struct Part<'r> {
    /// E.g. `spec.sources[1] (path manifests)`.
    pub(crate) label: String,
    /// What it rendered.
    pub(crate) objects: &'r [Object],
}

/// The union, and one message per object rendered by several sources.
pub(crate) struct Union {
    /// The objects, in source order (a repeated one where its first source put it).
    pub(crate) objects: Vec<Object>,
    /// `RepeatedResourceWarning` messages.
    pub(crate) repeated: Vec<String>,
}

/// How messages name the source `source` at `index` of `spec.sources`.
pub(crate) fn label(index: usize, source: &driftless_api::ApplicationSource) -> String {
    match source.chart() {
        Some(chart) => format!("spec.sources[{index}] (chart {chart})"),
        None => format!("spec.sources[{index}] (path {:?})", source.path()),
    }
}

/// Combines `parts`; objects without a namespace count as in
/// `default_namespace` (the destination's), as the sync will place them.
pub(crate) fn union(parts: &[Part<'_>], default_namespace: Option<&str>) -> Union {
    let mut objects: Vec<Object> = Vec::new();
    // Where each object is in `objects`, and which sources rendered it.
    let mut seen: HashMap<ObjectKey, (usize, Vec<&str>)> = HashMap::new();
    for part in parts {
        for object in part.objects {
            if object.name().is_empty() {
                objects.push(object.clone());
                continue;
            }
            let mut key = object.key();
            if key.namespace.is_empty() {
                key.namespace = default_namespace.unwrap_or_default().to_string();
            }
            match seen.get_mut(&key) {
                Some((at, by)) if !by.contains(&part.label.as_str()) => {
                    objects[*at] = object.clone();
                    by.push(&part.label);
                }
                // Twice in one source: the sync engine names it.
                Some(_) => objects.push(object.clone()),
                None => {
                    seen.insert(key, (objects.len(), vec![&part.label]));
                    objects.push(object.clone());
                }
            }
        }
    }
    let mut repeated: Vec<String> = seen
        .iter()
        .filter(|(_, (_, by))| by.len() > 1)
        .map(|(key, (_, by))| {
            format!(
                "{key} is rendered by {}: the last one's is applied",
                by.join(" and ")
            )
        })
        .collect();
    repeated.sort();
    Union { objects, repeated }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(name: &str, namespace: Option<&str>, value: &str) -> Object {
        let mut metadata = serde_json::json!({ "name": name });
        if let Some(ns) = namespace {
            metadata["namespace"] = ns.into();
        }
        Object::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
            "data": { "value": value },
        }))
        .unwrap()
    }

    #[test]
    fn the_last_source_wins_a_repeated_object_and_says_so() {
        let chart = [
            config_map("web", None, "from-chart"),
            config_map("shared", None, "from-chart"),
        ];
        let plain = [
            config_map("shared", Some("prod"), "from-git"),
            config_map("extra", None, "from-git"),
        ];
        let parts = [
            Part {
                label: "spec.sources[0] (chart web)".into(),
                objects: &chart,
            },
            Part {
                label: "spec.sources[2] (path \"manifests\")".into(),
                objects: &plain,
            },
        ];
        let union = union(&parts, Some("prod"));
        let names: Vec<(&str, &str)> = union
            .objects
            .iter()
            .map(|o| (o.name(), o.0["data"]["value"].as_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("web", "from-chart"),
                ("shared", "from-git"),
                ("extra", "from-git")
            ]
        );
        assert_eq!(
            union.repeated,
            [
                "ConfigMap prod/shared is rendered by spec.sources[0] (chart web) and \
              spec.sources[2] (path \"manifests\"): the last one's is applied"
            ]
        );
    }

    #[test]
    fn distinct_objects_and_other_namespaces_are_not_repeats() {
        let a = [config_map("same", Some("a"), "1")];
        let b = [config_map("same", Some("b"), "2")];
        let parts = [
            Part {
                label: "a".into(),
                objects: &a,
            },
            Part {
                label: "b".into(),
                objects: &b,
            },
        ];
        let union = union(&parts, None);
        assert_eq!(union.objects.len(), 2);
        assert!(union.repeated.is_empty(), "{:?}", union.repeated);
    }
}
