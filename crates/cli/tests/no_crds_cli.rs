//! Commands against a cluster where driftless's CustomResourceDefinitions
//! are not installed: one clear line naming the missing CRD, a non-zero
//! exit, no panic. CRDs cannot be removed from the shared control plane
//! (other tests use them), so this test starts a private one (about five
//! seconds with cached binaries) and stops it at the end.

mod common;

use common::run_cli;
use driftless_testkit::cluster::ControlPlane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_names_the_missing_crd() {
    let cp = tokio::task::spawn_blocking(ControlPlane::start)
        .await
        .expect("starting the control plane")
        .unwrap_or_else(|e| panic!("no private control plane: {e}"));
    let crds = cp
        .kubectl(&["get", "crd", "-o", "name"])
        .expect("kubectl get crd");
    assert_eq!(crds.trim(), "", "a fresh cluster has no CRDs");
    let kubeconfig = cp.kubeconfig_path().display().to_string();
    let run = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--kubeconfig".into(), kubeconfig.clone()]);
        all.extend(["-n".into(), "default".into()]);
        async move { run_cli(&all, None).await }
    };
    let app_crd = "the applications.argoproj.io CustomResourceDefinition is not installed";
    let ks_crd =
        "the kustomizations.kustomize.toolkit.fluxcd.io CustomResourceDefinition is not installed";
    let neither = "neither the Application (argoproj.io) nor the Kustomization \
                   (kustomize.toolkit.fluxcd.io) CustomResourceDefinition is installed";
    let cases: [(&[&str], &str); 8] = [
        (&["get", "apps"], app_crd),
        (&["get", "apps", "web"], app_crd),
        (&["get", "ks"], ks_crd),
        (&["sync", "app/web"], app_crd),
        (&["diff", "web"], neither),
        (&["wait", "web", "--timeout", "5s"], neither),
        (&["history", "web"], neither),
        (&["reconcile", "ks/web"], ks_crd),
    ];
    for (args, want) in cases {
        let out = run(args).await;
        assert_ne!(out.code, 0, "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: one line: {out}");
        assert!(out.stderr.contains(want), "{args:?}: want {want:?}: {out}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out}");
    }
    let diff = run(&["diff", "web"]).await;
    assert_eq!(diff.code, 2, "diff's error status: {diff}");
    tokio::task::spawn_blocking(move || cp.stop())
        .await
        .expect("stopping the control plane");
}
