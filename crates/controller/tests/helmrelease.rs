//! Flux HelmReleases against the real control plane, a real chart
//! repository (basic auth), a real OCI registry and a real Git server:
//! charts from each source kind reach Ready, a version bump re-renders and
//! prunes, `valuesFrom` ConfigMaps and Secrets (whose values never reach
//! the status or events), `dependsOn`, and bad input (a missing version, a
//! template error, a wrong password) reported with nothing pruned.

mod common;
mod flux_common;

use common::Harness;
use driftless_api::flux::condition::find_condition;
use driftless_api::flux::helm::v2::HelmRelease;
use driftless_api::flux::source::helm::HelmRepository;
use driftless_testkit::helm::{self, ChartRepo, ChartSpec, OciRegistry, write_chart};
use flux_common::{await_artifact, copy_tree, git_repository_yaml};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;
use tokio::sync::OnceCell;

const CHART_USER: &str = "charts";
const CHART_PASSWORD: &str = "chart-repo-password";

static CRDS: OnceCell<()> = OnceCell::const_new();

/// A harness with every Flux CRD installed and the controller running
/// with the pinned helm.
async fn start(prefix: &str) -> Harness {
    let mut h = Harness::new(prefix).await;
    flux_common::install_flux_crds(h.cp).await;
    let cp = h.cp;
    CRDS.get_or_init(|| async move {
        tokio::task::spawn_blocking(move || {
            cp.install_crds(&[
                "helmrepositories.source.toolkit.fluxcd.io",
                "helmreleases.helm.toolkit.fluxcd.io",
            ])
        })
        .await
        .expect("installing the Helm CRDs");
    })
    .await;
    let mut config = h.config(std::time::Duration::from_secs(30));
    config.helm = Some(helm::binaries().helm);
    h.start_controller_with(config).await;
    h
}

/// The template of every chart here: a ConfigMap `<release>-cm` holding
/// `.Values.greeting`, the chart version and the release namespace.
const CM: (&str, &str) = (
    "cm.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n  namespace: {{ .Release.Namespace | quote }}\n",
);

/// Publishes chart `name` `version` ([`CM`] plus `extra` templates) to `repo`.
fn publish(repo: &ChartRepo, name: &str, version: &str, extra: &[(&str, &str)]) {
    let templates: Vec<(&str, &str)> = std::iter::once(CM).chain(extra.iter().copied()).collect();
    repo.publish(&[ChartSpec::new(
        name,
        version,
        "greeting: hello\n",
        &templates,
    )]);
}

fn helm_release_yaml(
    name: &str,
    ns: &str,
    dest: &str,
    chart: &str,
    source: (&str, &str),
    extra: &str,
) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1h
  timeout: 1m
  targetNamespace: {dest}
  chart:
    spec:
      chart: {chart}
      sourceRef:
        kind: {}
        name: {}
{extra}",
        source.0, source.1
    )
}

fn helm_repository_yaml(name: &str, ns: &str, url: &str, extra: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1h
  url: {url}
{extra}"
    )
}

fn basic_auth_secret(name: &str, ns: &str, user: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  username: {user}\n  password: {password}\n"
    )
}

/// The Ready condition as (status, reason, message).
fn ready(hr: &HelmRelease) -> Option<(String, String, String)> {
    let c = find_condition(&hr.status.as_ref()?.conditions, "Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits until the HelmRelease `ns/name` satisfies `pred`.
async fn wait_hr(
    h: &Harness,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&HelmRelease) -> bool,
) -> HelmRelease {
    let api: Api<HelmRelease> = Api::namespaced(h.client.clone(), ns);
    let started = std::time::Instant::now();
    let mut last = None;
    loop {
        if let Ok(Some(hr)) = api.get_opt(name).await {
            if pred(&hr) {
                return hr;
            }
            last = Some(hr);
        }
        assert!(
            started.elapsed() < common::TIMEOUT,
            "helmrelease {ns}/{name} did not become {what}; last status: {}",
            serde_json::to_string_pretty(&last.and_then(|h| h.status)).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

fn ready_with(reason: &'static str, revision: &'static str) -> impl Fn(&HelmRelease) -> bool {
    move |hr| {
        let applied = hr
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref());
        ready(hr).is_some_and(|r| r.0 == "True" && r.1 == reason) && applied == Some(revision)
    }
}

fn failed_with(reason: &'static str) -> impl Fn(&HelmRelease) -> bool {
    move |hr| {
        let current =
            hr.status.as_ref().and_then(|s| s.observed_generation) == hr.metadata.generation;
        current && ready(hr).is_some_and(|r| r.0 == "False" && r.1 == reason)
    }
}

async fn patch_hr(h: &Harness, ns: &str, name: &str, body: serde_json::Value) {
    let api: Api<HelmRelease> = Api::namespaced(h.client.clone(), ns);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("patching helmrelease {name}: {e}"));
}

async fn config_map(h: &Harness, ns: &str, name: &str) -> Option<ConfigMap> {
    Api::<ConfigMap>::namespaced(h.client.clone(), ns)
        .get_opt(name)
        .await
        .ok()
        .flatten()
}

async fn data_of(h: &Harness, ns: &str, name: &str, key: &str) -> Option<String> {
    config_map(h, ns, name).await?.data?.get(key).cloned()
}

async fn request_reconcile<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let body = json!({"metadata": {"annotations": {
        "reconcile.fluxcd.io/requestedAt": k8s_openapi::jiff::Timestamp::now().to_string()}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("asking {name} to reconcile: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chart_repository_release_installs_upgrades_and_reports_bad_input_without_pruning() {
    let h = start("hr-repo").await;
    let (ns, dest) = (h.apps_ns.clone(), h.namespace("hr-repo-dest").await);
    let extra = (
        "old.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-old\ndata: {}\n",
    );
    let repo = ChartRepo::start(Some((CHART_USER, CHART_PASSWORD)));
    publish(&repo, "web", "1.0.0", &[extra]);
    h.apply(&basic_auth_secret(
        "repo-auth",
        &ns,
        CHART_USER,
        CHART_PASSWORD,
    ));
    h.apply(&helm_repository_yaml(
        "charts",
        &ns,
        repo.url(),
        "  secretRef:\n    name: repo-auth\n",
    ));
    h.apply(&helm_release_yaml(
        "web",
        &ns,
        &dest,
        "web",
        ("HelmRepository", "charts"),
        "      version: \"^1.0\"\n",
    ));

    let hr = wait_hr(
        &h,
        &ns,
        "web",
        "installed",
        ready_with("InstallSucceeded", "1.0.0"),
    )
    .await;
    let release = format!("{dest}-web");
    assert!(
        ready(&hr).unwrap().2.contains(&format!("{dest}/{release}")),
        "{:?}",
        ready(&hr)
    );
    assert_eq!(
        data_of(&h, &dest, &format!("{release}-cm"), "greeting")
            .await
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        data_of(&h, &dest, &format!("{release}-cm"), "namespace")
            .await
            .as_deref(),
        Some(dest.as_str())
    );
    let cm = config_map(&h, &dest, &format!("{release}-cm"))
        .await
        .expect("the ConfigMap");
    assert_eq!(
        cm.metadata
            .labels
            .unwrap_or_default()
            .get("helm.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("web")
    );
    assert!(
        config_map(&h, &dest, &format!("{release}-old"))
            .await
            .is_some()
    );
    let repos: Api<HelmRepository> = Api::namespaced(h.client.clone(), &ns);
    let index = repos
        .get("charts")
        .await
        .expect("the HelmRepository")
        .status
        .and_then(|s| s.artifact);
    assert!(
        index.is_some_and(|a| a.revision.starts_with("sha256:")),
        "the index digest is the artifact revision"
    );

    // A version bump re-renders, and what the new version no longer renders is pruned.
    publish(&repo, "web", "1.1.0", &[]);
    request_reconcile(&repos, "charts").await;
    patch_hr(
        &h,
        &ns,
        "web",
        json!({"spec": {"chart": {"spec": {"version": "1.1.0"}}}}),
    )
    .await;
    wait_hr(
        &h,
        &ns,
        "web",
        "upgraded",
        ready_with("UpgradeSucceeded", "1.1.0"),
    )
    .await;
    assert_eq!(
        data_of(&h, &dest, &format!("{release}-cm"), "version")
            .await
            .as_deref(),
        Some("1.1.0")
    );
    common::eventually("the ConfigMap 1.1.0 no longer renders is pruned", || {
        let (h, dest, name) = (&h, dest.clone(), format!("{release}-old"));
        async move { config_map(h, &dest, &name).await.is_none().then_some(()) }
    })
    .await;

    // A version that does not exist: ArtifactFailed naming chart and version; nothing pruned.
    patch_hr(
        &h,
        &ns,
        "web",
        json!({"spec": {"chart": {"spec": {"version": "9.9.9"}}}}),
    )
    .await;
    let hr = wait_hr(
        &h,
        &ns,
        "web",
        "failed on a missing version",
        failed_with("ArtifactFailed"),
    )
    .await;
    let message = ready(&hr).unwrap().2;
    assert!(
        message.contains("web") && message.contains("9.9.9"),
        "{message}"
    );
    assert!(
        config_map(&h, &dest, &format!("{release}-cm"))
            .await
            .is_some(),
        "nothing pruned"
    );
    assert_eq!(
        hr.status.unwrap().last_applied_revision.as_deref(),
        Some("1.1.0")
    );

    // A template error: UpgradeFailed naming chart and version; nothing pruned.
    let broken = ("broken.yaml", "{{ .Values.greeting | nosuchfunction }}\n");
    publish(&repo, "web", "1.2.0", &[broken]);
    request_reconcile(&repos, "charts").await;
    patch_hr(
        &h,
        &ns,
        "web",
        json!({"spec": {"chart": {"spec": {"version": "1.2.0"}}}}),
    )
    .await;
    let hr = wait_hr(
        &h,
        &ns,
        "web",
        "failed on a template error",
        failed_with("UpgradeFailed"),
    )
    .await;
    let message = ready(&hr).unwrap().2;
    assert!(
        message.contains("web") && message.contains("1.2.0") && message.contains("template"),
        "{message}"
    );
    assert_eq!(
        data_of(&h, &dest, &format!("{release}-cm"), "version")
            .await
            .as_deref(),
        Some("1.1.0")
    );

    // A wrong password: the HelmRepository and then the release fail; the password is never shown.
    h.apply(&basic_auth_secret(
        "repo-auth",
        &ns,
        CHART_USER,
        "not-the-password",
    ));
    request_reconcile(&repos, "charts").await;
    common::eventually("the HelmRepository fails with the wrong password", || {
        let repos = repos.clone();
        async move {
            let r = repos.get("charts").await.ok()?;
            let c = find_condition(&r.status?.conditions, "Ready")?.clone();
            (c.status == "False").then_some(c.message)
        }
    })
    .await;
    patch_hr(
        &h,
        &ns,
        "web",
        json!({"spec": {"chart": {"spec": {"version": "1.1.0"}}}}),
    )
    .await;
    let hr = wait_hr(
        &h,
        &ns,
        "web",
        "failed on the wrong password",
        failed_with("ArtifactFailed"),
    )
    .await;
    let message = ready(&hr).unwrap().2;
    assert!(
        message.contains("web@1.1.0") && message.contains("charts"),
        "{message}"
    );
    assert!(
        !message.contains("not-the-password") && !message.contains(CHART_PASSWORD),
        "{message}"
    );
    assert!(
        config_map(&h, &dest, &format!("{release}-cm"))
            .await
            .is_some(),
        "nothing pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn charts_from_an_oci_registry_and_a_git_path_reach_ready() {
    let h = start("hr-oci").await;
    let (ns, dest) = (h.apps_ns.clone(), h.namespace("hr-oci-dest").await);
    let work = tempfile::tempdir().expect("work dir");
    let registry = OciRegistry::start(true);
    registry.publish(
        "charts",
        &[ChartSpec::new("api", "2.0.0", "greeting: hello\n", &[CM])],
    );
    let credentials = (helm::REGISTRY_USER, helm::REGISTRY_PASSWORD);
    h.apply(&basic_auth_secret(
        "oci-auth",
        &ns,
        credentials.0,
        credentials.1,
    ));
    h.apply(&helm_repository_yaml(
        "oci",
        &ns,
        &registry.url("charts"),
        "  type: oci\n  insecure: true\n  secretRef:\n    name: oci-auth\n",
    ));
    h.apply(&helm_release_yaml(
        "api",
        &ns,
        &dest,
        "api",
        ("HelmRepository", "oci"),
        "      version: \"2.0.0\"\n  releaseName: api\n",
    ));
    wait_hr(
        &h,
        &ns,
        "api",
        "installed from OCI",
        ready_with("InstallSucceeded", "2.0.0"),
    )
    .await;
    assert_eq!(
        data_of(&h, &dest, "api-cm", "version").await.as_deref(),
        Some("2.0.0")
    );

    // Drift on an applied object is reverted.
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let drift = json!({"data": {"version": "edited by hand"}});
    cms.patch("api-cm", &PatchParams::default(), &Patch::Merge(&drift))
        .await
        .expect("editing the ConfigMap");
    common::eventually("the drift is reverted", || {
        let (h, dest) = (&h, dest.clone());
        async move {
            let v = data_of(h, &dest, "api-cm", "version").await;
            (v.as_deref() == Some("2.0.0")).then_some(())
        }
    })
    .await;

    // A field driftless does not know stops the release, naming the field.
    h.apply(&helm_release_yaml(
        "odd",
        &ns,
        &dest,
        "api",
        ("HelmRepository", "oci"),
        "  commonMetadata:\n    labels:\n      team: a\n",
    ));
    let hr = wait_hr(&h, &ns, "odd", "stalled", failed_with("UnsupportedField")).await;
    assert!(
        ready(&hr).unwrap().2.contains("spec.commonMetadata"),
        "{:?}",
        ready(&hr)
    );
    assert!(
        config_map(&h, &dest, &format!("{dest}-odd-cm"))
            .await
            .is_none()
    );

    // A chart directory of a GitRepository, with a values file of the chart.
    let git = h.git.create_repo("hr-oci/site");
    let site = write_chart(
        work.path(),
        "site",
        "0.3.0",
        "greeting: from-git\n",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
        )],
    );
    std::fs::write(
        site.join("values-prod.yaml"),
        "greeting: from-prod-values\n",
    )
    .expect("values file");
    copy_tree(&git, &site, "charts/site");
    h.apply(&git_repository_yaml(
        "site",
        &ns,
        &h.git.git_url("hr-oci/site"),
    ));
    git.commit("the site chart");
    await_artifact(&h, &ns, "site", &git).await;
    h.apply(&helm_release_yaml(
        "site",
        &ns,
        &dest,
        "./charts/site",
        ("GitRepository", "site"),
        "      valuesFiles: [values-prod.yaml]\n",
    ));
    let hr = wait_hr(&h, &ns, "site", "installed from Git", |hr| {
        ready(hr).is_some_and(|r| r.0 == "True" && r.1 == "InstallSucceeded")
    })
    .await;
    let sha = git.head();
    assert_eq!(
        hr.status.unwrap().last_applied_revision,
        Some(format!("0.3.0+{}", &sha[..12]))
    );
    assert_eq!(
        data_of(&h, &dest, &format!("{dest}-site-cm"), "greeting")
            .await
            .as_deref(),
        Some("from-prod-values")
    );

    // Deleting a HelmRelease deletes what it applied (as `helm uninstall`).
    Api::<HelmRelease>::namespaced(h.client.clone(), &ns)
        .delete("site", &Default::default())
        .await
        .expect("deleting the HelmRelease");
    common::eventually("the release's objects are deleted with it", || {
        let (h, dest) = (&h, dest.clone());
        async move {
            let gone = config_map(h, &dest, &format!("{dest}-site-cm"))
                .await
                .is_none();
            gone.then_some(())
        }
    })
    .await;
    assert!(
        config_map(&h, &dest, "api-cm").await.is_some(),
        "another release's objects stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_from_config_maps_and_secrets_and_depends_on() {
    let h = start("hr-values").await;
    let (ns, dest) = (h.apps_ns.clone(), h.namespace("hr-values-dest").await);
    let repo = ChartRepo::start(None);
    let token = (
        "token.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-token\nstringData:\n  token: {{ .Values.auth.token | quote }}\n  extra: {{ .Values.extra | quote }}\n",
    );
    publish(&repo, "app", "1.0.0", &[token]);
    h.apply(&helm_repository_yaml("charts", &ns, repo.url(), ""));
    const SECRET_VALUE: &str = "s3cr3t-token-never-shown";
    h.apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base-values\n  namespace: {ns}\ndata:\n  values.yaml: |\n    greeting: from-configmap\n    extra: overridden-below\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app-token\n  namespace: {ns}\nstringData:\n  token: {SECRET_VALUE}\n"
    ));
    let values = "  valuesFrom:\n  - kind: ConfigMap\n    name: base-values\n  - kind: Secret\n    name: app-token\n    valuesKey: token\n    targetPath: auth.token\n  - kind: Secret\n    name: absent\n    optional: true\n  values:\n    extra: inline\n  dependsOn:\n  - name: base\n";
    h.apply(&helm_release_yaml(
        "app",
        &ns,
        &dest,
        "app",
        ("HelmRepository", "charts"),
        &format!("      version: \"1.0.0\"\n{values}"),
    ));
    let hr = wait_hr(
        &h,
        &ns,
        "app",
        "waiting for its dependency",
        failed_with("DependencyNotReady"),
    )
    .await;
    assert!(
        ready(&hr).unwrap().2.contains(&format!("{ns}/base")),
        "{:?}",
        ready(&hr)
    );
    assert!(
        config_map(&h, &dest, &format!("{dest}-app-cm"))
            .await
            .is_none(),
        "nothing applied before the dependency"
    );

    h.apply(&helm_release_yaml(
        "base",
        &ns,
        &dest,
        "app",
        ("HelmRepository", "charts"),
        "  releaseName: base\n  values:\n    auth:\n      token: none\n",
    ));
    wait_hr(
        &h,
        &ns,
        "base",
        "installed",
        ready_with("InstallSucceeded", "1.0.0"),
    )
    .await;
    let hr = wait_hr(
        &h,
        &ns,
        "app",
        "installed after its dependency",
        ready_with("InstallSucceeded", "1.0.0"),
    )
    .await;
    let release = format!("{dest}-app");
    assert_eq!(
        data_of(&h, &dest, &format!("{release}-cm"), "greeting")
            .await
            .as_deref(),
        Some("from-configmap")
    );
    let secret = Api::<Secret>::namespaced(h.client.clone(), &dest)
        .get(&format!("{release}-token"))
        .await
        .expect("the rendered Secret");
    let data = secret.data.unwrap_or_default();
    assert_eq!(
        data.get("token").map(|b| b.0.as_slice()),
        Some(SECRET_VALUE.as_bytes())
    );
    assert_eq!(
        data.get("extra").map(|b| b.0.as_slice()),
        Some(&b"inline"[..])
    );
    let status = serde_json::to_string(&hr.status).expect("status JSON");
    assert!(
        status.contains("sha256:"),
        "the values digest is reported: {status}"
    );
    assert!(
        !status.contains(SECRET_VALUE),
        "a Secret value reached the status: {status}"
    );

    // A missing required values Secret is InitFailed naming it, without values.
    patch_hr(&h, &ns, "app", json!({"spec": {"valuesFrom": [{"kind": "Secret", "name": "app-token", "valuesKey": "nokey"}]}})).await;
    let hr = wait_hr(
        &h,
        &ns,
        "app",
        "failed on a missing key",
        failed_with("InitFailed"),
    )
    .await;
    let message = ready(&hr).unwrap().2;
    assert!(
        message.contains("app-token") && message.contains("nokey"),
        "{message}"
    );
    assert!(
        config_map(&h, &dest, &format!("{release}-cm"))
            .await
            .is_some(),
        "nothing pruned"
    );
    // Events are sent in the background: wait for the failure's own.
    let events = common::eventually("the InitFailed Event", || async {
        let events = Api::<Event>::namespaced(h.client.clone(), &ns)
            .list(&ListParams::default())
            .await
            .ok()?;
        let failed = events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("InitFailed"));
        failed.then_some(events.items)
    })
    .await;
    for event in events {
        let text = serde_json::to_string(&event).unwrap_or_default();
        assert!(
            !text.contains(SECRET_VALUE),
            "a Secret value reached an event: {text}"
        );
    }
}

/// A CustomResourceDefinition `<plural>.<group>` with one short name.
fn crd_yaml(group: &str, plural: &str, kind: &str, short: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    plural: {plural}
    singular: {}
    kind: {kind}
    shortNames: [{short}]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
",
        kind.to_lowercase()
    )
}

/// The short names of the CRD `name`, `None` when it does not exist.
async fn short_names(h: &Harness, name: &str) -> Option<Vec<String>> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(h.client.clone());
    let crd = api.get_opt(name).await.expect("reading a CRD")?;
    Some(crd.spec.names.short_names.unwrap_or_default())
}

/// Waits until the CRD `name` has exactly the short names `want`.
async fn await_short_names(h: &Harness, name: &str, want: &[&str]) {
    common::eventually(&format!("CRD {name} has short names {want:?}"), || async {
        let names = short_names(h, name).await?;
        (names == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chart_crds_follow_the_install_and_upgrade_crds_policies() {
    let h = start("hr-crds").await;
    let (ns, dest) = (h.apps_ns.clone(), h.namespace("hr-crds-dest").await);
    let group = format!("{dest}.crds.example.com");
    let (widgets, gadgets) = (format!("widgets.{group}"), format!("gadgets.{group}"));
    // A CRD of the chart already in the cluster, created by someone else.
    h.apply(&crd_yaml(&group, "gadgets", "Gadget", "oldgd"));
    let work = tempfile::tempdir().expect("work dir");
    let git = h.git.create_repo("hr-crds/site");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";
    let chart = write_chart(
        work.path(),
        "crds",
        "0.1.0",
        "greeting: a\n",
        &[("cm.yaml", cm)],
    );
    copy_tree(&git, &chart, "charts/crds");
    git.write(
        "charts/crds/crds/widgets.yaml",
        &crd_yaml(&group, "widgets", "Widget", "wg1"),
    );
    git.write(
        "charts/crds/crds/gadgets.yaml",
        &crd_yaml(&group, "gadgets", "Gadget", "gd1"),
    );
    h.apply(&git_repository_yaml(
        "crds",
        &ns,
        &h.git.git_url("hr-crds/site"),
    ));
    git.commit("a chart with CRDs");
    await_artifact(&h, &ns, "crds", &git).await;
    h.apply(&helm_release_yaml(
        "crds",
        &ns,
        &dest,
        "./charts/crds",
        ("GitRepository", "crds"),
        "",
    ));
    let revision = |git: &driftless_testkit::git::TestRepo| format!("0.1.0+{}", &git.head()[..12]);
    let applied = |want: String, reason: &'static str| {
        move |hr: &HelmRelease| {
            let s = hr.status.as_ref();
            ready(hr).is_some_and(|r| r.0 == "True" && r.1 == reason)
                && s.and_then(|s| s.last_applied_revision.as_deref()) == Some(want.as_str())
        }
    };

    // Install (Create by default): the missing CRD is created, the existing one left as it was.
    wait_hr(
        &h,
        &ns,
        "crds",
        "installed",
        applied(revision(&git), "InstallSucceeded"),
    )
    .await;
    assert_eq!(
        short_names(&h, &widgets).await,
        Some(vec!["wg1".to_string()])
    );
    assert_eq!(
        short_names(&h, &gadgets).await,
        Some(vec!["oldgd".to_string()])
    );

    // Upgrade (Skip by default): a changed CRD in the chart is not applied, and not pruned.
    git.write(
        "charts/crds/crds/widgets.yaml",
        &crd_yaml(&group, "widgets", "Widget", "wg2"),
    );
    git.write("charts/crds/values.yaml", "greeting: b\n");
    git.commit("widgets: a new short name; values: b");
    await_artifact(&h, &ns, "crds", &git).await;
    wait_hr(
        &h,
        &ns,
        "crds",
        "upgraded",
        applied(revision(&git), "UpgradeSucceeded"),
    )
    .await;
    assert_eq!(
        data_of(&h, &dest, &format!("{dest}-crds-cm"), "greeting")
            .await
            .as_deref(),
        Some("b"),
        "the upgrade applied the templates"
    );
    assert_eq!(
        short_names(&h, &widgets).await,
        Some(vec!["wg1".to_string()])
    );
    assert_eq!(
        short_names(&h, &gadgets).await,
        Some(vec!["oldgd".to_string()])
    );

    // upgrade.crds: CreateReplace creates and updates them.
    patch_hr(
        &h,
        &ns,
        "crds",
        json!({"spec": {"upgrade": {"crds": "CreateReplace"}}}),
    )
    .await;
    await_short_names(&h, &widgets, &["wg2"]).await;
    await_short_names(&h, &gadgets, &["gd1"]).await;

    // An unknown policy stops the release, naming the field; nothing is pruned.
    patch_hr(
        &h,
        &ns,
        "crds",
        json!({"spec": {"upgrade": {"crds": "Replace"}}}),
    )
    .await;
    let hr = wait_hr(&h, &ns, "crds", "stalled", failed_with("InvalidSpec")).await;
    assert!(
        ready(&hr).unwrap().2.contains("spec.upgrade.crds"),
        "{:?}",
        ready(&hr)
    );
    assert!(short_names(&h, &widgets).await.is_some());

    for crd in [&widgets, &gadgets] {
        h.kubectl(&["delete", "crd", crd, "--ignore-not-found"]);
    }
}
