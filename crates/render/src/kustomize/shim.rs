//! Temporary stand-ins for transformers not written yet (replicas, vars,
//! replacements): they fail with a clear error naming the field.

use serde_json::Value;

use crate::error::RenderError;
use crate::object::Object;
use crate::tree::FileTree;

fn missing(file: &str, field: &str) -> RenderError {
    RenderError::Unsupported {
        file: file.to_string(),
        field: field.to_string(),
        message: "not supported yet by the native renderer".into(),
    }
}

/// `replicas`.
pub fn replicas_apply(
    _objects: &mut [Object],
    _replicas: &Value,
    file: &str,
) -> Result<(), RenderError> {
    Err(missing(file, "replicas"))
}

/// `vars`.
pub fn vars_apply(_objects: &mut [Object], vars: &[(Value, String)]) -> Result<(), RenderError> {
    Err(missing(vars.first().map_or("", |v| v.1.as_str()), "vars"))
}

/// `replacements`.
pub fn replacements_apply(
    _objects: &mut [Object],
    _replacements: &Value,
    _tree: &dyn FileTree,
    _dir: &str,
    file: &str,
) -> Result<(), RenderError> {
    Err(missing(file, "replacements"))
}
