//! `driftless render PATH`: render a Kustomize overlay or plain directory and
//! print it as YAML, like `kubectl kustomize PATH`.

use std::path::PathBuf;

/// Arguments of `driftless render`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to render.
    path: PathBuf,
}

/// Renders and prints.
pub fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("render {}: not wired yet", args.path.display())
}
