//! `crds/` must hold exactly what `driftless crd --write` generates from the
//! Rust types; regenerate with `cargo run -p driftless-cli -- crd --write crds`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn yaml_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .filter(|path| !path.ends_with("kustomization.yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("reading a CRD file");
            (name, text)
        })
        .collect()
}

#[test]
fn checked_in_crds_match_the_rust_types() {
    let generated = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["crd", "--write"])
        .arg(generated.path())
        .status()
        .expect("running driftless crd");
    assert!(status.success(), "driftless crd --write failed");

    let repo_crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds");
    let want = yaml_files(generated.path());
    let have = yaml_files(&repo_crds);
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "crds/ holds different files than the types generate; run `cargo run -p driftless-cli -- crd --write crds`"
    );
    for (name, text) in &want {
        assert!(
            have[name] == *text,
            "crds/{name} is stale; run `cargo run -p driftless-cli -- crd --write crds`"
        );
    }
}

#[test]
fn crd_command_prints_every_crd() {
    let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("name: applications.argoproj.io"));
    assert!(text.contains("name: appprojects.argoproj.io"));
    assert!(text.contains("name: gitrepositories.source.toolkit.fluxcd.io"));
    assert!(text.contains("name: kustomizations.kustomize.toolkit.fluxcd.io"));
    assert!(text.contains("name: helmrepositories.source.toolkit.fluxcd.io"));
    assert!(text.contains("name: helmreleases.helm.toolkit.fluxcd.io"));
    assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 6);
}
