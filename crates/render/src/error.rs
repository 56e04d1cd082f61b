//! The one error type of this crate: every variant names the file (and where
//! useful the field or object) at fault.

use crate::tree::TreeError;
use crate::warning::{display_dir, files};

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Reading the file tree failed (missing file, path escaping the root, ...).
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A file could not be parsed as YAML or JSON.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What the parser said.
        message: String,
    },
    /// A field of a kustomization (or of a resource) is invalid.
    #[error("{file}: field {field}: {message}")]
    Field {
        /// The file holding the field.
        file: String,
        /// The field, e.g. `images[0].newTag`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A feature that is not supported natively (helm charts, plugins, remote bases).
    #[error("{file}: {field}: {message}")]
    Unsupported {
        /// The file using the feature.
        file: String,
        /// The field naming the feature.
        field: String,
        /// What is unsupported and what to do instead.
        message: String,
    },
    /// A problem with the set of objects, e.g. two objects with the same id.
    #[error("{file}: {message}")]
    Resource {
        /// The kustomization (or file) whose build failed.
        file: String,
        /// What is wrong, naming the object(s).
        message: String,
    },
    /// A patch could not be applied.
    #[error("{file}: patch failed on {object}: {message}")]
    Patch {
        /// The file holding the patch (or the kustomization for inline patches).
        file: String,
        /// The target object.
        object: String,
        /// What went wrong.
        message: String,
    },
    /// The kustomizations refer to each other in a cycle.
    #[error("{file}: cycle between kustomizations: {chain}")]
    Cycle {
        /// The kustomization met a second time.
        file: String,
        /// The chain of directories that leads back to it.
        chain: String,
    },
    /// The configured external kustomize command failed.
    #[error("external render ({command}): {message}")]
    External {
        /// The command line.
        command: String,
        /// What went wrong, with what the command printed on stderr.
        message: String,
    },
    /// A `helmCharts` entry could not be rendered.
    #[error("{file}: {field}: chart {chart}: {source}")]
    Chart {
        /// The kustomization.
        file: String,
        /// The entry, e.g. `helmCharts[0]`.
        field: String,
        /// The chart name and version asked for, e.g. `web 1.2.0`.
        chart: String,
        /// What the inflater said.
        source: crate::charts::InflateError,
    },
    /// A Jsonnet file could not be evaluated.
    #[error("{file}: jsonnet: {message}")]
    Jsonnet {
        /// The Jsonnet file evaluated.
        file: String,
        /// What went wrong (and where, when known).
        message: String,
    },
    /// The path is a Helm chart (it holds `Chart.yaml`), which is not rendered yet.
    #[error("Helm chart directory {}: Helm is not supported yet", display_dir(.path))]
    HelmChart {
        /// The chart's directory (tree path).
        path: String,
    },
    /// The path rendered no object but holds files of a kind that is not
    /// rendered (e.g. Jsonnet): an empty render here would be a false green.
    #[error(
        "no manifests found in {}: {} not rendered",
        display_dir(.path),
        are(*.count, .extension)
    )]
    NothingRendered {
        /// The rendered directory (tree path).
        path: String,
        /// How many such files it holds.
        count: usize,
        /// Their extension, e.g. `.jsonnet`.
        extension: String,
    },
    /// Output could not be produced.
    #[error("writing YAML: {0}")]
    Output(String),
}

/// `1 .jsonnet file is`, `3 .jsonnet files are`.
fn are(count: usize, extension: &str) -> String {
    let verb = if count == 1 { "is" } else { "are" };
    format!("{} {verb}", files(count, extension))
}

impl RenderError {
    /// A [`RenderError::Field`] error.
    pub fn field(file: &str, field: &str, message: impl Into<String>) -> Self {
        Self::Field {
            file: file.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// A [`RenderError::Resource`] error.
    pub fn resource(file: &str, message: impl Into<String>) -> Self {
        Self::Resource {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
