//! `status.inventory`: the objects a Kustomization applied, as Flux lists
//! them (`<namespace>_<name>_<group>_<kind>` and the version). Pruning is
//! limited to objects in the inventory (and tracked to the Kustomization,
//! which the sync engine checks); the inventory tells the engine which
//! kinds to search when they are no longer rendered.

use std::collections::BTreeSet;

use driftless_api::flux::kustomize::{ResourceInventory, ResourceRef, inventory_id};
use driftless_api::{ResourceStatus, SyncOperationResource};
use driftless_render::ObjectKey;
use driftless_sync::{Comparison, ResourceState};

fn id_of(key: &ObjectKey) -> String {
    inventory_id(&key.namespace, &key.name, &key.group, &key.kind)
}

/// The inventory after applying `cmp`: every rendered object this
/// Kustomization owns (not those another owner tracks), sorted by id.
pub fn of(cmp: &Comparison) -> ResourceInventory {
    let entries: BTreeSet<ResourceRef> = cmp
        .resources
        .iter()
        .filter(|r| r.state != ResourceState::RequiresPruning && r.shared_with.is_none())
        .map(|r| ResourceRef {
            id: id_of(&r.key),
            v: r.version.clone(),
        })
        .collect();
    ResourceInventory {
        entries: entries.into_iter().collect(),
    }
}

/// Parses an inventory id back into an object key (`None` when malformed).
pub fn parse_id(id: &str) -> Option<ObjectKey> {
    let (rest, kind) = id.rsplit_once('_')?;
    let (rest, group) = rest.rsplit_once('_')?;
    let (namespace, name) = rest.split_once('_')?;
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(ObjectKey {
        group: group.to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.replace("__", ":"),
    })
}

/// The inventory as the engine's "previous resources", so kinds and
/// namespaces no longer rendered are still searched for objects to prune.
pub fn previous(inventory: Option<&ResourceInventory>) -> Vec<ResourceStatus> {
    inventory
        .map(|inv| inv.entries.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let key = parse_id(&entry.id)?;
            Some(ResourceStatus {
                group: key.group,
                version: entry.v.clone(),
                kind: key.kind,
                namespace: (!key.namespace.is_empty()).then_some(key.namespace),
                name: key.name,
                ..Default::default()
            })
        })
        .collect()
}

/// The inventory as a selection of objects (for deletion: only what the
/// inventory lists is deleted, even among objects tracked to the owner).
pub fn selection(inventory: Option<&ResourceInventory>) -> Vec<SyncOperationResource> {
    inventory
        .map(|inv| inv.entries.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| parse_id(&entry.id))
        .map(|key| SyncOperationResource {
            group: key.group,
            kind: key.kind,
            name: key.name,
            namespace: (!key.namespace.is_empty()).then_some(key.namespace),
        })
        .collect()
}

/// Leaves in `cmp` only the prune candidates the inventory lists (none
/// without an inventory): an object tracked to this Kustomization but not
/// in its inventory is never deleted.
pub fn restrict_pruning(cmp: &mut Comparison, inventory: Option<&ResourceInventory>) {
    let listed: BTreeSet<&str> = inventory
        .map(|inv| inv.entries.iter().map(|e| e.id.as_str()).collect())
        .unwrap_or_default();
    cmp.resources.retain(|r| {
        r.state != ResourceState::RequiresPruning || listed.contains(id_of(&r.key).as_str())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_flux_writes_them() {
        let key = ObjectKey {
            group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            namespace: String::new(),
            name: "system:view".into(),
        };
        let id = id_of(&key);
        assert_eq!(id, "_system__view_rbac.authorization.k8s.io_ClusterRole");
        assert_eq!(parse_id(&id), Some(key));
        let cm = parse_id("staging_settings__ConfigMap").unwrap();
        assert_eq!(
            (cm.namespace.as_str(), cm.name.as_str(), cm.group.as_str()),
            ("staging", "settings", "")
        );
        assert_eq!(parse_id("garbage"), None);
    }

    #[test]
    fn previous_resources_come_from_the_inventory() {
        let inv = ResourceInventory {
            entries: vec![ResourceRef {
                id: "staging_web_apps_Deployment".into(),
                v: "v1".into(),
            }],
        };
        let prev = previous(Some(&inv));
        assert_eq!(prev.len(), 1);
        assert_eq!(prev[0].group, "apps");
        assert_eq!(prev[0].version, "v1");
        assert_eq!(prev[0].namespace.as_deref(), Some("staging"));
        assert!(previous(None).is_empty());
        let selected = selection(Some(&inv));
        assert_eq!(selected.len(), 1);
        assert_eq!(
            (selected[0].kind.as_str(), selected[0].name.as_str()),
            ("Deployment", "web")
        );
        assert_eq!(selected[0].namespace.as_deref(), Some("staging"));
        assert!(selection(None).is_empty(), "no inventory: nothing selected");
    }
}
