//! The kustomization file of a directory, edited in place: only the
//! `images:` field is rewritten (as `kustomize edit` writes it); every other
//! line, comments and key order included, stays as it was.
//!
//! Where kustomize itself differs: it re-serializes every field (sorting
//! nested keys, dropping inline comments and comments at the end of the
//! file). On a file in kustomize's own layout both give the same bytes; on
//! others driftless keeps more of what the author wrote.

use std::path::{Path, PathBuf};

use super::image::Image;
use super::quote::scalar;

/// The file names kustomize recognises, in its order.
const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What is wrong with a kustomization file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KustfileError {
    /// No kustomization file in the directory.
    #[error(
        "{dir}: no kustomization file (kustomization.yaml, kustomization.yml or Kustomization)"
    )]
    Missing { dir: PathBuf },
    /// Several kustomization files in the directory.
    #[error("{dir}: several kustomization files ({names}); keep one")]
    Several { dir: PathBuf, names: String },
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid kustomization.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A kustomization file's text and its parsed `images`.
#[derive(Debug)]
pub(crate) struct Kustfile {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its `images:` entries.
    pub images: Vec<Image>,
    /// Whether it sets `apiVersion` and `kind` (kustomize adds them when not).
    api_version: bool,
    kind: Option<String>,
}

/// The subset of the kustomization that `edit set image` reads.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parsed {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    images: Option<Vec<Image>>,
    #[serde(default)]
    image_tags: Option<serde_json::Value>,
    #[serde(default)]
    bases: Option<serde_json::Value>,
}

impl Kustfile {
    /// Finds and reads the kustomization file of `dir`.
    pub(crate) fn read(dir: &Path) -> Result<Kustfile, KustfileError> {
        let found: Vec<&str> = FILE_NAMES
            .iter()
            .copied()
            .filter(|n| dir.join(n).is_file())
            .collect();
        let path = match found[..] {
            [] => {
                return Err(KustfileError::Missing {
                    dir: dir.to_path_buf(),
                });
            }
            [one] => dir.join(one),
            _ => {
                return Err(KustfileError::Several {
                    dir: dir.to_path_buf(),
                    names: found.join(", "),
                });
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| KustfileError::Io {
            path: path.clone(),
            source,
        })?;
        let invalid = |message: String| KustfileError::Invalid {
            path: path.clone(),
            message,
        };
        let parsed: Parsed = if text.trim().is_empty() {
            return Err(invalid("the file is empty".into()));
        } else {
            serde_saphyr::from_str(&text)
                .map_err(|e| invalid(format!("not a valid kustomization: {}", first_line(&e))))?
        };
        for (field, value) in [("imageTags", &parsed.image_tags), ("bases", &parsed.bases)] {
            if value.is_some() {
                return Err(invalid(format!(
                    "uses the deprecated field {field:?}: run `kustomize edit fix` first"
                )));
            }
        }
        Ok(Kustfile {
            api_version: parsed.api_version.is_some_and(|v| !v.is_empty()),
            kind: parsed.kind.filter(|k| !k.is_empty()),
            images: parsed.images.unwrap_or_default(),
            path,
            text,
        })
    }

    /// The file's text with `images` as its `images:` field.
    pub(crate) fn with_images(&self, images: &[Image]) -> String {
        let lines: Vec<&str> = self.text.split_inclusive('\n').collect();
        let block = images_block(images);
        let mut out = String::new();
        match find_field(&lines, "images") {
            Some(start) => {
                let end = field_end(&lines, start);
                out.extend(lines[..start].iter().copied());
                // Comments between entries: kustomize keeps them above the field.
                let (inner, trailing) = split_trailing_comments(&lines[start + 1..end]);
                out.extend(inner.iter().copied().filter(|l| is_comment_or_blank(l)));
                out.push_str(&block);
                out.extend(trailing.iter().copied());
                out.extend(lines[end..].iter().copied());
                ensure_newline(&mut out);
            }
            None => {
                out.push_str(&self.text);
                ensure_newline(&mut out);
                out.push_str(&self.missing_type_meta());
                out.push_str(&block);
                return out;
            }
        }
        ensure_newline(&mut out);
        out.push_str(&self.missing_type_meta());
        out
    }

    /// `apiVersion` and `kind` lines kustomize appends when the file has none.
    fn missing_type_meta(&self) -> String {
        let mut out = String::new();
        if !self.api_version {
            let component = self.kind.as_deref() == Some("Component");
            let version = if component {
                "kustomize.config.k8s.io/v1alpha1"
            } else {
                "kustomize.config.k8s.io/v1beta1"
            };
            out.push_str(&format!("apiVersion: {version}\n"));
        }
        if self.kind.is_none() {
            out.push_str("kind: Kustomization\n");
        }
        out
    }

    /// Writes `text` back to the file.
    pub(crate) fn write(&self, text: &str) -> Result<(), KustfileError> {
        std::fs::write(&self.path, text).map_err(|source| KustfileError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// The first line of a parser's message (it goes on to quote the file).
fn first_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

fn ensure_newline(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start_matches(' ').trim_end_matches(['\n', '\r']);
    t.is_empty() || t.starts_with('#')
}

/// A line that starts a top-level field (`key:` at column 0).
fn is_top_level_key(line: &str) -> bool {
    !line.starts_with([' ', '\t', '#', '-', '\n', '\r'])
        && line.contains(':')
        && !line.starts_with("---")
}

fn find_field(lines: &[&str], key: &str) -> Option<usize> {
    lines.iter().position(|l| {
        is_top_level_key(l)
            && l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start_matches(' ').starts_with(':'))
    })
}

/// The index after the last line of the field starting at `start`.
fn field_end(lines: &[&str], start: usize) -> usize {
    lines[start + 1..]
        .iter()
        .position(|l| is_top_level_key(l) || l.starts_with("---"))
        .map_or(lines.len(), |i| start + 1 + i)
}

/// Splits a field's body into its content and the comment/blank lines at
/// its end (which belong to the next field).
fn split_trailing_comments<'a>(body: &'a [&'a str]) -> (&'a [&'a str], &'a [&'a str]) {
    let keep = body
        .iter()
        .rposition(|l| !is_comment_or_blank(l))
        .map_or(0, |i| i + 1);
    body.split_at(keep)
}

/// `images:` as kustomize writes it: entries in order, keys sorted.
pub(crate) fn images_block(images: &[Image]) -> String {
    if images.is_empty() {
        return String::new();
    }
    let mut out = String::from("images:\n");
    for image in images {
        let fields = [
            ("digest", &image.digest),
            ("name", &image.name),
            ("newName", &image.new_name),
            ("newTag", &image.new_tag),
            ("tagSuffix", &image.tag_suffix),
        ];
        let mut first = true;
        for (key, value) in fields.into_iter().filter(|(_, v)| !v.is_empty()) {
            out.push_str(if first { "- " } else { "  " });
            out.push_str(&format!("{key}: {}\n", scalar(value)));
            first = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Kustfile {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kustomization.yaml"), text).expect("write");
        Kustfile::read(dir.path()).expect("a kustomization")
    }

    fn image(name: &str, tag: &str) -> Image {
        Image {
            name: name.into(),
            new_tag: tag.into(),
            ..Image::default()
        }
    }

    #[test]
    fn only_images_is_rewritten() {
        let k = file(
            "# top\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: web # inline\n    newTag: '1'\n# before resources\nresources:\n  - a.yaml # keep\n",
        );
        assert_eq!(k.images, [image("web", "1")]);
        assert_eq!(
            k.with_images(&[image("web", "2")]),
            "# top\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: web\n  newTag: \"2\"\n# before resources\nresources:\n  - a.yaml # keep\n"
        );
    }

    #[test]
    fn a_new_field_goes_last_with_missing_type_meta() {
        let k = file("resources:\n- a.yaml");
        assert_eq!(
            k.with_images(&[image("web", "v2")]),
            "resources:\n- a.yaml\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: web\n  newTag: v2\n"
        );
    }

    #[test]
    fn malformed_files_name_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kustomization.yaml");
        std::fs::write(&path, "images: [name: {\n").expect("write");
        let err = Kustfile::read(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        std::fs::write(&path, "images:\n  name: web\n").expect("write");
        assert!(Kustfile::read(dir.path()).is_err(), "images must be a list");
        let err = Kustfile::read(&dir.path().join("nowhere"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no kustomization file"), "{err}");
    }
}
