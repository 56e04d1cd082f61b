//! An engine with the live cache (the controller's, while self-heal is on)
//! takes an object its tracked-object index has not seen as missing,
//! without reading it. The sync then creates it only if it still does not
//! exist: an object someone created between the comparison and the sync
//! is read and treated as the comparison would have treated it, and an
//! untracked object that existed before the comparison is compared as
//! OutOfSync, never reported Missing.

mod support;

use driftless_sync::{Action, ResourceOutcome, ResourceState, TRACKING_ANNOTATION, tracking_id};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use support::*;

/// Creates ConfigMap `name` with `data` outside the engine, carrying
/// `tracking` when given.
async fn create_by_hand(env: &Env, name: &str, data: Value, tracking: Option<&str>) {
    let annotations = tracking.map(|t| json!({TRACKING_ANNOTATION: t}));
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": annotations},
        "data": data,
    }))
    .expect("a ConfigMap");
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.ns);
    api.create(&PostParams::default(), &cm)
        .await
        .unwrap_or_else(|e| panic!("creating ConfigMap {name}: {e}"));
}

fn outcome<'a>(result: &'a driftless_sync::SyncResult, name: &str) -> &'a ResourceOutcome {
    result
        .resources
        .iter()
        .find(|r| r.key.name == name)
        .unwrap_or_else(|| panic!("no outcome for {name}: {:#?}", result.resources))
}

async fn live_cm(env: &Env, name: &str) -> Value {
    env.get("v1", "ConfigMap", name)
        .await
        .unwrap_or_else(|| panic!("ConfigMap {name} exists"))
}

#[tokio::test]
async fn an_object_created_after_the_comparison_is_applied_to_not_created_over() {
    let mut env = env("create-late").await;
    env.engine = env.engine.clone().with_live_cache();
    let target = env.target("late");
    let rendered = [config_map("late", json!({"mode": "git"}))];
    let late = key("", "ConfigMap", &env.ns, "late");
    let cmp = env.diff(&target, &rendered).await;
    assert_eq!(state(&cmp, &late), ResourceState::Missing);

    create_by_hand(
        &env,
        "late",
        json!({"mode": "theirs", "extra": "kept"}),
        None,
    )
    .await;
    let result = env.engine.sync(&target, &cmp).await.expect("the sync");
    assert!(
        result.succeeded,
        "{}: {:#?}",
        result.message, result.resources
    );
    assert_eq!(outcome(&result, "late").action, Action::Configured);
    let live = live_cm(&env, "late").await;
    // Applied over the existing object: its own data stays, ours is set.
    assert_eq!(live.pointer("/data/mode"), Some(&json!("git")));
    assert_eq!(live.pointer("/data/extra"), Some(&json!("kept")));
    let annotation = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(TRACKING_ANNOTATION));
    assert_eq!(annotation, Some(&json!(tracking_id("late", &late))));
}

#[tokio::test]
async fn an_object_another_owner_created_after_the_comparison_is_left_to_it() {
    let mut env = env("create-taken").await;
    env.engine = env.engine.clone().with_live_cache();
    let target = env.target("second");
    let rendered = [config_map("taken", json!({"mode": "git"}))];
    let taken = key("", "ConfigMap", &env.ns, "taken");
    let cmp = env.diff(&target, &rendered).await;
    assert_eq!(state(&cmp, &taken), ResourceState::Missing);

    let theirs = tracking_id("first", &taken);
    create_by_hand(&env, "taken", json!({"mode": "first's"}), Some(&theirs)).await;
    let result = env.engine.sync(&target, &cmp).await.expect("the sync");
    let done = outcome(&result, "taken");
    assert_eq!(done.action, Action::Skipped, "{}", done.message);
    assert!(done.message.contains("first"), "{}", done.message);
    let live = live_cm(&env, "taken").await;
    assert_eq!(live.pointer("/data/mode"), Some(&json!("first's")));
    let annotation = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(TRACKING_ANNOTATION));
    assert_eq!(annotation, Some(&json!(theirs)));
}

#[tokio::test]
async fn an_untracked_object_that_exists_is_out_of_sync_not_missing() {
    let mut env = env("create-untracked").await;
    env.engine = env.engine.clone().with_live_cache();
    create_by_hand(&env, "there", json!({"mode": "by hand"}), None).await;
    let target = env.target("adopter");
    let rendered = [config_map("there", json!({"mode": "git"}))];
    let there = key("", "ConfigMap", &env.ns, "there");
    // The diff starts the watch of ConfigMaps here: its first list has the object.
    let cmp = env.diff(&target, &rendered).await;
    assert_eq!(state(&cmp, &there), ResourceState::OutOfSync);
    let result = env.sync_ok(&target, &rendered).await;
    assert_eq!(outcome(&result, "there").action, Action::Configured);
    assert_eq!(
        live_cm(&env, "there").await.pointer("/data/mode"),
        Some(&json!("git"))
    );
}
