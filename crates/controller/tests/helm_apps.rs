//! Helm charts in Argo CD Applications, end to end: a chart from a chart
//! repository with basic auth (a `type: helm` repository Secret), from an
//! OCI registry (a `repo-creds` credential template), and from a Git path;
//! a multi-source Application whose value file comes from Git (`$values`);
//! a Helm chart generating child Applications; and bad input that must
//! leave the deployed objects alone.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use common::{Harness, eventually, revision_of};
use driftless_api::{Application, condition};
use driftless_testkit::helm::{
    ChartRepo, ChartSpec, OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER, binaries, run_helm,
    write_chart,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

const USER: &str = "chart-reader";
const PASSWORD: &str = "s3cret-chart-pass";

/// The values of chart `web`.
const WEB_VALUES: &str = "greeting: hello\nport: 80\n";
/// The template of chart `web`: one ConfigMap built from values, release
/// data and capabilities.
const WEB: &[(&str, &str)] = &[(
    "configmap.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n\
     data:\n  greeting: {{ .Values.greeting | quote }}\n  chart: {{ .Chart.Version | quote }}\n  \
     port: {{ .Values.port | quote }}\n  portType: {{ kindOf .Values.port | quote }}\n  \
     namespace: {{ .Release.Namespace | quote }}\n  \
     kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
     argo: {{ .Capabilities.APIVersions.Has \"argoproj.io/v1alpha1\" | quote }}\n",
)];

/// The chart `web` at `version`, to publish.
fn web(version: &str) -> ChartSpec<'_> {
    ChartSpec::new("web", version, WEB_VALUES, WEB)
}

/// The chart `web` at `version` written into `dir` (for Git, or to run
/// helm on directly).
fn web_chart(dir: &Path, version: &str) -> std::path::PathBuf {
    write_chart(dir, "web", version, WEB_VALUES, WEB)
}

/// A repository with basic auth serving `web` 1.0.0 and 1.1.0.
fn chart_repo() -> ChartRepo {
    ChartRepo::serve(&[web("1.0.0"), web("1.1.0")], Some((USER, PASSWORD)))
}

async fn harness(prefix: &str) -> Harness {
    harness_polling(prefix, Duration::from_secs(2)).await
}

async fn harness_polling(prefix: &str, requeue: Duration) -> Harness {
    let mut h = Harness::new(prefix).await;
    let mut config = h.config(requeue);
    config.helm = Some(binaries().helm);
    h.start_controller_with(config).await;
    h
}

/// An Argo CD repository Secret (`repository` or `repo-creds`).
fn repo_secret(name: &str, ns: &str, kind: &str, data: &[(&str, &str)]) -> String {
    let data: String = data
        .iter()
        .map(|(k, v)| format!("  {k}: {v:?}\n"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    \
         argocd.argoproj.io/secret-type: {kind}\nstringData:\n  type: helm\n{data}"
    )
}

fn chart_app(
    name: &str,
    ns: &str,
    repo: &str,
    chart: &str,
    version: &str,
    dest: &str,
    helm: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  source:
    repoURL: {repo}
    chart: {chart}
    targetRevision: {version:?}
{helm}  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"
    )
}

async fn config_data(
    h: &Harness,
    ns: &str,
    name: &str,
) -> std::collections::BTreeMap<String, String> {
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), ns);
    api.get(name).await.unwrap().data.unwrap_or_default()
}

/// Waits until the ConfigMap `name` has `key` = `value`.
async fn wait_config(h: &Harness, ns: &str, name: &str, key: &str, value: &str) {
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), ns);
    eventually(&format!("ConfigMap {ns}/{name} with {key}={value}"), || {
        let api = api.clone();
        async move {
            let cm = api.get_opt(name).await.ok().flatten()?;
            (cm.data?.get(key).map(String::as_str) == Some(value)).then_some(())
        }
    })
    .await;
}

/// Waits until the Application has a condition of `type_` whose message
/// holds every one of `parts`.
async fn wait_condition(h: &Harness, name: &str, type_: &str, parts: &[&str]) -> Application {
    h.wait_app(name, &format!("{type_} naming {parts:?}"), |app| {
        app.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == type_ && parts.iter().all(|p| c.message.contains(p)))
        })
    })
    .await
}

/// A chart from `chart_repo` with its values from `$values/envs/{name}.yaml`.
fn multi_source_app(
    h: &Harness,
    name: &str,
    chart_repo: &str,
    values_repo: &str,
    dest: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  sources:
    - repoURL: {chart_repo}
      chart: web
      targetRevision: ^1.0
      helm:
        valueFiles: [$values/envs/{name}.yaml]
    - repoURL: {values_repo}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated: {{}}
",
        ns = h.apps_ns,
    )
}

fn patch_app(h: &Harness, name: &str, patch: &str) {
    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "patch",
        "application",
        name,
        "--type",
        "merge",
        "-p",
        patch,
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chart_repository_with_auth_syncs_follows_version_bumps_and_survives_bad_input() {
    let h = harness("helm-repo").await;
    let dest = h.namespace("helm-repo-dest").await;
    let repo = chart_repo();
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repository",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    let helm = "    helm:\n      parameters:\n        - name: port\n          value: \"8080\"\n          \
                forceString: true\n";
    h.apply(&chart_app(
        "shop",
        &h.apps_ns,
        repo.url(),
        "web",
        "1.0.0",
        &dest,
        helm,
    ));
    let app = h.wait_synced_healthy("shop", Some("1.0.0")).await;
    let status = app.status.unwrap();
    assert_eq!(status.source_type.as_deref(), Some("Helm"));
    let data = config_data(&h, &dest, "shop-config").await;
    assert_eq!(data["chart"], "1.0.0");
    assert_eq!(data["port"], "8080");
    assert_eq!(data["portType"], "string", "forceString keeps it a string");
    assert_eq!(
        data["namespace"], dest,
        "the release namespace is the destination"
    );
    let cluster = h.client.apiserver_version().await.unwrap().git_version;
    assert_eq!(
        data["kube"], cluster,
        "templates see the cluster's version, as in Argo CD"
    );

    assert_eq!(
        data["argo"], "true",
        "templates see the cluster's API versions"
    );

    // The objects are exactly helm template's, run directly on the same
    // chart with the same inputs (the cluster's version and API versions).
    let home = tempfile::tempdir().unwrap();
    let src = web_chart(home.path(), "1.0.0");
    let mut args: Vec<String> = vec![
        "template".into(),
        "shop".into(),
        src.display().to_string(),
        format!("--namespace={dest}"),
        format!("--kube-version={cluster}"),
        "--set-string=port=8080".into(),
    ];
    let core = h.client.list_core_api_versions().await.unwrap().versions;
    let groups = h.client.list_api_groups().await.unwrap().groups;
    let versions = groups
        .into_iter()
        .flat_map(|g| g.versions.into_iter().map(|v| v.group_version));
    args.extend(
        core.into_iter()
            .chain(versions)
            .map(|v| format!("--api-versions={v}")),
    );
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let expected = run_helm(home.path(), &args);
    for (key, value) in &data {
        assert!(
            expected.contains(&format!("{key}: {value:?}")),
            "{key}={value} not in helm template's output:\n{expected}"
        );
    }

    // A version bump in targetRevision updates the objects.
    patch_app(
        &h,
        "shop",
        r#"{"spec":{"source":{"targetRevision":"1.1.0"}}}"#,
    );
    h.wait_synced_healthy("shop", Some("1.1.0")).await;
    wait_config(&h, &dest, "shop-config", "chart", "1.1.0").await;

    // A version that does not exist: a condition naming chart and version,
    // and nothing pruned.
    patch_app(
        &h,
        "shop",
        r#"{"spec":{"source":{"targetRevision":"9.9.9"}}}"#,
    );
    wait_condition(&h, "shop", condition::COMPARISON_ERROR, &["web", "9.9.9"]).await;
    assert_eq!(
        config_data(&h, &dest, "shop-config").await["chart"],
        "1.1.0"
    );

    // A missing value file names the file; ignoreMissingValueFiles skips it.
    patch_app(
        &h,
        "shop",
        r#"{"spec":{"source":{"targetRevision":"^1.0","helm":{"valueFiles":["values-nope.yaml"]}}}}"#,
    );
    wait_condition(
        &h,
        "shop",
        condition::COMPARISON_ERROR,
        &["values-nope.yaml"],
    )
    .await;
    assert_eq!(
        config_data(&h, &dest, "shop-config").await["chart"],
        "1.1.0"
    );
    patch_app(
        &h,
        "shop",
        r#"{"spec":{"source":{"helm":{"ignoreMissingValueFiles":true}}}}"#,
    );
    h.wait_synced_healthy("shop", Some("1.1.0")).await;
    wait_condition(
        &h,
        "shop",
        condition::COMPARISON_WARNING,
        &["values-nope.yaml"],
    )
    .await;

    // A wrong password: a condition naming the chart, never the password.
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repository",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", "wrong-pass"),
        ],
    ));
    patch_app(
        &h,
        "shop",
        r#"{"spec":{"source":{"targetRevision":"1.0.0"}}}"#,
    );
    let app = wait_condition(&h, "shop", condition::COMPARISON_ERROR, &["web", "1.0.0"]).await;
    let text = serde_json::to_string(&app.status).unwrap();
    assert!(!text.contains("wrong-pass"), "the password leaked: {text}");
    assert_eq!(
        config_data(&h, &dest, "shop-config").await["chart"],
        "1.1.0"
    );

    // An unreachable repository: a condition naming it; the controller goes on.
    h.apply(&chart_app(
        "gone",
        &h.apps_ns,
        "http://127.0.0.1:9",
        "web",
        "1.0.0",
        &dest,
        "",
    ));
    wait_condition(
        &h,
        "gone",
        condition::COMPARISON_ERROR,
        &["web", "127.0.0.1:9"],
    )
    .await;
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repository",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    let app = h.wait_synced_healthy("shop", Some("1.0.0")).await;
    assert_eq!(revision_of(&app), Some("1.0.0"));
    wait_config(&h, &dest, "shop-config", "chart", "1.0.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oci_chart_with_a_credential_template_and_a_chart_in_git_sync() {
    let h = harness("helm-oci").await;
    let dest = h.namespace("helm-oci-dest").await;
    let work = tempfile::tempdir().unwrap();
    let registry = OciRegistry::start(true);
    registry.publish("charts", &[web("0.2.0")]);
    // A credential template for every repository of the registry.
    h.apply(&repo_secret(
        "registry",
        &h.apps_ns,
        "repo-creds",
        &[
            ("url", &format!("oci://{}", registry.host())),
            ("username", REGISTRY_USER),
            ("password", REGISTRY_PASSWORD),
            ("insecureOCIForceHttp", "true"),
        ],
    ));
    h.apply(&chart_app(
        "oci-web",
        &h.apps_ns,
        &registry.url("charts"),
        "web",
        "0.2.0",
        &dest,
        "",
    ));
    h.wait_synced_healthy("oci-web", Some("0.2.0")).await;
    assert_eq!(
        config_data(&h, &dest, "oci-web-config").await["chart"],
        "0.2.0"
    );

    // A chart in a Git path, with a value file beside it.
    let git = h.git.create_repo("helm/charts");
    let src = web_chart(&work.path().join("git"), "3.0.0");
    for file in ["Chart.yaml", "values.yaml", "templates/configmap.yaml"] {
        git.write(
            &format!("charts/web/{file}"),
            &std::fs::read_to_string(src.join(file)).unwrap(),
        );
    }
    git.write("charts/web/values-prod.yaml", "greeting: from-git\n");
    let sha = git.commit("chart");
    h.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: git-web
  namespace: {ns}
spec:
  source:
    repoURL: {url}
    targetRevision: main
    path: charts/web
    helm:
      releaseName: blog
      valueFiles: [values-prod.yaml]
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated: {{}}
",
        ns = h.apps_ns,
        url = h.git.git_url("helm/charts"),
    ));
    let app = h.wait_synced_healthy("git-web", Some(&sha)).await;
    assert_eq!(app.status.unwrap().source_type.as_deref(), Some("Helm"));
    let data = config_data(&h, &dest, "blog-config").await;
    assert_eq!(data["greeting"], "from-git");
    assert_eq!(data["chart"], "3.0.0");

    // A chart in Git whose dependency comes from a chart repository with
    // basic auth: the repository's credential template reaches helm.
    let repo = chart_repo();
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repo-creds",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    git.write(
        "umbrella/Chart.yaml",
        &format!(
            "apiVersion: v2\nname: umbrella\nversion: 0.5.0\ndependencies:\n  - name: web\n    \
             version: 1.1.0\n    repository: {}\n",
            repo.url()
        ),
    );
    git.write("umbrella/values.yaml", "web:\n  greeting: from-umbrella\n");
    let sha = git.commit("umbrella chart");
    h.apply(&common::application_yaml(
        "umbrella",
        &h.apps_ns,
        &h.git.git_url("helm/charts"),
        "umbrella",
        &dest,
        "  syncPolicy:\n    automated: {}\n",
    ));
    h.wait_synced_healthy("umbrella", Some(&sha)).await;
    let data = config_data(&h, &dest, "umbrella-config").await;
    assert_eq!(data["greeting"], "from-umbrella");
    assert_eq!(data["chart"], "1.1.0");

    // A template error: a condition naming the template; nothing pruned.
    git.write(
        "charts/web/templates/broken.yaml",
        "{{ .Values.nope.deeper }}\n",
    );
    git.commit("broken template");
    wait_condition(&h, "git-web", condition::COMPARISON_ERROR, &["broken.yaml"]).await;
    assert_eq!(
        config_data(&h, &dest, "blog-config").await["greeting"],
        "from-git"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ref_values_from_git_resync_and_a_helm_parent_generates_child_apps() {
    let h = harness("helm-ref").await;
    let dest = h.namespace("helm-ref-dest").await;
    let repo = chart_repo();
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repository",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    let values = h.git.create_repo("helm/values");
    values.write("envs/prod.yaml", "greeting: prod-1\n");
    let first = values.commit("values");
    h.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: multi
  namespace: {ns}
spec:
  sources:
    - repoURL: {chart_repo}
      chart: web
      targetRevision: ^1.0
      helm:
        valueFiles: [$values/envs/prod.yaml]
        valuesObject:
          port: 9090
    - repoURL: {git}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated: {{}}
",
        ns = h.apps_ns,
        chart_repo = repo.url(),
        git = h.git.git_url("helm/values"),
    ));
    let app = h.wait_synced_healthy("multi", Some("1.1.0")).await;
    let sync = app.status.unwrap().sync.unwrap();
    assert_eq!(sync.revisions, ["1.1.0".to_string(), first]);
    let data = config_data(&h, &dest, "multi-config").await;
    assert_eq!(data["greeting"], "prod-1");
    assert_eq!(data["port"], "9090");
    assert_eq!(
        data["portType"], "float64",
        "valuesObject numbers stay numbers"
    );

    // A values change in Git re-syncs the Application.
    values.write("envs/prod.yaml", "greeting: prod-2\n");
    let second = values.commit("values 2");
    wait_config(&h, &dest, "multi-config", "greeting", "prod-2").await;
    // The status naming the new commit is written just after the apply.
    h.wait_app(
        "multi",
        "Synced and Healthy at the new values commit",
        |app| {
            common::synced_healthy(app)
                && revision_of(app) == Some("1.1.0")
                && common::source_revision_of(app, 1) == Some(second.as_str())
        },
    )
    .await;

    // A new chart version in the range is picked up by polling.
    repo.publish(&[web("1.2.0")]);
    h.wait_synced_healthy("multi", Some("1.2.0")).await;
    wait_config(&h, &dest, "multi-config", "chart", "1.2.0").await;

    // App of Apps: a chart in Git whose templates are child Applications.
    let parent = h.git.create_repo("helm/parent");
    parent.write(
        "apps/Chart.yaml",
        "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
    );
    parent.write("apps/values.yaml", "children: [alpha, beta]\n");
    parent.write(
        "apps/templates/children.yaml",
        &format!(
            "{{{{- range .Values.children }}}}\n---\napiVersion: argoproj.io/v1alpha1\n\
             kind: Application\nmetadata:\n  name: child-{{{{ . }}}}\n  namespace: {ns}\nspec:\n  \
             source:\n    repoURL: {chart_repo}\n    chart: web\n    targetRevision: 1.0.0\n  \
             destination:\n    server: https://kubernetes.default.svc\n    namespace: {dest}\n  \
             syncPolicy:\n    automated: {{}}\n{{{{- end }}}}\n",
            ns = h.apps_ns,
            chart_repo = repo.url(),
        ),
    );
    let sha = parent.commit("parent chart");
    h.apply(&common::application_yaml(
        "root",
        &h.apps_ns,
        &h.git.git_url("helm/parent"),
        "apps",
        &h.apps_ns,
        "  syncPolicy:\n    automated: {}\n",
    ));
    h.wait_synced_healthy("root", Some(&sha)).await;
    for child in ["child-alpha", "child-beta"] {
        h.wait_synced_healthy(child, Some("1.0.0")).await;
        assert_eq!(
            config_data(&h, &dest, &format!("{child}-config")).await["chart"],
            "1.0.0"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_push_of_a_ref_value_file_refreshes_only_the_app_reading_it() {
    // Polling is effectively off: only the webhook can bring the push in.
    let h = harness_polling("helm-hook", Duration::from_secs(600)).await;
    let dest = h.namespace("helm-hook-dest").await;
    let repo = chart_repo();
    h.apply(&repo_secret(
        "charts",
        &h.apps_ns,
        "repository",
        &[
            ("url", repo.url()),
            ("username", USER),
            ("password", PASSWORD),
        ],
    ));
    let values = h.git.create_repo("helm/hook-values");
    values.write("envs/shop.yaml", "greeting: shop-1\n");
    values.write("envs/blog.yaml", "greeting: blog-1\n");
    let first = values.commit("values");
    let url = h.git.git_url("helm/hook-values");
    for name in ["shop", "blog"] {
        h.apply(&multi_source_app(&h, name, repo.url(), &url, &dest));
    }
    for name in ["shop", "blog"] {
        let app = h.wait_synced_healthy(name, Some("1.1.0")).await;
        assert_eq!(app.status.unwrap().sync.unwrap().revisions[1], first);
    }

    values.write("envs/shop.yaml", "greeting: shop-2\n");
    values.commit("shop values");
    let body = serde_json::json!({
        "repository": url,
        "ref": "refs/heads/main",
        "changedFiles": ["envs/shop.yaml"],
    })
    .to_string();
    let (code, body) = h.post_webhook(&body).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("refreshing 1 applications"), "{body}");
    wait_config(&h, &dest, "shop-config", "greeting", "shop-2").await;
    h.wait_synced_healthy("shop", Some("1.1.0")).await;
    // blog reads another file: not refreshed (the webhook said 1), unchanged.
    assert_eq!(
        config_data(&h, &dest, "blog-config").await["greeting"],
        "blog-1"
    );
}

/// The template of chart `kinds`: a ConfigMap telling which API versions,
/// with and without a kind, the templates see.
const KINDS: &[(&str, &str)] = &[(
    "configmap.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kinds\n\
     data:\n  chart: {{ .Chart.Version | quote }}\n  \
     deployment: {{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" | quote }}\n  \
     application: {{ .Capabilities.APIVersions.Has \"argoproj.io/v1alpha1/Application\" | quote }}\n  \
     apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n  \
     bogus: {{ .Capabilities.APIVersions.Has \"apps/v1/NoSuchKind\" | quote }}\n",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hard_refresh_renders_a_new_version_in_range_and_templates_see_kinds() {
    // Polling is as good as off: only the refresh makes it ask again.
    let h = harness_polling("helm-hard", Duration::from_secs(3600)).await;
    let dest = h.namespace("helm-hard-dest").await;
    let repo = ChartRepo::start(None);
    let publish = |version: &str| repo.publish(&[ChartSpec::new("kinds", version, "", KINDS)]);
    publish("1.0.0");
    h.apply(&chart_app(
        "ranged",
        &h.apps_ns,
        repo.url(),
        "kinds",
        "^1.0",
        &dest,
        "",
    ));
    h.wait_synced_healthy("ranged", Some("1.0.0")).await;
    let data = config_data(&h, &dest, "ranged-kinds").await;
    assert_eq!(data["chart"], "1.0.0");
    assert_eq!(data["apps"], "true", "group/version, as before");
    assert_eq!(data["deployment"], "true", "group/version/Kind, as Argo CD");
    assert_eq!(data["application"], "true", "a CRD's kind too");
    assert_eq!(data["bogus"], "false", "only kinds the cluster serves");

    // A new version in the range: a hard refresh reads the index again,
    // renders it and applies it.
    publish("1.1.0");
    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "annotate",
        "application",
        "ranged",
        "argocd.argoproj.io/refresh=hard",
    ]);
    h.wait_app("ranged", "hard-refreshed to 1.1.0", |a| {
        revision_of(a) == Some("1.1.0")
            && !a
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|m| m.contains_key("argocd.argoproj.io/refresh"))
    })
    .await;
    wait_config(&h, &dest, "ranged-kinds", "chart", "1.1.0").await;
}
