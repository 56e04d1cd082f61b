//! Another actor fights self-heal over a managed field: a second field
//! manager rewrites `data.v` of a tracked ConfigMap every 250 ms for 15 s
//! (server-side apply, forced), while the Application has self-heal on.
//!
//! A watch on the ConfigMap records every value it takes: each change back
//! to Git's value is one controller write. Self-heal must keep reverting
//! (it does not give up), back off (at most a quarter as many reverts as
//! the fighter's writes: the backoff resets only after the self-heal
//! cooldown), never write without a change, report each self-heal sync as
//! an Event and in a `SelfHeal` Event who else writes the object, and end
//! at Git's value once the fighter stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::common::{self, Harness, eventually};

const FIGHTER: &str = "fighter";
const WRITES: usize = 60;
const EVERY: Duration = Duration::from_millis(250);
/// The Event reason of every successful sync, self-heal included (a sync
/// that never waits, as these are, has no start Event of its own).
const SYNC_COMPLETED: &str = "OperationCompleted";
/// The Event reason naming who fights a self-heal.
const SELF_HEAL: &str = "SelfHeal";

/// Records every value of `data.v` the ConfigMap `fought` takes from
/// resourceVersion `rv` on.
fn record(
    api: Api<ConfigMap>,
    rv: String,
    seen: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let params = WatchParams::default().fields("metadata.name=fought");
        let mut rv = rv;
        loop {
            let Ok(stream) = api.watch(&params, &rv).await else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let mut stream = stream.boxed();
            while let Ok(Some(event)) = stream.try_next().await {
                if let WatchEvent::Modified(cm) = event {
                    rv = cm.metadata.resource_version.clone().unwrap_or(rv);
                    let v = cm
                        .data
                        .and_then(|d| d.get("v").cloned())
                        .unwrap_or_default();
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                }
            }
        }
    })
}

/// The fighter: `WRITES` forced applies of `data.v`, one every `EVERY`.
async fn fight(api: &Api<ConfigMap>) {
    let params = PatchParams::apply(FIGHTER).force();
    for i in 0..WRITES {
        let body = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "fought"},
            "data": {"v": format!("{FIGHTER}-{i}")},
        });
        api.patch("fought", &params, &Patch::Apply(&body))
            .await
            .unwrap_or_else(|e| panic!("the fighter's write {i}: {e}"));
        tokio::time::sleep(EVERY).await;
    }
}

/// How many times the value went back to `git` (controller writes), and
/// how many writes left it at `git` (writes that changed nothing visible).
fn reverts(values: &[String], git: &str) -> (usize, usize) {
    let mut back = 0;
    let mut idle = 0;
    let mut prev = String::new();
    for v in values {
        if v == git && prev != git {
            back += 1;
        } else if v == git {
            idle += 1;
        }
        prev = v.clone();
    }
    (back, idle)
}

/// How many times `reason` was reported about the Application `name`
/// (an Event repeated as a series counts each occurrence).
async fn occurrences(h: &Harness, name: &str, reason: &str) -> usize {
    let api: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    let list = api.list(&ListParams::default()).await.expect("events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.series.map_or(1, |s| s.count.max(1)) as usize)
        .sum()
}

/// The notes of the `SelfHeal` Events about the Application `name`.
async fn self_heal_notes(h: &Harness, name: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    let list = api.list(&ListParams::default()).await.expect("events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.reason.as_deref() == Some(SELF_HEAL))
        .filter_map(|e| e.note)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fighting_actor_is_reverted_with_backoff_and_no_hot_loop() {
    let h = Harness::start("fault-fight", Duration::from_secs(2)).await;
    let dest = h.namespace("fault-fight-dest").await;
    let repo = h.git.create_repo("fault/fight");
    repo.write("app/fought.yaml", &crate::cm("fought", "git"));
    let sha = repo.commit("one object");
    h.apply(&common::application_yaml(
        "fight",
        &h.apps_ns,
        &h.git.git_url("fault/fight"),
        "app",
        &dest,
        "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n",
    ));
    h.wait_synced_healthy("fight", Some(&sha)).await;
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let rv = api
        .get("fought")
        .await
        .expect("fought")
        .metadata
        .resource_version
        .unwrap_or_default();
    let syncs_before = occurrences(&h, "fight", SYNC_COMPLETED).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = record(api.clone(), rv, seen.clone());

    println!("fault fighting-actor: injected");
    fight(&api).await;
    eventually("the fought value back at Git's", || {
        let api = api.clone();
        async move {
            let cm = api.get("fought").await.ok()?;
            (cm.data?.get("v")? == "git").then_some(())
        }
    })
    .await;
    h.wait_synced_healthy("fight", Some(&sha)).await;
    recorder.abort();

    let values = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (back, idle) = reverts(&values, "git");
    let syncs = occurrences(&h, "fight", SYNC_COMPLETED).await - syncs_before;
    println!(
        "fighting actor: {WRITES} fighter writes, {back} reverts, {idle} writes without change, {syncs} self-heal syncs reported"
    );
    assert!(back >= 3, "self-heal kept reverting: {values:?}");
    assert!(
        back * 4 <= WRITES,
        "self-heal backed off: {back} reverts for {WRITES} writes"
    );
    assert!(idle <= back, "no writes that change nothing: {values:?}");
    assert!(
        syncs >= back,
        "a {SYNC_COMPLETED} Event per revert: {syncs} for {back}"
    );
    let named = self_heal_notes(&h, "fight").await;
    assert!(
        named
            .iter()
            .any(|n| n.contains("ConfigMap") && n.contains("fought") && n.contains(FIGHTER)),
        "a {SELF_HEAL} Event names the object and who fights: {named:?}"
    );
    println!("fault fighting-actor: survived");
}
