//! The files a render reads besides the chart: value files and file
//! parameters, read through a [`FileTree`] (never leaving the repository or
//! the chart), digested for the render cache, and written as private copies
//! into the sandbox for helm.

use std::path::PathBuf;

use driftless_render::TreeError;
use driftless_render::tree::{FileTree, join};
use sha2::{Digest, Sha256};

use crate::args::PreparedFiles;
use crate::sandbox::Sandbox;
use crate::{FileRef, HelmError, TemplateOptions};

/// What [`FileRef::Chart`] paths are relative to.
pub(crate) struct ChartBase<'a> {
    /// The tree holding the chart.
    pub(crate) tree: &'a dyn FileTree,
    /// The chart directory in it (`""` when the tree is the chart).
    pub(crate) dir: String,
}

/// The contents of every file a render reads besides the chart.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    value_files: Vec<Vec<u8>>,
    inline_values: Option<Vec<u8>>,
    file_parameters: Vec<(String, Vec<u8>)>,
    /// Value files that did not exist and were skipped (`ignoreMissingValueFiles`).
    pub(crate) skipped: Vec<String>,
}

/// Reads the value files and file parameters `options` names.
pub(crate) fn collect(
    options: &TemplateOptions<'_>,
    base: &ChartBase<'_>,
    chart: &str,
) -> Result<Collected, HelmError> {
    let mut collected = Collected::default();
    for (i, file) in options.value_files.iter().enumerate() {
        match read(file, base, chart, &format!("valueFiles[{i}]")) {
            Ok(bytes) => collected.value_files.push(bytes),
            Err(HelmError::Tree {
                source: TreeError::NotFound { .. },
                ..
            }) if options.ignore_missing_value_files => {
                collected.skipped.push(file.label().to_string())
            }
            Err(error) => return Err(error),
        }
    }
    collected.inline_values = options.values.as_ref().map(|v| v.as_bytes().to_vec());
    for (i, (name, file)) in options.file_parameters.iter().enumerate() {
        check_parameter_name(chart, i, name)?;
        let bytes = read(file, base, chart, &format!("fileParameters[{i}]"))?;
        collected.file_parameters.push((name.clone(), bytes));
    }
    Ok(collected)
}

fn check_parameter_name(chart: &str, i: usize, name: &str) -> Result<(), HelmError> {
    if name.is_empty() || name.contains(['=', ',']) {
        return Err(HelmError::Input {
            chart: chart.to_string(),
            field: format!("fileParameters[{i}].name"),
            message: format!("{name:?} is not a value path (empty, or holds '=' or ',')"),
        });
    }
    Ok(())
}

fn read(
    file: &FileRef<'_>,
    base: &ChartBase<'_>,
    chart: &str,
    field: &str,
) -> Result<Vec<u8>, HelmError> {
    let (tree, path) = match file {
        FileRef::Chart(rel) => {
            if rel.contains("://") {
                return Err(HelmError::Input {
                    chart: chart.to_string(),
                    field: field.to_string(),
                    message: format!(
                        "{rel:?}: value files from URLs are not supported; put the file in Git"
                    ),
                });
            }
            (base.tree, join(&base.dir, rel))
        }
        FileRef::Tree { tree, path, .. } => (*tree, join("", path)),
    };
    let tree_error = |source| HelmError::Tree {
        chart: chart.to_string(),
        source,
    };
    tree.read(&path.map_err(tree_error)?).map_err(tree_error)
}

impl Collected {
    /// Feeds every content (with its position) into `hasher`.
    pub(crate) fn digest_into(&self, hasher: &mut Sha256) {
        let mut part = |tag: &str, bytes: &[u8]| {
            hasher.update(tag.as_bytes());
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        for bytes in &self.value_files {
            part("values", bytes);
        }
        if let Some(bytes) = &self.inline_values {
            part("inline", bytes);
        }
        for (name, bytes) in &self.file_parameters {
            part("file-parameter", name.as_bytes());
            part("content", bytes);
        }
    }

    /// Writes the files into the sandbox; their paths for helm's flags.
    pub(crate) fn write(&self, sandbox: &Sandbox, chart: &str) -> Result<PreparedFiles, HelmError> {
        let dir = sandbox.work().join("inputs");
        let write = |name: String, bytes: &[u8]| -> Result<PathBuf, HelmError> {
            let path = dir.join(name);
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, bytes))
                .map_err(|source| HelmError::Io {
                    chart: chart.to_string(),
                    path: path.display().to_string(),
                    source,
                })?;
            Ok(path)
        };
        let mut files = PreparedFiles::default();
        for (i, bytes) in self.value_files.iter().enumerate() {
            files.values.push(write(format!("values-{i}.yaml"), bytes)?);
        }
        if let Some(bytes) = &self.inline_values {
            files
                .values
                .push(write("inline-values.yaml".into(), bytes)?);
        }
        for (i, (name, bytes)) in self.file_parameters.iter().enumerate() {
            files
                .file_parameters
                .push((name.clone(), write(format!("file-{i}"), bytes)?));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use driftless_render::DiskTree;

    use super::*;

    fn repo() -> (tempfile::TempDir, DiskTree) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("charts/web")).unwrap();
        std::fs::create_dir_all(dir.path().join("envs")).unwrap();
        std::fs::write(dir.path().join("charts/web/values-a.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("envs/prod.yaml"), "env: prod\n").unwrap();
        let tree = DiskTree::new(dir.path()).unwrap();
        (dir, tree)
    }

    #[test]
    fn chart_paths_are_relative_to_the_chart_and_stay_in_the_tree() {
        let (_dir, tree) = repo();
        let base = ChartBase {
            tree: &tree,
            dir: "charts/web".into(),
        };
        let mut options = TemplateOptions::new("web");
        options.value_files = vec![
            FileRef::Chart("values-a.yaml".into()),
            FileRef::Chart("../../envs/prod.yaml".into()),
        ];
        let collected = collect(&options, &base, "web").unwrap();
        assert_eq!(
            collected.value_files,
            [b"a: 1\n".to_vec(), b"env: prod\n".to_vec()]
        );

        options.value_files = vec![FileRef::Chart("../../../outside.yaml".into())];
        let error = collect(&options, &base, "web").unwrap_err();
        assert!(
            matches!(
                error,
                HelmError::Tree {
                    source: TreeError::Escapes { .. },
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn missing_value_files_are_skipped_only_when_asked_and_file_parameters_never() {
        let (_dir, tree) = repo();
        let base = ChartBase {
            tree: &tree,
            dir: "charts/web".into(),
        };
        let mut options = TemplateOptions::new("web");
        options.value_files = vec![FileRef::Chart("nope.yaml".into())];
        let error = collect(&options, &base, "web").unwrap_err().to_string();
        assert!(error.contains("charts/web/nope.yaml"), "{error}");
        options.ignore_missing_value_files = true;
        assert_eq!(
            collect(&options, &base, "web").unwrap().skipped,
            ["nope.yaml"]
        );

        options.file_parameters = vec![("cfg".into(), FileRef::Chart("nope.txt".into()))];
        assert!(collect(&options, &base, "web").is_err());
        options.file_parameters = vec![("a=b".into(), FileRef::Chart("values-a.yaml".into()))];
        let error = collect(&options, &base, "web").unwrap_err().to_string();
        assert!(error.contains("fileParameters[0].name"), "{error}");
    }

    #[test]
    fn the_digest_follows_the_contents_and_files_are_written_into_the_sandbox() {
        let (dir, tree) = repo();
        let base = ChartBase {
            tree: &tree,
            dir: "charts/web".into(),
        };
        let mut options = TemplateOptions::new("web");
        options.value_files = vec![FileRef::Chart("values-a.yaml".into())];
        options.values = Some("b: 2\n".into());
        let digest = |c: &Collected| {
            let mut h = Sha256::new();
            c.digest_into(&mut h);
            h.finalize()
        };
        let first = collect(&options, &base, "web").unwrap();
        std::fs::write(dir.path().join("charts/web/values-a.yaml"), "a: 2\n").unwrap();
        let second = collect(&options, &base, "web").unwrap();
        assert_ne!(digest(&first), digest(&second));

        let sandbox_root = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(sandbox_root.path()).unwrap();
        let files = second.write(&sandbox, "web").unwrap();
        assert_eq!(
            files.values.len(),
            2,
            "the value file, then the inline values"
        );
        assert_eq!(std::fs::read_to_string(&files.values[0]).unwrap(), "a: 2\n");
        assert_eq!(std::fs::read_to_string(&files.values[1]).unwrap(), "b: 2\n");
        assert!(files.values.iter().all(|p| p.starts_with(sandbox.work())));
    }
}
