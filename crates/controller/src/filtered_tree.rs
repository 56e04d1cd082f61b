//! A Flux source's view of a commit: the files its `.sourceignore` files,
//! `GitRepository.spec.ignore` and Flux's default exclusions leave in
//! (`driftless_source::ignore` decides), as a [`FileTree`] the renderer
//! reads. Ignored files and directories do not exist for the render.

use std::sync::Arc;

use driftless_render::tree::join;
use driftless_render::{EntryKind, FileTree, SkippedLink, TreeError};
use driftless_source::ignore::{SOURCEIGNORE_FILE, SourceIgnore, SourceIgnoreBuilder};

/// `inner` without what the source's ignore rules exclude.
pub struct FilteredTree<T> {
    inner: T,
    ignore: Arc<SourceIgnore>,
}

impl<T: FileTree> FilteredTree<T> {
    /// Reads every `.sourceignore` of `inner` (parents first), then
    /// `spec_ignore`; an invalid pattern is an error naming its file.
    pub fn new(inner: T, spec_ignore: Option<&str>) -> Result<Self, String> {
        let ignore = read_ignore(&inner, spec_ignore)?;
        Ok(Self::with_ignore(inner, Arc::new(ignore)))
    }

    /// `inner` filtered by rules already read from it (see
    /// [`crate::ignore_cache::IgnoreCache`]).
    pub fn with_ignore(inner: T, ignore: Arc<SourceIgnore>) -> Self {
        FilteredTree { inner, ignore }
    }

    fn hidden(&self, path: &str, kind: EntryKind) -> Result<bool, TreeError> {
        let path = join("", path)?;
        Ok(!path.is_empty() && self.ignore.is_ignored(&path, kind == EntryKind::Dir))
    }
}

/// The ignore rules of `inner`: every `.sourceignore` file (parents first),
/// then `spec_ignore`. This walks the whole tree; an invalid pattern is an
/// error naming its file.
pub fn read_ignore<T: FileTree>(
    inner: &T,
    spec_ignore: Option<&str>,
) -> Result<SourceIgnore, String> {
    let mut builder = SourceIgnoreBuilder::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        let entries = inner.list(&dir).map_err(|e| e.to_string())?;
        for (name, kind) in entries {
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            match kind {
                EntryKind::Dir if name != ".git" => dirs.push(path),
                EntryKind::File if name == SOURCEIGNORE_FILE => {
                    let bytes = inner.read(&path).map_err(|e| e.to_string())?;
                    builder = builder.sourceignore(&dir, &String::from_utf8_lossy(&bytes));
                }
                _ => {}
            }
        }
        // Parents before children: visit directories in name order.
        dirs.sort_by(|a, b| b.cmp(a));
    }
    if let Some(patterns) = spec_ignore {
        builder = builder.spec_ignore(patterns);
    }
    builder.build().map_err(|e| e.to_string())
}

impl<T: FileTree> FileTree for FilteredTree<T> {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        match self.inner.entry(path)? {
            Some(kind) if self.hidden(path, kind)? => Ok(None),
            found => Ok(found),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.read_resolved(path).map(|(bytes, _)| bytes)
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        let base = join("", path)?;
        let mut out = Vec::new();
        for (name, kind) in self.inner.list(path)? {
            let full = if base.is_empty() {
                name.clone()
            } else {
                format!("{base}/{name}")
            };
            if !self.hidden(&full, kind)? {
                out.push((name, kind));
            }
        }
        Ok(out)
    }

    fn skipped_links(&self, path: &str) -> Result<Vec<SkippedLink>, TreeError> {
        self.inner.skipped_links(path)
    }

    fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
        if self.hidden(path, EntryKind::File)? {
            return Err(TreeError::NotFound {
                path: path.to_string(),
            });
        }
        self.inner.read_resolved(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |p: &str, c: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        };
        write("app/cm.yaml", "a");
        write("app/ignored.yaml", "b");
        write("app/sub/.sourceignore", "skipped.yaml\n");
        write("app/sub/skipped.yaml", "c");
        write("app/sub/kept.yaml", "d");
        write("logo.png", "e");
        dir
    }

    #[test]
    fn spec_ignore_and_sourceignore_files_hide_paths() {
        let dir = tree();
        let disk = driftless_render::DiskTree::new(dir.path()).unwrap();
        let t = FilteredTree::new(disk, Some("app/ignored.yaml\n")).unwrap();
        let names: Vec<String> = t.list("app").unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["cm.yaml", "sub"]);
        let sub: Vec<String> = t
            .list("app/sub")
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(sub, [".sourceignore", "kept.yaml"]);
        assert_eq!(t.entry("app/ignored.yaml").unwrap(), None);
        assert!(matches!(
            t.read("./app/sub/skipped.yaml"),
            Err(TreeError::NotFound { .. })
        ));
        assert_eq!(t.read("app/cm.yaml").unwrap(), b"a");
        assert_eq!(
            t.entry("logo.png").unwrap(),
            Some(EntryKind::File),
            "user patterns replace the defaults"
        );
    }

    #[test]
    fn without_user_patterns_flux_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logo.png"), "x").unwrap();
        std::fs::write(dir.path().join("cm.yaml"), "x").unwrap();
        let disk = driftless_render::DiskTree::new(dir.path()).unwrap();
        let t = FilteredTree::new(disk, None).unwrap();
        assert_eq!(t.entry("logo.png").unwrap(), None);
        assert_eq!(t.entry("cm.yaml").unwrap(), Some(EntryKind::File));
    }
}
