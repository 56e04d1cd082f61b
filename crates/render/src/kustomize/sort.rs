//! Output order: kustomize's legacy kind order (the `kubectl kustomize`
//! default) or the input order (`sortOptions: {order: fifo}`).

use std::cmp::Ordering;

use serde_json::Value;

use super::resource::Resource;
use crate::error::RenderError;

/// Kinds printed first, in this order.
pub const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds printed last, in this order.
pub const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// How to order the output.
#[derive(Clone, Debug, PartialEq)]
pub enum Order {
    /// Legacy kind order with these first and last kinds.
    Legacy {
        /// Kinds first.
        first: Vec<String>,
        /// Kinds last.
        last: Vec<String>,
    },
    /// Input order.
    Fifo,
}

impl Default for Order {
    fn default() -> Self {
        Self::Legacy {
            first: ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
            last: ORDER_LAST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Order {
    /// Reads a `sortOptions` value.
    pub fn parse(value: Option<&Value>, file: &str) -> Result<Option<Self>, RenderError> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let err = |m: &str| RenderError::field(file, "sortOptions", m.to_string());
        let order = value.get("order").and_then(Value::as_str).unwrap_or("");
        let legacy = value.get("legacySortOptions").filter(|v| !v.is_null());
        match order {
            "fifo" => {
                if legacy.is_some() {
                    return Err(err("legacySortOptions must not be set when order is fifo"));
                }
                Ok(Some(Self::Fifo))
            }
            "legacy" => {
                let Some(legacy) = legacy else {
                    return Ok(Some(Self::default()));
                };
                let list = |k: &str| -> Vec<String> {
                    legacy
                        .get(k)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                Ok(Some(Self::Legacy {
                    first: list("orderFirst"),
                    last: list("orderLast"),
                }))
            }
            _ => Err(err("the field order must be one of legacy or fifo")),
        }
    }

    /// Sorts `resources` in place (stable).
    pub fn sort(&self, resources: &mut [Resource]) {
        let Self::Legacy { first, last } = self else {
            return;
        };
        let rank = |kind: &str| -> i64 {
            if let Some(i) = first.iter().position(|k| k == kind) {
                i as i64 - first.len() as i64
            } else if let Some(i) = last.iter().position(|k| k == kind) {
                1 + i as i64
            } else {
                0
            }
        };
        let gvk = |r: &Resource| {
            let o = &r.object;
            let or = |s: &str, d: &str| {
                if s.is_empty() {
                    d.to_string()
                } else {
                    s.to_string()
                }
            };
            format!(
                "{}_{}_{}",
                or(o.group(), "~G"),
                or(o.version(), "~V"),
                or(o.kind(), "~K")
            )
        };
        resources.sort_by(|a, b| {
            let (ka, kb) = (a.object.kind(), b.object.kind());
            rank(ka)
                .cmp(&rank(kb))
                .then_with(|| gvk(a).cmp(&gvk(b)))
                .then_with(|| {
                    let ida = a.id();
                    let idb = b.id();
                    let ns = |id: &super::resource::ResId| {
                        if id.namespace.is_empty() {
                            "~X".to_string()
                        } else {
                            id.namespace.clone()
                        }
                    };
                    ns(&ida)
                        .cmp(&ns(&idb))
                        .then_with(|| ida.name.cmp(&idb.name))
                })
                .then(Ordering::Equal)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Object;
    use serde_json::json;

    fn res(kind: &str, name: &str, ns: Option<&str>) -> Resource {
        let mut meta = json!({"name": name});
        if let Some(ns) = ns {
            meta["namespace"] = json!(ns);
        }
        let obj = Object::from_value(json!({"apiVersion": "v1", "kind": kind, "metadata": meta}));
        Resource::new(obj.unwrap(), "f")
    }

    fn kinds(list: &[Resource]) -> Vec<String> {
        list.iter()
            .map(|r| format!("{}/{}", r.object.kind(), r.object.name()))
            .collect()
    }

    #[test]
    fn legacy_order_puts_namespaces_first_and_webhooks_last() {
        let mut list = vec![
            res("ValidatingWebhookConfiguration", "v", None),
            res("Deployment", "d", Some("a")),
            res("Widget", "w", None),
            res("ConfigMap", "b", None),
            res("ConfigMap", "a", Some("x")),
            res("Namespace", "n", None),
        ];
        Order::default().sort(&mut list);
        assert_eq!(
            kinds(&list),
            [
                "Namespace/n",
                "ConfigMap/a",
                "ConfigMap/b",
                "Deployment/d",
                "Widget/w",
                "ValidatingWebhookConfiguration/v"
            ]
        );
    }

    #[test]
    fn sort_options() {
        let fifo = Order::parse(Some(&json!({"order": "fifo"})), "k").unwrap();
        assert_eq!(fifo, Some(Order::Fifo));
        let mut list = vec![res("Service", "s", None), res("Namespace", "n", None)];
        Order::Fifo.sort(&mut list);
        assert_eq!(kinds(&list), ["Service/s", "Namespace/n"]);
        let custom = Order::parse(
            Some(&json!({"order": "legacy", "legacySortOptions": {"orderFirst": ["Service"], "orderLast": ["Namespace"]}})),
            "k",
        )
        .unwrap()
        .unwrap();
        let mut list = vec![res("Namespace", "n", None), res("Service", "s", None)];
        custom.sort(&mut list);
        assert_eq!(kinds(&list), ["Service/s", "Namespace/n"]);
        assert!(
            Order::parse(
                Some(&json!({"order": "fifo", "legacySortOptions": {}})),
                "k"
            )
            .is_err()
        );
        assert!(Order::parse(Some(&json!({"order": "random"})), "k").is_err());
    }
}
