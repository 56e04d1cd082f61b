//! A Jsonnet directory source (Argo CD's `directory.jsonnet`) against the
//! real control plane and Git server: the files are evaluated in-process
//! with the Application's `extVars`, `tlas` and `libs`, the objects applied,
//! and a change of an external variable in the Application re-renders.

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
