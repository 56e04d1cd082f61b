//! Adding or removing one finalizer on an object (a Flux kind, an
//! Application) without losing the others: the list is written whole,
//! guarded by the resourceVersion it was read at, and read again when a
//! newer object exists.

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Adds (`add`) or removes `finalizer` on `obj`, guarded by its
/// resourceVersion. A reconcile may start from a cached copy older than the
/// object (its own finalizer write not seen yet): on a conflict the object
/// is read again, and written only if it still needs the change.
pub async fn set<K>(api: &Api<K>, obj: &K, finalizer: &str, add: bool) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let conflict = match write_finalizers(api, obj, finalizer, add).await {
        Err(kube::Error::Api(e)) if e.code == 409 => kube::Error::Api(e),
        done => return done,
    };
    let Some(fresh) = api.get_opt(&obj.name_any()).await? else {
        return Err(conflict);
    };
    if holds(&fresh, finalizer) == add {
        return Ok(());
    }
    write_finalizers(api, &fresh, finalizer, add).await
}

/// Whether `obj` lists `finalizer`.
pub(crate) fn holds<K: Resource>(obj: &K, finalizer: &str) -> bool {
    obj.finalizers().iter().any(|f| f == finalizer)
}

/// `obj`'s finalizers with `finalizer` added or removed, written as a merge
/// patch guarded by `obj`'s resourceVersion (the list is replaced whole).
async fn write_finalizers<K>(
    api: &Api<K>,
    obj: &K,
    finalizer: &str,
    add: bool,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let mut list: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    if add {
        list.push(finalizer.to_string());
    }
    let body =
        json!({ "metadata": { "finalizers": list, "resourceVersion": obj.resource_version() } });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&body),
    )
    .await?;
    Ok(())
}
