//! Renders a path of a read-only file tree (a Git commit, or a directory on
//! disk) into Kubernetes objects: natively for Kustomize overlays, and for
//! plain directories of YAML/JSON manifests.

pub mod object;
pub mod tree;

pub use object::{Object, ObjectKey};
pub use tree::{DiskTree, EntryKind, FileTree, TreeError};
