//! Shared pieces of the fuzz targets.

use std::collections::BTreeMap;

use driftless_render::tree::{EntryKind, FileTree, TreeError};

/// An in-memory file tree (no symlinks): path -> contents.
#[derive(Default)]
pub struct MemTree(pub BTreeMap<String, Vec<u8>>);

impl MemTree {
    fn is_dir(&self, path: &str) -> bool {
        path.is_empty()
            || self.0.keys().any(|k| {
                k.strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

impl FileTree for MemTree {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        Ok(if self.0.contains_key(path) {
            Some(EntryKind::File)
        } else if self.is_dir(path) {
            Some(EntryKind::Dir)
        } else {
            None
        })
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| TreeError::NotFound {
                path: path.to_string(),
            })
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut out: Vec<(String, EntryKind)> = Vec::new();
        for key in self.0.keys() {
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            let entry = match rest.split_once('/') {
                Some((dir, _)) => (dir.to_string(), EntryKind::Dir),
                None => (rest.to_string(), EntryKind::File),
            };
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The files a kustomize input is split into (at NUL bytes), in order.
pub const KUSTOMIZE_FILES: [&str; 5] = [
    "app/kustomization.yaml",
    "app/a.yaml",
    "app/patch.yaml",
    "base/kustomization.yaml",
    "base/b.yaml",
];
