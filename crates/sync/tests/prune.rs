//! Pruning against the real control plane: each propagation policy,
//! `Prune=false`, prune off, and the empty-render guard.

mod support;

use driftless_api::ResourceStatus;
use driftless_sync::{Action, ResourceState, SyncError, parse_sync_options};
use serde_json::{Value, json};
use support::*;

async fn replica_sets(env: &Env, app: &str) -> Vec<Value> {
    let out = env
        .cp
        .kubectl(&[
            "-n",
            &env.ns,
            "get",
            "replicasets",
            "-l",
            &format!("app={app}"),
            "-o",
            "json",
        ])
        .expect("listing ReplicaSets");
    let list: Value = serde_json::from_str(&out).expect("kubectl JSON");
    list["items"].as_array().cloned().unwrap_or_default()
}

/// Syncs a ConfigMap and a Deployment, waits for the Deployment's
/// ReplicaSet, then syncs without the Deployment using `policy`.
async fn prune_deployment_with(policy: &str) -> (Env, driftless_sync::SyncResult) {
    let env = env(&format!("prune-{policy}")).await;
    let mut target = env.target("pruner");
    target.options = parse_sync_options(&[format!("PrunePropagationPolicy={policy}")]).0;
    let keep = config_map("keep", json!({}));
    let all = [keep.clone(), deployment("web", 1, json!({}))];
    env.sync_ok(&target, &all).await;
    // What the controller keeps in status.resources and passes back: the
    // Deployment's kind is searched although nothing renders it any more.
    target.previous = env.diff(&target, &all).await.resource_statuses();
    env.eventually("the Deployment's ReplicaSet", || async {
        (!replica_sets(&env, "web").await.is_empty()).then_some(())
    })
    .await;

    let cmp = env.diff(&target, std::slice::from_ref(&keep)).await;
    let web = key("apps", "Deployment", &env.ns, "web");
    assert_eq!(state(&cmp, &web), ResourceState::RequiresPruning);
    assert!(resource(&cmp, &web).to_status().requires_pruning);
    assert_eq!(
        state(&cmp, &key("", "ConfigMap", &env.ns, "keep")),
        ResourceState::Synced
    );
    // The ReplicaSet is owned by the Deployment: never a prune candidate itself.
    assert!(cmp.resources.iter().all(|r| r.key.kind != "ReplicaSet"));

    let result = env.engine.sync(&target, &cmp).await.expect("sync");
    assert!(result.succeeded, "{}", result.message);
    let outcome = result.outcome(&web).expect("reported");
    assert_eq!(outcome.action, Action::Pruned);
    assert!(outcome.message.contains(policy), "{}", outcome.message);
    (env, result)
}

#[tokio::test]
async fn prune_foreground_deletes_dependents_first() {
    let (env, _) = prune_deployment_with("foreground").await;
    env.eventually("the Deployment and its ReplicaSet gone", || async {
        (env.get("apps/v1", "Deployment", "web").await.is_none()
            && replica_sets(&env, "web").await.is_empty())
        .then_some(())
    })
    .await;
    assert!(env.get("v1", "ConfigMap", "keep").await.is_some());
}

#[tokio::test]
async fn prune_background_deletes_dependents_later() {
    let (env, _) = prune_deployment_with("background").await;
    env.eventually("the Deployment and its ReplicaSet gone", || async {
        (env.get("apps/v1", "Deployment", "web").await.is_none()
            && replica_sets(&env, "web").await.is_empty())
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn prune_orphan_leaves_dependents() {
    let (env, _) = prune_deployment_with("orphan").await;
    env.eventually("the Deployment gone", || async {
        env.get("apps/v1", "Deployment", "web")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let orphans = env
        .eventually("the ReplicaSet orphaned", || async {
            let rs = replica_sets(&env, "web").await;
            let orphaned = !rs.is_empty()
                && rs.iter().all(|r| {
                    r["metadata"]["ownerReferences"]
                        .as_array()
                        .is_none_or(Vec::is_empty)
                });
            orphaned.then_some(rs)
        })
        .await;
    assert_eq!(orphans.len(), 1);
}

#[tokio::test]
async fn prune_false_and_prune_off_keep_objects() {
    let env = env("prune-skip").await;
    let target = env.target("skipper");
    let guarded = with_annotation(
        config_map("guarded", json!({})),
        "argocd.argoproj.io/sync-options",
        "Prune=false",
    );
    let plain = config_map("plain", json!({}));
    let keep = config_map("keep", json!({}));
    env.sync_ok(&target, &[guarded, plain, keep.clone()]).await;

    // Prune off: both are reported as requiring pruning and left alone.
    let mut off = target.clone();
    off.prune = false;
    let cmp = env.diff(&off, std::slice::from_ref(&keep)).await;
    assert_eq!(cmp.out_of_sync().count(), 2);
    let result = env.engine.sync(&off, &cmp).await.expect("sync");
    assert_eq!(result.writes, 0);
    for name in ["guarded", "plain"] {
        let o = result
            .outcome(&key("", "ConfigMap", &env.ns, name))
            .expect("reported");
        assert_eq!(o.action, Action::PruneSkipped);
        assert!(o.message.contains("prune is off"), "{}", o.message);
    }

    // Prune on: Prune=false still keeps its object.
    let cmp = env.diff(&target, std::slice::from_ref(&keep)).await;
    let result = env.engine.sync(&target, &cmp).await.expect("sync");
    let guarded_outcome = result
        .outcome(&key("", "ConfigMap", &env.ns, "guarded"))
        .expect("reported");
    assert_eq!(guarded_outcome.action, Action::PruneSkipped);
    assert!(guarded_outcome.message.contains("Prune=false"));
    assert_eq!(
        result
            .outcome(&key("", "ConfigMap", &env.ns, "plain"))
            .expect("reported")
            .action,
        Action::Pruned
    );
    assert!(env.get("v1", "ConfigMap", "guarded").await.is_some());
    env.eventually("the plain ConfigMap gone", || async {
        env.get("v1", "ConfigMap", "plain")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn empty_render_is_refused_unless_allowed() {
    let env = env("prune-empty").await;
    let mut target = env.target("emptied");
    let objects = vec![config_map("a", json!({})), config_map("b", json!({}))];
    env.sync_ok(&target, &objects).await;
    let first = env.diff(&target, &objects).await;
    // The controller passes the last status.resources as `previous`.
    target.previous = first.resource_statuses();
    assert!(
        target
            .previous
            .iter()
            .all(|r: &ResourceStatus| r.version == "v1")
    );

    let cmp = env.diff(&target, &[]).await;
    assert_eq!(cmp.resources.len(), 2);
    assert!(
        cmp.resources
            .iter()
            .all(|r| r.state == ResourceState::RequiresPruning)
    );
    match env.engine.sync(&target, &cmp).await {
        Err(SyncError::EmptyRender { app, count }) => {
            assert_eq!((app.as_str(), count), ("emptied", 2))
        }
        other => panic!("expected the empty render to be refused, got {other:?}"),
    }
    assert!(env.get("v1", "ConfigMap", "a").await.is_some());

    target.allow_empty = true;
    let result = env.engine.sync(&target, &cmp).await.expect("allowed");
    assert_eq!(
        result
            .resources
            .iter()
            .filter(|r| r.action == Action::Pruned)
            .count(),
        2
    );
}

#[tokio::test]
async fn dry_run_sync_writes_nothing() {
    let env = env("sync-dry").await;
    let mut target = env.target("dry");
    target.dry_run = true;
    let objects = vec![config_map("a", json!({}))];
    let cmp = env.diff(&target, &objects).await;
    let result = env.engine.sync(&target, &cmp).await.expect("dry run");
    assert_eq!(result.writes, 0);
    assert_eq!(result.resources[0].action, Action::Created);
    assert!(result.resources[0].message.contains("dry run"));
    assert!(env.get("v1", "ConfigMap", "a").await.is_none());
}

#[tokio::test]
async fn deleting_the_application_keeps_only_delete_false_objects() {
    let env = env("delete-app").await;
    let mut target = env.target("doomed");
    let objects = vec![
        with_annotation(
            config_map("no-prune", json!({})),
            "argocd.argoproj.io/sync-options",
            "Prune=false",
        ),
        with_annotation(
            config_map("no-delete", json!({})),
            "argocd.argoproj.io/sync-options",
            "Delete=false",
        ),
        config_map("plain", json!({})),
    ];
    env.sync_ok(&target, &objects).await;
    target.previous = env.diff(&target, &objects).await.resource_statuses();

    let deletion = env.engine.delete_tracked(&target).await.expect("delete");
    assert!(deletion.failed.is_empty(), "{:?}", deletion.failed);
    assert_eq!(deletion.writes, 2);
    let mut deleted: Vec<&str> = deletion.deleted.iter().map(|k| k.name.as_str()).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["no-prune", "plain"],
        "Prune=false does not keep it"
    );
    assert_eq!(
        deletion.kept,
        [key("", "ConfigMap", &env.ns, "no-delete")],
        "Delete=false keeps it"
    );
    assert!(env.get("v1", "ConfigMap", "no-delete").await.is_some());
    for name in ["no-prune", "plain"] {
        env.eventually(&format!("ConfigMap {name} gone"), || async {
            env.get("v1", "ConfigMap", name)
                .await
                .is_none()
                .then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn an_object_being_deleted_is_reported_with_its_finalizers_not_deleted_again() {
    let env = env("delete-stuck").await;
    let mut target = env.target("stuck");
    let mut held = config_map("held", json!({}));
    held["metadata"]["finalizers"] = json!(["driftless.test/never"]);
    let objects = vec![held];
    env.sync_ok(&target, &objects).await;
    target.previous = env.diff(&target, &objects).await.resource_statuses();

    let first = env.engine.delete_tracked(&target).await.expect("delete");
    assert_eq!(first.deleted, [key("", "ConfigMap", &env.ns, "held")]);
    assert!(!first.finished());
    let again = env.engine.delete_tracked(&target).await.expect("delete");
    assert_eq!(again.writes, 0, "no second delete request");
    assert!(again.deleted.is_empty() && !again.finished());
    let blockers = again.blockers();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert!(
        blockers[0].contains("held") && blockers[0].contains("driftless.test/never"),
        "{blockers:?}"
    );

    // Once its finalizer is removed, it goes and the deletion is finished.
    env.cp
        .kubectl(&[
            "-n",
            &env.ns,
            "patch",
            "configmap",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ])
        .expect("removing the finalizer");
    env.eventually("the deletion finished", || async {
        let d = env.engine.delete_tracked(&target).await.expect("delete");
        d.finished().then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_application_level_delete_false_option_keeps_every_object() {
    let env = env("delete-app-keep").await;
    let mut target = env.target("keeper");
    target.options = parse_sync_options(&["Delete=false"]).0;
    let objects = vec![config_map("a", json!({})), config_map("b", json!({}))];
    env.sync_ok(&target, &objects).await;
    target.previous = env.diff(&target, &objects).await.resource_statuses();

    let deletion = env.engine.delete_tracked(&target).await.expect("delete");
    assert!(deletion.finished(), "nothing to delete or wait for");
    assert_eq!((deletion.kept.len(), deletion.writes), (2, 0));
    for name in ["a", "b"] {
        assert!(
            env.get("v1", "ConfigMap", name).await.is_some(),
            "{name} kept"
        );
    }
}
