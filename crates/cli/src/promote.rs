//! `driftless promote --from DIR --to DIR`: copies image names, tags and
//! digests from one overlay's `images:` to another's (as `edit set image`
//! would write them), shows the diff, and commits it when asked.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::diff::colorize;
use crate::edit::image::{self, Image};
use crate::edit::kustfile::Kustfile;
use crate::output::color;

/// Arguments of `driftless promote`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  driftless promote --from overlays/staging --to overlays/prod
  driftless promote --from overlays/staging --to overlays/prod --image web --commit
  driftless promote --from envs/dev --to envs/staging --commit -m 'staging: web 1.4.2'")]
pub(crate) struct Args {
    /// The overlay whose images are promoted.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The overlay that receives them.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Promote only these images (their `name:` in `--from`); all when omitted.
    #[arg(long = "image", value_name = "NAME")]
    images: Vec<String>,
    /// Commit the change with git (only the edited file).
    #[arg(long)]
    commit: bool,
    /// The commit message (default: names the images, versions and overlays).
    #[arg(short, long, requires = "commit")]
    message: Option<String>,
}

/// Runs `promote`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let from = Kustfile::read(&args.from)?;
    let to = Kustfile::read(&args.to)?;
    let chosen = chosen(&from, &args.images)?;
    let merged = image::merge(&to.images, &chosen);
    let text = to.with_images(&merged);
    if text == to.text {
        println!(
            "{} already has these images: nothing to promote",
            to.path.display()
        );
        return Ok(());
    }
    let title = to.path.display().to_string();
    let diff = similar::TextDiff::from_lines(&to.text, &text)
        .unified_diff()
        .header(&title, &title)
        .to_string();
    print!("{}", colorize(&diff, color::stdout_wants_color()));
    to.write(&text)?;
    if args.commit {
        let message = match &args.message {
            Some(m) => m.clone(),
            None => default_message(&chosen, &args.from, &args.to),
        };
        commit(&to.path, &message)?;
    }
    Ok(())
}

/// The `--from` entries to promote; an error names an image `--from` lacks.
fn chosen(from: &Kustfile, names: &[String]) -> anyhow::Result<Vec<Image>> {
    if from.images.is_empty() {
        anyhow::bail!("{}: no images: to promote", from.path.display());
    }
    if names.is_empty() {
        return Ok(from.images.clone());
    }
    names
        .iter()
        .map(|n| {
            from.images
                .iter()
                .find(|i| &i.name == n)
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!("{}: no image named {n:?} in images:", from.path.display())
                })
        })
        .collect()
}

fn version(image: &Image) -> String {
    let name = if image.new_name.is_empty() {
        &image.name
    } else {
        &image.new_name
    };
    match (image.new_tag.as_str(), image.digest.as_str()) {
        (_, d) if !d.is_empty() => format!("{name}@{d}"),
        (t, _) if !t.is_empty() => format!("{name}:{t}"),
        _ => name.clone(),
    }
}

/// `promote web to registry/web:1.4.2, api to api:2.0 (overlays/staging -> overlays/prod)`.
fn default_message(images: &[Image], from: &Path, to: &Path) -> String {
    let list: Vec<String> = images
        .iter()
        .map(|i| format!("{} to {}", i.name, version(i)))
        .collect();
    format!(
        "promote {} ({} -> {})",
        list.join(", "),
        from.display(),
        to.display()
    )
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        anyhow::bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn commit(file: &Path, message: &str) -> anyhow::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    git(dir, &["add", "--", &name])?;
    git(dir, &["commit", "-q", "-m", message, "--", &name])?;
    let sha = git(dir, &["rev-parse", "--short", "HEAD"])?;
    println!("committed {}: {message}", sha.trim());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_images_and_versions() {
        let images = [
            Image {
                name: "web".into(),
                new_name: "reg/web".into(),
                new_tag: "1.4.2".into(),
                ..Image::default()
            },
            Image {
                name: "api".into(),
                digest: "sha256:abc".into(),
                ..Image::default()
            },
        ];
        assert_eq!(
            default_message(
                &images,
                Path::new("overlays/staging"),
                Path::new("overlays/prod")
            ),
            "promote web to reg/web:1.4.2, api to api@sha256:abc (overlays/staging -> overlays/prod)"
        );
    }
}
