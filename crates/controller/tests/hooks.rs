//! Argo CD sync hooks and the sync operation, end to end on the real
//! control plane and Git server: PreSync/PostSync/SyncFail hooks, waves
//! that wait for health, delete policies, `generateName`, terminate and
//! retry. The shapes are those of argocd-example-apps (pre-post-sync,
//! sync-waves, hook with generateName), written anew.
//!
//! kwok completes Job pods in this cluster (the Job controller then marks
//! the Job Complete), and makes Deployments available. A Job that must
//! fail or never finish gets a `nodeSelector` no node matches: it stays
//! pending, and with `activeDeadlineSeconds` the real Job controller fails
//! it with `DeadlineExceeded`.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_api::{Application, OperationPhase, OperationState, ResourceResult};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};

const HOOK: &str = "argocd.argoproj.io/hook";
const POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
const WAVE: &str = "argocd.argoproj.io/sync-wave";

/// `metadata.name: <name>`, or `generateName` when `name` ends with `-`.
fn name_line(name: &str) -> String {
    if name.ends_with('-') {
        format!("generateName: {name}")
    } else {
        format!("name: {name}")
    }
}

/// A Job with `annotations` (`key: value` pairs); `extra_spec` is added to
/// the pod spec (e.g. a nodeSelector that keeps it pending).
fn job(name: &str, annotations: &[(&str, &str)], job_spec: &str, pod_spec: &str) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  {}
  annotations:
{annotations}spec:
  backoffLimit: 0
{job_spec}  template:
    spec:
      restartPolicy: Never
{pod_spec}      containers:
      - name: run
        image: busybox:1.36
        command: [\"true\"]
",
        name_line(name)
    )
}

/// A pod spec fragment no node matches: the pod stays pending.
fn unschedulable(label: &str) -> String {
    format!("      nodeSelector:\n        {label}: \"never\"\n")
}

fn deployment(name: &str, wave: i64, version: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    {WAVE}: \"{wave}\"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
        version: \"{version}\"
    spec:
      containers:
      - name: web
        image: nginx:1.27
"
    )
}

fn config_map(name: &str, annotations: &[(&str, &str)], namespace: Option<&str>) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    let ns = namespace
        .map(|n| format!("  namespace: {n}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}  annotations:\n    driftless.test/kind: plain\n{annotations}data:\n  value: one\n"
    )
}

fn app_yaml(h: &Harness, name: &str, repo: &str, dest: &str, policy: &str) -> String {
    common::application_yaml(name, &h.apps_ns, &h.git.git_url(repo), "app", dest, policy)
}

const AUTOMATED: &str = "  syncPolicy:\n    automated: {}\n";

fn op_state(app: &Application) -> Option<&OperationState> {
    app.status.as_ref()?.operation_state.as_ref()
}

fn finished_at(app: &Application, revision: &str, phase: OperationPhase) -> bool {
    op_state(app).is_some_and(|op| {
        op.phase == phase && op.sync_result.as_ref().map(|r| r.revision.as_str()) == Some(revision)
    })
}

fn results(app: &Application) -> Vec<ResourceResult> {
    op_state(app)
        .and_then(|op| op.sync_result.as_ref())
        .map(|r| r.resources.clone())
        .unwrap_or_default()
}

/// The position of the result named `name` (prefix for generated names).
fn position(results: &[ResourceResult], kind: &str, name: &str) -> usize {
    results
        .iter()
        .position(|r| r.kind == kind && r.name.starts_with(name))
        .unwrap_or_else(|| panic!("{kind} {name} is not in the sync result: {results:#?}"))
}

fn result<'a>(results: &'a [ResourceResult], kind: &str, name: &str) -> &'a ResourceResult {
    &results[position(results, kind, name)]
}

fn created(meta_time: &Option<Time>) -> Time {
    meta_time.clone().expect("creationTimestamp")
}

/// Requests a manual sync through `operation`.
async fn request_sync(h: &Harness, app: &str) {
    let op = serde_json::json!({"operation": {"initiatedBy": {"username": "tester"}, "sync": {}}});
    h.apps()
        .patch(app, &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("request a sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pre_and_post_sync_jobs_run_around_the_deployment_and_are_recreated() {
    let h = Harness::start("hooks-pp", Duration::from_secs(2)).await;
    let dest = h.namespace("hooks-pp-dest").await;
    let repo = h.git.create_repo("pp/app");
    repo.write(
        "app/migrate.yaml",
        &job("migrate", &[(HOOK, "PreSync")], "", ""),
    );
    repo.write("app/web.yaml", &deployment("web", 0, "1"));
    repo.write(
        "app/smoke.yaml",
        &job("smoke", &[(HOOK, "PostSync")], "", ""),
    );
    let first = repo.commit("first");
    h.apply(&app_yaml(&h, "pp", "pp/app", &dest, AUTOMATED));

    let app = h
        .wait_app("pp", "synced with its hooks", |a| {
            finished_at(a, &first, OperationPhase::Succeeded)
        })
        .await;
    let res = results(&app);
    let (pre, web, post) = (
        position(&res, "Job", "migrate"),
        position(&res, "Deployment", "web"),
        position(&res, "Job", "smoke"),
    );
    assert!(
        pre < web && web < post,
        "order PreSync, Sync, PostSync: {res:#?}"
    );
    let migrate = result(&res, "Job", "migrate");
    assert_eq!(migrate.hook_type.as_deref(), Some("PreSync"));
    assert_eq!(migrate.hook_phase.as_deref(), Some("Succeeded"));
    assert_eq!(migrate.sync_phase.as_deref(), Some("PreSync"));
    let smoke = result(&res, "Job", "smoke");
    assert_eq!(smoke.hook_type.as_deref(), Some("PostSync"));
    assert_eq!(smoke.hook_phase.as_deref(), Some("Succeeded"));
    assert_eq!(result(&res, "Deployment", "web").hook_type, None);

    // Hooks are not app resources and do not make it OutOfSync.
    let app = h.wait_synced_healthy("pp", Some(&first)).await;
    let listed: Vec<&str> = app
        .status
        .as_ref()
        .unwrap()
        .resources
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(listed, ["Deployment"], "hooks are not listed as resources");

    // The order, from the cluster: the PreSync Job completed before the
    // Deployment was created; the PostSync Job was created after the
    // Deployment became available.
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &dest);
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), &dest);
    let migrate = jobs.get("migrate").await.expect("migrate Job");
    let web = deployments.get("web").await.expect("web Deployment");
    let smoke = jobs.get("smoke").await.expect("smoke Job");
    let migrate_done = migrate
        .status
        .as_ref()
        .and_then(|s| s.completion_time.clone())
        .expect("migrate completed");
    assert!(migrate_done.0 <= created(&web.metadata.creation_timestamp).0);
    let available = web
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| {
            c.iter()
                .find(|c| c.type_ == "Available" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.clone())
        .expect("web is available");
    assert!(available.0 <= created(&smoke.metadata.creation_timestamp).0);

    // The next sync (a new revision) runs the hooks again: BeforeHookCreation
    // deletes the previous Job and creates a new one.
    let old_uid = migrate.metadata.uid.clone();
    repo.write("app/web.yaml", &deployment("web", 0, "2"));
    let second = repo.commit("second");
    h.wait_app("pp", "synced again", |a| {
        finished_at(a, &second, OperationPhase::Succeeded)
    })
    .await;
    let again = jobs.get("migrate").await.expect("migrate Job again");
    assert_ne!(
        again.metadata.uid, old_uid,
        "the PreSync Job was re-created"
    );
    let listed = jobs.list(&ListParams::default()).await.expect("jobs");
    let migrates = listed
        .items
        .iter()
        .filter(|j| j.metadata.name.as_deref() == Some("migrate"))
        .count();
    assert_eq!(migrates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hook_succeeded_deletes_and_generate_name_hooks_get_fresh_names() {
    let h = Harness::start("hooks-gn", Duration::from_secs(2)).await;
    let dest = h.namespace("hooks-gn-dest").await;
    let repo = h.git.create_repo("gn/app");
    repo.write(
        "app/seed.yaml",
        &job(
            "seed-",
            &[(HOOK, "PreSync"), (POLICY, "HookSucceeded")],
            "",
            "",
        ),
    );
    repo.write(
        "app/audit.yaml",
        &job("audit-", &[(HOOK, "PostSync")], "", ""),
    );
    repo.write("app/cm.yaml", &config_map("plain", &[], None));
    let first = repo.commit("first");
    h.apply(&app_yaml(&h, "gn", "gn/app", &dest, AUTOMATED));

    let app = h
        .wait_app("gn", "synced", |a| {
            finished_at(a, &first, OperationPhase::Succeeded)
        })
        .await;
    let res = results(&app);
    let seed = result(&res, "Job", "seed-");
    assert!(
        seed.name.len() > "seed-".len(),
        "a generated name: {seed:?}"
    );
    assert_eq!(seed.hook_phase.as_deref(), Some("Succeeded"));
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &dest);
    let names = |list: Vec<Job>| -> Vec<String> {
        list.into_iter().filter_map(|j| j.metadata.name).collect()
    };
    let listed = names(jobs.list(&ListParams::default()).await.expect("jobs").items);
    assert!(
        !listed.iter().any(|n| n.starts_with("seed-")),
        "HookSucceeded deleted the seed Job: {listed:?}"
    );
    let audits: Vec<&String> = listed.iter().filter(|n| n.starts_with("audit-")).collect();
    assert_eq!(audits.len(), 1, "one audit Job: {listed:?}");
    let first_audit = audits[0].clone();

    // Next sync: the generateName hook's previous instance is deleted
    // (BeforeHookCreation) and a new one, with a new name, created.
    repo.write(
        "app/cm.yaml",
        &config_map("plain", &[("changed", "yes")], None),
    );
    let second = repo.commit("second");
    h.wait_app("gn", "synced again", |a| {
        finished_at(a, &second, OperationPhase::Succeeded)
    })
    .await;
    let listed = names(jobs.list(&ListParams::default()).await.expect("jobs").items);
    let audits: Vec<&String> = listed.iter().filter(|n| n.starts_with("audit-")).collect();
    assert_eq!(audits.len(), 1, "still one audit Job: {listed:?}");
    assert_ne!(*audits[0], first_audit, "a new instance with a new name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_pre_sync_hook_changes_nothing_and_runs_sync_fail_hooks() {
    let h = Harness::start("hooks-fail", Duration::from_secs(600)).await;
    let dest = h.namespace("hooks-fail-dest").await;
    let label = format!("driftless.test/{}", h.apps_ns);
    let repo = h.git.create_repo("fail/app");
    repo.write(
        "app/migrate.yaml",
        &job(
            "migrate",
            &[(HOOK, "PreSync")],
            "  activeDeadlineSeconds: 2\n",
            &unschedulable(&label),
        ),
    );
    repo.write("app/cm.yaml", &config_map("app-config", &[], None));
    repo.write(
        "app/notify.yaml",
        &job("notify", &[(HOOK, "SyncFail")], "", ""),
    );
    let first = repo.commit("first");
    h.apply(&app_yaml(&h, "fail", "fail/app", &dest, ""));
    h.wait_app("fail", "compared", |a| {
        common::revision_of(a) == Some(first.as_str())
    })
    .await;
    request_sync(&h, "fail").await;

    let app = h
        .wait_app("fail", "failed", |a| {
            finished_at(a, &first, OperationPhase::Failed)
        })
        .await;
    let op = op_state(&app).unwrap();
    let message = op.message.clone().unwrap_or_default();
    assert!(
        message.contains("Job was active longer than specified deadline"),
        "the Job's message: {message}"
    );
    let res = results(&app);
    let migrate = result(&res, "Job", "migrate");
    assert_eq!(migrate.hook_phase.as_deref(), Some("Failed"));
    let notify = result(&res, "Job", "notify");
    assert_eq!(notify.hook_type.as_deref(), Some("SyncFail"));
    assert_eq!(notify.sync_phase.as_deref(), Some("SyncFail"));
    assert_eq!(notify.hook_phase.as_deref(), Some("Succeeded"));
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("app-config").await.expect("get").is_none(),
        "nothing of the sync phase was applied"
    );
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &dest);
    assert!(jobs.get_opt("notify").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wave_waits_for_the_previous_waves_deployment_to_be_available() {
    let h = Harness::start("hooks-waves", Duration::from_secs(600)).await;
    let dest = h.namespace("hooks-waves-dest").await;
    let repo = h.git.create_repo("waves/app");
    repo.write("app/zero.yaml", &config_map("zero", &[(WAVE, "0")], None));
    repo.write("app/web.yaml", &deployment("web", 1, "1"));
    repo.write("app/two.yaml", &config_map("two", &[(WAVE, "2")], None));
    let first = repo.commit("first");
    h.apply(&app_yaml(&h, "waves", "waves/app", &dest, AUTOMATED));
    let app = h
        .wait_app("waves", "synced", |a| {
            finished_at(a, &first, OperationPhase::Succeeded)
        })
        .await;
    let res = results(&app);
    assert!(
        position(&res, "ConfigMap", "zero") < position(&res, "Deployment", "web")
            && position(&res, "Deployment", "web") < position(&res, "ConfigMap", "two")
    );
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), &dest);
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let web = deployments.get("web").await.expect("web");
    let two = cms.get("two").await.expect("two");
    let available = web
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| {
            c.iter()
                .find(|c| c.type_ == "Available" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.clone())
        .expect("web is available");
    assert!(
        available.0 <= created(&two.metadata.creation_timestamp).0,
        "wave 2 was created after wave 1 became available"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminate_stops_a_long_wave() {
    let h = Harness::start("hooks-term", Duration::from_secs(600)).await;
    let dest = h.namespace("hooks-term-dest").await;
    let label = format!("driftless.test/{}", h.apps_ns);
    let repo = h.git.create_repo("term/app");
    // A PreSync Job that never finishes: its pod is never scheduled.
    repo.write(
        "app/wait.yaml",
        &job("forever", &[(HOOK, "PreSync")], "", &unschedulable(&label)),
    );
    repo.write("app/cm.yaml", &config_map("after", &[], None));
    // A PreSync hook of an earlier wave that finishes at once.
    repo.write(
        "app/early.yaml",
        &config_map("early", &[(HOOK, "PreSync"), (WAVE, "-1")], None),
    );
    let first = repo.commit("first");
    h.apply(&app_yaml(&h, "term", "term/app", &dest, ""));
    h.wait_app("term", "compared", |a| {
        common::revision_of(a) == Some(first.as_str())
    })
    .await;
    request_sync(&h, "term").await;
    h.wait_app("term", "waiting for the hook", |a| {
        op_state(a).is_some_and(|op| {
            op.phase == OperationPhase::Running
                && op.message.as_deref().unwrap_or("").contains("waiting for")
        })
    })
    .await;
    // The results so far (the earlier wave's hook) are written into the
    // Running operation's state.
    h.wait_app(
        "term",
        "showing the earlier wave's result while running",
        |a| {
            op_state(a).is_some_and(|op| op.phase == OperationPhase::Running)
                && results(a)
                    .iter()
                    .any(|r| r.name == "early" && r.hook_phase.as_deref() == Some("Succeeded"))
        },
    )
    .await;

    // Argo CD's terminate: the operation state's phase set to Terminating.
    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "patch",
        "applications.argoproj.io",
        "term",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"operationState":{"phase":"Terminating"}}}"#,
    ]);
    let app = h
        .wait_app("term", "terminated", |a| {
            finished_at(a, &first, OperationPhase::Failed)
        })
        .await;
    assert_eq!(
        op_state(&app).and_then(|op| op.message.as_deref()),
        Some("Operation terminated")
    );
    let res = results(&app);
    let forever = result(&res, "Job", "forever");
    assert_eq!(forever.hook_phase.as_deref(), Some("Failed"));
    assert_eq!(forever.message.as_deref(), Some("Terminated"));
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("after").await.expect("get").is_none(),
        "nothing after the terminated wave was applied"
    );
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &dest);
    eventually("the running hook to be deleted", || async {
        jobs.get_opt("forever").await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transient_failure_is_retried_with_backoff() {
    let h = Harness::start("hooks-retry", Duration::from_secs(600)).await;
    let dest = h.namespace("hooks-retry-dest").await;
    // A namespace that does not exist yet: the first attempt fails.
    let later = format!("{dest}-later");
    let repo = h.git.create_repo("retry/app");
    repo.write("app/cm.yaml", &config_map("elsewhere", &[], Some(&later)));
    let first = repo.commit("first");
    let policy = "  syncPolicy:\n    automated: {}\n    retry:\n      limit: 5\n      backoff:\n        duration: 2s\n        factor: 2\n        maxDuration: 30s\n";
    h.apply(&app_yaml(&h, "retry", "retry/app", &dest, policy));

    let app = h
        .wait_app("retry", "failed once", |a| {
            finished_at(a, &first, OperationPhase::Failed)
        })
        .await;
    let message = op_state(&app)
        .and_then(|op| op.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains(&later),
        "the failure names the namespace: {message}"
    );

    // The transient cause goes away; a retry succeeds and says it was one.
    h.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {later}\n  labels:\n    driftless.dev/test-namespace: \"true\"\n"
    ));
    let app = h
        .wait_app("retry", "retried", |a| {
            finished_at(a, &first, OperationPhase::Succeeded)
        })
        .await;
    let retries = op_state(&app).and_then(|op| op.retry_count).unwrap_or(0);
    assert!(retries >= 1, "retryCount reports the retry: {retries}");
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &later);
    assert!(cms.get_opt("elsewhere").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pre_and_post_delete_hooks_run_around_the_cascade_delete() {
    let h = Harness::start("hooks-del", Duration::from_secs(600)).await;
    let dest = h.namespace("hooks-del-dest").await;
    let repo = h.git.create_repo("del/app");
    repo.write("app/cm.yaml", &config_map("data", &[], None));
    repo.write(
        "app/pre.yaml",
        &job("pre-clean", &[(HOOK, "PreDelete")], "", ""),
    );
    repo.write(
        "app/post.yaml",
        &job("post-clean", &[(HOOK, "PostDelete")], "", ""),
    );
    let first = repo.commit("first");
    let app = app_yaml(&h, "del", "del/app", &dest, AUTOMATED).replacen(
        "metadata:\n",
        "metadata:\n  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n",
        1,
    );
    h.apply(&app);
    h.wait_app("del", "synced", |a| {
        finished_at(a, &first, OperationPhase::Succeeded)
    })
    .await;
    let jobs: Api<Job> = Api::namespaced(h.client.clone(), &dest);
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        jobs.get_opt("pre-clean").await.expect("get").is_none(),
        "a sync does not run PreDelete hooks"
    );
    assert!(jobs.get_opt("post-clean").await.expect("get").is_none());

    // The test holds the ConfigMap with its own finalizer, so the cascade
    // delete is seen in the middle: PreDelete done, PostDelete not started.
    let hold = serde_json::json!({"metadata": {"finalizers": ["driftless.test/hold"]}});
    cms.patch("data", &PatchParams::default(), &Patch::Merge(&hold))
        .await
        .expect("hold the ConfigMap");
    h.apps()
        .delete("del", &Default::default())
        .await
        .expect("delete the Application");
    eventually("the ConfigMap to be deleted", || async {
        let cm = cms.get_opt("data").await.ok()??;
        cm.metadata.deletion_timestamp.is_some().then_some(())
    })
    .await;
    let pre = jobs.get("pre-clean").await.expect("the PreDelete Job ran");
    assert!(
        pre.status
            .as_ref()
            .and_then(|s| s.completion_time.as_ref())
            .is_some(),
        "the PreDelete Job completed before the resources were deleted"
    );
    assert!(
        jobs.get_opt("post-clean").await.expect("get").is_none(),
        "PostDelete waits until every resource is gone"
    );

    let release = serde_json::json!({"metadata": {"finalizers": null}});
    cms.patch("data", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .expect("release the ConfigMap");
    eventually("the Application to be gone", || async {
        h.apps().get_opt("del").await.ok()?.is_none().then_some(())
    })
    .await;
    let post = jobs
        .get("post-clean")
        .await
        .expect("the PostDelete Job ran");
    assert!(
        post.status
            .as_ref()
            .and_then(|s| s.completion_time.as_ref())
            .is_some()
    );
}
