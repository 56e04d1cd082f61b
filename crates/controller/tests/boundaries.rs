//! Only touch what the project allows, end to end on the real control plane
//! and Git server: objects are checked in their own namespace, Applications
//! outside the control-plane namespace need their project's
//! `sourceNamespaces`, an object tracked by another Application is left to
//! it, and an Application without a destination is refused.

mod common;

use std::time::Duration;

use common::{Harness, TIMEOUT, eventually};
use driftless_api::{Application, OperationPhase, SyncStatusCode, condition};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

const TRACKING: &str = "argocd.argoproj.io/tracking-id";

fn configmap(name: &str, namespace: Option<&str>, value: &str) -> String {
    let ns = namespace.map_or(String::new(), |ns| format!("  namespace: {ns}\n"));
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n  value: {value}\n"
    )
}

/// An automated Application (self-heal, prune) of `path` in `repo`;
/// `destination` is the YAML under `spec.destination`, `extra` more of `spec`.
fn app(name: &str, ns: &str, project: &str, repo: &str, destination: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: {project}
  source:
    repoURL: {repo}
    targetRevision: main
    path: app
  destination:
{destination}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
{extra}"
    )
}

fn in_cluster(namespace: &str) -> String {
    format!("    server: https://kubernetes.default.svc\n    namespace: {namespace}")
}

fn project(name: &str, ns: &str, destination_ns: &str, source_namespaces: &[&str]) -> String {
    let sources: String = source_namespaces
        .iter()
        .map(|s| format!("  - {s}\n"))
        .collect();
    let sources = if sources.is_empty() {
        String::new()
    } else {
        format!("  sourceNamespaces:\n{sources}")
    };
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: {name}
  namespace: {ns}
spec:
  sourceRepos:
  - '*'
  destinations:
  - server: https://kubernetes.default.svc
    namespace: '{destination_ns}'
{sources}"
    )
}

fn condition_with(app: &Application, type_: &str, needle: &str) -> bool {
    app.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == type_ && c.message.contains(needle))
    })
}

fn sync_status(app: &Application) -> Option<SyncStatusCode> {
    app.status.as_ref()?.sync.as_ref().map(|s| s.status)
}

fn history_len(app: &Application) -> usize {
    app.status.as_ref().map_or(0, |s| s.history.len())
}

async fn get_cm(h: &Harness, ns: &str, name: &str) -> Option<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), ns);
    api.get_opt(name).await.expect("get ConfigMap")
}

/// Waits until the Application `ns/name` satisfies `pred`.
async fn wait_app_in(
    h: &Harness,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&Application) -> bool,
) -> Application {
    let api: Api<Application> = Api::namespaced(h.client.clone(), ns);
    let what = format!("application {ns}/{name} {what} (within {TIMEOUT:?})");
    eventually(&what, || async {
        api.get_opt(name).await.ok().flatten().filter(|a| pred(a))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_naming_a_namespace_outside_the_project_is_refused() {
    let h = Harness::start("bnd-ns", Duration::from_secs(2)).await;
    let allowed = h.namespace("bnd-allowed").await;
    let escape = h.namespace("bnd-escape").await;
    h.apply(&project("team", &h.apps_ns, &allowed, &[]));
    let repo = h.git.create_repo("bnd/ns");
    repo.write("app/ok.yaml", &configmap("ok", None, "in-destination"));
    repo.write(
        "app/escape.yaml",
        &configmap("escape", Some(&escape), "escaped"),
    );
    repo.commit("one object escapes the destination");
    let url = h.git.git_url("bnd/ns");
    h.apply(&app(
        "escaper",
        &h.apps_ns,
        "team",
        &url,
        &in_cluster(&allowed),
        "",
    ));

    let needle =
        format!("ConfigMap {escape}/escape: namespace {escape} is not permitted in project team");
    let refused = h
        .wait_app("escaper", "refused by its project", |a| {
            condition_with(a, condition::INVALID_SPEC_ERROR, &needle)
        })
        .await;
    assert_ne!(sync_status(&refused), Some(SyncStatusCode::Synced));
    // Give automated sync every chance: the whole sync is refused, also the
    // object that was allowed.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(get_cm(&h, &escape, "escape").await.is_none(), "escaped");
    assert!(
        get_cm(&h, &allowed, "ok").await.is_none(),
        "a refused sync applies nothing"
    );
    let app = h.apps().get("escaper").await.expect("get");
    assert_ne!(sync_status(&app), Some(SyncStatusCode::Synced));

    // Without the escaping object the same project deploys, into the
    // destination namespace (the object names none).
    repo.remove("app/escape.yaml");
    repo.commit("stay in the destination");
    h.wait_synced_healthy("escaper", None).await;
    let ok = get_cm(&h, &allowed, "ok").await.expect("ok applied");
    assert_eq!(
        ok.data.unwrap_or_default().get("value").map(String::as_str),
        Some("in-destination")
    );
    assert!(get_cm(&h, &escape, "escape").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn applications_outside_the_control_plane_namespace_need_source_namespaces() {
    let mut h = Harness::new("bnd-any").await;
    let team = h.namespace("bnd-team").await;
    let dest = h.namespace("bnd-any-dest").await;
    let mut config = h.config(Duration::from_secs(2));
    config.namespaces = vec![h.apps_ns.clone(), team.clone()];
    h.start_controller_with(config).await;
    let repo = h.git.create_repo("bnd/any");
    repo.write("app/cm.yaml", &configmap("cm", None, "deployed"));
    repo.commit("one ConfigMap");
    let url = h.git.git_url("bnd/any");

    // The implicit default project lists no source namespaces.
    h.apply(&app(
        "foreign",
        &team,
        "default",
        &url,
        &in_cluster(&dest),
        "",
    ));
    wait_app_in(&h, &team, "foreign", "refused", |a| {
        condition_with(
            a,
            condition::INVALID_SPEC_ERROR,
            &format!("Applications in namespace {team} may not use project default"),
        )
    })
    .await;

    // A project in the Application's own namespace does not count: projects
    // live in the control-plane namespace.
    h.apply(&project("team", &team, "*", &[&team]));
    h.apply(&app("foreign", &team, "team", &url, &in_cluster(&dest), ""));
    wait_app_in(&h, &team, "foreign", "refused for a missing project", |a| {
        condition_with(
            a,
            condition::INVALID_SPEC_ERROR,
            &format!("AppProject {}/team does not exist", h.apps_ns),
        )
    })
    .await;
    // A control-plane project that does not list the namespace refuses it too.
    h.apply(&project("team", &h.apps_ns, "*", &["someone-else-*"]));
    wait_app_in(&h, &team, "foreign", "refused by sourceNamespaces", |a| {
        condition_with(a, condition::INVALID_SPEC_ERROR, "may not use project team")
            && condition_with(a, condition::INVALID_SPEC_ERROR, "someone-else-*")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(get_cm(&h, &dest, "cm").await.is_none(), "nothing applied");

    // Listed (by glob) in the control-plane project's sourceNamespaces: deployed.
    h.apply(&project("team", &h.apps_ns, "*", &["bnd-team-*"]));
    wait_app_in(&h, &team, "foreign", "Synced", |a| {
        sync_status(a) == Some(SyncStatusCode::Synced)
    })
    .await;
    let cm = get_cm(&h, &dest, "cm").await.expect("deployed");
    assert_eq!(
        cm.metadata.annotations.unwrap_or_default().get(TRACKING),
        Some(&format!("{team}_foreign:/ConfigMap:{dest}/cm")),
        "tracking names carry the namespace outside the control plane"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_tracked_by_another_application_is_left_to_it() {
    let h = Harness::start("bnd-shared", Duration::from_secs(1)).await;
    let dest = h.namespace("bnd-shared-dest").await;
    let first_repo = h.git.create_repo("bnd/first");
    first_repo.write("app/shared.yaml", &configmap("shared", None, "first"));
    first_repo.commit("first's");
    let second_repo = h.git.create_repo("bnd/second");
    second_repo.write("app/shared.yaml", &configmap("shared", None, "second"));
    second_repo.write("app/own.yaml", &configmap("second-own", None, "second"));
    second_repo.commit("second's");
    let first_url = h.git.git_url("bnd/first");
    let second_url = h.git.git_url("bnd/second");

    h.apply(&app(
        "first",
        &h.apps_ns,
        "default",
        &first_url,
        &in_cluster(&dest),
        "",
    ));
    h.wait_synced_healthy("first", None).await;
    h.apply(&app(
        "second",
        &h.apps_ns,
        "default",
        &second_url,
        &in_cluster(&dest),
        "",
    ));
    let needle = format!("ConfigMap {dest}/shared is tracked by Application first");
    let second = h
        .wait_app("second", "warned about the shared object", |a| {
            condition_with(a, condition::SHARED_RESOURCE_WARNING, &needle)
                && a.status.as_ref().is_some_and(|s| !s.history.is_empty())
        })
        .await;
    assert_eq!(
        sync_status(&second),
        Some(SyncStatusCode::OutOfSync),
        "the object is not as the second Application renders it"
    );
    assert!(
        get_cm(&h, &dest, "second-own").await.is_some(),
        "the rest of the second Application is applied"
    );

    // Several reconciles later: no tug of war, no pile of history entries.
    let (first_history, second_history) = {
        let first = h.apps().get("first").await.expect("get");
        (history_len(&first), history_len(&second))
    };
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cm = get_cm(&h, &dest, "shared").await.expect("shared exists");
        assert_eq!(
            cm.data.unwrap_or_default().get("value").map(String::as_str),
            Some("first"),
            "the data stays with the first owner"
        );
        assert_eq!(
            cm.metadata.annotations.unwrap_or_default().get(TRACKING),
            Some(&format!("first:/ConfigMap:{dest}/shared")),
            "the tracking id stays with the first owner"
        );
    }
    let first = h.apps().get("first").await.expect("get");
    let second = h.apps().get("second").await.expect("get");
    assert_eq!(sync_status(&first), Some(SyncStatusCode::Synced));
    assert_eq!(sync_status(&second), Some(SyncStatusCode::OutOfSync));
    assert_eq!(history_len(&first), first_history, "first re-synced");
    assert_eq!(history_len(&second), second_history, "second re-synced");
    assert!(condition_with(
        &second,
        condition::SHARED_RESOURCE_WARNING,
        &needle
    ));

    // An Event on both Applications.
    for name in ["first", "second"] {
        eventually(
            &format!("a SharedResourceWarning Event on {name}"),
            || async {
                let reasons = h.kubectl(&[
                    "-n",
                    &h.apps_ns,
                    "get",
                    "events",
                    "--field-selector",
                    &format!("involvedObject.name={name}"),
                    "-o",
                    "jsonpath={.items[*].reason}",
                ]);
                reasons.contains("SharedResourceWarning").then_some(())
            },
        )
        .await;
    }

    // FailOnSharedResource=true: the sync fails instead, and the object
    // still stays with the first owner.
    let fail = "    syncOptions:\n    - FailOnSharedResource=true\n";
    h.apply(&app(
        "third",
        &h.apps_ns,
        "default",
        &second_url,
        &in_cluster(&dest),
        fail,
    ));
    let third = h
        .wait_app("third", "failed on the shared object", |a| {
            a.status
                .as_ref()
                .and_then(|s| s.operation_state.as_ref())
                .is_some_and(|op| {
                    op.phase == OperationPhase::Failed
                        && op
                            .message
                            .as_deref()
                            .is_some_and(|m| m.contains("FailOnSharedResource=true"))
                })
        })
        .await;
    assert_eq!(history_len(&third), 0, "a failed sync is not history");
    assert_eq!(sync_status(&third), Some(SyncStatusCode::OutOfSync));
    let cm = get_cm(&h, &dest, "shared").await.expect("shared exists");
    assert_eq!(
        cm.data.unwrap_or_default().get("value").map(String::as_str),
        Some("first")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_without_a_destination_cluster_is_refused() {
    let h = Harness::start("bnd-nodest", Duration::from_secs(2)).await;
    let dest = h.namespace("bnd-nodest-dest").await;
    // Named after this test's namespace: `default` is shared by every test.
    let cm_name = format!("{}-cm", h.apps_ns);
    let repo = h.git.create_repo("bnd/nodest");
    repo.write("app/cm.yaml", &configmap(&cm_name, None, "x"));
    repo.commit("one ConfigMap");
    let url = h.git.git_url("bnd/nodest");
    h.apply(&app(
        "nowhere",
        &h.apps_ns,
        "default",
        &url,
        &format!("    namespace: {dest}"),
        "",
    ));
    let refused = h
        .wait_app("nowhere", "refused", |a| {
            condition_with(
                a,
                condition::INVALID_SPEC_ERROR,
                "spec.destination names no cluster",
            )
        })
        .await;
    assert_ne!(sync_status(&refused), Some(SyncStatusCode::Synced));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        get_cm(&h, &dest, &cm_name).await.is_none(),
        "nothing applied"
    );
    assert!(
        get_cm(&h, "default", &cm_name).await.is_none(),
        "nothing applied into default either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_change_rechecks_its_applications_at_once() {
    // Polling is effectively off (and a synced Application has no error
    // retry pending): only the AppProject watch can bring the change in.
    let h = Harness::start("bnd-proj", Duration::from_secs(600)).await;
    let dest = h.namespace("bnd-proj-dest").await;
    h.apply(&project("team", &h.apps_ns, &dest, &[]));
    let repo = h.git.create_repo("bnd/proj");
    repo.write("app/cm.yaml", &configmap("cm", None, "deployed"));
    repo.commit("one ConfigMap");
    let url = h.git.git_url("bnd/proj");
    h.apply(&app(
        "narrowed",
        &h.apps_ns,
        "team",
        &url,
        &in_cluster(&dest),
        "",
    ));
    h.wait_synced_healthy("narrowed", None).await;

    // The project no longer admits the destination: the Application says so
    // at once, and what it deployed stays.
    h.apply(&project("team", &h.apps_ns, "somewhere-else", &[]));
    h.wait_app("narrowed", "refused by its narrowed project", |a| {
        condition_with(a, condition::INVALID_SPEC_ERROR, "team")
    })
    .await;
    assert!(
        get_cm(&h, &dest, "cm").await.is_some(),
        "a refusal deletes nothing"
    );

    // Widened again: the refusal goes away.
    h.apply(&project("team", &h.apps_ns, &dest, &[]));
    h.wait_app("narrowed", "admitted again", |a| {
        !condition_with(a, condition::INVALID_SPEC_ERROR, "team")
    })
    .await;
}
