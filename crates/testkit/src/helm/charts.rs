//! Charts for tests: written from a few templates, packaged with the pinned
//! helm (`helm package`), pushed to a registry (`helm push`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::run_helm;

/// Writes a chart `name` `version` into `dir/name/`: its `Chart.yaml`, the
/// `values.yaml` text and each `(file name, text)` under `templates/`.
/// Returns the chart directory.
pub fn write_chart(
    dir: &Path,
    name: &str,
    version: &str,
    values: &str,
    templates: &[(&str, &str)],
) -> PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).expect("create chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\ntype: application\n"),
    )
    .expect("write Chart.yaml");
    std::fs::write(chart.join("values.yaml"), values).expect("write values.yaml");
    for (file, text) in templates {
        std::fs::write(chart.join("templates").join(file), text).expect("write template");
    }
    chart
}

/// `helm package CHART_DIR --destination DEST`: the `.tgz` it made.
pub fn package(chart_dir: &Path, dest: &Path) -> PathBuf {
    std::fs::create_dir_all(dest).expect("create package destination");
    let home = tempfile::tempdir().expect("helm home");
    let out = run_helm(
        home.path(),
        &[
            OsStr::new("package"),
            chart_dir.as_os_str(),
            OsStr::new("--destination"),
            dest.as_os_str(),
        ],
    );
    // "Successfully packaged chart and saved it to: /path/name-1.0.0.tgz"
    let path = out
        .rsplit_once(": ")
        .map(|(_, p)| PathBuf::from(p.trim()))
        .expect("helm package printed the archive path");
    assert!(path.is_file(), "helm package made no {}", path.display());
    path
}

/// `helm push ARCHIVE oci://HOST/PATH --plain-http`, logged in with
/// `credentials` (username, password) when given.
pub fn push(archive: &Path, reference: &str, credentials: Option<(&str, &str)>) {
    let home = tempfile::tempdir().expect("helm home");
    if let Some((username, password)) = credentials {
        let host = reference
            .trim_start_matches("oci://")
            .split('/')
            .next()
            .expect("registry host");
        run_helm(
            home.path(),
            &[
                OsStr::new("registry"),
                OsStr::new("login"),
                OsStr::new(host),
                OsStr::new("--plain-http"),
                OsStr::new("--username"),
                OsStr::new(username),
                OsStr::new("--password"),
                OsStr::new(password),
            ],
        );
    }
    run_helm(
        home.path(),
        &[
            OsStr::new("push"),
            archive.as_os_str(),
            OsStr::new(reference),
            OsStr::new("--plain-http"),
        ],
    );
}
