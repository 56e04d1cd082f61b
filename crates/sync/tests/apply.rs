//! Diff and apply against the real control plane: idempotence, defaulted
//! fields, CRDs with their custom resources, ignoreDifferences, shared
//! resources, unknown kinds and immutable fields.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use driftless_api::{ResourceIgnoreDifferences, condition};
use driftless_sync::{
    Action, ResourceState, SyncEngine, TRACKING_ANNOTATION, Target, parse_sync_options,
};
use serde_json::{Value, json};
use support::*;

fn resource_version(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn second_sync_writes_nothing_and_defaults_are_not_drift() {
    let env = env("sync-idem").await;
    let target = env.target("idem");
    let objects = vec![
        config_map("settings", json!({"mode": "fast"})),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
            "stringData": {"password": "hunter2"}}),
        // Service: clusterIP, sessionAffinity, ipFamilies... are defaulted.
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        // Deployment: strategy, revisionHistoryLimit, imagePullPolicy,
        // terminationMessagePath, dnsPolicy... are defaulted.
        deployment("web", 1, json!({})),
    ];

    let first = env.diff(&target, &objects).await;
    assert_eq!(first.resources.len(), 4);
    assert!(
        first
            .resources
            .iter()
            .all(|r| r.state == ResourceState::Missing)
    );
    let secret_diff = &resource(&first, &key("", "Secret", &env.ns, "creds")).diff;
    assert!(
        !secret_diff.contains("hunter2"),
        "secret value leaked: {secret_diff}"
    );

    let created = env.sync_ok(&target, &objects).await;
    assert_eq!(created.writes, 4);
    assert!(
        created
            .resources
            .iter()
            .all(|r| r.action == Action::Created)
    );
    let cm = env
        .get("v1", "ConfigMap", "settings")
        .await
        .expect("created");
    assert_eq!(
        cm["metadata"]["annotations"][TRACKING_ANNOTATION],
        json!(format!("idem:/ConfigMap:{}/settings", env.ns))
    );

    let mut versions = Vec::new();
    for (v, k, n) in [
        ("v1", "ConfigMap", "settings"),
        ("v1", "Secret", "creds"),
        ("v1", "Service", "web"),
    ] {
        versions.push(resource_version(&env.get(v, k, n).await.expect("exists")));
    }
    let generation = env
        .get("apps/v1", "Deployment", "web")
        .await
        .expect("exists")["metadata"]["generation"]
        .clone();

    let second = env.diff(&target, &objects).await;
    for r in &second.resources {
        assert_eq!(
            r.state,
            ResourceState::Synced,
            "{} differs:\n{}",
            r.key,
            r.diff
        );
    }
    assert!(second.diff_text().is_empty());
    let again = env
        .engine
        .sync(&target, &second)
        .await
        .expect("second sync");
    assert!(again.succeeded, "{}", again.message);
    assert_eq!(again.writes, 0, "{:#?}", again.resources);
    assert!(
        again
            .resources
            .iter()
            .all(|r| r.action == Action::Unchanged)
    );

    let mut after = Vec::new();
    for (v, k, n) in [
        ("v1", "ConfigMap", "settings"),
        ("v1", "Secret", "creds"),
        ("v1", "Service", "web"),
    ] {
        after.push(resource_version(&env.get(v, k, n).await.expect("exists")));
    }
    assert_eq!(versions, after, "an unchanged object was written");
    let generation_after = env
        .get("apps/v1", "Deployment", "web")
        .await
        .expect("exists")["metadata"]["generation"]
        .clone();
    assert_eq!(generation, generation_after);

    // A real change is OutOfSync, with a readable diff, and is applied.
    let mut changed = objects.clone();
    changed[0] = config_map("settings", json!({"mode": "slow"}));
    let third = env.diff(&target, &changed).await;
    let cm_diff = resource(&third, &key("", "ConfigMap", &env.ns, "settings"));
    assert_eq!(cm_diff.state, ResourceState::OutOfSync);
    assert!(
        cm_diff.diff.contains("-  mode: fast") && cm_diff.diff.contains("+  mode: slow"),
        "{}",
        cm_diff.diff
    );
    assert_eq!(third.out_of_sync().count(), 1);
    let applied = env.engine.sync(&target, &third).await.expect("third sync");
    assert_eq!(applied.writes, 1);
    assert_eq!(
        env.get("v1", "ConfigMap", "settings")
            .await
            .expect("exists")["data"]["mode"],
        "slow"
    );
}

#[tokio::test]
async fn crd_and_its_custom_resource_sync_together() {
    let env = env("sync-crd").await;
    let group = format!("{}.example.com", env.ns);
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}
    });
    let widget = json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"size": 3}});
    // The custom resource comes first in the render: order must not matter.
    let objects = vec![widget, crd];
    let target = env.target("crd");

    let cmp = env.diff(&target, &objects).await;
    let w = resource(&cmp, &key(&group, "Widget", &env.ns, "w1"));
    assert_eq!(w.state, ResourceState::Missing);
    assert_eq!(
        w.error, None,
        "the CRD in the same render makes the kind known"
    );

    let result = env.sync_ok(&target, &objects).await;
    assert_eq!(result.writes, 2);
    assert!(
        env.get(&format!("{group}/v1"), "Widget", "w1")
            .await
            .is_some()
    );

    let again = env.diff(&target, &objects).await;
    assert!(
        again
            .resources
            .iter()
            .all(|r| r.state == ResourceState::Synced),
        "{}",
        again.diff_text()
    );
    assert_eq!(
        again.health().status,
        driftless_api::HealthStatusCode::Healthy
    );
    assert!(
        again
            .managed_kinds
            .iter()
            .any(|k| k.resource.kind == "Widget" && k.namespaced)
    );

    env.cp
        .kubectl(&["delete", "crd", &format!("widgets.{group}"), "--wait=false"])
        .expect("cleanup");
}

#[tokio::test]
async fn unknown_kind_fails_alone() {
    let env = env("sync-unknown").await;
    let target = env.target("unknown");
    let objects = vec![
        json!({"apiVersion": "nowhere.example.com/v1", "kind": "Ghost", "metadata": {"name": "g"}}),
        config_map("real", json!({})),
    ];
    let cmp = env.diff(&target, &objects).await;
    let ghost = resource(&cmp, &key("nowhere.example.com", "Ghost", &env.ns, "g"));
    assert!(
        ghost
            .error
            .as_deref()
            .unwrap_or("")
            .contains("does not serve"),
        "{:?}",
        ghost.error
    );

    let result = env.engine.sync(&target, &cmp).await.expect("sync");
    assert!(!result.succeeded);
    let ghost_key = key("nowhere.example.com", "Ghost", &env.ns, "g");
    assert_eq!(
        result.outcome(&ghost_key).expect("reported").action,
        Action::Failed
    );
    assert_eq!(
        result
            .outcome(&key("", "ConfigMap", &env.ns, "real"))
            .expect("reported")
            .action,
        Action::Created
    );

    // SkipDryRunOnMissingResource: no error in the diff.
    let mut skip = target.clone();
    skip.options = parse_sync_options(&["SkipDryRunOnMissingResource=true"]).0;
    let cmp = env.diff(&skip, &objects).await;
    let ghost = resource(&cmp, &ghost_key);
    assert_eq!(
        (ghost.state, ghost.error.clone()),
        (ResourceState::Missing, None)
    );
}

#[tokio::test]
async fn ignore_differences_on_replicas() {
    let env = env("sync-ignore").await;
    let target = env.target("ignore");
    let objects = vec![deployment("web", 1, json!({}))];
    env.sync_ok(&target, &objects).await;
    env.cp
        .kubectl(&["-n", &env.ns, "scale", "deployment/web", "--replicas=3"])
        .expect("scaling by hand");
    let web = key("apps", "Deployment", &env.ns, "web");

    let drifted = env.diff(&target, &objects).await;
    assert_eq!(state(&drifted, &web), ResourceState::OutOfSync);
    assert!(
        resource(&drifted, &web).diff.contains("replicas"),
        "{}",
        resource(&drifted, &web).diff
    );

    let mut ignoring = target.clone();
    ignoring.ignore_differences = vec![ResourceIgnoreDifferences {
        group: "apps".into(),
        kind: "Deployment".into(),
        json_pointers: vec!["/spec/replicas".into()],
        ..Default::default()
    }];
    let cmp = env.diff(&ignoring, &objects).await;
    assert_eq!(
        state(&cmp, &web),
        ResourceState::Synced,
        "{}",
        resource(&cmp, &web).diff
    );

    // The same with a jq path expression.
    ignoring.ignore_differences[0].json_pointers.clear();
    ignoring.ignore_differences[0].jq_path_expressions = vec![".spec.replicas".into()];
    assert_eq!(
        state(&env.diff(&ignoring, &objects).await, &web),
        ResourceState::Synced
    );

    // RespectIgnoreDifferences: a sync for another change keeps the live replicas.
    ignoring.options = parse_sync_options(&["RespectIgnoreDifferences=true"]).0;
    let changed = vec![with_annotation(
        deployment("web", 1, json!({})),
        "team",
        "blue",
    )];
    env.sync_ok(&ignoring, &changed).await;
    let live = env
        .get("apps/v1", "Deployment", "web")
        .await
        .expect("exists");
    assert_eq!(live["spec"]["replicas"], 3);
    assert_eq!(live["metadata"]["annotations"]["team"], "blue");
}

#[tokio::test]
async fn shared_resources_are_reported_and_never_fought_over() {
    let env = env("sync-shared").await;
    let objects = vec![config_map("shared", json!({"owner": "a"}))];
    env.sync_ok(&env.target("app-a"), &objects).await;
    let shared = key("", "ConfigMap", &env.ns, "shared");

    let b = env.target("app-b");
    let cmp = env.diff(&b, &objects).await;
    let r = resource(&cmp, &shared);
    assert_eq!(r.shared_with.as_deref(), Some("app-a"));
    assert_eq!(r.state, ResourceState::OutOfSync);
    assert!(
        cmp.warnings
            .iter()
            .any(|w| w.condition == condition::SHARED_RESOURCE_WARNING
                && w.message.contains("app-a"))
    );

    // Without FailOnSharedResource the sync leaves it to app a: not applied.
    assert_eq!(r.left_to(), Some("app-a"));
    let b_objects = vec![config_map("shared", json!({"owner": "b"}))];
    let cmp = env.diff(&b, &b_objects).await;
    let result = env.engine.sync(&b, &cmp).await.expect("sync");
    assert!(result.succeeded, "{}", result.message);
    assert_eq!(
        result.outcome(&shared).expect("reported").action,
        Action::Skipped
    );
    assert_eq!(result.writes, 0);
    let live = env.get("v1", "ConfigMap", "shared").await.expect("exists");
    assert_eq!(live["data"]["owner"], "a");

    let mut strict = b.clone();
    strict.options = parse_sync_options(&["FailOnSharedResource=true"]).0;
    let cmp = env.diff(&strict, &objects).await;
    let result = env.engine.sync(&strict, &cmp).await.expect("sync");
    assert!(!result.succeeded);
    assert_eq!(
        result.outcome(&shared).expect("reported").action,
        Action::Failed
    );
    assert_eq!(result.writes, 0);
    let live = env.get("v1", "ConfigMap", "shared").await.expect("exists");
    assert!(
        live["metadata"]["annotations"][TRACKING_ANNOTATION]
            .as_str()
            .unwrap_or("")
            .starts_with("app-a:")
    );

    // App b renders nothing any more: app a's object is not b's to prune.
    let mut empty = b.clone();
    empty.allow_empty = true;
    empty.previous = vec![driftless_api::ResourceStatus {
        kind: "ConfigMap".into(),
        version: "v1".into(),
        name: "shared".into(),
        namespace: Some(env.ns.clone()),
        ..Default::default()
    }];
    let cmp = env.diff(&empty, &[]).await;
    assert!(
        cmp.resources.is_empty(),
        "{:?}",
        cmp.resources
            .iter()
            .map(|r| r.key.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn immutable_field_change_fails_clearly_or_replaces() {
    let env = env("sync-immutable").await;
    let target = env.target("immutable");
    let selector = |app: &str| {
        let mut d = deployment("web", 1, json!({}));
        d["spec"]["selector"]["matchLabels"]["app"] = json!(app);
        d["spec"]["template"]["metadata"]["labels"]["app"] = json!(app);
        d
    };
    env.sync_ok(&target, &[selector("one")]).await;
    let web = key("apps", "Deployment", &env.ns, "web");

    let cmp = env.diff(&target, &[selector("two")]).await;
    assert_eq!(state(&cmp, &web), ResourceState::OutOfSync);
    let result = env.engine.sync(&target, &cmp).await.expect("sync");
    let outcome = result.outcome(&web).expect("reported");
    assert_eq!(outcome.action, Action::Failed);
    assert!(
        outcome.message.contains("immutable") && outcome.message.contains("Replace=true"),
        "{}",
        outcome.message
    );

    let mut replacing = target.clone();
    replacing.options = parse_sync_options(&["Replace=true"]).0;
    let cmp = env.diff(&replacing, &[selector("two")]).await;
    let result = env.engine.sync(&replacing, &cmp).await.expect("sync");
    assert!(result.succeeded, "{}", result.message);
    assert_eq!(
        result.outcome(&web).expect("reported").action,
        Action::Replaced
    );
    let live = env
        .get("apps/v1", "Deployment", "web")
        .await
        .expect("recreated");
    assert_eq!(live["spec"]["selector"]["matchLabels"]["app"], "two");
}

#[tokio::test]
async fn ignore_differences_by_field_manager() {
    let env = env("sync-managers").await;
    let target = env.target("managers");
    let objects = vec![deployment("web", 1, json!({}))];
    env.sync_ok(&target, &objects).await;
    env.cp
        .kubectl(&[
            "-n",
            &env.ns,
            "patch",
            "deployment/web",
            "--field-manager=autoscaler-sim",
            "-p",
            r#"{"spec":{"replicas":4}}"#,
        ])
        .expect("patching as another manager");
    let web = key("apps", "Deployment", &env.ns, "web");
    assert_eq!(
        state(&env.diff(&target, &objects).await, &web),
        ResourceState::OutOfSync
    );

    let mut ignoring = target.clone();
    ignoring.ignore_differences = vec![ResourceIgnoreDifferences {
        group: "apps".into(),
        kind: "Deployment".into(),
        managed_fields_managers: vec!["autoscaler-sim".into()],
        ..Default::default()
    }];
    let cmp = env.diff(&ignoring, &objects).await;
    assert_eq!(
        state(&cmp, &web),
        ResourceState::Synced,
        "{}",
        resource(&cmp, &web).diff
    );
}

#[tokio::test]
async fn create_namespace_option_creates_the_destination() {
    let env = env("sync-createns").await;
    let mut target = env.target("createns");
    let fresh = format!("{}-dest", env.ns);
    target.namespace = Some(fresh.clone());
    target.options = parse_sync_options(&["CreateNamespace=true"]).0;
    let objects = vec![config_map("inside", json!({}))];

    let first = env.sync_ok(&target, &objects).await;
    assert_eq!(first.writes, 2, "the namespace and the ConfigMap");
    let ns = env
        .get("v1", "Namespace", &fresh)
        .await
        .expect("namespace created");
    assert!(
        ns["metadata"]["annotations"][TRACKING_ANNOTATION].is_null(),
        "not tracked: never pruned"
    );
    let again = env.sync_ok(&target, &objects).await;
    assert_eq!(again.writes, 0);
    env.cp
        .kubectl(&["delete", "namespace", &fresh, "--wait=false"])
        .expect("cleanup");
}

#[tokio::test]
async fn drift_is_seen_after_the_object_was_found_in_sync() {
    let env = env("sync-verdict").await;
    let target = env.target("verdict");
    let objects = vec![config_map("settings", json!({"mode": "a"}))];
    env.sync_ok(&target, &objects).await;
    let settings = key("", "ConfigMap", &env.ns, "settings");
    // Found in sync twice: the second time without a dry-run.
    for _ in 0..2 {
        let cmp = env.diff(&target, &objects).await;
        assert_eq!(state(&cmp, &settings), ResourceState::Synced);
    }

    env.cp
        .kubectl(&[
            "-n",
            &env.ns,
            "patch",
            "configmap/settings",
            "--type=merge",
            "-p",
            r#"{"data":{"mode":"b"}}"#,
        ])
        .expect("editing by hand");
    let drifted = env.diff(&target, &objects).await;
    assert_eq!(state(&drifted, &settings), ResourceState::OutOfSync);
    assert!(
        resource(&drifted, &settings).diff.contains("mode"),
        "{}",
        resource(&drifted, &settings).diff
    );

    // A changed desired object is compared again too.
    let edited = vec![config_map("settings", json!({"mode": "c"}))];
    let cmp = env.diff(&target, &edited).await;
    assert_eq!(state(&cmp, &settings), ResourceState::OutOfSync);
    let result = env.sync_ok(&target, &edited).await;
    assert_eq!(result.writes, 1);
    assert_eq!(
        state(&env.diff(&target, &edited).await, &settings),
        ResourceState::Synced
    );
}

/// A client on the test's control plane that counts its server-side
/// dry-runs in `dry_runs`.
async fn counting_dry_runs(env: &Env, dry_runs: Arc<AtomicUsize>) -> kube::Client {
    let config = env.cp.config().await;
    let count = move |request: http::Request<kube::client::Body>| {
        let query = request.uri().query().unwrap_or("");
        if query.split('&').any(|pair| pair == "dryRun=All") {
            dry_runs.fetch_add(1, Ordering::SeqCst);
        }
        request
    };
    kube::client::ClientBuilder::try_from(config)
        .expect("a client builder")
        .with_layer(&tower::util::MapRequestLayer::new(count))
        .build()
}

/// Flux's way (`Target::apply_decides`): an object whose inputs changed is
/// applied without a dry-run first, and an apply that changes nothing is
/// reported unchanged; a preview (without it) still dry-runs.
#[tokio::test]
async fn the_apply_decides_without_a_dry_run() {
    let env = env("sync-decides").await;
    let dry_runs = Arc::new(AtomicUsize::new(0));
    let client = counting_dry_runs(&env, dry_runs.clone()).await;
    let engine = SyncEngine::new(client).with_wave_timeout(EVENTUALLY);
    let target = Target {
        apply_decides: true,
        ..env.target("decides")
    };
    let cm = key("", "ConfigMap", &env.ns, "settings");
    let sync = |objects: Vec<Value>| {
        let (engine, target) = (&engine, &target);
        async move {
            let cmp = engine.diff(target, objs(&objects)).await.expect("a diff");
            let result = engine.sync(target, &cmp).await.expect("a sync");
            assert!(result.succeeded, "{}", result.message);
            (cmp, result)
        }
    };
    let action = |result: &driftless_sync::SyncResult| {
        let r = result.resources.iter().find(|r| r.key == cm);
        r.expect("the ConfigMap's outcome").action
    };

    let (_, created) = sync(vec![config_map("settings", json!({"mode": "fast"}))]).await;
    assert_eq!(action(&created), Action::Created);

    // Changed in Git: out of sync without a diff, then applied.
    let (cmp, changed) = sync(vec![config_map("settings", json!({"mode": "slow"}))]).await;
    assert_eq!(state(&cmp, &cm), ResourceState::OutOfSync);
    assert!(resource(&cmp, &cm).diff.is_empty());
    assert_eq!(action(&changed), Action::Configured);
    let live = env
        .get("v1", "ConfigMap", "settings")
        .await
        .expect("exists");
    assert_eq!(live["data"]["mode"], "slow");

    // Another writer's label: the inputs changed, nothing of ours did.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    let label = json!({"metadata": {"labels": {"team": "b"}}});
    let params = kube::api::PatchParams::default();
    api.patch("settings", &params, &kube::api::Patch::Merge(&label))
        .await
        .expect("labelled");
    let before = resource_version(
        &env.get("v1", "ConfigMap", "settings")
            .await
            .expect("exists"),
    );
    let (cmp, again) = sync(vec![config_map("settings", json!({"mode": "slow"}))]).await;
    assert_eq!(state(&cmp, &cm), ResourceState::OutOfSync);
    assert_eq!(action(&again), Action::Unchanged, "{:#?}", again.resources);
    let after = resource_version(
        &env.get("v1", "ConfigMap", "settings")
            .await
            .expect("exists"),
    );
    assert_eq!(before, after, "the apply changed nothing");
    assert_eq!(dry_runs.load(Ordering::SeqCst), 0, "no dry-run was made");

    // A preview compares with a dry-run.
    api.patch(
        "settings",
        &params,
        &kube::api::Patch::Merge(&json!({"metadata": {"labels": {"team": "c"}}})),
    )
    .await
    .expect("labelled again");
    let preview = env.target("decides");
    let cmp = engine
        .diff(
            &preview,
            objs(&[config_map("settings", json!({"mode": "slow"}))]),
        )
        .await
        .expect("a diff");
    assert_eq!(state(&cmp, &cm), ResourceState::Synced);
    assert!(dry_runs.load(Ordering::SeqCst) >= 1, "the preview dry-ran");
}
