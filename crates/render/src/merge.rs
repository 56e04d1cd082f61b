//! The one deep merge of Helm values: mappings merged key by key,
//! recursively; anything else (a scalar, a list) replaced. The callers
//! differ only in what a null merged in means ([`Nulls`]).

use serde_json::Value;

/// What a `null` in the values merged in does to the key it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nulls {
    /// The null is kept as the key's value (Flux `valuesFrom`, which hands
    /// the composed values to Helm, where a null then deletes the chart's
    /// default).
    Keep,
    /// The key is removed (kyaml's `merge2`, kustomize `helmCharts`
    /// `valuesMerge`).
    Clear,
}

/// Merges `from` into `into`: where both are mappings, key by key
/// (recursively); otherwise `from` replaces `into`.
pub fn deep_merge(into: &mut Value, from: Value, nulls: Nulls) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                if value.is_null() && nulls == Nulls::Clear {
                    into.remove(&key);
                    continue;
                }
                match into.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value, nulls);
                    }
                    _ => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn merged(into: Value, from: Value, nulls: Nulls) -> Value {
        let mut into = into;
        deep_merge(&mut into, from, nulls);
        into
    }

    fn base() -> Value {
        json!({"image": {"repo": "nginx", "tag": "1"}, "ports": [80], "debug": true})
    }

    #[test]
    fn mappings_merge_and_everything_else_is_replaced() {
        for nulls in [Nulls::Keep, Nulls::Clear] {
            let out = merged(
                base(),
                json!({"image": {"tag": "2"}, "ports": [443], "extra": {"a": 1}}),
                nulls,
            );
            assert_eq!(
                out,
                json!({"image": {"repo": "nginx", "tag": "2"}, "ports": [443],
                       "debug": true, "extra": {"a": 1}})
            );
            assert_eq!(merged(json!("a"), json!({"b": 1}), nulls), json!({"b": 1}));
            assert_eq!(merged(base(), json!({"image": "x"}), nulls)["image"], "x");
        }
    }

    #[test]
    fn a_null_is_kept_with_keep() {
        let out = merged(
            base(),
            json!({"image": {"tag": null}, "debug": null}),
            Nulls::Keep,
        );
        assert_eq!(
            out,
            json!({"image": {"repo": "nginx", "tag": null}, "ports": [80], "debug": null})
        );
    }

    #[test]
    fn a_null_removes_the_key_with_clear() {
        let out = merged(
            base(),
            json!({"image": {"tag": null}, "debug": null}),
            Nulls::Clear,
        );
        assert_eq!(out, json!({"image": {"repo": "nginx"}, "ports": [80]}));
        let out = merged(base(), json!({"missing": null}), Nulls::Clear);
        assert_eq!(
            out,
            base(),
            "a null for a key that is not there changes nothing"
        );
    }
}
