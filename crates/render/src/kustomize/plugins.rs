//! Built-in transformer plugin configs listed under `transformers:`
//! (`apiVersion: builtin`): the ones the engine can run natively.

use serde_json::Value;

use super::build::{Context, unsupported_plugin};
use super::config::Config;
use super::file::Kustomization;
use super::resource::Resource;
use crate::error::RenderError;

/// Runs one transformer config on `resources`.
pub fn run_transformer(
    _ctx: &Context<'_, '_>,
    _k: &Kustomization,
    _resources: &mut Vec<Resource>,
    _config: &Config,
    doc: &Value,
    file: &str,
    field: &str,
) -> Result<(), RenderError> {
    Err(unsupported_plugin(file, field, doc))
}
