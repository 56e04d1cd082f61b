//! `driftless edit set image`: set images in a kustomization file exactly
//! as `kustomize edit set image` does, keeping the rest of the file.

pub(crate) mod image;
pub(crate) mod kustfile;
mod quote;

use std::path::PathBuf;

use kustfile::Kustfile;

/// Arguments of `driftless edit`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  driftless edit set image web=registry.example.com/web:1.4.2 --dir overlays/prod")]
pub(crate) struct Args {
    #[command(subcommand)]
    command: EditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EditCommand {
    /// Set a field of the kustomization file.
    #[command(
        subcommand,
        after_help = "Example:
  driftless edit set image nginx:1.27.3"
    )]
    Set(SetCommand),
}

#[derive(Debug, clap::Subcommand)]
enum SetCommand {
    /// Set images' new names, tags or digests (`images:`), as `kustomize edit set image`.
    Image(ImageArgs),
}

/// Arguments of `driftless edit set image`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless edit set image web=registry.example.com/web:1.4.2      # rename and tag
  driftless edit set image nginx:1.27.3 --dir overlays/prod         # tag only
  driftless edit set image app@sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
  driftless edit set image web=*:1.5.0                              # keep the new name, change the tag

The tag may contain letters, digits, '.', '_' and '-'; '*' as the new name, tag or
digest keeps the file's value. Only `images:` is rewritten: comments, key order and
the other fields stay as they are.")]
pub(crate) struct ImageArgs {
    /// `[NAME=]NEWNAME[:TAG][@DIGEST]`, one or more.
    #[arg(required = true, value_name = "[NAME=]NEWNAME[:TAG|@DIGEST]")]
    images: Vec<String>,
    /// The directory holding the kustomization file.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// Runs `edit`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        EditCommand::Set(SetCommand::Image(a)) => set_image(a),
    }
}

fn set_image(args: &ImageArgs) -> anyhow::Result<()> {
    let wanted = args
        .images
        .iter()
        .map(|a| image::parse_arg(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let file = Kustfile::read(&args.dir)?;
    let merged = image::merge(&file.images, &wanted);
    file.write(&file.with_images(&merged))?;
    Ok(())
}
