//! What the fault tests check, shared by the in-process ones
//! (`crates/controller/tests/faults*.rs`) and the ones on real processes
//! (`crates/cli/tests/process_faults.rs`): which objects a sync made
//! (tracked ConfigMaps and their uids), catching a sync under way, and
//! which objects a fault lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ListParams, PartialObjectMeta};
use kube::{Api, Client};

/// The annotation every object driftless applies carries.
pub const TRACKING: &str = "argocd.argoproj.io/tracking-id";

/// Object name -> uid.
pub type Uids = BTreeMap<String, String>;

/// The ConfigMaps of `ns` that carry a tracking id: name -> uid (metadata
/// only). Panics naming the namespace when the list fails.
pub async fn tracked_configmaps(client: &Client, ns: &str) -> Uids {
    let api: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(client.clone(), ns);
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("listing the ConfigMaps of {ns}: {e}"));
    list.items
        .into_iter()
        .filter(|cm| {
            cm.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(TRACKING))
        })
        .filter_map(|cm| Some((cm.metadata.name?, cm.metadata.uid?)))
        .collect()
}

/// Waits until `applied` (how many of `total` objects a sync has written
/// so far) is between 1 and `total - 1`: the sync is under way, not
/// finished. Panics when it finished first, or after `limit`.
pub async fn mid_sync(total: usize, limit: Duration, mut applied: impl AsyncFnMut() -> usize) {
    let started = Instant::now();
    loop {
        let n = applied().await;
        if n > 0 && n < total {
            return;
        }
        assert!(
            n < total && started.elapsed() < limit,
            "never caught the sync under way ({n} of {total} applied)"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The objects of `before` still `wanted` that are gone or recreated (a
/// new uid) in `after`, by name.
pub fn lost(before: &Uids, after: &Uids, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    before
        .iter()
        .filter(|(name, _)| wanted(name))
        .filter(|(name, uid)| after.get(*name) != Some(*uid))
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_names_deleted_and_recreated_objects_still_wanted() {
        let uids = |pairs: &[(&str, &str)]| -> Uids {
            pairs
                .iter()
                .map(|(n, u)| (n.to_string(), u.to_string()))
                .collect()
        };
        let before = uids(&[("a", "1"), ("b", "2"), ("c", "3"), ("gone", "4")]);
        let after = uids(&[("a", "1"), ("b", "9")]);
        assert_eq!(lost(&before, &after, |n| n != "gone"), ["b", "c"]);
        assert!(lost(&before, &before, |_| true).is_empty());
    }
}
