//! The bad inputs for a Flux `Kustomization` and its `GitRepository`, one
//! [`FluxCase`] each: how the repository, the GitRepository or the
//! Kustomization is broken after a first good sync, and what must be said.
//!
//! Every case starts as a GitRepository `fk-<case>` (branch `main` of its
//! own repository) and a Kustomization `fk-<case>` of `./app` (prune on,
//! into the destination namespace) holding one ConfigMap `<case>-keep`.

use driftless_testkit::git::TestRepo;
use serde_json::{Value, json};

use super::cases::{Env, configmap, kustomization};

/// The Secret (in the test's namespace) with a wrong password for the
/// GitRepository of the wrong-credentials case.
pub const WRONG_CREDENTIALS: &str = "bf-wrong-credentials";

/// Which object a merge patch goes to.
pub enum Target {
    /// The case's Kustomization.
    Kustomization,
    /// The case's GitRepository.
    GitRepository,
}

/// How a case is broken (commits made by the case itself, then merge
/// patches) and what must follow: the Kustomization Ready=False with a
/// message naming every needle (a needle may list alternatives separated by
/// `|`) and an Event naming the first; for a source failure the same on
/// the GitRepository.
pub struct FluxBreak {
    /// Merge patches applied after the commits.
    pub patches: Vec<(Target, Value)>,
    /// What the Ready message must name.
    pub needles: Vec<String>,
    /// The GitRepository fails too (it is not Ready, so its last good
    /// artifact is not replaced).
    pub source_fails: bool,
}

type Breaker = Box<dyn Fn(&TestRepo, &Env) -> FluxBreak + Send + Sync>;

/// One bad input for a Kustomization.
pub struct FluxCase {
    /// Its repository, GitRepository, Kustomization and object prefix.
    pub name: &'static str,
    /// Breaks the case.
    pub breaks: Breaker,
}

fn case(
    name: &'static str,
    breaks: impl Fn(&TestRepo, &Env) -> FluxBreak + Send + Sync + 'static,
) -> FluxCase {
    FluxCase {
        name,
        breaks: Box::new(breaks),
    }
}

fn build(needles: &[&str]) -> FluxBreak {
    FluxBreak {
        patches: Vec::new(),
        needles: needles.iter().map(|n| n.to_string()).collect(),
        source_fails: false,
    }
}

fn ks_patch(patch: Value, needles: &[&str]) -> FluxBreak {
    FluxBreak {
        patches: vec![(Target::Kustomization, patch)],
        ..build(needles)
    }
}

fn source_patch(patch: Value, needles: &[&str]) -> FluxBreak {
    FluxBreak {
        patches: vec![(Target::GitRepository, patch)],
        source_fails: true,
        ..build(needles)
    }
}

/// Writes `app/<file>` and commits; the message must name the file and
/// the commit.
fn bad_file(repo: &TestRepo, file: &str, contents: &str) -> FluxBreak {
    repo.write(&format!("app/{file}"), contents);
    let sha = repo.commit(&format!("add {file}"));
    build(&[file, &sha])
}

/// The bad inputs for `Kustomization` and `GitRepository`.
pub fn all() -> Vec<FluxCase> {
    let mut cases = Vec::new();
    cases.extend(build_cases());
    cases.extend(path_cases());
    cases.extend(source_cases());
    cases.extend(spec_cases());
    cases
}

fn build_cases() -> Vec<FluxCase> {
    vec![
        case("invalid-yaml", |r, _| {
            bad_file(
                r,
                "bad.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
            )
        }),
        case("not-object", |r, _| {
            bad_file(r, "list.yaml", "- one\n- two\n")
        }),
        case("no-name", |r, _| {
            bad_file(
                r,
                "noname.yaml",
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: one\n",
            )
        }),
        case("dup-objects", |r, _| {
            r.write("app/dup1.yaml", &configmap("dup-objects-twin", ""));
            r.write("app/dup2.yaml", &configmap("dup-objects-twin", ""));
            let sha = r.commit("twins");
            build(&["dup-objects-twin", &sha])
        }),
        case("unknown-kind", |r, _| {
            bad_file(
                r,
                "widget.yaml",
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            );
            build(&["Widget"])
        }),
        case("kust-missing-file", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "missing.yaml"], ""),
            );
            let sha = r.commit("a missing resource");
            build(&["missing.yaml", &sha])
        }),
        case("emptied", |r, _| {
            r.remove("app/keep.yaml");
            r.write("app/README.md", "nothing to deploy\n");
            let sha = r.commit("the path renders nothing");
            build(&["empty", &sha])
        }),
    ]
}

fn path_cases() -> Vec<FluxCase> {
    vec![
        case("kust-dotdot", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "../../../../../../etc/passwd"], ""),
            );
            let sha = r.commit("escape with ../");
            build(&["etc/passwd", &sha])
        }),
        case("symlink-file-out", |r, _| {
            r.symlink("app/passwd.yaml", "/etc/passwd");
            let sha = r.commit("a symlink to a file outside the repo");
            build(&["passwd.yaml", &sha[..7]])
        }),
        case("symlink-dir-out", |r, _| {
            r.symlink("app/etc", "/etc");
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "etc"], ""),
            );
            let sha = r.commit("a symlinked directory outside the repo");
            build(&["etc", &sha[..7]])
        }),
        case("path-dotdot", |_, _| {
            ks_patch(
                json!({"spec": {"path": "./../../../../etc"}}),
                &["../../../../etc|etc"],
            )
        }),
        case("path-missing", |_, _| {
            ks_patch(json!({"spec": {"path": "./no/such/dir"}}), &["no/such/dir"])
        }),
    ]
}

fn source_cases() -> Vec<FluxCase> {
    vec![
        case("branch-missing", |_, _| {
            source_patch(
                json!({"spec": {"ref": {"branch": "no-such-branch"}}}),
                &["no-such-branch"],
            )
        }),
        case("commit-missing", |_, _| {
            let sha = "0123456789abcdef0123456789abcdef01234567";
            source_patch(
                json!({"spec": {"ref": {"branch": null, "commit": sha}}}),
                &[sha],
            )
        }),
        case("repo-missing", |_, e| {
            let url = (e.git_url)("does/not-exist");
            source_patch(json!({"spec": {"url": url}}), &["not-exist"])
        }),
        case("wrong-credentials", |r, e| {
            let url = (e.http_url)(r.name());
            source_patch(
                json!({"spec": {"url": url, "secretRef": {"name": WRONG_CREDENTIALS}}}),
                &[&url],
            )
        }),
        case("unreachable-host", |_, e| {
            let url = format!("http://127.0.0.1:{}/repo.git", e.closed_port);
            source_patch(json!({"spec": {"url": url}}), &[&url])
        }),
    ]
}

fn spec_cases() -> Vec<FluxCase> {
    vec![
        case("depends-missing", |_, _| {
            ks_patch(
                json!({"spec": {"dependsOn": [{"name": "no-such-kustomization"}]}}),
                &["no-such-kustomization"],
            )
        }),
        case("source-missing", |_, _| {
            ks_patch(
                json!({"spec": {"sourceRef": {"name": "no-such-gitrepository"}}}),
                &["no-such-gitrepository"],
            )
        }),
    ]
}
