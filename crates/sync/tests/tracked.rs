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
