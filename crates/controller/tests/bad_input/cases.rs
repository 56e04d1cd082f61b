//! The bad inputs, one [`Case`] each: how the repository or Application is
//! broken after a first good sync, and what the controller must say.
//!
//! Every case starts as an automated Application (prune and self-heal on)
//! of `app/` in its own repository, holding one ConfigMap `<case>-keep`;
//! the runner checks that object is neither deleted nor changed.

use std::net::SocketAddr;

use driftless_testkit::git::TestRepo;
use serde_json::{Value, json};

/// What a case needs from the world around it.
pub struct Env {
    /// Where Applications, projects and credential Secrets live.
    pub apps_ns: String,
    /// Where every case deploys.
    pub dest: String,
    /// A namespace no case's project allows.
    pub other: String,
    /// `git://` URL of a repository by name.
    pub git_url: Box<dyn Fn(&str) -> String + Send + Sync>,
    /// `http://` URL (basic auth required) of a repository by name.
    pub http_url: Box<dyn Fn(&str) -> String + Send + Sync>,
    /// A port nothing listens on.
    pub closed_port: u16,
    /// A server that accepts and never answers.
    pub black_hole: SocketAddr,
    /// A server that streams an endless pack.
    pub endless_pack: SocketAddr,
}

/// What the controller must show once a case is broken.
pub enum Expect {
    /// A condition whose message contains every needle (a needle may list
    /// alternatives separated by `|`) and an Event naming the first.
    Condition(Vec<String>),
    /// OutOfSync, nothing deleted (pruning is off).
    OutOfSync,
}

/// How a case is broken: commits made by the case itself, then an optional
/// JSON merge patch of the Application.
pub struct Break {
    /// Merge patch of the Application, applied after the commits.
    pub patch: Option<Value>,
    /// What must follow.
    pub expect: Expect,
}

type Setup = Box<dyn Fn(&TestRepo, &Env) + Send + Sync>;
type Breaker = Box<dyn Fn(&TestRepo, &Env) -> Break + Send + Sync>;

/// One bad input.
pub struct Case {
    /// The case's name: its repository, Application and object prefix.
    pub name: &'static str,
    /// The AppProject the Application starts in.
    pub project: &'static str,
    /// Whether automated sync prunes.
    pub prune: bool,
    /// More files for the first (good) commit.
    pub setup: Option<Setup>,
    /// Breaks the case.
    pub breaks: Breaker,
    /// Waits for the outcome longer (Git timeouts).
    pub slow: bool,
}

impl Case {
    fn new(
        name: &'static str,
        breaks: impl Fn(&TestRepo, &Env) -> Break + Send + Sync + 'static,
    ) -> Case {
        Case {
            name,
            project: "default",
            prune: true,
            setup: None,
            breaks: Box::new(breaks),
            slow: false,
        }
    }

    fn project(mut self, project: &'static str) -> Case {
        self.project = project;
        self
    }

    fn no_prune(mut self) -> Case {
        self.prune = false;
        self
    }

    fn setup(mut self, setup: impl Fn(&TestRepo, &Env) + Send + Sync + 'static) -> Case {
        self.setup = Some(Box::new(setup));
        self
    }

    fn slow(mut self) -> Case {
        self.slow = true;
        self
    }
}

fn expect(needles: &[&str]) -> Break {
    Break {
        patch: None,
        expect: Expect::Condition(needles.iter().map(|n| n.to_string()).collect()),
    }
}

fn patch(patch: Value, needles: &[&str]) -> Break {
    Break {
        patch: Some(patch),
        ..expect(needles)
    }
}

/// Writes `file` under `app/` with `contents` and commits; expects a
/// condition naming the file and the commit.
fn bad_file(repo: &TestRepo, file: &str, contents: &str) -> Break {
    repo.write(&format!("app/{file}"), contents);
    let sha = repo.commit(&format!("add {file}"));
    expect(&[file, &sha])
}

/// A ConfigMap `name` with `extra_meta` lines under `metadata`.
pub fn configmap(name: &str, extra_meta: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra_meta}data:\n  v: one\n"
    )
}

/// A `kustomization.yaml` of `resources`, `more` appended.
pub fn kustomization(resources: &[&str], more: &str) -> String {
    let list: String = resources.iter().map(|r| format!("- {r}\n")).collect();
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{list}{more}"
    )
}

/// The bad inputs for `Application`.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(yaml_cases());
    cases.extend(object_cases());
    cases.extend(kustomize_cases());
    cases.extend(path_cases());
    cases.extend(size_cases());
    cases.extend(source_cases());
    cases.extend(project_cases());
    cases.extend(shrink_cases());
    cases
}

fn yaml_cases() -> Vec<Case> {
    vec![
        Case::new("invalid-yaml", |r, _| {
            bad_file(
                r,
                "bad.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
            )
        }),
        Case::new("tab-indent", |r, _| {
            bad_file(
                r,
                "tabs.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n",
            )
        }),
        Case::new("not-object-list", |r, _| {
            bad_file(r, "list.yaml", "- one\n- two\n")
        }),
        Case::new("not-object-scalar", |r, _| {
            bad_file(r, "scalar.yaml", "just a sentence\n")
        }),
        Case::new("no-kind", |r, _| {
            bad_file(
                r,
                "nokind.yaml",
                "apiVersion: v1\nmetadata:\n  name: nokind\n",
            )
        }),
        Case::new("no-apiversion", |r, _| {
            bad_file(
                r,
                "noapi.yaml",
                "kind: ConfigMap\nmetadata:\n  name: noapi\n",
            )
        }),
        Case::new("duplicate-keys", |r, _| {
            bad_file(
                r,
                "dupkeys.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dupkeys\ndata:\n  a: one\n  a: two\n",
            )
        }),
        Case::new("binary-file", |r, _| {
            r.write_bytes(
                "app/blob.yaml",
                &[0xff, 0xfe, 0x00, 0x9f, 0x92, 0x96, 0x00, 0x01],
            );
            let sha = r.commit("binary");
            expect(&["blob.yaml", &sha])
        }),
        Case::new("json-invalid", |r, _| {
            bad_file(r, "bad.json", "{\"apiVersion\": \"v1\", \"kind\": ")
        }),
    ]
}

fn object_cases() -> Vec<Case> {
    vec![
        Case::new("no-name", |r, _| {
            bad_file(
                r,
                "noname.yaml",
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  v: one\n",
            )
        }),
        Case::new("dup-objects", |r, _| {
            r.write("app/dup1.yaml", &configmap("dup-objects-twin", ""));
            r.write("app/dup2.yaml", &configmap("dup-objects-twin", ""));
            let sha = r.commit("twins");
            expect(&["dup-objects-twin", &sha])
        }),
        Case::new("dup-in-one-file", |r, _| {
            let one = configmap("dup-in-one-file-twin", "");
            r.write("app/twins.yaml", &format!("{one}---\n{one}"));
            let sha = r.commit("twins in one file");
            expect(&["dup-in-one-file-twin", &sha])
        }),
        Case::new("unknown-kind", |r, _| {
            bad_file(
                r,
                "widget.yaml",
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            );
            expect(&["Widget"])
        }),
        Case::new("missing-namespace", |r, _| {
            r.write(
                "app/lost.yaml",
                &configmap("lost", "  namespace: missing-namespace-nowhere\n"),
            );
            let sha = r.commit("into a namespace that does not exist");
            expect(&["missing-namespace-nowhere", &sha])
        }),
        Case::new("invalid-name", |r, _| {
            r.write("app/upper.yaml", &configmap("Bad_Name", ""));
            let sha = r.commit("a name the API server refuses");
            expect(&["Bad_Name", &sha])
        }),
        Case::new("secret-bad-base64", |r, _| {
            r.write(
                "app/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-bad-base64-s\ndata:\n  token: '!!not*base64!!'\n",
            );
            let sha = r.commit("a Secret with bad base64");
            expect(&["secret-bad-base64-s", &sha])
        }),
        Case::new("deployment-no-selector", |r, _| {
            r.write(
                "app/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: noselector\nspec:\n  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - name: c\n        image: nginx\n",
            );
            let sha = r.commit("a Deployment without a selector");
            expect(&["noselector", &sha])
        }),
    ]
}

fn kustomize_cases() -> Vec<Case> {
    vec![
        Case::new("kust-missing-file", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "missing.yaml"], ""),
            );
            let sha = r.commit("a missing resource");
            expect(&["missing.yaml", &sha])
        }),
        Case::new("kust-cycle", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "../loop"], ""),
            );
            r.write("loop/kustomization.yaml", &kustomization(&["../app"], ""));
            let sha = r.commit("app -> loop -> app");
            expect(&["loop|cycle", &sha])
        }),
        Case::new("kust-dotdot", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "../../../../../../etc/passwd"], ""),
            );
            let sha = r.commit("escape with ../");
            expect(&["etc/passwd", &sha])
        }),
        Case::new("kust-absolute", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "/etc/hostname"], ""),
            );
            let sha = r.commit("an absolute resource");
            expect(&["/etc/hostname", &sha])
        }),
        Case::new("kust-unknown-field", |r, _| {
            r.write(
                "app/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresourcez:\n- keep.yaml\n",
            );
            let sha = r.commit("a misspelt field");
            expect(&["resourcez", &sha])
        }),
        Case::new("kust-remote-base", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(
                    &[
                        "keep.yaml",
                        "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0",
                    ],
                    "",
                ),
            );
            let sha = r.commit("a remote base");
            expect(&["github.com/kubernetes-sigs/kustomize", &sha])
        }),
        Case::new("kust-helm-charts", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(
                    &["keep.yaml"],
                    "helmCharts:\n- name: podinfo\n  repo: http://127.0.0.1:1/charts\n  version: 1.0.0\n",
                ),
            );
            let sha = r.commit("helmCharts without an external kustomize");
            expect(&["helm", &sha])
        }),
        Case::new("kust-patch-no-target", |r, _| {
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml"], "patches:\n- path: patch.yaml\n"),
            );
            r.write(
                "app/patch.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nope-not-here\nspec:\n  replicas: 2\n",
            );
            let sha = r.commit("a patch whose target does not exist");
            expect(&["nope-not-here", &sha])
        }),
        Case::new("kust-invalid-yaml", |r, _| {
            r.write("app/kustomization.yaml", "resources: [keep.yaml\n");
            let sha = r.commit("an unparsable kustomization");
            expect(&["kustomization.yaml", &sha])
        }),
    ]
}

fn path_cases() -> Vec<Case> {
    vec![
        Case::new("symlink-file-out", |r, _| {
            r.symlink("app/passwd.yaml", "/etc/passwd");
            let sha = r.commit("a symlink to a file outside the repo");
            expect(&["passwd.yaml", &sha[..7]])
        }),
        Case::new("symlink-relative-out", |r, _| {
            r.symlink("app/up.yaml", "../../../../../../../etc/passwd");
            let sha = r.commit("a relative symlink out of the repo");
            expect(&["up.yaml", &sha[..7]])
        }),
        Case::new("symlink-dir-out", |r, _| {
            r.symlink("app/etc", "/etc");
            r.write(
                "app/kustomization.yaml",
                &kustomization(&["keep.yaml", "etc"], ""),
            );
            let sha = r.commit("a symlinked directory outside the repo");
            expect(&["etc", &sha[..7]])
        }),
        Case::new("symlink-source-path", |r, _| {
            r.symlink("outside", "/etc");
            r.commit("a symlinked directory as the path");
            patch(
                json!({"spec": {"source": {"path": "outside"}}}),
                &["outside"],
            )
        }),
        Case::new("path-dotdot", |_, _| {
            patch(
                json!({"spec": {"source": {"path": "../../../../etc"}}}),
                &["../../../../etc"],
            )
        }),
        // Like Argo CD, an absolute path is taken from the repository root.
        Case::new("path-absolute", |_, _| {
            patch(
                json!({"spec": {"source": {"path": "/etc"}}}),
                &["path \"etc\""],
            )
        }),
        Case::new("path-missing", |_, _| {
            patch(
                json!({"spec": {"source": {"path": "no/such/dir"}}}),
                &["no/such/dir"],
            )
        }),
        Case::new("path-is-file", |_, _| {
            patch(
                json!({"spec": {"source": {"path": "app/keep.yaml"}}}),
                &["app/keep.yaml"],
            )
        }),
        Case::new("path-deleted", |r, _| {
            r.remove("app");
            r.write("elsewhere/readme.md", "moved away\n");
            let sha = r.commit("the path is gone");
            expect(&["app", &sha])
        }),
        Case::new("path-emptied", |r, _| {
            r.remove("app/keep.yaml");
            r.write("app/README.md", "nothing to deploy\n");
            r.commit("the path renders nothing");
            expect(&["allowEmpty"])
        }),
    ]
}

fn size_cases() -> Vec<Case> {
    vec![
        Case::new("file-50mb", |r, _| {
            let mut big = String::from(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  v: \"",
            );
            big.push_str(&"x".repeat(50 * 1024 * 1024));
            big.push_str("\"\n");
            bad_file(r, "big.yaml", &big)
        }),
        Case::new("million-lines", |r, _| {
            let mut text = String::from(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: million\ndata:\n",
            );
            for i in 0..1_000_000 {
                text.push_str(&format!("  k{i}: v\n"));
            }
            r.write("app/million.yaml", &text);
            let sha = r.commit("a million lines");
            expect(&["million", &sha])
        }),
        Case::new("alias-bomb", |r, _| {
            let mut bomb = String::from(
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
            );
            let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
            let mut prev = "a";
            for name in names {
                let refs = vec![format!("*{prev}"); 9].join(",");
                bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
                prev = name;
            }
            let doc = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n    x: y\n{bomb}"
            );
            bad_file(r, "bomb.yaml", &doc)
        }),
        Case::new("deep-yaml", |r, _| {
            let depth = 100_000;
            let doc = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            bad_file(r, "deep.yaml", &doc)
        }),
        Case::new("deep-json", |r, _| {
            let depth = 100_000;
            let doc = format!(
                "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"deepj\"}},\"data\":{}1{}}}",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            );
            bad_file(r, "deep.json", &doc)
        }),
    ]
}

fn source_cases() -> Vec<Case> {
    vec![
        Case::new("revision-missing", |_, _| {
            patch(
                json!({"spec": {"source": {"targetRevision": "no-such-branch"}}}),
                &["no-such-branch"],
            )
        }),
        Case::new("revision-unknown-sha", |_, _| {
            let sha = "0123456789abcdef0123456789abcdef01234567";
            patch(json!({"spec": {"source": {"targetRevision": sha}}}), &[sha])
        }),
        Case::new("repo-missing", |_, e| {
            let url = (e.git_url)("does/not-exist");
            patch(
                json!({"spec": {"source": {"repoURL": url}}}),
                &["not-exist"],
            )
        }),
        Case::new("wrong-credentials", |r, e| {
            let url = (e.http_url)(r.name());
            patch(json!({"spec": {"source": {"repoURL": url}}}), &[&url])
        }),
        Case::new("unreachable-host", |_, e| {
            let url = format!("http://127.0.0.1:{}/repo.git", e.closed_port);
            patch(json!({"spec": {"source": {"repoURL": url}}}), &[&url])
        }),
        Case::new("silent-server", |_, e| {
            let url = format!("http://{}/repo.git", e.black_hole);
            patch(json!({"spec": {"source": {"repoURL": url}}}), &[&url])
        })
        .slow(),
        Case::new("endless-pack", |_, e| {
            let url = format!("http://{}/repo.git", e.endless_pack);
            patch(json!({"spec": {"source": {"repoURL": url}}}), &[&url])
        })
        .slow(),
    ]
}

fn project_cases() -> Vec<Case> {
    vec![
        Case::new("no-destination", |_, _| {
            patch(json!({"spec": {"destination": null}}), &["destination"])
        }),
        Case::new("unknown-project", |_, _| {
            patch(
                json!({"spec": {"project": "no-such-project"}}),
                &["no-such-project"],
            )
        }),
        Case::new("project-forbids-destination", |_, _| {
            patch(json!({"spec": {"project": "bi-other"}}), &["bi-other"])
        }),
        Case::new("project-forbids-repo", |_, _| {
            patch(json!({"spec": {"project": "bi-norepo"}}), &["bi-norepo"])
        }),
        Case::new("project-forbids-cluster-kind", |r, _| {
            r.write(
                "app/role.yaml",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: bi-project-forbids-cluster-kind\nrules: []\n",
            );
            r.commit("a cluster-scoped object the project forbids");
            expect(&["ClusterRole", "bi-narrow"])
        })
        .project("bi-narrow"),
        Case::new("project-denies-kind", |r, _| {
            r.write(
                "app/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: denied\nstringData:\n  k: v\n",
            );
            r.commit("a kind the project denies");
            expect(&["Secret", "bi-narrow"])
        })
        .project("bi-narrow"),
        Case::new("project-object-namespace", |r, e| {
            r.write(
                "app/escape.yaml",
                &configmap("escape", &format!("  namespace: {}\n", e.other)),
            );
            r.commit("an object in another namespace");
            expect(&[&e.other, "bi-narrow"])
        })
        .project("bi-narrow"),
        Case::new("child-app-escapes", |r, e| {
            let child = format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: bi-child-escape\n  namespace: {}\nspec:\n  project: default\n  source:\n    repoURL: {}\n    targetRevision: main\n    path: app\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {}\n",
                e.apps_ns,
                (e.git_url)(r.name()),
                e.other
            );
            r.write("app/child.yaml", &child);
            r.commit("a child Application outside the project");
            expect(&["bi-child-escape", "bi-narrow"])
        })
        .project("bi-narrow"),
    ]
}

fn shrink_cases() -> Vec<Case> {
    vec![
        Case::new("far-fewer-objects", |r, _| {
            for i in 0..10 {
                r.remove(&format!("app/extra-{i}.yaml"));
            }
            r.commit("ten of eleven objects vanish");
            Break {
                patch: None,
                expect: Expect::OutOfSync,
            }
        })
        .no_prune()
        .setup(|r, _| {
            for i in 0..10 {
                r.write(
                    &format!("app/extra-{i}.yaml"),
                    &configmap(&format!("far-fewer-objects-extra-{i}"), ""),
                );
            }
        }),
    ]
}
