//! `driftless diff` of Helm Applications as a user runs it: the built
//! binary with the pinned helm against the real control plane, the test
//! kit's chart repository (basic auth, an Argo CD repository Secret) and
//! Git server, after the controller synced them with the same helm.

mod common;

use std::path::Path;

use common::World;
use driftless_testkit::helm::{ChartRepo, ChartSpec, binaries, write_chart};

const USER: &str = "diff-reader";
const PASSWORD: &str = "diff-chart-pass";
const VALUES: &str = "greeting: hello\ntoken: none\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  \
    name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-token\n\
    data:\n  token: {{ .Values.token | b64enc | quote }}\n";

const TEMPLATES: &[(&str, &str)] = &[("configmap.yaml", CONFIGMAP), ("secret.yaml", SECRET)];

/// The chart `web` 1.0.0 written into `dir`.
fn web_chart(dir: &Path, values: &str) -> std::path::PathBuf {
    write_chart(dir, "web", "1.0.0", values, TEMPLATES)
}

/// A chart from the chart repository with `$values/envs/prod.yaml`.
fn remote_app(w: &World, charts: &str, values_repo: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: remote
  namespace: {ns}
spec:
  project: default
  sources:
    - repoURL: {charts}
      chart: web
      targetRevision: 1.0.0
      helm:
        valueFiles: [$values/envs/prod.yaml]
    - repoURL: {values}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated: {{}}
",
        ns = w.ns,
        values = w.git.git_url(values_repo),
        dest = w.dest,
    )
}

fn repo_secret(w: &World, url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: charts\n  namespace: {ns}\n  labels:\n    \
         argocd.argoproj.io/secret-type: repository\nstringData:\n  type: helm\n  url: {url}\n  \
         username: {USER}\n  password: {PASSWORD}\n",
        ns = w.ns
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helm_applications_diff_as_the_controller_renders_them() {
    let mut w = World::new("cli-helm").await;
    let work = tempfile::tempdir().expect("temp dir");
    let charts = ChartRepo::serve(
        &[ChartSpec::new("web", "1.0.0", VALUES, TEMPLATES)],
        Some((USER, PASSWORD)),
    );
    w.apply(&repo_secret(&w, charts.url()));
    let git = w.git.create_repo("cli/helm");
    git.write(
        "envs/prod.yaml",
        "greeting: hello-prod\ntoken: s3cr3t-first\n",
    );
    git.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    git.write("charts/web/values.yaml", VALUES);
    git.write("charts/web/templates/configmap.yaml", CONFIGMAP);
    git.write("charts/web/templates/secret.yaml", SECRET);
    git.commit("a chart and its values");
    let helm = binaries().helm;
    let helm_config = helm.clone();
    w.start_controller_with(move |c| c.helm = Some(helm_config))
        .await;
    w.apply(&remote_app(&w, charts.url(), "cli/helm"));
    w.apply(&format!(
        "{}  syncPolicy:\n    automated: {{}}\n",
        w.app("ingit", "cli/helm", "charts/web", false)
    ));
    w.wait_for("remote", "{.status.sync.status}", "Synced")
        .await;
    w.wait_for("ingit", "{.status.sync.status}", "Synced").await;
    // Nothing syncs while the diffs below look.
    w.stop_controller().await;
    let helm = helm.display().to_string();
    let diff = |name: &'static str, extra: Vec<String>| {
        let mut args = vec![
            "diff".to_string(),
            name.into(),
            "--helm".into(),
            helm.clone(),
        ];
        args.extend(extra);
        let w = &w;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            w.cli(&args).await
        }
    };

    for name in ["remote", "ingit"] {
        let same = diff(name, vec![]).await;
        assert_eq!(
            (same.code, same.stdout.as_str()),
            (0, ""),
            "{name} in sync: {same}"
        );
    }

    // A changed value in the ref source's Git repository.
    git.write(
        "envs/prod.yaml",
        "greeting: hello-changed\ntoken: s3cr3t-second\n",
    );
    git.commit("new values");
    let changed = diff("remote", vec![]).await;
    assert_eq!(changed.code, 1, "{changed}");
    assert!(
        changed.stdout.contains("-  greeting: hello-prod")
            && changed.stdout.contains("+  greeting: hello-changed"),
        "{changed}"
    );
    assert!(
        changed.stdout.contains("remote-token"),
        "the Secret differs: {changed}"
    );
    for secret in ["s3cr3t-first", "s3cr3t-second"] {
        let encoded = ["czNjcjN0LWZpcnN0", "czNjcjN0LXNlY29uZA=="];
        let leaked = |text: &str| text.contains(secret) || encoded.iter().any(|e| text.contains(e));
        assert!(
            !leaked(&changed.stdout) && !leaked(&changed.stderr),
            "{changed}"
        );
    }

    // A working copy of the chart in Git: rendered before any push.
    let local = web_chart(
        &work.path().join("working-copy"),
        "greeting: from-the-working-copy\ntoken: none\n",
    );
    let what_if = diff("ingit", vec!["--local".into(), local.display().to_string()]).await;
    assert_eq!(what_if.code, 1, "{what_if}");
    assert!(
        what_if.stdout.contains("-  greeting: hello")
            && what_if
                .stdout
                .contains("+  greeting: from-the-working-copy"),
        "{what_if}"
    );

    // A chart version the repository does not have.
    w.kubectl(&[
        "-n",
        &w.ns,
        "patch",
        "application",
        "remote",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/sources/0/targetRevision","value":"9.9.9"}]"#,
    ]);
    let unknown = diff("remote", vec![]).await;
    assert_eq!(unknown.code, 2, "{unknown}");
    assert!(
        unknown.stderr.contains("chart web") && unknown.stderr.contains("9.9.9"),
        "{unknown}"
    );
    assert!(!unknown.stderr.contains(PASSWORD), "{unknown}");
}
