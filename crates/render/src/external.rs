//! The escape hatch for what the native engine refuses (Helm charts,
//! generator and transformer plugins, remote bases): when an operator
//! configures an external `kustomize` command, such a path is rendered by
//! it instead, as Argo CD renders every path.
//!
//! A directory on disk is rendered in place. Any other tree (a Git commit),
//! or a directory when Argo CD's `spec.source.kustomize` overrides are set,
//! is copied to a temporary directory first, the overrides written into the
//! path's kustomization file there (what Argo CD's `kustomize edit` calls
//! do). The command runs with the directory appended to its arguments, and
//! its standard output is parsed as the objects. The command runs with a time
//! limit; a failure names the command and what it printed on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::RenderError;
use crate::object::Object;
use crate::process::{Finished, run_bounded};
use crate::tree::{EntryKind, FileTree, join};
use crate::{KustomizeOverrides, kustomize, yaml};

/// How long an external render may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// The most a command may print before its render is refused.
const MAX_OUTPUT_BYTES: u64 = 256 << 20;

/// At most this many bytes of files are copied out of a tree.
const MAX_TREE_BYTES: u64 = 512 * 1024 * 1024;

/// At most this many files are copied out of a tree.
const MAX_TREE_FILES: usize = 50_000;

/// An external kustomize command, e.g. `kustomize build --enable-helm` or
/// `kubectl kustomize --enable-alpha-plugins`; the directory to build is
/// appended as its last argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalKustomize {
    /// The program.
    pub program: PathBuf,
    /// Its arguments before the directory.
    pub args: Vec<String>,
    /// How long one render may take before the command is killed.
    pub timeout: Duration,
}

impl ExternalKustomize {
    /// Parses a command line (words separated by whitespace, no quoting).
    pub fn parse(command: &str) -> Result<Self, String> {
        let mut words = command.split_whitespace();
        let program = words
            .next()
            .ok_or_else(|| "the kustomize command is empty".to_string())?;
        Ok(Self {
            program: PathBuf::from(program),
            args: words.map(str::to_string).collect(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Renders `path` of `tree` with `external`, applying `overrides` to its
/// kustomization first. Returns the objects and the tree files copied (all
/// of them: what the command reads cannot be known; none when the tree was
/// read in place).
pub fn render(
    tree: &dyn FileTree,
    path: &str,
    overrides: Option<&KustomizeOverrides>,
    external: &ExternalKustomize,
) -> Result<(Vec<Object>, Vec<String>), RenderError> {
    let command = external.display();
    let failed = |message: String| RenderError::External {
        command: command.clone(),
        message,
    };
    let (output, copied) = match (tree.disk_root(), overrides) {
        (Some(root), None) => (run(external, &root.join(path)).map_err(failed)?, Vec::new()),
        _ => {
            let workdir = tempfile::Builder::new()
                .prefix("driftless-kustomize-")
                .tempdir()
                .map_err(|e| failed(format!("creating a working directory: {e}")))?;
            let (mut copied, mut budget) = (Vec::new(), MAX_TREE_BYTES);
            copy_tree(tree, "", workdir.path(), &mut copied, &mut budget)
                .map_err(|e| failed(format!("copying the repository: {e}")))?;
            if let Some(overrides) = overrides {
                write_overrides(tree, path, overrides, workdir.path())?;
            }
            let output = run(external, &workdir.path().join(path)).map_err(failed)?;
            copied.sort();
            (output, copied)
        }
    };
    let source = format!("output of {command}");
    let objects = yaml::parse_documents(&output, &source)?
        .into_iter()
        .map(|value| {
            Object::from_value(value).ok_or_else(|| {
                RenderError::resource(&source, "a document is not a mapping (not an object)")
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((objects, copied))
}

/// Copies `dir` of `tree` (recursively; `.git` skipped) below `dest`.
fn copy_tree(
    tree: &dyn FileTree,
    dir: &str,
    dest: &Path,
    copied: &mut Vec<String>,
    budget: &mut u64,
) -> Result<(), RenderError> {
    for (name, kind) in tree.list(dir)? {
        if name == ".git" {
            continue;
        }
        let path = join(dir, &name)?;
        let target = dest.join(&path);
        match kind {
            EntryKind::Dir => {
                std::fs::create_dir_all(&target).map_err(|e| write_error(&path, e))?;
                copy_tree(tree, &path, dest, copied, budget)?;
            }
            EntryKind::File => {
                let bytes = tree.read(&path)?;
                let size = bytes.len() as u64;
                if size > *budget || copied.len() >= MAX_TREE_FILES {
                    return Err(RenderError::resource(
                        &path,
                        format!(
                            "the repository is larger than an external render may copy \
                             ({MAX_TREE_FILES} files, {} MiB)",
                            MAX_TREE_BYTES >> 20
                        ),
                    ));
                }
                *budget -= size;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| write_error(&path, e))?;
                }
                std::fs::write(&target, bytes).map_err(|e| write_error(&path, e))?;
                copied.push(path);
            }
        }
    }
    Ok(())
}

fn write_error(path: &str, error: std::io::Error) -> RenderError {
    RenderError::resource(path, format!("writing a copy: {error}"))
}

/// Rewrites the kustomization of `path` in the copy with the overrides
/// applied, as Argo CD's `kustomize edit set ...` calls do.
fn write_overrides(
    tree: &dyn FileTree,
    path: &str,
    overrides: &KustomizeOverrides,
    dest: &Path,
) -> Result<(), RenderError> {
    let reader = yaml::Reader::new(tree);
    let Some(file) = kustomize::find_kustomization(tree, path)? else {
        return Err(RenderError::resource(
            path,
            "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization'",
        ));
    };
    let mut k = kustomize::file::Kustomization::load(&reader, path, &file)?;
    kustomize::overrides::apply(&mut k, overrides)?;
    let text =
        serde_saphyr::to_string(&k.fields).map_err(|e| RenderError::Output(e.to_string()))?;
    std::fs::write(dest.join(&file), text).map_err(|e| write_error(&file, e))
}

/// Runs the command on `dir` within its time limit; stdout on success.
fn run(external: &ExternalKustomize, dir: &Path) -> Result<String, String> {
    let mut command = Command::new(&external.program);
    command.args(&external.args).arg(dir).current_dir(dir);
    let Finished {
        status,
        stdout,
        stderr,
    } = run_bounded(&mut command, external.timeout, MAX_OUTPUT_BYTES).map_err(|e| e.to_string())?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr);
        let text = text.trim();
        let shown: String = text.chars().take(2000).collect();
        return Err(format!(
            "{status}{}{shown}",
            if shown.is_empty() { "" } else { ": " }
        ));
    }
    if stdout.len() as u64 > MAX_OUTPUT_BYTES {
        return Err(format!("printed more than {} MiB", MAX_OUTPUT_BYTES >> 20));
    }
    String::from_utf8(stdout).map_err(|_| "printed output that is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_command_line() {
        let k = ExternalKustomize::parse("  kustomize build --enable-helm ").unwrap();
        assert_eq!(k.program, PathBuf::from("kustomize"));
        assert_eq!(k.args, ["build", "--enable-helm"]);
        assert_eq!(k.display(), "kustomize build --enable-helm");
        assert!(ExternalKustomize::parse("   ").is_err());
    }
}
