//! Runs the patch functions on the simple cases of the kustomize
//! conformance corpus (`../shared/conformance/kustomize/cases`, outside
//! the repository): kustomizations that only use `resources` (files and
//! nested kustomizations of the same kind), `patchesStrategicMerge`,
//! `patches` (no selector beyond group/version/kind/name),
//! `patchesJson6902` and `openapi: {path}`. Every other case is skipped:
//! the engine's conformance test covers them. When the corpus is absent the
//! test checks nothing and says so.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{
    PatchError, PatchKind, Schema, apply_json6902, parse_patch_text, strategic_merge_outcome,
};
use crate::patch::MergeOutcome;

const CORPUS: &str = "../../../shared/conformance/kustomize/cases";

/// A minimal kustomize, enough to feed the patch functions.
struct Mini {
    schema: Schema,
}

#[derive(Debug)]
enum Skip {
    Unsupported(String),
}

fn parse_docs(text: &str) -> Result<Vec<Value>, Skip> {
    crate::yaml::parse_documents(text, "corpus").map_err(|e| Skip::Unsupported(e.to_string()))
}

fn read(path: &Path) -> Result<String, Skip> {
    fs::read_to_string(path).map_err(|e| Skip::Unsupported(format!("{}: {e}", path.display())))
}

fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn name_of(v: &Value) -> &str {
    v.get("metadata").map_or("", |m| str_field(m, "name"))
}

fn group_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// Whether `object` is selected by a `target` (exact names only).
fn selected(object: &Value, target: &Value) -> Result<bool, Skip> {
    for key in target.as_object().into_iter().flat_map(|m| m.keys()) {
        if !["group", "version", "kind", "name", "namespace"].contains(&key.as_str()) {
            return Err(Skip::Unsupported(format!("target.{key}")));
        }
    }
    let (group, version) = group_version(str_field(object, "apiVersion"));
    let checks = [
        ("group", group),
        ("version", version),
        ("kind", str_field(object, "kind")),
        ("name", name_of(object)),
    ];
    for (key, have) in checks {
        if let Some(want) = target.get(key).and_then(Value::as_str) {
            if want.chars().any(|c| "*.+?[](){}|^$\\".contains(c)) {
                return Err(Skip::Unsupported(format!("regex target {want}")));
            }
            if want != have {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether a strategic merge patch without target names `object`.
fn named_by(object: &Value, patch: &Value) -> bool {
    let api_version = str_field(patch, "apiVersion");
    str_field(object, "kind") == str_field(patch, "kind")
        && name_of(object) == name_of(patch)
        && (api_version.is_empty() || api_version == str_field(object, "apiVersion"))
}

/// Cases whose differences come from the engine's work (List expansion,
/// annotation values as strings), not from patching.
const ENGINE_CASES: &[&str] = &[
    "TestBasicIO_1",
    "TestEmptyList",
    "TestListToIndividualResources",
];

impl Mini {
    fn build(&mut self, dir: &Path) -> Result<Vec<Value>, Skip> {
        let file =
            kustomization_file(dir).ok_or_else(|| Skip::Unsupported("no kustomization".into()))?;
        let k = parse_docs(&read(&file)?)?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let map = k.as_object().cloned().unwrap_or_default();
        for key in map.keys() {
            let known = [
                "apiVersion",
                "kind",
                "resources",
                "patchesStrategicMerge",
                "patches",
                "patchesJson6902",
                "openapi",
            ];
            if !known.contains(&key.as_str()) {
                return Err(Skip::Unsupported(key.clone()));
            }
        }
        if let Some(openapi) = map.get("openapi") {
            let path = openapi
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| Skip::Unsupported("openapi without path".into()))?;
            let text = read(&dir.join(path))?;
            self.schema =
                Schema::from_openapi_text(&text).map_err(|e| Skip::Unsupported(e.to_string()))?;
        }
        let mut objects = Vec::new();
        for resource in map
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let path = dir.join(resource.as_str().unwrap_or(""));
            if path.is_dir() {
                objects.extend(self.build(&path)?);
            } else {
                objects.extend(parse_docs(&read(&path)?)?);
            }
        }
        for patch in map
            .get("patchesStrategicMerge")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = patch.as_str().unwrap_or("");
            let text = if text.contains('\n') || text.contains(':') && !text.ends_with(".yaml") {
                text.to_string()
            } else {
                read(&dir.join(text))?
            };
            self.apply_text(&mut objects, &text, None)?;
        }
        for patch in map
            .get("patches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if patch.get("options").is_some() {
                return Err(Skip::Unsupported("patch options".into()));
            }
            let text = match (patch.get("path"), patch.get("patch")) {
                (Some(path), _) => read(&dir.join(path.as_str().unwrap_or("")))?,
                (None, Some(inline)) => inline.as_str().unwrap_or("").to_string(),
                _ => return Err(Skip::Unsupported("patch without text".into())),
            };
            self.apply_text(&mut objects, &text, patch.get("target"))?;
        }
        for patch in map
            .get("patchesJson6902")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = match (patch.get("path"), patch.get("patch")) {
                (Some(path), _) => read(&dir.join(path.as_str().unwrap_or("")))?,
                (None, Some(inline)) => inline.as_str().unwrap_or("").to_string(),
                _ => return Err(Skip::Unsupported("patch without text".into())),
            };
            let target = patch.get("target").cloned().unwrap_or(Value::Null);
            self.apply_text(&mut objects, &text, Some(&target))?;
        }
        Ok(objects)
    }

    fn apply_text(
        &self,
        objects: &mut Vec<Value>,
        text: &str,
        target: Option<&Value>,
    ) -> Result<(), Skip> {
        let kind = parse_patch_text(text).map_err(|e| Skip::Unsupported(format!("parse: {e}")))?;
        let mut deleted = Vec::new();
        for (index, object) in objects.iter_mut().enumerate() {
            let hit = match target {
                Some(target) => selected(object, target)?,
                None => match &kind {
                    PatchKind::StrategicMerge(docs) => docs.iter().any(|d| named_by(object, d)),
                    PatchKind::Json6902(_) => false,
                },
            };
            if !hit {
                continue;
            }
            match &kind {
                PatchKind::Json6902(ops) => {
                    apply_json6902(object, ops)
                        .map_err(|e| Skip::Unsupported(format!("failed: {e}")))?;
                }
                PatchKind::StrategicMerge(docs) => {
                    for doc in docs {
                        if target.is_none() && !named_by(object, doc) {
                            continue;
                        }
                        // kustomize keeps the target's apiVersion, kind and name
                        // (unless the patch options allow a change).
                        let kind = object.get("kind").cloned();
                        let api_version = object.get("apiVersion").cloned();
                        let name = object.get("metadata").and_then(|m| m.get("name")).cloned();
                        let outcome = strategic_merge_outcome(object, doc, &self.schema)
                            .map_err(|e| Skip::Unsupported(format!("failed: {e}")))?;
                        if outcome == MergeOutcome::Deleted {
                            deleted.push(index);
                            break;
                        }
                        if let (Some(kind), Value::Object(map)) = (kind, &mut *object) {
                            map.insert("kind".into(), kind);
                            if let Some(api_version) = api_version {
                                map.insert("apiVersion".into(), api_version);
                            }
                        }
                        if let (Some(name), Some(Value::Object(meta))) =
                            (name, object.get_mut("metadata"))
                        {
                            meta.insert("name".into(), name);
                        }
                    }
                }
            }
        }
        for index in deleted.into_iter().rev() {
            objects.remove(index);
        }
        Ok(())
    }
}

fn sort_key(v: &Value) -> (String, String) {
    (str_field(v, "kind").to_string(), name_of(v).to_string())
}

#[test]
fn simple_corpus_cases_match_kustomize() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    let Ok(entries) = fs::read_dir(&corpus) else {
        eprintln!("corpus not found at {}: nothing checked", corpus.display());
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut passed, mut skipped, mut failed) = (Vec::new(), 0, Vec::new());
    for name in names {
        let case = corpus.join(&name);
        let Ok(expected_text) = fs::read_to_string(case.join("expected.yaml")) else {
            skipped += 1;
            continue;
        };
        if case.join("flags.txt").exists() || ENGINE_CASES.contains(&name.as_str()) {
            skipped += 1;
            continue;
        }
        let root = fs::read_to_string(case.join("root.txt")).unwrap_or_else(|_| ".".into());
        let mut mini = Mini {
            schema: Schema::builtin().clone(),
        };
        match mini.build(&case.join("input").join(root.trim())) {
            Err(Skip::Unsupported(why))
                if why.starts_with("failed") || why.starts_with("parse") =>
            {
                failed.push(format!("{name}: {why}"));
            }
            Err(Skip::Unsupported(_)) => skipped += 1,
            Ok(mut objects) => {
                let Ok(mut expected) = parse_docs(&expected_text) else {
                    skipped += 1;
                    continue;
                };
                objects.sort_by_key(sort_key);
                expected.sort_by_key(sort_key);
                if objects == expected {
                    passed.push(name);
                } else {
                    failed.push(format!(
                        "{name}: got {}\nexpected {}",
                        serde_json::to_string(&objects).unwrap_or_default(),
                        serde_json::to_string(&expected).unwrap_or_default()
                    ));
                }
            }
        }
    }
    eprintln!(
        "patch corpus: {} passed, {} failed, {skipped} skipped (need other features)",
        passed.len(),
        failed.len()
    );
    eprintln!("passed: {}", passed.join(" "));
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}

/// Cases checked against `kubectl kustomize` v5.5.0: `testdata/oracle/<case>/`
/// holds `resource.yaml`, `patch.yaml` (strategic merge) or `ops.yaml`
/// (JSON 6902), optionally `schema.json` (custom OpenAPI schema used alone)
/// or `schema_layered.json` (layered over the built-in one), and the
/// oracle's `expected.yaml` or `expected_error.txt`. `testdata/regenerate_*.py`
/// rebuild them. Cases listed in `testdata/oracle/DEVIATIONS` must still
/// differ from the oracle. `SMP_ORACLE_DIR` points the test at another
/// directory of such cases (deviations then do not apply).
#[test]
fn oracle_cases() {
    let (dir, deviations) = match std::env::var("SMP_ORACLE_DIR") {
        Ok(dir) => (PathBuf::from(dir), String::new()),
        Err(_) => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/patch/testdata/oracle");
            let deviations = fs::read_to_string(dir.join("DEVIATIONS")).unwrap_or_default();
            (dir, deviations)
        }
    };
    let deviations: Vec<&str> = deviations
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    let mut failures = Vec::new();
    let (mut matched, mut deviated) = (0, 0);
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = run_oracle_case(case);
        let deviation = deviations.contains(&name.as_str());
        match (outcome, deviation) {
            (Ok(()), false) => matched += 1,
            (Err(_), true) => deviated += 1,
            (Ok(()), true) => failures.push(format!(
                "{name}: listed in DEVIATIONS but now matches kustomize"
            )),
            (Err(why), false) => failures.push(format!("{name}: {why}")),
        }
    }
    eprintln!(
        "patch oracle: {matched} cases match kubectl kustomize, {deviated} deliberate deviations, {} failures",
        failures.len()
    );
    assert!(!cases.is_empty(), "no oracle cases in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs one oracle case: `Ok(())` when the result agrees with kubectl's.
fn run_oracle_case(case: &Path) -> Result<(), String> {
    let load = |file: &str| fs::read_to_string(case.join(file)).ok();
    let first = |text: &str| -> Value {
        parse_docs(text)
            .ok()
            .and_then(|d| d.into_iter().next())
            .unwrap_or_default()
    };
    let mut object = first(&load("resource.yaml").ok_or("no resource.yaml")?);
    let result = match (load("patch.yaml"), load("ops.yaml")) {
        (Some(patch), _) => {
            let patch = first(&patch);
            let schema = match (load("schema.json"), load("schema_layered.json")) {
                (Some(text), _) => {
                    Some(Schema::from_openapi_text(&text).map_err(|e| e.to_string())?)
                }
                (None, Some(text)) => Some(
                    Schema::from_openapi_text(&text)
                        .map_err(|e| e.to_string())?
                        .with_base(Schema::builtin()),
                ),
                (None, None) => None,
            };
            match schema {
                Some(schema) => super::strategic_merge_with(&mut object, &patch, &schema),
                None => super::strategic_merge(&mut object, &patch),
            }
        }
        (None, Some(ops)) => match parse_patch_text(&ops) {
            Ok(PatchKind::Json6902(ops)) => apply_json6902(&mut object, &ops),
            Ok(other) => Err(PatchError::NotAPatch(format!("{other:?}"))),
            Err(e) => Err(e),
        },
        (None, None) => return Err("no patch.yaml nor ops.yaml".to_string()),
    };
    match (load("expected.yaml"), result) {
        (Some(expected), Ok(())) => {
            let expected = first(&expected);
            if expected == object {
                Ok(())
            } else {
                Err(format!("\n  got      {object}\n  expected {expected}"))
            }
        }
        (None, Err(_)) => Ok(()),
        (Some(_), Err(e)) => Err(format!("error {e}, kubectl succeeded")),
        (None, Ok(())) => Err(format!("kubectl failed, we produced {object}")),
    }
}
