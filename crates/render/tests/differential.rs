//! Differential test: the seed documents' overlays and our own (fixture
//! trees under `tests/fixtures/`) rendered natively and by `kubectl kustomize` run
//! live, compared semantically (same documents, same order, same values).
//! Overlays kubectl refuses must be refused by us too. Fails, never skips,
//! when kubectl is missing.

use std::path::Path;
use std::process::Command;

use driftless_render::{DiskTree, RenderOptions, render_kustomization, to_yaml, yaml};
use serde_json::Value;

/// Overlays to compare, relative to `tests/fixtures`.
const OVERLAYS: &[&str] = &[
    "seed000/overlays/dev",
    "seed000/overlays/staging",
    "seed000/overlays/prod",
    "seed001/environments/dev/myapp",
    "seed001/environments/staging/myapp",
    "seed001/environments/prod/myapp",
    "seed001/environments/dev/myapp-kustomized",
    "seed001/environments/dev/myapp-outside",
    "seed002/k8s/overlays/staging",
    "seed002/k8s/overlays/production",
    "seed002/k8s/base",
    "seed004/apps/staging",
    "seed004/apps/production",
    "own/base",
    "own/overlays/prod",
];

fn kubectl(dir: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is required for this test and could not run: {e}"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).expect("kubectl printed UTF-8");
    Ok(yaml::parse_documents(&text, "kubectl output").expect("kubectl output parses"))
}

fn ours(fixtures: &Path, overlay: &str) -> Result<Vec<Value>, String> {
    let tree = DiskTree::new(fixtures).map_err(|e| e.to_string())?;
    let rendered = render_kustomization(&tree, overlay, &RenderOptions::default())
        .map_err(|e| e.to_string())?;
    let text = to_yaml(&rendered.objects).map_err(|e| e.to_string())?;
    yaml::parse_documents(&text, "ours").map_err(|e| e.to_string())
}

#[test]
fn seed_overlays_match_kubectl_kustomize() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut failures = Vec::new();
    let mut compared = 0;
    for overlay in OVERLAYS {
        let theirs = kubectl(&fixtures.join(overlay));
        let mine = ours(&fixtures, overlay);
        match (mine, theirs) {
            (Ok(a), Ok(b)) if a == b => compared += 1,
            (Ok(a), Ok(b)) => failures.push(format!(
                "{overlay}: output differs\n--- ours\n{}\n--- kubectl\n{}",
                serde_json::to_string_pretty(&a).unwrap_or_default(),
                serde_json::to_string_pretty(&b).unwrap_or_default()
            )),
            (Err(_), Err(_)) => compared += 1,
            (Ok(_), Err(e)) => failures.push(format!("{overlay}: kubectl failed, we did not: {e}")),
            (Err(e), Ok(_)) => failures.push(format!("{overlay}: we failed, kubectl did not: {e}")),
        }
    }
    println!(
        "differential: {compared}/{} overlays agree with kubectl kustomize",
        OVERLAYS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
