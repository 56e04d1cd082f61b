//! Bad input, end to end on the real control plane and Git server: every
//! case of `bad_input/cases.rs` first syncs a good commit, then is broken
//! (a bad commit, or a bad Application spec). For each the controller must
//! report a condition and an Event naming the file, object or revision,
//! delete or change no live object, and go on serving the others: a canary
//! Application still follows a new commit at the end, and no Secret value
//! appears in any log line, Event or status of the run.
//!
//! All cases share one controller and one Git server so the file runs in a
//! few minutes. Each case prints `bad-input <name>: passed|FAILED ...`, and
//! the run ends with `bad inputs: <passed>/<tried> passed`
//! (`tests/reliability.sh` reads these lines).

mod common;

#[path = "bad_input/cases.rs"]
mod cases;
#[path = "bad_input/flux.rs"]
mod flux;
#[path = "bad_input/flux_cases.rs"]
mod flux_cases;
mod flux_common;
#[path = "bad_input/logs.rs"]
mod logs;
#[path = "bad_input/servers.rs"]
mod servers;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cases::{Case, Env, Expect};
use common::Harness;
use driftless_api::{SyncStatusCode, condition};
use driftless_testkit::git::TestRepo;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};

/// The password of the wrong-credentials case's repository Secret.
const WRONG_PASSWORD: &str = "bi-wrong-password-7f3a";
/// A value the canary deploys in a Secret.
const CANARY_SECRET: &str = "bi-canary-token-c41e";
/// The longest condition message accepted (a bomb must not fill the status).
const MAX_MESSAGE: usize = 8 * 1024;

fn keep_yaml(case: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {case}-keep\ndata:\n  v: keep\n")
}

fn app_yaml(h: &Harness, env: &Env, case: &Case) -> String {
    let extra = if case.prune {
        "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n"
    } else {
        "  syncPolicy:\n    automated: {}\n"
    };
    common::application_yaml(
        &format!("bi-{}", case.name),
        &h.apps_ns,
        &(env.git_url)(case.name),
        "app",
        &env.dest,
        extra,
    )
    .replace("project: default", &format!("project: {}", case.project))
}

fn project_yaml(name: &str, ns: &str, dest: &str, repos: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: {name}
  namespace: {ns}
spec:
  sourceRepos:
  - '{repos}'
  destinations:
  - server: https://kubernetes.default.svc
    namespace: '{dest}'
{extra}"
    )
}

fn setup_projects(h: &Harness, env: &Env) {
    let narrow = project_yaml(
        "bi-narrow",
        &h.apps_ns,
        &env.dest,
        "*",
        "  namespaceResourceBlacklist:\n  - group: ''\n    kind: Secret\n",
    );
    let other = project_yaml("bi-other", &h.apps_ns, &env.other, "*", "");
    let norepo = project_yaml(
        "bi-norepo",
        &h.apps_ns,
        &env.dest,
        "git://127.0.0.1:1/*",
        "",
    );
    h.apply(&format!("{narrow}---\n{other}---\n{norepo}"));
    let (user, _) = h.git.credentials();
    h.apply(&format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: bi-wrong-credentials
  namespace: {}
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: {}
  username: {user}
  password: {WRONG_PASSWORD}
",
        h.apps_ns,
        h.git.http_url("wrong-credentials"),
    ));
}

async fn make_env(h: &Harness) -> Env {
    let dest = h.namespace("bi-dest").await;
    let other = h.namespace("bi-other").await;
    let git_port = h.git.git_port();
    let http_port = h.git.http_port();
    Env {
        apps_ns: h.apps_ns.clone(),
        dest,
        other,
        git_url: Box::new(move |repo| format!("git://127.0.0.1:{git_port}/{repo}.git")),
        http_url: Box::new(move |repo| format!("http://127.0.0.1:{http_port}/{repo}.git")),
        closed_port: servers::closed_port().await,
        black_hole: servers::black_hole().await,
        endless_pack: servers::endless_pack().await,
    }
}

/// Every ConfigMap in `ns` by name: (uid, resourceVersion).
async fn configmaps(h: &Harness, ns: &str) -> BTreeMap<String, (String, String)> {
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), ns);
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list ConfigMaps");
    list.items
        .into_iter()
        .filter_map(|cm| {
            let meta = cm.metadata;
            Some((meta.name?, (meta.uid?, meta.resource_version?)))
        })
        .collect()
}

/// Whether `text` contains one of the `|`-separated alternatives of `needle`.
fn names(text: &str, needle: &str) -> bool {
    needle.split('|').any(|n| text.contains(n))
}

/// Checks the expectation once: what was reported, or what is missing.
async fn check(h: &Harness, app_name: &str, expect: &Expect) -> Result<String, String> {
    let app = h
        .apps()
        .get_opt(app_name)
        .await
        .map_err(|e| format!("get: {e}"))?
        .ok_or("the Application is gone")?;
    let status = app.status.clone().unwrap_or_default();
    match expect {
        Expect::OutOfSync => {
            let sync = status.sync.map(|s| s.status);
            (sync == Some(SyncStatusCode::OutOfSync))
                .then(|| "OutOfSync".to_string())
                .ok_or(format!("sync status {sync:?}, want OutOfSync"))
        }
        Expect::Condition(needles) => {
            let reported = status.conditions.iter().find(|c| {
                (condition::is_error(&c.type_) || c.type_ == condition::COMPARISON_WARNING)
                    && needles.iter().all(|n| names(&c.message, n))
            });
            let Some(reported) = reported else {
                return Err(format!(
                    "no condition naming {needles:?}: {:?}",
                    status
                        .conditions
                        .iter()
                        .map(|c| format!("{}: {}", c.type_, truncate(&c.message)))
                        .collect::<Vec<_>>()
                ));
            };
            if reported.message.len() > MAX_MESSAGE {
                return Err(format!(
                    "the {} condition is {} bytes long",
                    reported.type_,
                    reported.message.len()
                ));
            }
            event_naming(h, "Application", app_name, &needles[0]).await?;
            Ok(format!(
                "{}: {}",
                reported.type_,
                truncate(&reported.message)
            ))
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(400).collect()
}

/// The Events about the `kind` object `name` of the test's namespace, as
/// `<reason>: <note>`.
async fn events_of(h: &Harness, kind: &str, name: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    let list = api.list(&ListParams::default()).await;
    list.map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some(kind) && r.name.as_deref() == Some(name))
        })
        .map(|e| {
            format!(
                "{}: {}",
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default()
            )
        })
        .collect()
}

/// Ok when an Event about the `kind` object `name` names `needle`.
async fn event_naming(h: &Harness, kind: &str, name: &str, needle: &str) -> Result<(), String> {
    let events = events_of(h, kind, name).await;
    events
        .iter()
        .any(|e| names(e, needle))
        .then_some(())
        .ok_or(format!("no Event naming {needle:?}: {events:?}"))
}

/// Polls `check` until it passes or `within` elapses; the last failure.
async fn outcome(h: &Harness, case: &Case, expect: &Expect) -> Result<String, String> {
    let within = Duration::from_secs(if case.slow { 300 } else { 150 });
    let started = Instant::now();
    let app = format!("bi-{}", case.name);
    loop {
        match check(h, &app, expect).await {
            Ok(reported) => return Ok(reported),
            Err(e) if started.elapsed() > within => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Creates the case's repository, first commit and Application.
fn create(h: &Harness, env: &Env, case: &Case) -> TestRepo {
    let repo = h.git.create_repo(case.name);
    repo.write("app/keep.yaml", &keep_yaml(case.name));
    if let Some(setup) = &case.setup {
        setup(&repo, env);
    }
    repo.commit("good");
    h.apply(&app_yaml(h, env, case));
    repo
}

/// Breaks every case; returns what each must show.
async fn break_all(h: &Harness, env: &Env, cases: &[(Case, TestRepo)]) -> Vec<Expect> {
    let mut expects = Vec::new();
    for (case, repo) in cases {
        let broken = tokio::task::block_in_place(|| (case.breaks)(repo, env));
        if let Some(patch) = &broken.patch {
            h.apps()
                .patch(
                    &format!("bi-{}", case.name),
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
                .unwrap_or_else(|e| panic!("patching bi-{}: {e}", case.name));
        }
        expects.push(broken.expect);
    }
    expects
}

/// Objects of a case (its ConfigMaps) deleted or changed since `before`.
fn lost_or_changed(
    case: &str,
    before: &BTreeMap<String, (String, String)>,
    after: &BTreeMap<String, (String, String)>,
) -> Vec<String> {
    before
        .iter()
        .filter(|(name, _)| name.starts_with(&format!("{case}-")))
        .filter_map(|(name, was)| match after.get(name) {
            None => Some(format!("ConfigMap {name} was deleted")),
            Some(now) if now != was => Some(format!("ConfigMap {name} was changed")),
            Some(_) => None,
        })
        .collect()
}

/// The canary: deploys a Secret, and must follow a new commit after all the
/// bad input.
fn canary(h: &Harness, env: &Env) -> TestRepo {
    let repo = h.git.create_repo("canary");
    repo.write("app/keep.yaml", &keep_yaml("canary"));
    repo.write(
        "app/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: canary\nstringData:\n  token: {CANARY_SECRET}\n"
        ),
    );
    repo.commit("canary");
    h.apply(&common::application_yaml(
        "bi-canary",
        &h.apps_ns,
        &(env.git_url)("canary"),
        "app",
        &env.dest,
        "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n",
    ));
    repo
}

/// The statuses of the run's Applications, as (place, JSON).
async fn app_statuses(h: &Harness) -> Vec<(String, String)> {
    let apps = h.apps().list(&ListParams::default()).await.expect("apps");
    apps.items
        .into_iter()
        .map(|app| {
            let name = app.metadata.name.clone().unwrap_or_default();
            let status = serde_json::to_string(&app.status).unwrap_or_default();
            (format!("the status of {name}"), status)
        })
        .collect()
}

/// Every Secret value of the run found in the logs (which must name
/// `canary`), the Events of the test's namespace or `statuses`.
async fn leaked_secrets(h: &Harness, canary: &str, statuses: Vec<(String, String)>) -> Vec<String> {
    let (_, git_password) = h.git.credentials();
    let values = [WRONG_PASSWORD, CANARY_SECRET, git_password];
    let logged = logs::text();
    assert!(
        logged.contains(canary),
        "the log capture works (it names {canary})"
    );
    let mut places = vec![("logs".to_string(), logged)];
    let events: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    for e in events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
    {
        places.push((
            "an Event".into(),
            serde_json::to_string(&e).unwrap_or_default(),
        ));
    }
    places.extend(statuses);
    let mut leaks = Vec::new();
    for (place, text) in &places {
        for value in values {
            if text.contains(value) {
                leaks.push(format!("{value:?} appears in {place}"));
            }
        }
    }
    leaks
}

async fn run(selected: Vec<Case>) {
    logs::install();
    let mut h = Harness::new("bi").await;
    h.start_controller(Duration::from_secs(3)).await;
    let env = make_env(&h).await;
    setup_projects(&h, &env);
    let canary_repo = canary(&h, &env);
    let cases: Vec<(Case, TestRepo)> = selected
        .into_iter()
        .map(|case| {
            let repo = tokio::task::block_in_place(|| create(&h, &env, &case));
            (case, repo)
        })
        .collect();
    let synced = cases.iter().map(|(c, _)| format!("bi-{}", c.name));
    let harness = &h;
    futures::future::join_all(
        synced
            .chain(["bi-canary".to_string()])
            .map(|name| async move { harness.wait_synced_healthy(&name, None).await }),
    )
    .await;
    let before = configmaps(&h, &env.dest).await;

    let expects = break_all(&h, &env, &cases).await;
    let results = futures::future::join_all(
        cases
            .iter()
            .zip(&expects)
            .map(|((case, _), expect)| outcome(&h, case, expect)),
    )
    .await;

    // The controller still serves the others: the canary follows a commit.
    canary_repo.write("app/more.yaml", &keep_yaml("canary-more"));
    let next = tokio::task::block_in_place(|| canary_repo.commit("after the storm"));
    h.wait_synced_healthy("bi-canary", Some(&next)).await;
    assert_eq!(h.get("/healthz").await.0, 200, "the controller is alive");
    // Give automated sync and self-heal one more round before judging.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = configmaps(&h, &env.dest).await;

    let mut failed = Vec::new();
    for ((case, _), result) in cases.iter().zip(results) {
        let reported = result.as_ref().ok().cloned().unwrap_or_default();
        let mut problems: Vec<String> = result.err().into_iter().collect();
        problems.extend(lost_or_changed(case.name, &before, &after));
        if problems.is_empty() {
            println!("bad-input {}: passed ({reported})", case.name);
        } else {
            println!("bad-input {}: FAILED {}", case.name, problems.join("; "));
            failed.push(case.name);
        }
    }
    let lost = lost_or_changed("canary", &before, &after);
    let leaks = leaked_secrets(&h, "bi-canary", app_statuses(&h).await).await;
    println!(
        "bad inputs: {}/{} passed",
        cases.len() - failed.len(),
        cases.len()
    );
    assert!(lost.is_empty(), "the canary lost objects: {lost:?}");
    assert!(leaks.is_empty(), "secret values leaked: {leaks:?}");
    assert!(failed.is_empty(), "failed cases: {failed:?}");
    h.stop_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn application_bad_inputs_are_reported_and_lose_nothing() {
    run(cases::all()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kustomization_bad_inputs_are_reported_and_lose_nothing() {
    flux::run(flux_cases::all()).await;
}
