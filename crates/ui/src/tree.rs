//! Resource trees (pure): an Application and the objects of its
//! `status.resources`, child Applications nested with their own; a
//! Kustomization and its inventory, with its `dependsOn` as edges.

use std::collections::BTreeSet;
use std::sync::Arc;

use driftless_api::{Application, ResourceStatus};
use kube::ResourceExt;
use serde::Serialize;
use serde_json::Value;

use crate::summary::{self, AppSummary};

/// How deep App of Apps nesting is followed.
const MAX_DEPTH: usize = 8;

/// One node of a tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Node {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    pub(crate) namespace: Option<String>,
    pub(crate) name: String,
    /// Synced/OutOfSync (Applications' objects), True/False (Kustomizations).
    pub(crate) sync: Option<String>,
    pub(crate) health: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) sync_wave: Option<i64>,
    pub(crate) requires_pruning: bool,
    /// How this node hangs from its parent: `owns` or `dependsOn`.
    pub(crate) edge: &'static str,
    /// `<namespace>/<name>` of the Application whose status lists this
    /// object (its manifest and Events are read through that Application).
    pub(crate) owner: Option<String>,
    pub(crate) children: Vec<Node>,
}

fn text<T: Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn resource_node(r: &ResourceStatus) -> Node {
    Node {
        group: r.group.clone(),
        version: r.version.clone(),
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        sync: text(&r.status),
        health: r.health.as_ref().and_then(|h| text(&h.status)),
        message: r.health.as_ref().and_then(|h| h.message.clone()),
        sync_wave: r.sync_wave,
        requires_pruning: r.requires_pruning,
        edge: "owns",
        owner: None,
        children: Vec::new(),
    }
}

/// Whether `r` is an Argo CD Application (a child of an App of Apps).
fn is_application(r: &ResourceStatus) -> bool {
    r.group == driftless_api::GROUP && r.kind == "Application"
}

/// The tree of `app`; `lookup(namespace, name)` finds a child Application
/// the caller may see (its objects are then nested under it).
pub(crate) fn app_tree(
    app: &Application,
    lookup: &dyn Fn(&str, &str) -> Option<Arc<Application>>,
) -> Node {
    let mut seen = BTreeSet::new();
    app_node(app, lookup, &mut seen, 0)
}

fn app_node(
    app: &Application,
    lookup: &dyn Fn(&str, &str) -> Option<Arc<Application>>,
    seen: &mut BTreeSet<(String, String)>,
    depth: usize,
) -> Node {
    let namespace = app.namespace().unwrap_or_default();
    seen.insert((namespace.clone(), app.name_any()));
    let row = AppSummary::of(app);
    let mut node = Node {
        group: driftless_api::GROUP.into(),
        version: driftless_api::VERSION.into(),
        kind: "Application".into(),
        namespace: Some(namespace.clone()),
        name: app.name_any(),
        sync: Some(row.sync),
        health: Some(row.health),
        message: row.message,
        edge: "owns",
        ..Node::default()
    };
    let resources = app
        .status
        .as_ref()
        .map(|s| s.resources.as_slice())
        .unwrap_or_default();
    let owner = format!("{namespace}/{}", app.name_any());
    for r in resources {
        let mut child = resource_node(r);
        child.owner = Some(owner.clone());
        if is_application(r) && depth < MAX_DEPTH {
            let ns = r.namespace.clone().unwrap_or_else(|| namespace.clone());
            if !seen.contains(&(ns.clone(), r.name.clone()))
                && let Some(grandchild) = lookup(&ns, &r.name)
            {
                let nested = app_node(&grandchild, lookup, seen, depth + 1);
                child.children = nested.children;
                child.health = nested.health.or(child.health);
            }
        }
        node.children.push(child);
    }
    node
}

/// Splits a Flux inventory id `<namespace>_<name>_<group>_<kind>`.
pub(crate) fn parse_inventory_id(id: &str) -> Option<(Option<String>, String, String, String)> {
    let parts: Vec<&str> = id.split('_').collect();
    let [namespace, name, group, kind] = parts.as_slice() else {
        return None;
    };
    if name.is_empty() || kind.is_empty() {
        return None;
    }
    let namespace = (!namespace.is_empty()).then(|| namespace.to_string());
    Some((
        namespace,
        name.to_string(),
        group.to_string(),
        kind.to_string(),
    ))
}

/// The tree of a Kustomization (its JSON): its inventory's objects, and a
/// `dependsOn` child per dependency, with its Ready status when
/// `ready_of(namespace, name)` knows it.
pub(crate) fn kustomization_tree(
    object: &Value,
    ready_of: &dyn Fn(&str, &str) -> Option<String>,
) -> Node {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (ready, _, message) = summary::ready_condition(object);
    let mut node = Node {
        group: crate::store::FLUX_GROUP.into(),
        version: "v1".into(),
        kind: "Kustomization".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
        sync: Some(ready),
        message,
        edge: "owns",
        ..Node::default()
    };
    for dep in summary::depends_on(object, namespace) {
        let (dep_ns, dep_name) = dep.split_once('/').unwrap_or((namespace, &dep));
        node.children.push(Node {
            group: crate::store::FLUX_GROUP.into(),
            version: "v1".into(),
            kind: "Kustomization".into(),
            namespace: Some(dep_ns.into()),
            name: dep_name.into(),
            sync: ready_of(dep_ns, dep_name),
            edge: "dependsOn",
            ..Node::default()
        });
    }
    let entries = object
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let id = entry.get("id").and_then(Value::as_str).unwrap_or("");
        let Some((ns, name, group, kind)) = parse_inventory_id(id) else {
            continue;
        };
        node.children.push(Node {
            group,
            version: entry.get("v").and_then(Value::as_str).unwrap_or("").into(),
            kind,
            namespace: ns,
            name,
            edge: "owns",
            ..Node::default()
        });
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn application(name: &str, resources: Value) -> Arc<Application> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": "argocd"},
                "spec": {"project": "default", "destination": {}},
                "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"},
                           "resources": resources}
            }))
            .expect("an Application"),
        )
    }

    #[test]
    fn child_applications_are_nested_and_cycles_stop() {
        let root = application(
            "root",
            json!([
                {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
                 "namespace": "argocd", "name": "web", "status": "Synced"},
                {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
                 "namespace": "argocd", "name": "hidden", "status": "Synced"}
            ]),
        );
        let web = application(
            "web",
            json!([
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web",
                 "name": "web", "status": "OutOfSync", "health": {"status": "Progressing"}, "syncWave": 2},
                {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
                 "namespace": "argocd", "name": "root", "status": "Synced"}
            ]),
        );
        let lookup = |ns: &str, name: &str| match (ns, name) {
            ("argocd", "web") => Some(web.clone()),
            ("argocd", "root") => Some(root.clone()),
            _ => None,
        };
        let tree = app_tree(&root, &lookup);
        assert_eq!(tree.children.len(), 2);
        let web_node = &tree.children[0];
        assert_eq!(web_node.name, "web");
        assert_eq!(web_node.health.as_deref(), Some("Healthy"));
        assert_eq!(web_node.children.len(), 2);
        let deployment = &web_node.children[0];
        assert_eq!(deployment.kind, "Deployment");
        assert_eq!(deployment.sync.as_deref(), Some("OutOfSync"));
        assert_eq!(deployment.health.as_deref(), Some("Progressing"));
        assert_eq!(deployment.sync_wave, Some(2));
        assert_eq!(deployment.owner.as_deref(), Some("argocd/web"));
        assert_eq!(web_node.owner.as_deref(), Some("argocd/root"));
        // The back edge to root is listed but not expanded again.
        assert!(web_node.children[1].children.is_empty());
        // An Application the caller may not see is a leaf.
        assert!(tree.children[1].children.is_empty());
    }

    #[test]
    fn inventory_ids_split() {
        assert_eq!(
            parse_inventory_id("web_frontend_apps_Deployment"),
            Some((
                Some("web".into()),
                "frontend".into(),
                "apps".into(),
                "Deployment".into()
            ))
        );
        assert_eq!(
            parse_inventory_id("_web__Namespace"),
            Some((None, "web".into(), "".into(), "Namespace".into()))
        );
        assert_eq!(parse_inventory_id("garbage"), None);
    }

    #[test]
    fn kustomization_tree_has_inventory_and_dependencies() {
        let object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"dependsOn": [{"name": "infra"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "inventory": {"entries": [
                           {"id": "web_frontend_apps_Deployment", "v": "v1"},
                           {"id": "_web__Namespace", "v": "v1"}]}}
        });
        let ready = |ns: &str, name: &str| {
            (ns == "flux-system" && name == "infra").then(|| "False".to_string())
        };
        let tree = kustomization_tree(&object, &ready);
        assert_eq!(tree.sync.as_deref(), Some("True"));
        assert_eq!(tree.children.len(), 3);
        assert_eq!(tree.children[0].edge, "dependsOn");
        assert_eq!(tree.children[0].sync.as_deref(), Some("False"));
        assert_eq!(tree.children[1].kind, "Deployment");
        assert_eq!(tree.children[2].namespace, None);
    }
}
