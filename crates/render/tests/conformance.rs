//! Runs every case of the kustomize conformance corpus (cases from
//! kustomize's own tests, with `kubectl kustomize` v5.5.0 output) and
//! compares semantically: the same documents, in the same order, with the
//! same field values. Error cases must fail.
//!
//! The corpus lives at `<repo>/../shared/conformance/kustomize` (or
//! `$DRIFTLESS_CONFORMANCE_DIR`), outside the repository. Where it is absent
//! the test says so in one line of the test run and passes, unless it was
//! asked for: in CI (`CI=true`) or with `DRIFTLESS_CONFORMANCE_DIR` set, a
//! missing corpus fails the test. Known failures are listed in
//! `conformance-expected-failures.txt`; the test fails when an unlisted case
//! fails or a listed case passes (so the list only shrinks).
//! `DRIFTLESS_CONFORMANCE_ONLY=<case>` runs one case and prints both outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use driftless_render::{DiskTree, RenderOptions, render_kustomization, to_yaml, yaml};
use serde_json::Value;

/// Output cases whose text is byte-for-byte kubectl's (informational).
static BYTE_EXACT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Where the corpus is, and whether it must be there (named explicitly, or
/// CI, which has it).
fn corpus_dir() -> (PathBuf, bool) {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match std::env::var_os("DRIFTLESS_CONFORMANCE_DIR") {
        Some(dir) => (PathBuf::from(dir), true),
        None => {
            // crates/render -> the repository -> the directory beside it.
            let beside_repo = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(3);
            let dir = beside_repo
                .unwrap_or(Path::new("/"))
                .join("shared/conformance/kustomize");
            (dir, in_ci)
        }
    }
}

/// A line the test run shows even though the test passes: libtest captures
/// only the `print!` family, so this writes to stderr directly.
fn announce(line: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "\n{line}");
}

fn expected_failures() -> BTreeMap<String, String> {
    let text = include_str!("conformance-expected-failures.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, reason)) => (name.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// Runs one case: `Ok(())` when it passes, else why not.
fn run_case(dir: &Path, verbose: bool) -> Result<(), String> {
    let root = std::fs::read_to_string(dir.join("root.txt"))
        .map_err(|e| format!("root.txt: {e}"))?
        .trim()
        .to_string();
    let flags = std::fs::read_to_string(dir.join("flags.txt")).unwrap_or_default();
    let options = RenderOptions {
        load_restrictions_none: flags.contains("LoadRestrictionsNone"),
        ..RenderOptions::default()
    };
    let tree = DiskTree::new(dir.join("input")).map_err(|e| e.to_string())?;
    let path = if root == "." { "" } else { root.as_str() };
    let result = render_kustomization(&tree, path, &options);
    let expected_error = dir.join("expected_error.txt");
    if expected_error.exists() {
        return match result {
            Err(e) => {
                if verbose {
                    println!("our error: {e}");
                }
                Ok(())
            }
            Ok(r) => Err(format!(
                "expected an error, rendered {} objects",
                r.objects.len()
            )),
        };
    }
    let rendered = result.map_err(|e| format!("render failed: {e}"))?;
    let ours_text = to_yaml(&rendered.objects).map_err(|e| e.to_string())?;
    let ours = yaml::parse_documents(&ours_text, "ours").map_err(|e| e.to_string())?;
    let expected_text =
        std::fs::read_to_string(dir.join("expected.yaml")).map_err(|e| e.to_string())?;
    let expected =
        yaml::parse_documents(&expected_text, "expected.yaml").map_err(|e| e.to_string())?;
    if verbose {
        println!("--- ours\n{ours_text}--- expected\n{expected_text}");
    }
    compare(&ours, &expected)?;
    if ours_text == expected_text {
        BYTE_EXACT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    } else if std::env::var_os("DRIFTLESS_CONFORMANCE_TEXT_DIFFS").is_some() {
        println!("text differs: {}", dir.display());
    }
    Ok(())
}

fn describe(doc: &Value) -> String {
    format!(
        "{}/{}",
        doc.get("kind").and_then(Value::as_str).unwrap_or("?"),
        doc.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
    )
}

fn compare(ours: &[Value], expected: &[Value]) -> Result<(), String> {
    if ours.len() != expected.len() {
        return Err(format!(
            "{} documents instead of {}: ours [{}], expected [{}]",
            ours.len(),
            expected.len(),
            ours.iter().map(describe).collect::<Vec<_>>().join(", "),
            expected.iter().map(describe).collect::<Vec<_>>().join(", ")
        ));
    }
    for (i, (a, b)) in ours.iter().zip(expected).enumerate() {
        if a != b {
            if let Some(j) = expected.iter().position(|e| e == a) {
                return Err(format!(
                    "order differs: document {i} ({}) is expected at {j}",
                    describe(a)
                ));
            }
            return Err(format!(
                "document {i} ({}) differs from expected ({})",
                describe(a),
                describe(b)
            ));
        }
    }
    Ok(())
}

#[test]
fn kustomize_conformance() {
    let (corpus, required) = corpus_dir();
    let cases_dir = corpus.join("cases");
    if !cases_dir.is_dir() {
        let line = format!(
            "conformance corpus not present: all cases not run (no {}; set DRIFTLESS_CONFORMANCE_DIR)",
            cases_dir.display()
        );
        assert!(
            !required,
            "{line}; CI=true or DRIFTLESS_CONFORMANCE_DIR requires it"
        );
        announce(&line);
        return;
    }
    let only = std::env::var("DRIFTLESS_CONFORMANCE_ONLY").ok();
    let mut names: Vec<String> = std::fs::read_dir(&cases_dir)
        .expect("listing cases")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| only.as_ref().is_none_or(|o| o == n))
        .collect();
    names.sort();
    let known = expected_failures();
    let (mut passed, mut unexpected, mut fixed) = (0, Vec::new(), Vec::new());
    for name in &names {
        let outcome = std::panic::catch_unwind(|| run_case(&cases_dir.join(name), only.is_some()))
            .unwrap_or_else(|_| Err("panicked".into()));
        match (outcome, known.contains_key(name)) {
            (Ok(()), false) => passed += 1,
            (Ok(()), true) => {
                passed += 1;
                fixed.push(name.clone());
            }
            (Err(why), true) => {
                if only.is_some() {
                    println!("{name}: {why}");
                }
            }
            (Err(why), false) => unexpected.push(format!("{name}: {why}")),
        }
    }
    let total = names.len();
    println!(
        "conformance: {passed}/{total} passed ({:.1}%)",
        100.0 * passed as f64 / total.max(1) as f64
    );
    println!(
        "conformance: {} output cases byte-identical to kubectl kustomize",
        BYTE_EXACT.load(std::sync::atomic::Ordering::Relaxed)
    );
    if only.is_some() {
        return;
    }
    let mut problems = String::new();
    for line in &unexpected {
        problems.push_str(&format!("unexpected failure: {line}\n"));
    }
    for name in &fixed {
        problems.push_str(&format!(
            "now passing, remove from conformance-expected-failures.txt: {name}\n"
        ));
    }
    assert!(problems.is_empty(), "{problems}");
}
