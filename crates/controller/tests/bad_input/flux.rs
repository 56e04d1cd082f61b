//! The bad inputs of `flux_cases.rs` run against Flux `Kustomization`s and
//! `GitRepository`s, on the same world as the `Application` cases (one
//! controller, one Git server): each case first becomes Ready at a good
//! revision, then is broken; it must be Ready=False with a message and an
//! Event naming the file, object or revision, keep its last applied
//! revision (and, for a source failure, its GitRepository its last
//! artifact), and delete or change no live object. A canary Kustomization
//! still follows a new commit at the end, and no Secret value appears in
//! any log line, Event or status of the run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use driftless_api::flux::condition::find_condition;
use driftless_api::flux::source::v1::GitRepository;
use driftless_testkit::git::TestRepo;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};

use crate::cases::Env;
use crate::common::Harness;
use crate::flux_cases::{FluxBreak, FluxCase, Target, WRONG_CREDENTIALS};
use crate::flux_common::{
    await_artifact, condition, git_repository_yaml, kustomizations, ready_at, wait_ks,
};
use crate::{
    CANARY_SECRET, MAX_MESSAGE, WRONG_PASSWORD, configmaps, event_naming, keep_yaml,
    leaked_secrets, lost_or_changed, make_env, names, truncate,
};

/// How long a case may take to be reported.
const WITHIN: Duration = Duration::from_secs(150);

fn object_name(case: &str) -> String {
    format!("fk-{case}")
}

fn ks_yaml(name: &str, ns: &str, dest: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1m
  retryInterval: 5s
  sourceRef:
    kind: GitRepository
    name: {name}
  path: ./app
  prune: true
  targetNamespace: {dest}
"
    )
}

fn git_repos(h: &Harness) -> Api<GitRepository> {
    Api::namespaced(h.client.clone(), &h.apps_ns)
}

/// The Secret with a wrong password for the wrong-credentials case.
fn setup_credentials(h: &Harness) {
    let (user, _) = h.git.credentials();
    h.apply(&format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {WRONG_CREDENTIALS}
  namespace: {}
stringData:
  username: {user}
  password: {WRONG_PASSWORD}
",
        h.apps_ns
    ));
}

/// A repository `name` with `files` committed, and its GitRepository and
/// Kustomization `fk-<name>`.
fn create(h: &Harness, env: &Env, name: &str, files: &[(&str, String)]) -> TestRepo {
    let repo = h.git.create_repo(name);
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.commit("good");
    let object = object_name(name);
    let source = git_repository_yaml(&object, &h.apps_ns, &(env.git_url)(name));
    let ks = ks_yaml(&object, &h.apps_ns, &env.dest);
    h.apply(&format!("{source}---\n{ks}"));
    repo
}

/// Waits until `fk-<name>` is Ready at `repo`'s HEAD; returns the revision.
async fn synced(h: &Harness, name: &str, repo: &TestRepo) -> String {
    let object = object_name(name);
    let revision = await_artifact(h, &h.apps_ns, &object, repo).await;
    wait_ks(h, &h.apps_ns, &object, "Ready", |ks| {
        ready_at(ks, &revision)
    })
    .await;
    revision
}

/// Breaks one case: its commits, then its patches; then asks for a fetch
/// when the source itself stays good.
async fn break_one(h: &Harness, env: &Env, case: &FluxCase, repo: &TestRepo) -> FluxBreak {
    let broken = tokio::task::block_in_place(|| (case.breaks)(repo, env));
    let name = object_name(case.name);
    for (target, patch) in &broken.patches {
        let params = PatchParams::default();
        let result = match target {
            Target::Kustomization => kustomizations(h, &h.apps_ns)
                .patch(&name, &params, &Patch::Merge(patch))
                .await
                .map(drop),
            Target::GitRepository => git_repos(h)
                .patch(&name, &params, &Patch::Merge(patch))
                .await
                .map(drop),
        };
        result.unwrap_or_else(|e| panic!("patching {name}: {e}"));
    }
    if !broken.source_fails {
        await_artifact(h, &h.apps_ns, &name, repo).await;
    }
    broken
}

/// Ok when `(status, message)` of a Ready condition is False and names
/// every needle in a bounded message.
fn judge_ready(
    what: &str,
    ready: Option<(String, String)>,
    needles: &[String],
) -> Result<(), String> {
    let (status, message) = ready.ok_or(format!("{what} has no Ready condition"))?;
    if status != "False" || !needles.iter().all(|n| names(&message, n)) {
        return Err(format!(
            "{what} Ready={status}, not False naming {needles:?}: {}",
            truncate(&message)
        ));
    }
    if message.len() > MAX_MESSAGE {
        return Err(format!(
            "{what}'s Ready message is {} bytes long",
            message.len()
        ));
    }
    Ok(())
}

/// Checks the GitRepository of a source failure: not Ready naming the
/// first needle, an Event saying so, and its last artifact kept.
async fn check_source(h: &Harness, name: &str, needle: &str, applied: &str) -> Result<(), String> {
    let repo = git_repos(h)
        .get(name)
        .await
        .map_err(|e| format!("get GitRepository {name}: {e}"))?;
    let status = repo.status.unwrap_or_default();
    let ready =
        find_condition(&status.conditions, "Ready").map(|c| (c.status.clone(), c.message.clone()));
    judge_ready("the GitRepository", ready, &[needle.to_string()])?;
    let artifact = status.artifact.map(|a| a.revision);
    if artifact.as_deref() != Some(applied) {
        return Err(format!(
            "the GitRepository's artifact is {artifact:?}, was {applied}"
        ));
    }
    event_naming(h, "GitRepository", name, needle).await
}

/// Checks a case once: what was reported, or what is missing.
async fn check(
    h: &Harness,
    case: &str,
    broken: &FluxBreak,
    applied: &str,
) -> Result<String, String> {
    let name = object_name(case);
    let ks = kustomizations(h, &h.apps_ns)
        .get_opt(&name)
        .await
        .map_err(|e| format!("get: {e}"))?
        .ok_or("the Kustomization is gone")?;
    let ready = condition(&ks, "Ready");
    let shown = ready.clone().unwrap_or_default();
    judge_ready(
        "the Kustomization",
        ready.map(|c| (c.0, c.2)),
        &broken.needles,
    )?;
    let last = ks.status.and_then(|s| s.last_applied_revision);
    if last.as_deref() != Some(applied) {
        return Err(format!("lastAppliedRevision {last:?}, was {applied}"));
    }
    event_naming(h, "Kustomization", &name, &broken.needles[0]).await?;
    if broken.source_fails {
        check_source(h, &name, &broken.needles[0], applied).await?;
    }
    Ok(format!("{}: {}", shown.1, truncate(&shown.2)))
}

/// Polls `check` until it passes or [`WITHIN`] elapses; the last failure.
async fn outcome(
    h: &Harness,
    case: &str,
    broken: &FluxBreak,
    applied: &str,
) -> Result<String, String> {
    let started = Instant::now();
    loop {
        match check(h, case, broken, applied).await {
            Ok(reported) => return Ok(reported),
            Err(e) if started.elapsed() > WITHIN => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// The canary's files: a ConfigMap and a Secret holding a secret value.
fn canary_files() -> Vec<(&'static str, String)> {
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: fk-canary\nstringData:\n  token: {CANARY_SECRET}\n"
    );
    vec![
        ("app/keep.yaml", keep_yaml("canary")),
        ("app/secret.yaml", secret),
    ]
}

/// The statuses of the run's Kustomizations and GitRepositories.
async fn flux_statuses(h: &Harness) -> Vec<(String, String)> {
    let lp = ListParams::default();
    let ks = kustomizations(h, &h.apps_ns)
        .list(&lp)
        .await
        .expect("kustomizations");
    let repos = git_repos(h).list(&lp).await.expect("gitrepositories");
    let ks = ks.items.into_iter().map(|k| {
        let status = serde_json::to_string(&k.status).unwrap_or_default();
        (
            format!("the status of Kustomization {:?}", k.metadata.name),
            status,
        )
    });
    let repos = repos.items.into_iter().map(|r| {
        let status = serde_json::to_string(&r.status).unwrap_or_default();
        (
            format!("the status of GitRepository {:?}", r.metadata.name),
            status,
        )
    });
    ks.chain(repos).collect()
}

/// Breaks every case and waits for each outcome, in the order of `cases`.
async fn break_and_judge(
    h: &Harness,
    env: &Env,
    cases: &[(FluxCase, TestRepo, String)],
) -> Vec<Result<String, String>> {
    let broken = futures::future::join_all(
        cases
            .iter()
            .map(|(case, repo, _)| break_one(h, env, case, repo)),
    )
    .await;
    futures::future::join_all(
        cases
            .iter()
            .zip(&broken)
            .map(|((case, _, applied), b)| outcome(h, case.name, b, applied)),
    )
    .await
}

/// Runs `selected`; prints `bad-input flux/<name>: passed|FAILED ...` per
/// case and `bad inputs (Kustomization): <passed>/<tried> passed`.
pub async fn run(selected: Vec<FluxCase>) {
    crate::logs::install();
    let mut h = crate::flux_common::start("bf").await;
    let env = make_env(&h).await;
    setup_credentials(&h);
    let canary = tokio::task::block_in_place(|| create(&h, &env, "canary", &canary_files()));
    let created: Vec<(FluxCase, TestRepo)> = selected
        .into_iter()
        .map(|case| {
            let keep = [("app/keep.yaml", keep_yaml(case.name))];
            let repo = tokio::task::block_in_place(|| create(&h, &env, case.name, &keep));
            (case, repo)
        })
        .collect();
    synced(&h, "canary", &canary).await;
    let applied =
        futures::future::join_all(created.iter().map(|(c, r)| synced(&h, c.name, r))).await;
    let cases: Vec<(FluxCase, TestRepo, String)> = created
        .into_iter()
        .zip(applied)
        .map(|((c, r), a)| (c, r, a))
        .collect();
    let before = configmaps(&h, &env.dest).await;
    let results = break_and_judge(&h, &env, &cases).await;

    // The controller still serves the others: the canary follows a commit.
    canary.write("app/more.yaml", &keep_yaml("canary-more"));
    tokio::task::block_in_place(|| canary.commit("after the storm"));
    synced(&h, "canary", &canary).await;
    // Give the retries one more round before judging.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = configmaps(&h, &env.dest).await;
    let failed = report(&cases, results, &before, &after);
    let lost = lost_or_changed("canary", &before, &after);
    let leaks = leaked_secrets(&h, "fk-canary", flux_statuses(&h).await).await;
    assert!(lost.is_empty(), "the canary lost objects: {lost:?}");
    assert!(leaks.is_empty(), "secret values leaked: {leaks:?}");
    assert!(failed.is_empty(), "failed cases: {failed:?}");
    h.stop_controller().await;
}

type Snapshot = BTreeMap<String, (String, String)>;

/// Prints one line per case; the names of the failed ones.
fn report(
    cases: &[(FluxCase, TestRepo, String)],
    results: Vec<Result<String, String>>,
    before: &Snapshot,
    after: &Snapshot,
) -> Vec<&'static str> {
    let mut failed = Vec::new();
    for ((case, _, _), result) in cases.iter().zip(results) {
        let reported = result.as_ref().ok().cloned().unwrap_or_default();
        let mut problems: Vec<String> = result.err().into_iter().collect();
        problems.extend(lost_or_changed(case.name, before, after));
        if problems.is_empty() {
            println!("bad-input flux/{}: passed ({reported})", case.name);
        } else {
            println!(
                "bad-input flux/{}: FAILED {}",
                case.name,
                problems.join("; ")
            );
            failed.push(case.name);
        }
    }
    println!(
        "bad inputs (Kustomization): {}/{} passed",
        cases.len() - failed.len(),
        cases.len()
    );
    failed
}
