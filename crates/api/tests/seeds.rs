//! Every Argo CD Application manifest from the seed documents
//! (`tests/seeds/*.yaml`, see its README) is accepted verbatim by a real API
//! server with driftless' CRDs installed, nothing in it is pruned by the
//! schema, and `kubectl get applications` shows the expected columns.

mod common;

use std::path::{Path, PathBuf};

use common::missing_fields;
use driftless_testkit::cluster::ControlPlane;
use serde_json::{Value, json};

/// The namespace every seed manifest names.
const SEED_NAMESPACE: &str = "argocd";
/// `kubectl get applications -A` columns, in order.
const COLUMNS: [&str; 6] = [
    "NAMESPACE",
    "NAME",
    "SYNC STATUS",
    "HEALTH STATUS",
    "REVISION",
    "AGE",
];

/// One manifest file of `tests/seeds/`.
struct Seed {
    file: PathBuf,
    doc: Value,
}

impl Seed {
    fn name(&self) -> &str {
        self.doc["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no metadata.name", self.file.display()))
    }

    fn namespace(&self) -> &str {
        self.doc["metadata"]["namespace"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no metadata.namespace", self.file.display()))
    }
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/seeds")
}

fn seeds() -> Vec<Seed> {
    common::yaml_documents(&seeds_dir())
        .into_iter()
        .map(|(file, doc)| Seed { file, doc })
        .collect()
}

/// Installs the Application and AppProject CRDs from `crds/` (generated
/// from the Rust types; `crates/cli/tests/crds_up_to_date.rs` fails when they are stale).
fn install_crds(cp: &ControlPlane) {
    cp.install_crds(&["applications.argoproj.io", "appprojects.argoproj.io"]);
}

fn ensure_namespace(cp: &ControlPlane, name: &str) {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    cp.kubectl_stdin(&["apply", "-f", "-"], &namespace.to_string())
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
}

/// A kubectl table split into cells by the header's column positions (the
/// titles contain spaces, so splitting on whitespace would not work).
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(output: &str, columns: &[&str]) -> Table {
        let mut lines = output.lines();
        let header = lines.next().unwrap_or_default();
        // Each title in order, as a whole word ("NAME" is not "NAMESPACE").
        let mut starts: Vec<usize> = Vec::new();
        let mut from = 0;
        for column in columns {
            let start = header[from..]
                .match_indices(column)
                .map(|(i, _)| from + i)
                .find(|&i| {
                    let end = i + column.len();
                    (i == 0 || header.as_bytes()[i - 1] == b' ')
                        && (end == header.len() || header.as_bytes()[end] == b' ')
                })
                .unwrap_or_else(|| {
                    panic!("no column {column:?} (in order {columns:?}) in header {header:?}")
                });
            starts.push(start);
            from = start + column.len();
        }
        let rows = lines
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                (0..starts.len())
                    .map(|i| {
                        let end = starts
                            .get(i + 1)
                            .copied()
                            .unwrap_or(line.len())
                            .min(line.len());
                        line.get(starts[i].min(end)..end)
                            .unwrap_or("")
                            .trim()
                            .to_string()
                    })
                    .collect()
            })
            .collect();
        Table { rows }
    }

    fn row(&self, namespace: &str, name: &str) -> Option<&Vec<String>> {
        self.rows.iter().find(|r| r[0] == namespace && r[1] == name)
    }
}

/// What kubectl prints for a printer column whose value is absent.
fn is_empty_cell(cell: &str) -> bool {
    cell.is_empty() || cell == "<none>"
}

fn cleanup(cp: &ControlPlane, seeds: &[Seed]) {
    for seed in seeds {
        let (name, ns) = (seed.name(), seed.namespace());
        // No controller runs here to honour the resources finalizer.
        let _ = cp.kubectl(&[
            "patch",
            "application",
            name,
            "-n",
            ns,
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ]);
        let _ = cp.kubectl(&[
            "delete",
            "application",
            name,
            "-n",
            ns,
            "--ignore-not-found",
        ]);
    }
}

#[test]
fn seed_directory_holds_the_seven_applications() {
    let seeds = seeds();
    let mut names: Vec<&str> = seeds.iter().map(Seed::name).collect();
    assert_eq!(names.len(), 7, "tests/seeds/*.yaml: {names:?}");
    for seed in &seeds {
        assert_eq!(
            seed.doc["apiVersion"],
            "argoproj.io/v1alpha1",
            "{}",
            seed.file.display()
        );
        assert_eq!(seed.doc["kind"], "Application", "{}", seed.file.display());
        assert_eq!(seed.namespace(), SEED_NAMESPACE, "{}", seed.file.display());
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 7, "seed names must be distinct: {names:?}");
}

#[test]
fn missing_fields_reports_pruned_and_changed_fields() {
    let applied = json!({"spec": {"a": 1, "b": {"c": [1, {"d": true}]}, "e": "x"}});
    let live = json!({"spec": {"a": 1, "b": {"c": [1, {}]}, "e": "y", "extra": 2}});
    let mut out = Vec::new();
    missing_fields(&applied, &live, "", &mut out);
    assert_eq!(
        out,
        [
            ".spec.b.c[1].d: applied true, missing when read back",
            r#".spec.e: applied "x", read back "y""#,
        ]
    );
    let mut none = Vec::new();
    missing_fields(&applied, &applied, "", &mut none);
    assert!(none.is_empty());
}

#[tokio::test]
async fn seed_applications_are_accepted_verbatim_and_listed() {
    let cp = ControlPlane::shared().await;
    let seeds = seeds();
    install_crds(cp);
    ensure_namespace(cp, SEED_NAMESPACE);

    // Applied verbatim, strict validation: an unknown field is an error.
    let mut rejected = Vec::new();
    for seed in &seeds {
        let file = seed.file.to_string_lossy();
        if let Err(e) = cp.kubectl(&["apply", "--validate=strict", "-f", &file]) {
            rejected.push(format!("{file}: {e}"));
        }
        // Users apply with server-side apply too.
        let ssa = [
            "apply",
            "--server-side",
            "--dry-run=server",
            "--validate=strict",
            "--field-manager=seed-user",
            "-f",
            &file,
        ];
        if let Err(e) = cp.kubectl(&ssa) {
            rejected.push(format!("{file} (server-side apply): {e}"));
        }
    }
    assert!(
        rejected.is_empty(),
        "rejected seed manifests:\n{}",
        rejected.join("\n")
    );

    // Nothing the author wrote was pruned or changed by the schema.
    let mut pruned = Vec::new();
    for seed in &seeds {
        let live = cp
            .kubectl(&[
                "get",
                "application",
                seed.name(),
                "-n",
                seed.namespace(),
                "-o",
                "json",
            ])
            .unwrap_or_else(|e| panic!("reading back {}: {e}", seed.file.display()));
        let live: Value = serde_json::from_str(&live).expect("kubectl -o json is JSON");
        let mut missing = Vec::new();
        missing_fields(&seed.doc, &live, "", &mut missing);
        pruned.extend(
            missing
                .into_iter()
                .map(|m| format!("{}: {m}", seed.file.display())),
        );
    }
    assert!(
        pruned.is_empty(),
        "fields lost by the API server:\n{}",
        pruned.join("\n")
    );

    // A status as the controller writes it shows up in the columns.
    let shown = &seeds[0];
    let status = json!({"status": {
        "sync": {"status": "Synced", "revision": "0123456789abcdef0123456789abcdef01234567"},
        "health": {"status": "Healthy"},
    }});
    cp.kubectl(&[
        "patch",
        "application",
        shown.name(),
        "-n",
        shown.namespace(),
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ])
    .unwrap_or_else(|e| panic!("writing the status of {}: {e}", shown.name()));

    let out = cp
        .kubectl(&["get", "applications", "-A"])
        .expect("kubectl get applications -A");
    let table = Table::parse(&out, &COLUMNS);
    for seed in &seeds {
        let row = table
            .row(seed.namespace(), seed.name())
            .unwrap_or_else(|| panic!("{} not listed:\n{out}", seed.name()));
        assert!(
            !is_empty_cell(&row[5]),
            "no AGE for {}:\n{out}",
            seed.name()
        );
        if seed.name() == shown.name() {
            assert_eq!(
                row[2..5],
                [
                    "Synced",
                    "Healthy",
                    "0123456789abcdef0123456789abcdef01234567"
                ],
                "{out}"
            );
        } else {
            assert!(row[2..5].iter().all(|c| is_empty_cell(c)), "{out}");
        }
    }

    let wide = cp
        .kubectl(&["get", "applications", "-A", "-o", "wide"])
        .expect("kubectl get applications -A -o wide");
    let mut wide_columns = COLUMNS.to_vec();
    wide_columns.push("PROJECT");
    let table = Table::parse(&wide, &wide_columns);
    for seed in &seeds {
        let row = table
            .row(seed.namespace(), seed.name())
            .unwrap_or_else(|| panic!("{} not listed:\n{wide}", seed.name()));
        match seed.doc["spec"]["project"].as_str() {
            Some(project) => assert_eq!(row[6], project, "{wide}"),
            // No project written: shown empty, or as the default project.
            None => assert!(is_empty_cell(&row[6]) || row[6] == "default", "{wide}"),
        }
    }

    cleanup(cp, &seeds);
}
