//! `driftless crd`: print the CRDs generated from the Rust types, or write one
//! file per CRD (how `crds/` is kept up to date).

use std::path::PathBuf;

use anyhow::Context;
use driftless_api::crd::{crd_file_name, crds, crds_yaml};

/// Arguments of `driftless crd`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless crd | kubectl apply --server-side -f -   # install or update the CRDs
  driftless crd --write crds                         # regenerate the checked-in files")]
pub(crate) struct Args {
    /// Write one YAML file per CRD into this directory instead of printing them.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

/// Prints or writes the CRDs.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let Some(dir) = &args.write else {
        print!("{}", crds_yaml().context("serializing the CRDs")?);
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for crd in crds() {
        let path = dir.join(crd_file_name(&crd));
        let yaml = serde_saphyr::to_string(&crd).context("serializing a CRD")?;
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
