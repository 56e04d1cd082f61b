//! Charts for tests: written from a few templates, packaged with the pinned
//! helm (`helm package`), pushed to a registry (`helm push`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::run_helm;

/// A chart to write to a directory or publish (to a [`super::ChartRepo`]
/// or an [`super::OciRegistry`]): its name, version, `values.yaml` text,
/// `(file name, text)` templates and other files.
#[derive(Clone, Copy, Debug)]
pub struct ChartSpec<'a> {
    /// The chart name.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// `values.yaml`.
    pub values: &'a str,
    /// The files under `templates/`.
    pub templates: &'a [(&'a str, &'a str)],
    /// Other files, by path relative to the chart directory (e.g.
    /// `crds/widget.yaml`, `values-prod.yaml`).
    pub files: &'a [(&'a str, &'a str)],
}

impl<'a> ChartSpec<'a> {
    /// Chart `name` `version` with these values and templates.
    pub fn new(
        name: &'a str,
        version: &'a str,
        values: &'a str,
        templates: &'a [(&'a str, &'a str)],
    ) -> Self {
        ChartSpec {
            name,
            version,
            values,
            templates,
            files: &[],
        }
    }

    /// The same chart with `files` (paths relative to the chart directory)
    /// besides its templates.
    pub fn with_files(self, files: &'a [(&'a str, &'a str)]) -> Self {
        ChartSpec { files, ..self }
    }

    /// Writes it into `dir/<name>/` (see [`write_chart`]) with its other
    /// files; returns the chart directory.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let chart = write_chart(dir, self.name, self.version, self.values, self.templates);
        for (file, text) in self.files {
            let path = chart.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create a chart file's directory");
            }
            std::fs::write(&path, text).expect("write a chart file");
        }
        chart
    }

    /// Writes it (in a temporary directory) and packages it with the
    /// pinned helm into `dest`: the `.tgz` it made.
    pub fn package(&self, dest: &Path) -> PathBuf {
        let src = tempfile::tempdir().expect("chart source dir");
        package(&self.write(src.path()), dest)
    }
}

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

/// Writes a gzipped tar archive with exactly these `(name, contents)`
/// entries, names unchecked (`../` allowed): hostile chart archives that
/// `helm package` would never make. Needs the `gzip` command.
pub fn write_raw_archive(path: &Path, entries: &[(&str, &[u8])]) {
    let mut tar = Vec::new();
    for (name, contents) in entries {
        tar.extend_from_slice(&ustar_header(name, contents.len()));
        tar.extend_from_slice(contents);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gzip = std::process::Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = gzip.stdin.take().expect("gzip stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        stdin.write_all(&tar).expect("feed gzip");
    });
    let out = gzip.wait_with_output().expect("gzip output");
    writer.join().expect("gzip writer");
    assert!(out.status.success(), "gzip failed");
    std::fs::write(path, out.stdout).expect("write archive");
}

/// A POSIX ustar header for a regular file.
fn ustar_header(name: &str, size: usize) -> [u8; 512] {
    let mut header = [0u8; 512];
    assert!(name.len() <= 100, "tar entry name too long: {name}");
    header[..name.len()].copy_from_slice(name.as_bytes());
    let mut field =
        |at: usize, text: String| header[at..at + text.len()].copy_from_slice(text.as_bytes());
    field(100, "0000644\0".into());
    field(108, "0000000\0".into());
    field(116, "0000000\0".into());
    field(124, format!("{size:011o}\0"));
    field(136, "00000000000\0".into());
    field(156, "0".into());
    field(257, "ustar\0".into());
    field(263, "00".into());
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header
}
