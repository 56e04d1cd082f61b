//! A chart in a real Git repository (git daemon on 127.0.0.1, read through
//! driftless-source's mirror): its dependency fetched from a real chart
//! repository with basic auth, value files from elsewhere in the
//! repository, and nothing in the repository able to make helm run a
//! program or read outside it.

mod common;

use std::sync::Arc;

use common::{config_data, kinds_and_names, renderer};
use driftless_helm::{ChartSource, Credentials, FileRef, HelmError, TemplateOptions, TreeChart};
use driftless_source::credentials::NoCredentials;
use driftless_source::{GitTree, MirrorCache, Options};
use driftless_testkit::git::{GitServer, GitServerOptions, TestRepo};
use driftless_testkit::helm::{ChartRepo, ChartSpec};

const APP_CHART: &str = "apiVersion: v2\nname: app\nversion: 0.3.0\ndependencies:\n  - name: lib\n    version: \"^1.0.0\"\n    repository: REPO\n";

const APP_CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\ndata:\n  env: {{ .Values.env | quote }}\n";

/// Reads commit `sha` of `repo` through a fresh mirror cache below `dir`.
async fn tree_of(
    server: &GitServer,
    repo: &TestRepo,
    sha: &str,
    dir: &std::path::Path,
) -> (String, GitTree) {
    let cache = MirrorCache::new(
        dir.join("mirrors"),
        Arc::new(NoCredentials),
        Options::default(),
    )
    .unwrap();
    let url = server.git_url(repo.name());
    cache.resolve(&url, sha, true).await.unwrap();
    let tree = cache.tree(&url, sha).unwrap();
    (url, tree)
}

/// A chart repository (basic auth) serving `lib` 1.0.0 and 1.1.0.
fn lib_repo(work: &std::path::Path) -> ChartRepo {
    let repo = ChartRepo::start(Some(("deps", "dep-secret")));
    for version in ["1.0.0", "1.1.0"] {
        let templates = &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib-{{ .Chart.Version }}\n",
        )];
        repo.add(&ChartSpec::new("lib", version, "", templates).package(&work.join("packages")));
    }
    repo
}

#[tokio::test]
async fn a_git_chart_builds_its_dependencies_with_only_their_credentials() {
    let work = tempfile::tempdir().unwrap();
    let charts = lib_repo(work.path());
    let server = GitServer::start_with(GitServerOptions::default()).await;
    let repo = server.create_repo("platform");
    repo.write(
        "charts/app/Chart.yaml",
        &APP_CHART.replace("REPO", charts.url()),
    );
    repo.write("charts/app/values.yaml", "env: default\n");
    repo.write("charts/app/templates/cm.yaml", APP_CONFIGMAP);
    repo.write("envs/prod.yaml", "env: prod\n");
    let sha = repo.commit("app chart");
    let (url, tree) = tree_of(&server, &repo, &sha, work.path()).await;
    let renderer = renderer(work.path());
    let mut options = TemplateOptions::new("shop");
    options.value_files = vec![FileRef::Chart("../../envs/prod.yaml".into())];
    let chart = |credentials: Vec<(String, Credentials)>| {
        ChartSource::Tree(TreeChart {
            tree: &tree,
            path: "charts/app".into(),
            repo_url: url.clone(),
            revision: sha.clone(),
            dependency_credentials: credentials,
        })
    };

    let error = renderer.render(&chart(Vec::new()), &options).unwrap_err();
    assert!(
        matches!(
            error,
            HelmError::Helm {
                step: "dependency build",
                ..
            }
        ),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("chart charts/app version {sha} from {url}")),
        "{text}"
    );
    assert!(text.contains("401 Unauthorized"), "{text}");

    let wrong = vec![(charts.url().to_string(), Credentials::new("deps", "nope"))];
    let text = renderer
        .render(&chart(wrong), &options)
        .unwrap_err()
        .to_string();
    assert!(!text.contains("nope"), "the password leaked: {text}");

    let right = vec![(
        format!("{}/", charts.url()),
        Credentials::new("deps", "dep-secret"),
    )];
    let rendered = renderer.render(&chart(right.clone()), &options).unwrap();
    assert_eq!(rendered.version, "0.3.0");
    assert_eq!(
        kinds_and_names(&rendered.objects),
        [
            ("ConfigMap".into(), "lib-1.1.0".into()),
            ("ConfigMap".into(), "shop-app".into())
        ],
        "the dependency (highest ^1.0.0) and the chart's own object"
    );
    assert_eq!(config_data(&rendered.objects[1..])["env"], "prod");

    let requests = charts.requests();
    let again = renderer.render(&chart(right), &options).unwrap();
    assert!(again.cached);
    assert_eq!(
        charts.requests(),
        requests,
        "a cache hit builds no dependency"
    );
}

/// A legacy downloader plugin for `evil://` that creates `marker` when run.
fn write_evil_plugin(repo: &TestRepo, marker: &std::path::Path) {
    repo.write(
        "charts/app/plugins/evil/plugin.yaml",
        "name: evil\nversion: 0.1.0\nusage: evil\ndescription: evil\ncommand: \"$HELM_PLUGIN_DIR/run.sh\"\n\
         downloaders:\n  - command: run.sh\n    protocols: [evil]\n",
    );
    repo.write(
        "charts/app/plugins/evil/run.sh",
        &format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
    );
    let script = repo.work_path().join("charts/app/plugins/evil/run.sh");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
}

#[tokio::test]
async fn nothing_in_the_repository_makes_helm_run_a_program_or_read_outside_it() {
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("plugin-ran");
    let server = GitServer::start_with(GitServerOptions::default()).await;
    let repo = server.create_repo("hostile");
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n    repository: evil://x\n",
    );
    repo.write("charts/app/templates/cm.yaml", APP_CONFIGMAP);
    write_evil_plugin(&repo, &marker);
    repo.symlink("charts/app/templates/leak.yaml", "/etc/passwd");
    repo.write(
        "charts/safe/Chart.yaml",
        "apiVersion: v2\nname: safe\nversion: 0.1.0\n",
    );
    repo.write("charts/safe/values.yaml", "env: safe\n");
    repo.write("charts/safe/templates/cm.yaml", APP_CONFIGMAP);
    repo.symlink("charts/safe/templates/leak.yaml", "/etc/passwd");
    repo.symlink("charts/safe/passwd.yaml", "/etc/passwd");
    repo.write(
        "charts/escape/Chart.yaml",
        "apiVersion: v2\nname: escape\nversion: 0.1.0\ndependencies:\n  - name: up\n    version: 1.0.0\n    repository: file://../../../../etc\n",
    );
    let sha = repo.commit("hostile charts");

    // The control: helm given the repository's plugin directory runs it.
    let home = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(driftless_testkit::helm::binaries().helm)
        .args(["dependency", "build"])
        .arg(repo.work_path().join("charts/app"))
        .env_clear()
        .env("HOME", home.path())
        .env("HELM_PLUGINS", repo.work_path().join("charts/app/plugins"))
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(
        marker.exists(),
        "the control did not run the plugin: the test proves nothing"
    );
    std::fs::remove_file(&marker).unwrap();

    let (url, tree) = tree_of(&server, &repo, &sha, work.path()).await;
    let renderer = renderer(work.path());
    let chart = |path: &str| {
        ChartSource::Tree(TreeChart {
            tree: &tree,
            path: path.into(),
            repo_url: url.clone(),
            revision: sha.clone(),
            dependency_credentials: Vec::new(),
        })
    };
    let options = TemplateOptions::new("r");
    let error = renderer.render(&chart("charts/app"), &options).unwrap_err();
    assert!(
        matches!(
            error,
            HelmError::Helm {
                step: "dependency build",
                ..
            }
        ),
        "{error}"
    );
    assert!(!marker.exists(), "helm ran a plugin from the repository");

    // Symlinks out of the repository are neither rendered nor readable as values.
    let rendered = renderer.render(&chart("charts/safe"), &options).unwrap();
    assert_eq!(
        kinds_and_names(&rendered.objects),
        [("ConfigMap".into(), "r-app".into())]
    );
    let mut leaking = TemplateOptions::new("r");
    leaking.value_files = vec![FileRef::Chart("passwd.yaml".into())];
    let error = renderer
        .render(&chart("charts/safe"), &leaking)
        .unwrap_err()
        .to_string();
    assert!(error.contains("passwd.yaml"), "{error}");

    // A file:// dependency cannot reach outside the repository.
    let error = renderer
        .render(&chart("charts/escape"), &options)
        .unwrap_err()
        .to_string();
    assert!(error.contains("outside the repository root"), "{error}");
}

#[tokio::test]
async fn a_locked_dependency_build_is_reused_across_commits_and_values() {
    let work = tempfile::tempdir().unwrap();
    let charts = lib_repo(work.path());
    let server = GitServer::start_with(GitServerOptions::default()).await;
    let repo = server.create_repo("locked");
    repo.write(
        "charts/app/Chart.yaml",
        &APP_CHART.replace("REPO", charts.url()),
    );
    repo.write("charts/app/values.yaml", "env: default\n");
    repo.write("charts/app/templates/cm.yaml", APP_CONFIGMAP);
    // `helm dependency update` writes the Chart.lock a user commits.
    let home = tempfile::tempdir().unwrap();
    let app = repo.work_path().join("charts/app");
    let helm = |args: &[&std::ffi::OsStr]| driftless_testkit::helm::run_helm(home.path(), args);
    helm(&[
        "repo".as_ref(),
        "add".as_ref(),
        "deps".as_ref(),
        charts.url().as_ref(),
        "--username=deps".as_ref(),
        "--password=dep-secret".as_ref(),
    ]);
    helm(&["dependency".as_ref(), "update".as_ref(), app.as_os_str()]);
    std::fs::remove_dir_all(app.join("charts")).unwrap();
    assert!(app.join("Chart.lock").is_file());
    let first_sha = repo.commit("locked app chart");
    let renderer = renderer(work.path());
    let credentials = vec![(
        charts.url().to_string(),
        Credentials::new("deps", "dep-secret"),
    )];
    let render = |tree: &GitTree, sha: &str, options: &TemplateOptions<'_>| {
        let chart = ChartSource::Tree(TreeChart {
            tree,
            path: "charts/app".into(),
            repo_url: server.git_url(repo.name()),
            revision: sha.to_string(),
            dependency_credentials: credentials.clone(),
        });
        renderer.render(&chart, options).unwrap()
    };

    let (_, tree) = tree_of(&server, &repo, &first_sha, &work.path().join("a")).await;
    let mut options = TemplateOptions::new("shop");
    let first = render(&tree, &first_sha, &options);
    assert_eq!(first.objects[0].name(), "lib-1.1.0");
    let requests = charts.requests();
    assert!(requests > 0);

    options.parameters = vec![driftless_helm::Parameter::new("env", "changed")];
    let second = render(&tree, &first_sha, &options);
    assert!(!second.cached, "new values are a new render");
    assert_eq!(config_data(&second.objects[1..])["env"], "changed");
    assert_eq!(
        charts.requests(),
        requests,
        "the locked dependencies were reused"
    );

    repo.write("README.md", "unrelated change\n");
    let second_sha = repo.commit("unrelated");
    let (_, tree) = tree_of(&server, &repo, &second_sha, &work.path().join("b")).await;
    let third = render(&tree, &second_sha, &options);
    assert!(!third.cached, "a new commit is a new render");
    assert_eq!(
        kinds_and_names(&third.objects),
        kinds_and_names(&second.objects)
    );
    assert_eq!(charts.requests(), requests, "and still no fetch");
}
