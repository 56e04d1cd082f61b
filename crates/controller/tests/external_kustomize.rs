//! A path the native renderer refuses (a generator plugin): reported as a
//! ComparisonError naming the field with nothing applied, then, with an
//! external kustomize command configured (the real `kubectl kustomize
//! --enable-alpha-plugins` and a real exec plugin), rendered by it and synced.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::Harness;
use driftless_api::condition;
use driftless_render::ExternalKustomize;

/// Writes an exec generator plugin for `example.com/v1 Greeter` under
/// `home` (kustomize's plugin home): it prints one ConfigMap named after
/// its config.
fn write_plugin(home: &std::path::Path) {
    let dir = home.join("kustomize/plugin/example.com/v1/greeter");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("Greeter");
    std::fs::write(
        &script,
        "#!/bin/sh\nname=$(sed -n 's/^  name: //p' \"$1\" | head -1)\n\
         printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\ndata:\\n  greeting: hello\\n' \"$name\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_paths_are_reported_then_rendered_by_the_configured_command() {
    let mut h = Harness::new("extk").await;
    let dest = h.namespace("extk-dest").await;
    let repo = h.git.create_repo("extk/app");
    repo.write(
        "app/kustomization.yaml",
        "resources:\n- settings.yaml\ngenerators:\n- greeter.yaml\nnamePrefix: ext-\n",
    );
    repo.write(
        "app/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    );
    repo.write(
        "app/greeter.yaml",
        "apiVersion: example.com/v1\nkind: Greeter\nmetadata:\n  name: greet\n",
    );
    let sha = repo.commit("an overlay with a generator plugin");
    let home = tempfile::tempdir().unwrap();
    write_plugin(home.path());

    // Without a command: a ComparisonError naming the plugin, nothing applied.
    h.start_controller(Duration::from_secs(2)).await;
    h.apply(&common::application_yaml(
        "extk",
        &h.apps_ns,
        &h.git.git_url("extk/app"),
        "app",
        &dest,
        "  syncPolicy:\n    automated: {}\n",
    ));
    let app = h
        .wait_app("extk", "reporting the refused plugin", |a| {
            a.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| {
                    c.type_ == condition::COMPARISON_ERROR && c.message.contains("generators[0]")
                })
            })
        })
        .await;
    assert!(!common::synced_healthy(&app));
    let listed = h.kubectl(&["get", "configmaps", "-n", &dest, "-o", "name"]);
    assert!(!listed.contains("ext-"), "nothing may be applied: {listed}");

    // With the command: rendered by kubectl kustomize and synced.
    let mut config = h.config(Duration::from_secs(2));
    config.kustomize_command = Some(
        ExternalKustomize::parse(&format!(
            "env XDG_CONFIG_HOME={} kubectl kustomize --enable-alpha-plugins",
            home.path().display()
        ))
        .unwrap(),
    );
    h.start_controller_with(config).await;
    h.wait_synced_healthy("extk", Some(&sha)).await;
    let greeting = h.kubectl(&[
        "get",
        "configmap",
        "ext-greet",
        "-n",
        &dest,
        "-o",
        "jsonpath={.data.greeting}",
    ]);
    assert_eq!(greeting.trim(), "hello");
    let settings = h.kubectl(&[
        "get",
        "configmap",
        "ext-settings",
        "-n",
        &dest,
        "-o",
        "name",
    ]);
    assert!(settings.contains("ext-settings"), "{settings}");
    h.stop_controller().await;
}
