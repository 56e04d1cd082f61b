//! Finding objects to prune without listing whole kinds: objects that
//! another writer annotated with this Application's tracking id are found
//! through the shared watch of their kind and namespace, and forgotten when
//! they are deleted.

mod support;

use driftless_sync::{ResourceState, TRACKING_ANNOTATION, tracking_id};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use support::*;

/// A ConfigMap created outside the engine, carrying `tracking`.
async fn create_tracked(env: &Env, name: &str, tracking: &str) {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": {TRACKING_ANNOTATION: tracking}}
    }))
    .expect("a ConfigMap");
    api.create(&PostParams::default(), &cm)
        .await
        .unwrap_or_else(|e| panic!("creating ConfigMap {name}: {e}"));
}

#[tokio::test]
async fn objects_tracked_by_other_writers_are_found_and_forgotten() {
    let env = env("tracked-watch").await;
    let target = env.target("finder");
    let rendered = [config_map("kept", json!({}))];
    env.sync_ok(&target, &rendered).await;

    let stray = key("", "ConfigMap", &env.ns, "stray");
    let foreign = key("", "ConfigMap", &env.ns, "foreign");
    create_tracked(&env, "stray", &tracking_id("finder", &stray)).await;
    create_tracked(&env, "foreign", &tracking_id("someone-else", &foreign)).await;

    // The watch reports the new object shortly after it is created.
    let cmp = env
        .eventually("the stray ConfigMap found for pruning", || async {
            let cmp = env.diff(&target, &rendered).await;
            cmp.resources.iter().any(|r| r.key == stray).then_some(cmp)
        })
        .await;
    assert_eq!(state(&cmp, &stray), ResourceState::RequiresPruning);
    assert_eq!(
        state(&cmp, &key("", "ConfigMap", &env.ns, "kept")),
        ResourceState::Synced
    );
    assert!(
        cmp.resources.iter().all(|r| r.key != foreign),
        "another Application's object is never a prune candidate"
    );

    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    api.delete("stray", &DeleteParams::default())
        .await
        .expect("deleting the stray ConfigMap");
    env.eventually("the deleted ConfigMap gone from the diff", || async {
        let cmp = env.diff(&target, &rendered).await;
        cmp.resources.iter().all(|r| r.key != stray).then_some(())
    })
    .await;
}

/// Waits (bounded) for a change notice naming `owner`; returns it.
async fn notice_for(
    changes: &mut tokio::sync::broadcast::Receiver<driftless_sync::TrackedChange>,
    owner: &str,
) -> driftless_sync::TrackedChange {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(change) if change.owner == owner => return change,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("the change notices ended: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), wait)
        .await
        .unwrap_or_else(|_| panic!("no change notice for {owner}"))
}

#[tokio::test]
async fn the_index_announces_changes_to_tracked_objects_by_owner() {
    let env = env("tracked-notice").await;
    let target = env.target("owner");
    let rendered = [config_map("watched", json!({"mode": "one"}))];
    // The diff starts the watch of ConfigMaps in the namespace.
    env.sync_ok(&target, &rendered).await;
    let mut changes = env.engine.tracked_changes();

    // Each change to an object tracked to "another" is one notice naming it:
    // its creation, drift by another writer, its deletion.
    let other = key("", "ConfigMap", &env.ns, "other");
    create_tracked(&env, "other", &tracking_id("another", &other)).await;
    notice_for(&mut changes, "another").await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let patch = json!({"data": {"mode": "drifted"}});
    let params = kube::api::PatchParams::default();
    api.patch("other", &params, &kube::api::Patch::Merge(&patch))
        .await
        .expect("drifting the ConfigMap");
    notice_for(&mut changes, "another").await;
    api.delete("other", &DeleteParams::default())
        .await
        .expect("deleting the ConfigMap");
    notice_for(&mut changes, "another").await;

    // The engine applied "watched": another writer's own annotation leaves
    // every field the engine owns as it was; a change to its data does not.
    let note = json!({"metadata": {"annotations": {"example.com/note": "x"}}});
    api.patch("watched", &params, &kube::api::Patch::Merge(&note))
        .await
        .expect("annotating the ConfigMap");
    let change = notice_for(&mut changes, "owner").await;
    assert!(change.owned_fields_unchanged, "{change:?}");
    api.patch("watched", &params, &kube::api::Patch::Merge(&patch))
        .await
        .expect("drifting the ConfigMap");
    let change = notice_for(&mut changes, "owner").await;
    assert!(!change.owned_fields_unchanged, "{change:?}");
}

/// The data of the live ConfigMap `key` as a diff saw it.
fn live_mode(cmp: &driftless_sync::Comparison, key: &driftless_render::ObjectKey) -> String {
    resource(cmp, key)
        .live
        .as_ref()
        .and_then(|l| l.pointer("/data/mode"))
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string()
}

/// The comparison right after a sync takes what the apply returned as the
/// live object (in sync with what was applied), but not once the index has
/// seen another writer change it: then the object is read again.
#[tokio::test]
async fn the_comparison_after_a_sync_sees_later_edits() {
    let env = env("tracked-after").await;
    let target = env.target("after");
    env.sync_ok(&target, &[config_map("settings", json!({"mode": "one"}))])
        .await;
    let edited = [config_map("settings", json!({"mode": "two"}))];
    let result = env.sync_ok(&target, &edited).await;
    let settings = key("", "ConfigMap", &env.ns, "settings");
    let after = env
        .engine
        .diff_after_sync(&target, objs(&edited), &result)
        .await
        .expect("the comparison after the sync");
    assert_eq!(state(&after, &settings), ResourceState::Synced);
    assert_eq!(live_mode(&after, &settings), "two");

    env.cp
        .kubectl(&[
            "-n",
            &env.ns,
            "patch",
            "configmap/settings",
            "--type=merge",
            "-p",
            r#"{"data":{"mode":"three"}}"#,
        ])
        .expect("editing by hand");
    let drifted = env
        .eventually("the edit seen after the sync", || async {
            let cmp = env
                .engine
                .diff_after_sync(&target, objs(&edited), &result)
                .await
                .expect("the comparison after the sync");
            (state(&cmp, &settings) == ResourceState::OutOfSync).then_some(cmp)
        })
        .await;
    assert_eq!(live_mode(&drifted, &settings), "three");
    // A plain diff reads the server too.
    let plain = env.diff(&target, &edited).await;
    assert_eq!(state(&plain, &settings), ResourceState::OutOfSync);
}

/// A fresh comparison's stamp, once the index shows what it read.
async fn holding_stamp(
    env: &Env,
    target: &driftless_sync::Target,
    rendered: &[serde_json::Value],
) -> driftless_sync::LiveStamp {
    env.eventually("a comparison whose stamp holds", || async {
        let cmp = env.diff(target, rendered).await;
        let stamp = cmp.stamp.expect("every kind is served: a stamp");
        env.engine
            .unchanged_since(&target.app, &stamp)
            .then_some(stamp)
    })
    .await
}

/// Waits until the index has seen something that `stamp` read change.
async fn stale(env: &Env, app: &str, stamp: &driftless_sync::LiveStamp, what: &str) {
    env.eventually(what, || async {
        (!env.engine.unchanged_since(app, stamp)).then_some(())
    })
    .await;
}

/// A comparison's stamp holds while nothing it read changes, and no longer
/// once a compared object changes, an object newly names the owner, a
/// tracked one goes, or a rendered object that was missing appears.
#[tokio::test]
async fn a_stamp_holds_until_what_the_comparison_read_changes() {
    let env = env("tracked-stamp").await;
    let target = env.target("stamper");
    let kept = config_map("kept", json!({"mode": "one"}));
    env.sync_ok(&target, std::slice::from_ref(&kept)).await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    let params = kube::api::PatchParams::default();

    // Nothing changes: it keeps holding (a status-free ConfigMap has no
    // other writer).
    let stamp = holding_stamp(&env, &target, std::slice::from_ref(&kept)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(env.engine.unchanged_since("stamper", &stamp));

    // Another writer edits a compared object.
    let drift = json!({"data": {"mode": "drifted"}});
    api.patch("kept", &params, &kube::api::Patch::Merge(&drift))
        .await
        .expect("drifting the ConfigMap");
    stale(&env, "stamper", &stamp, "the edit seen by the stamp").await;

    // An object that newly names the owner (a prune candidate), then its
    // deletion.
    let stamp = holding_stamp(&env, &target, std::slice::from_ref(&kept)).await;
    let stray = key("", "ConfigMap", &env.ns, "stray");
    create_tracked(&env, "stray", &tracking_id("stamper", &stray)).await;
    stale(
        &env,
        "stamper",
        &stamp,
        "the stray object seen by the stamp",
    )
    .await;
    let stamp = holding_stamp(&env, &target, std::slice::from_ref(&kept)).await;
    api.delete("stray", &DeleteParams::default())
        .await
        .expect("deleting the stray ConfigMap");
    stale(&env, "stamper", &stamp, "the deletion seen by the stamp").await;

    // A rendered object that does not exist yet, then is created by
    // someone else (untracked).
    let rendered = [kept.clone(), config_map("later", json!({}))];
    let stamp = holding_stamp(&env, &target, &rendered).await;
    let later: ConfigMap =
        serde_json::from_value(config_map("later", json!({}))).expect("a ConfigMap");
    api.create(&PostParams::default(), &later)
        .await
        .expect("creating the ConfigMap");
    stale(
        &env,
        "stamper",
        &stamp,
        "the created object seen by the stamp",
    )
    .await;

    // A kind the cluster does not serve: no stamp at all.
    let unknown =
        json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    let cmp = env.diff(&target, &[kept, unknown]).await;
    assert!(cmp.stamp.is_none(), "an unserved kind gives no stamp");
}
