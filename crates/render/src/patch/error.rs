//! The error type of the patch module.

use thiserror::Error;

/// Why a strategic merge patch or a JSON 6902 patch could not be applied or
/// parsed. Messages name the field path or the operation that failed; the
/// caller adds the patch file name.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PatchError {
    /// The patch text is neither YAML nor JSON.
    #[error("cannot parse patch: {0}")]
    Parse(String),
    /// The patch text parsed, but is not a list of operations nor a map.
    #[error("patch is neither a JSON 6902 list of operations nor a strategic merge patch: {0}")]
    NotAPatch(String),
    /// A JSON 6902 operation is malformed (missing `op`, `path`, `from`, `value`, unknown op).
    #[error("json patch operation {index} ({op}): {message}")]
    InvalidOperation {
        /// Position of the operation in the list, starting at 0.
        index: usize,
        /// The `op` value, or `?` when absent.
        op: String,
        /// What is wrong.
        message: String,
    },
    /// A JSON 6902 operation could not be applied to the target.
    #[error("json patch operation {index} ({op} {path}): {message}")]
    OperationFailed {
        /// Position of the operation in the list, starting at 0.
        index: usize,
        /// The `op` value.
        op: String,
        /// The `path` of the operation (JSON pointer, as written).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A JSON 6902 `test` operation did not match.
    #[error("json patch operation {index} (test {path}): value does not match, found {found}")]
    TestFailed {
        /// Position of the operation in the list, starting at 0.
        index: usize,
        /// The `path` of the operation.
        path: String,
        /// The value found at `path` (JSON).
        found: String,
    },
    /// A strategic merge patch could not be merged at a field path.
    #[error("strategic merge patch at {path}: {message}")]
    Merge {
        /// Dotted field path, e.g. `spec.template.spec.containers[name=app]`.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A custom OpenAPI schema (kustomization `openapi:` field) is unusable.
    #[error("openapi schema: {0}")]
    Schema(String),
}
