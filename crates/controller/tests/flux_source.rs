//! Flux `GitRepository` against the real control plane and the real Git
//! server: branch, tag, semver, commit, a wrong branch fixed, a push
//! brought in by the webhook and by `reconcile.fluxcd.io/requestedAt`,
//! credentials from `spec.secretRef` only (a wrong password, a missing
//! Secret, no Secret on the same URL), an unreachable server, a fetch
//! bounded by `spec.timeout`, `suspend`, and an unsupported field.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, TIMEOUT, eventually};
use driftless_api::flux::condition::find_condition;
use driftless_api::flux::source::v1::GitRepository;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use tokio::sync::OnceCell;

static FLUX_CRD: OnceCell<()> = OnceCell::const_new();

/// Installs the GitRepository CRD once per test binary.
async fn install_crd(h: &Harness) {
    FLUX_CRD
        .get_or_init(|| async {
            let crd = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../crds/gitrepositories.source.toolkit.fluxcd.io.yaml"
            );
            h.kubectl(&["apply", "--server-side", "--force-conflicts", "-f", crd]);
            let started = Instant::now();
            while h
                .cp
                .kubectl(&[
                    "wait",
                    "--for=condition=Established",
                    "crd/gitrepositories.source.toolkit.fluxcd.io",
                    "--timeout=60s",
                ])
                .is_err()
            {
                assert!(started.elapsed() < TIMEOUT, "the CRD was not established");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await;
}

/// A harness whose controller polls rarely: what changes must come from a
/// watch event, a trigger or the webhook.
async fn harness(prefix: &str) -> Harness {
    let h = Harness::new(prefix).await;
    install_crd(&h).await;
    let mut h = h;
    h.start_controller(Duration::from_secs(600)).await;
    h
}

fn git_repos(h: &Harness) -> Api<GitRepository> {
    Api::namespaced(h.client.clone(), &h.apps_ns)
}

/// A GitRepository manifest; `extra` is appended under `spec`.
fn git_repository(name: &str, ns: &str, url: &str, extra: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 10m
  url: {url}
{extra}"
    )
}

/// Waits until GitRepository `name` satisfies `pred`; panics with its status.
async fn wait_repo(
    h: &Harness,
    name: &str,
    what: &str,
    pred: impl Fn(&GitRepository) -> bool,
) -> GitRepository {
    let api = git_repos(h);
    let started = Instant::now();
    loop {
        let repo = api.get(name).await.expect("get gitrepository");
        if pred(&repo) {
            return repo;
        }
        if started.elapsed() > TIMEOUT {
            panic!(
                "gitrepository {name} did not become {what}; status: {}",
                serde_json::to_string_pretty(&repo.status).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `(status, reason, message)` of condition `type_`.
fn condition(repo: &GitRepository, type_: &str) -> Option<(String, String, String)> {
    let status = repo.status.as_ref()?;
    find_condition(&status.conditions, type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn ready_is(repo: &GitRepository, status: &str) -> bool {
    condition(repo, "Ready").is_some_and(|c| c.0 == status)
        && repo.status.as_ref().and_then(|s| s.observed_generation) == repo.metadata.generation
}

fn revision(repo: &GitRepository) -> Option<&str> {
    repo.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.as_str())
}

async fn wait_revision(h: &Harness, name: &str, want: &str) -> GitRepository {
    let repo = wait_repo(h, name, &format!("Ready at {want}"), |r| {
        ready_is(r, "True") && revision(r) == Some(want)
    })
    .await;
    let (_, reason, message) = condition(&repo, "Ready").expect("Ready");
    assert_eq!(reason, "Succeeded");
    assert_eq!(message, format!("stored artifact for revision '{want}'"));
    repo
}

/// The notes of every Event about GitRepository `name`.
async fn event_notes(h: &Harness, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                && e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("GitRepository")
        })
        .map(|e| {
            format!(
                "{} {}",
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refs_resolve_as_flux_and_pushes_arrive_without_the_interval() {
    let h = harness("gitsrc").await;
    let repo = h.git.create_repo("src/app");
    repo.write("deploy/cm.yaml", "kind: ConfigMap\n");
    let c1 = repo.commit("one");
    repo.tag("v1.0.0");
    repo.branch("release");
    repo.checkout("main");
    let c2 = repo.commit("two");
    repo.tag("v1.2.0");
    let c3 = repo.commit("three");
    repo.tag("v2.0.0");
    repo.tag("not-a-version");
    let url = h.git.git_url("src/app");
    let ns = h.apps_ns.clone();
    let docs = [
        git_repository("branch", &ns, &url, "  ref:\n    branch: main\n"),
        git_repository(
            "tag",
            &ns,
            &url,
            "  ref:\n    tag: v1.0.0\n    branch: main\n",
        ),
        git_repository(
            "semver",
            &ns,
            &url,
            "  ref:\n    semver: '>=1.0.0 <2.0.0'\n",
        ),
        git_repository("commit", &ns, &url, &format!("  ref:\n    commit: {c1}\n")),
        git_repository("master", &ns, &url, ""),
        git_repository(
            "on-release",
            &ns,
            &url,
            &format!("  ref:\n    commit: {c1}\n    branch: release\n"),
        ),
        git_repository(
            "off-release",
            &ns,
            &url,
            &format!("  ref:\n    commit: {c3}\n    branch: release\n"),
        ),
        git_repository("beta", &ns, &url, "  ref:\n    branch: main\n").replace(
            "source.toolkit.fluxcd.io/v1\n",
            "source.toolkit.fluxcd.io/v1beta2\n",
        ),
    ];
    h.apply(&docs.join("---\n"));

    wait_revision(&h, "branch", &format!("main@sha1:{c3}")).await;
    wait_revision(&h, "beta", &format!("main@sha1:{c3}")).await;
    wait_revision(&h, "tag", &format!("v1.0.0@sha1:{c1}")).await;
    wait_revision(&h, "semver", &format!("v1.2.0@sha1:{c2}")).await;
    let commit = wait_revision(&h, "commit", &format!("sha1:{c1}")).await;
    let artifact = commit
        .status
        .as_ref()
        .and_then(|s| s.artifact.clone())
        .expect("artifact");
    assert_eq!(artifact.url, url);
    assert_eq!(artifact.digest, None, "no tarball, so no digest");

    // A commit on a branch is written with the branch; one not on it fails.
    wait_revision(&h, "on-release", &format!("release@sha1:{c1}")).await;
    let off = wait_repo(&h, "off-release", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&off, "Ready").expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains("is not on branch 'release'"), "{message}");

    // No ref: branch master, which this repository does not have.
    let master = wait_repo(&h, "master", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&master, "Ready").expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains("refs/heads/master"), "{message}");
    assert_eq!(
        condition(&master, "FetchFailed").map(|c| c.0).as_deref(),
        Some("True")
    );
    assert!(revision(&master).is_none());
    // Fixed by naming the branch: the watch event brings it in at once.
    git_repos(&h)
        .patch(
            "master",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"ref": {"branch": "main"}}})),
        )
        .await
        .expect("patch");
    let fixed = wait_revision(&h, "master", &format!("main@sha1:{c3}")).await;
    assert!(condition(&fixed, "FetchFailed").is_none());

    // A push and the webhook: a new revision without waiting for the interval.
    repo.write("deploy/cm.yaml", "kind: ConfigMap\nmetadata: {name: x}\n");
    let c4 = repo.commit("four");
    let body = serde_json::json!({"repository": url, "ref": "refs/heads/main"}).to_string();
    let (code, text) = h.post_webhook(&body).await;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("gitrepositories"), "{text}");
    wait_revision(&h, "branch", &format!("main@sha1:{c4}")).await;
    let semver = git_repos(&h).get("semver").await.expect("get");
    assert_eq!(
        revision(&semver),
        Some(format!("v1.2.0@sha1:{c2}").as_str())
    );

    // A push and `flux reconcile`'s annotation.
    let c5 = repo.commit("five");
    let requested = "2026-12-03T15:00:00.000000001Z";
    h.kubectl(&[
        "annotate",
        "--overwrite",
        "-n",
        &ns,
        "gitrepository/branch",
        &format!("reconcile.fluxcd.io/requestedAt={requested}"),
    ]);
    let branch = wait_revision(&h, "branch", &format!("main@sha1:{c5}")).await;
    assert_eq!(
        branch
            .status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref()),
        Some(requested)
    );
    let notes = event_notes(&h, "branch").await;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("NewArtifact") && n.contains(&c5)),
        "{notes:?}"
    );

    // kubectl shows Flux's columns.
    let table = h.kubectl(&["get", "gitrepositories", "-n", &ns]);
    let header = table.lines().next().unwrap_or_default();
    for column in ["URL", "AGE", "READY", "STATUS"] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        table.contains(&format!("stored artifact for revision 'main@sha1:{c5}'")),
        "{table}"
    );

    // A consumer (a Kustomization) finds the fetched commit in the shared
    // mirror without fetching: it resolves even with the server gone.
    let bare = repo.bare_path().to_path_buf();
    let moved = bare.with_extension("moved");
    std::fs::rename(&bare, &moved).expect("move the repository away");
    let ctx = &h.controller.as_ref().expect("controller").context;
    let sha = ctx
        .source
        .resolve(&url, &c5, false)
        .await
        .expect("resolve from the mirror");
    assert_eq!((sha.sha, sha.stale), (c5, None));
    std::fs::rename(&moved, &bare).expect("move the repository back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_come_from_the_own_secret_only_and_never_show() {
    let h = harness("gitauth").await;
    let repo = h.git.create_repo("auth/app");
    repo.write("a.yaml", "kind: ConfigMap\n");
    let c1 = repo.commit("one");
    let url = h.git.http_url("auth/app");
    let (user, password) = h.git.credentials();
    let (user, password) = (user.to_string(), password.to_string());
    let wrong = "wr0ng-Passw0rd-do-not-print";
    let ns = h.apps_ns.clone();
    let secrets: Api<Secret> = Api::namespaced(h.client.clone(), &ns);
    let secret = |pw: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "git-auth", "namespace": ns},
            "stringData": {"username": user, "password": pw}
        })
    };
    secrets
        .patch(
            "git-auth",
            &PatchParams::apply("test"),
            &Patch::Apply(secret(wrong)),
        )
        .await
        .expect("secret");
    let auth = "  ref:\n    branch: main\n  secretRef:\n    name: git-auth\n";
    let missing = "  ref:\n    branch: main\n  secretRef:\n    name: no-such-secret\n";
    h.apply(
        &[
            git_repository("private", &ns, &url, auth),
            git_repository("missing", &ns, &url, missing),
        ]
        .join("---\n"),
    );

    let private = wait_repo(&h, "private", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&private, "Ready").expect("Ready");
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert_eq!(
        condition(&private, "FetchFailed").map(|c| c.1).as_deref(),
        Some("AuthenticationFailed")
    );
    let missing = wait_repo(&h, "missing", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&missing, "Ready").expect("Ready");
    assert_eq!(reason, "AuthenticationFailed");
    assert!(
        message.contains(&format!("failed to get secret '{ns}/no-such-secret'")),
        "{message}"
    );

    // The right password: Ready.
    secrets
        .patch(
            "git-auth",
            &PatchParams::apply("test"),
            &Patch::Apply(secret(&password)),
        )
        .await
        .expect("secret");
    h.kubectl(&[
        "annotate",
        "--overwrite",
        "-n",
        &ns,
        "gitrepository/private",
        "reconcile.fluxcd.io/requestedAt=fixed",
    ]);
    wait_revision(&h, "private", &format!("main@sha1:{c1}")).await;

    // The same URL without a secretRef gets nothing, although the shared
    // mirror now holds the commit: credentials are never shared by URL.
    h.apply(&git_repository(
        "anonymous",
        &ns,
        &url,
        "  ref:\n    branch: main\n",
    ));
    let anonymous = wait_repo(&h, "anonymous", "not Ready", |r| ready_is(r, "False")).await;
    assert_eq!(
        condition(&anonymous, "Ready").map(|c| c.1).as_deref(),
        Some("AuthenticationFailed")
    );
    assert!(revision(&anonymous).is_none());

    // No password in any status or Event.
    for name in ["private", "missing", "anonymous"] {
        let status = serde_json::to_string(&git_repos(&h).get(name).await.expect("get").status)
            .expect("json");
        for secret_value in [wrong, password.as_str()] {
            assert!(!status.contains(secret_value), "{name}: {status}");
        }
    }
    let notes = eventually("the failure events", || async {
        let notes = event_notes(&h, "private").await;
        notes
            .iter()
            .any(|n| n.starts_with("AuthenticationFailed"))
            .then_some(notes)
    })
    .await;
    for note in &notes {
        assert!(!note.contains(wrong) && !note.contains(&password), "{note}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_timeout_suspend_and_unsupported_fields() {
    let mut h = harness("gitfail").await;
    let repo = h.git.create_repo("fail/app");
    repo.write("a.yaml", "kind: ConfigMap\n");
    let c1 = repo.commit("one");
    let ns = h.apps_ns.clone();
    let url = h.git.git_url("fail/app");
    let refused = "http://127.0.0.1:1/nothing.git";
    let stalled_url = h.git.http_url_with_credentials("fail/app");
    h.git.stall("fail/app");
    h.apply(
        &[
            git_repository("unreachable", &ns, refused, "  ref:\n    branch: main\n"),
            git_repository(
                "slow",
                &ns,
                &stalled_url,
                "  timeout: 3s\n  ref:\n    branch: main\n",
            ),
            git_repository(
                "paused",
                &ns,
                &url,
                "  suspend: true\n  ref:\n    branch: main\n",
            ),
            git_repository(
                "submodules",
                &ns,
                &url,
                "  recurseSubmodules: true\n  ref:\n    branch: main\n",
            ),
        ]
        .join("---\n"),
    );

    let unreachable = wait_repo(&h, "unreachable", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&unreachable, "Ready").expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert_eq!(
        condition(&unreachable, "Reconciling")
            .map(|c| c.1)
            .as_deref(),
        Some("ProgressingWithRetry")
    );

    let slow = wait_repo(&h, "slow", "not Ready", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&slow, "Ready").expect("Ready");
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains("timed out after 3s"), "{message}");
    assert!(!message.contains(h.git.credentials().1), "{message}");
    h.git.unstall("fail/app");

    let submodules = wait_repo(&h, "submodules", "Stalled", |r| ready_is(r, "False")).await;
    let (_, reason, message) = condition(&submodules, "Ready").expect("Ready");
    assert_eq!(reason, "UnsupportedField");
    assert!(message.contains("spec.recurseSubmodules"), "{message}");
    assert_eq!(
        condition(&submodules, "Stalled").map(|c| c.0).as_deref(),
        Some("True")
    );
    assert!(revision(&submodules).is_none(), "nothing fetched");

    // Suspended: nothing fetched, Ready says so.
    let paused = wait_repo(&h, "paused", "suspended", |r| {
        condition(r, "Ready").is_some_and(|c| c.1 == "Suspended")
    })
    .await;
    assert!(revision(&paused).is_none());
    // Resumed: fetched.
    let resume = |suspend: bool| serde_json::json!({"spec": {"suspend": suspend}});
    let api = git_repos(&h);
    api.patch(
        "paused",
        &PatchParams::default(),
        &Patch::Merge(resume(false)),
    )
    .await
    .expect("patch");
    wait_revision(&h, "paused", &format!("main@sha1:{c1}")).await;
    // Suspended again: a push and a requested reconcile change nothing.
    api.patch(
        "paused",
        &PatchParams::default(),
        &Patch::Merge(resume(true)),
    )
    .await
    .expect("patch");
    let c2 = repo.commit("two");
    h.kubectl(&[
        "annotate",
        "--overwrite",
        "-n",
        &ns,
        "gitrepository/paused",
        "reconcile.fluxcd.io/requestedAt=while-suspended",
    ]);
    // The unsuspended control: a second object on the same URL sees c2,
    // so the controller had every chance to move the suspended one.
    h.apply(&git_repository(
        "control",
        &ns,
        &url,
        "  ref:\n    branch: main\n",
    ));
    wait_revision(&h, "control", &format!("main@sha1:{c2}")).await;
    // Restarting the controller reconciles every object again.
    h.start_controller(Duration::from_secs(600)).await;
    h.apply(&git_repository(
        "control2",
        &ns,
        &url,
        "  ref:\n    branch: main\n",
    ));
    wait_revision(&h, "control2", &format!("main@sha1:{c2}")).await;
    let paused = api.get("paused").await.expect("get");
    assert_eq!(revision(&paused), Some(format!("main@sha1:{c1}").as_str()));
    assert_eq!(
        condition(&paused, "Ready").map(|c| c.0).as_deref(),
        Some("True")
    );
    assert_ne!(
        paused
            .status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref()),
        Some("while-suspended")
    );
    assert!(
        paused
            .annotations()
            .contains_key("reconcile.fluxcd.io/requestedAt")
    );
}
