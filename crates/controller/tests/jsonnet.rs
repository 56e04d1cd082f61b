//! A Jsonnet directory source (Argo CD's `directory.jsonnet`) against the
//! real control plane and Git server: the files are evaluated in-process
//! with the Application's `extVars`, `tlas` and `libs`, the objects applied,
//! and a change of an external variable in the Application re-renders;
//! Argo CD's build environment (`$ARGOCD_APP_NAME`, ...) reaches the
//! external variables; an evaluation beyond its limits is an error naming
//! the file and the limit, with nothing pruned.

mod common;

use std::time::Duration;

use common::Harness;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

const APP: &str = "local lib = import 'cm.libsonnet';
function(replicas) [
  lib.configMap('settings', { env: std.extVar('env'), replicas: std.toString(replicas) }),
  lib.configMap('flags', std.extVar('flags')),
]
";

const LIB: &str = "{
  configMap(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data },
}
";

fn jsonnet_source(env: &str) -> String {
    format!(
        "    directory:\n      jsonnet:\n        libs: [lib]\n        extVars:\n        \
         - {{name: env, value: {env}}}\n        - {{name: flags, value: \"{{debug: 'true'}}\", code: true}}\n        \
         tlas:\n        - {{name: replicas, value: \"1 + 2\", code: true}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jsonnet_application_syncs_with_ext_vars_tlas_and_libs() {
    let h = Harness::start("jsonnet", Duration::from_secs(600)).await;
    let dest = h.namespace("jsonnet-dest").await;
    let repo = h.git.create_repo("jsonnet/app");
    repo.write("apps/web/main.jsonnet", APP);
    repo.write("lib/cm.libsonnet", LIB);
    let sha = repo.commit("a jsonnet app");
    let url = h.git.git_url("jsonnet/app");
    let app_yaml = |env: &str| {
        common::application_yaml(
            "web",
            &h.apps_ns,
            &url,
            "apps/web",
            &dest,
            "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n",
        )
        .replace(
            "    path: apps/web\n",
            &format!("    path: apps/web\n{}", jsonnet_source(env)),
        )
    };
    h.apply(&app_yaml("staging"));
    h.wait_synced_healthy("web", Some(&sha)).await;

    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let data = |cm: ConfigMap| cm.data.unwrap_or_default();
    let settings = data(maps.get("settings").await.expect("settings applied"));
    assert_eq!(settings["env"], "staging");
    assert_eq!(settings["replicas"], "3", "the TLA code was evaluated");
    let flags = data(maps.get("flags").await.expect("flags applied"));
    assert_eq!(flags["debug"], "true", "the ext var code was evaluated");

    // Another external variable in the Application: rendered again, and
    // applied (at the same revision automated sync re-applies through
    // selfHeal: driftless syncs once per revision, not per spec change).
    h.apply(&app_yaml("production"));
    common::eventually("settings.env = production", || async {
        maps.get("settings")
            .await
            .ok()
            .and_then(|cm| cm.data)
            .filter(|d| d.get("env").map(String::as_str) == Some("production"))
    })
    .await;
}

/// Tells the controller that `jsonnet/limit` was pushed.
async fn push(h: &Harness) {
    let body = serde_json::json!({
        "repository": h.git.git_url("jsonnet/limit"),
        "ref": "refs/heads/main",
        "changedFiles": ["apps/x/main.jsonnet"],
    });
    assert_eq!(h.post_webhook(&body.to_string()).await.0, 200);
}

/// The message of the Application's ComparisonError, when it has one.
fn comparison_error(app: &driftless_api::Application) -> Option<String> {
    let status = app.status.as_ref()?;
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == "ComparisonError")?;
    Some(c.message.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn build_environment_variables_reach_ext_vars_and_tlas() {
    let h = Harness::start("jsonnet-env", Duration::from_secs(600)).await;
    let dest = h.namespace("jsonnet-env-dest").await;
    let repo = h.git.create_repo("jsonnet/env");
    repo.write(
        "apps/env/main.jsonnet",
        "function(short) { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'build-env' },\n  \
         data: { name: std.extVar('name'), ns: std.extVar('ns'), path: std.extVar('path'),\n    \
         target: std.extVar('target'), revision: std.extVar('revision'), short: short,\n    \
         kube: std.extVar('kube'), dollar: std.extVar('dollar') } }\n",
    );
    let sha = repo.commit("a jsonnet app reading the build environment");
    let url = h.git.git_url("jsonnet/env");
    let vars = "    directory:\n      jsonnet:\n        extVars:\n        \
                - {name: name, value: $ARGOCD_APP_NAME}\n        \
                - {name: ns, value: \"${ARGOCD_APP_NAMESPACE}\"}\n        \
                - {name: path, value: $ARGOCD_APP_SOURCE_PATH}\n        \
                - {name: target, value: $ARGOCD_APP_SOURCE_TARGET_REVISION}\n        \
                - {name: revision, value: $ARGOCD_APP_REVISION}\n        \
                - {name: kube, value: \"v=$KUBE_VERSION\"}\n        \
                - {name: dollar, value: \"$$ARGOCD_APP_NAME\"}\n        \
                tlas:\n        - {name: short, value: \"'$ARGOCD_APP_REVISION_SHORT_8'\", code: true}\n";
    let yaml = common::application_yaml(
        "env",
        &h.apps_ns,
        &url,
        "apps/env",
        &dest,
        "  syncPolicy:\n    automated:\n      prune: true\n",
    )
    .replace(
        "    path: apps/env\n",
        &format!("    path: apps/env\n{vars}"),
    );
    h.apply(&yaml);
    h.wait_synced_healthy("env", Some(&sha)).await;
    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let data = maps
        .get("build-env")
        .await
        .expect("build-env applied")
        .data
        .unwrap_or_default();
    let control = h.config(Duration::from_secs(600)).control_plane_namespace;
    let name = if h.apps_ns == control {
        "env".to_string()
    } else {
        format!("{}_env", h.apps_ns)
    };
    assert_eq!(data["name"], name);
    assert_eq!(data["ns"], dest);
    assert_eq!(data["path"], "apps/env");
    assert_eq!(data["revision"], sha);
    assert_eq!(data["short"], sha[..8]);
    assert_eq!(
        data["kube"], "v=",
        "Argo CD gives KUBE_VERSION to plugins only"
    );
    assert_eq!(data["dollar"], "$ARGOCD_APP_NAME", "$$ escapes a $");
    assert!(!data["target"].is_empty(), "{data:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runaway_evaluation_is_an_error_naming_the_file_and_nothing_is_pruned() {
    let h = Harness::start("jsonnet-limit", Duration::from_secs(600)).await;
    let dest = h.namespace("jsonnet-limit-dest").await;
    let repo = h.git.create_repo("jsonnet/limit");
    repo.write(
        "apps/x/main.jsonnet",
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { a: 'b' } }\n",
    );
    let good = repo.commit("a small jsonnet app");
    let url = h.git.git_url("jsonnet/limit");
    let automated = "  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n";
    h.apply(&common::application_yaml(
        "x", &h.apps_ns, &url, "apps/x", &dest, automated,
    ));
    h.wait_synced_healthy("x", Some(&good)).await;

    // A file allocating without bound: stopped at the memory limit.
    repo.write(
        "apps/x/main.jsonnet",
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { n: std.toString(std.length(std.range(1, 2000000000))) } }\n",
    );
    repo.commit("allocate without bound");
    push(&h).await;
    let app = h
        .wait_app("x", "a ComparisonError naming the memory limit", |a| {
            comparison_error(a).is_some_and(|m| m.contains("memory limit"))
        })
        .await;
    let message = comparison_error(&app).unwrap();
    assert!(message.contains("apps/x/main.jsonnet"), "{message}");
    let maps: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        maps.get_opt("kept").await.unwrap().is_some(),
        "nothing pruned"
    );

    // The controller goes on: a fixed file syncs.
    repo.write(
        "apps/x/main.jsonnet",
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { a: 'c' } }\n",
    );
    let fixed = repo.commit("fixed");
    push(&h).await;
    h.wait_synced_healthy("x", Some(&fixed)).await;
}
