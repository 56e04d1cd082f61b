//! Which files of a commit a Flux source keeps: Flux's `.sourceignore`
//! files and `GitRepository.spec.ignore` (gitignore syntax) over Flux's
//! default exclusions, as a pure matcher over repository-relative paths.
//!
//! Flux's rules (`fluxcd/pkg/sourceignore` and source-controller's
//! `SourceIgnoreFilter`):
//! - `.git/`, `.gitignore`, `.gitmodules` and `.gitattributes` are always excluded;
//! - when no `.sourceignore` file and no `spec.ignore` holds a pattern, the
//!   default exclusions apply too: images and archives (`*.jpg`, `*.png`,
//!   `*.tar.gz`, `*.zip`, …), CI files (`.github/`, `.gitlab-ci.yml`, …) and
//!   `.goreleaser.yml`, `.sops.yaml`, `.flux.yaml` anywhere; as soon as one
//!   user pattern exists, they no longer apply;
//! - a `.sourceignore` file's patterns are relative to its own directory and
//!   only match below it; `spec.ignore` is read last, relative to the root;
//! - the last pattern that matches a path (or one of its parent
//!   directories) decides, so `!pattern` re-includes.

use std::path::PathBuf;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The file name Flux reads ignore patterns from, in any directory.
pub const SOURCEIGNORE_FILE: &str = ".sourceignore";

/// Always excluded.
const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Excluded when no user pattern exists.
const EXCLUDE_DEFAULT: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// A pattern that is not valid gitignore syntax.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: invalid ignore pattern {pattern:?}: {message}")]
pub struct IgnoreError {
    /// Where the pattern came from (`spec.ignore`, `apps/.sourceignore`).
    pub origin: String,
    /// The pattern.
    pub pattern: String,
    /// What is wrong with it.
    pub message: String,
}

/// Patterns gathered from one source: read `.sourceignore` files (in the
/// order a directory walk finds them, parents first) and `spec.ignore`,
/// then [`build`](SourceIgnoreBuilder::build).
#[derive(Debug, Default)]
pub struct SourceIgnoreBuilder {
    /// (directory the patterns are relative to, origin, pattern lines)
    groups: Vec<(String, String, Vec<String>)>,
}

impl SourceIgnoreBuilder {
    /// An empty builder (only Flux's defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the content of the `.sourceignore` file found in `dir`
    /// (repository-relative, `""` for the root).
    pub fn sourceignore(mut self, dir: &str, content: &str) -> Self {
        let dir = dir.trim_matches('/').to_string();
        let origin = if dir.is_empty() {
            SOURCEIGNORE_FILE.to_string()
        } else {
            format!("{dir}/{SOURCEIGNORE_FILE}")
        };
        self.groups.push((dir, origin, pattern_lines(content)));
        self
    }

    /// Adds `spec.ignore` (relative to the root, read after every file).
    pub fn spec_ignore(mut self, content: &str) -> Self {
        self.groups
            .push((String::new(), "spec.ignore".into(), pattern_lines(content)));
        self
    }

    /// Builds the matcher.
    pub fn build(self) -> Result<SourceIgnore, IgnoreError> {
        let has_user_patterns = self.groups.iter().any(|(_, _, lines)| !lines.is_empty());
        let mut defaults: Vec<String> = EXCLUDE_VCS.iter().map(|p| p.to_string()).collect();
        if !has_user_patterns {
            defaults.extend(EXCLUDE_DEFAULT.iter().map(|p| p.to_string()));
        }
        let mut matchers = vec![(String::new(), matcher("Flux's defaults", &defaults)?)];
        for (dir, origin, lines) in &self.groups {
            if !lines.is_empty() {
                matchers.push((dir.clone(), matcher(origin, lines)?));
            }
        }
        Ok(SourceIgnore { matchers })
    }
}

/// The non-empty, non-comment lines of an ignore file.
fn pattern_lines(content: &str) -> Vec<String> {
    content
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn matcher(origin: &str, lines: &[String]) -> Result<Gitignore, IgnoreError> {
    let mut builder = GitignoreBuilder::new(".");
    let from = Some(PathBuf::from(origin));
    for line in lines {
        builder
            .add_line(from.clone(), line)
            .map_err(|e| IgnoreError {
                origin: origin.to_string(),
                pattern: line.clone(),
                message: e.to_string(),
            })?;
    }
    builder.build().map_err(|e| IgnoreError {
        origin: origin.to_string(),
        pattern: String::new(),
        message: e.to_string(),
    })
}

/// Decides whether a repository-relative path is left out of a Flux source.
#[derive(Debug)]
pub struct SourceIgnore {
    /// (directory the patterns apply below, patterns), lowest priority first.
    matchers: Vec<(String, Gitignore)>,
}

impl Default for SourceIgnore {
    /// Flux's defaults alone.
    fn default() -> Self {
        SourceIgnoreBuilder::new()
            .build()
            .unwrap_or_else(|e| panic!("Flux's default ignore patterns are valid: {e}"))
    }
}

impl SourceIgnore {
    /// Whether `path` (repository-relative, `/`-separated) is excluded;
    /// `is_dir` tells whether it names a directory.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let path = path.trim_start_matches("./").trim_matches('/');
        for (dir, gitignore) in self.matchers.iter().rev() {
            let relative = if dir.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(dir.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
            };
            let Some(relative) = relative.filter(|r| !r.is_empty()) else {
                continue;
            };
            match gitignore.matched_path_or_any_parents(relative, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(ignore: &SourceIgnore, path: &str) -> bool {
        !ignore.is_ignored(path, false)
    }

    #[test]
    fn defaults_exclude_vcs_media_and_ci_files() {
        let ignore = SourceIgnore::default();
        for path in [
            ".git/config",
            ".gitignore",
            "sub/.gitattributes",
            "docs/logo.png",
            "img/photo.JPG.jpg",
            "release.tar.gz",
            ".github/workflows/ci.yaml",
            ".gitlab-ci.yml",
            "deep/dir/.sops.yaml",
            ".flux.yaml",
        ] {
            assert!(ignore.is_ignored(path, false), "{path} should be ignored");
        }
        for path in [
            "k8s/base/deployment.yaml",
            "kustomization.yaml",
            "README.md",
            "charts/x.tgz",
        ] {
            assert!(kept(&ignore, path), "{path} should be kept");
        }
        assert!(ignore.is_ignored(".github", true));
    }

    #[test]
    fn a_user_pattern_replaces_the_defaults_but_not_the_vcs_rules() {
        let ignore = SourceIgnoreBuilder::new()
            .spec_ignore("*.md\n")
            .build()
            .unwrap();
        assert!(ignore.is_ignored("README.md", false));
        assert!(kept(&ignore, "docs/logo.png"), "defaults no longer apply");
        assert!(kept(&ignore, ".github/workflows/ci.yaml"));
        assert!(
            ignore.is_ignored(".git/HEAD", false),
            "VCS rules always apply"
        );
        assert!(ignore.is_ignored(".gitignore", false));
    }

    #[test]
    fn comments_and_blank_lines_are_not_patterns() {
        let ignore = SourceIgnoreBuilder::new()
            .spec_ignore("# only a comment\n\n   \n")
            .build()
            .unwrap();
        assert!(ignore.is_ignored("logo.png", false), "defaults still apply");
    }

    #[test]
    fn fluxs_documented_example_excludes_all_but_one_directory() {
        // From Flux's GitRepository docs: exclude everything but deploy/.
        let spec = "# exclude all\n/*\n# include deploy dir\n!/deploy\n# exclude file extensions from deploy dir\n/deploy/**/*.md\n/deploy/**/*.txt\n";
        let ignore = SourceIgnoreBuilder::new()
            .spec_ignore(spec)
            .build()
            .unwrap();
        assert!(ignore.is_ignored("apps/x.yaml", false));
        assert!(ignore.is_ignored("README.md", false));
        assert!(kept(&ignore, "deploy/app.yaml"));
        assert!(kept(&ignore, "deploy/nested/app.yaml"));
        assert!(ignore.is_ignored("deploy/nested/notes.md", false));
        assert!(ignore.is_ignored("deploy/a/b/notes.txt", false));
    }

    #[test]
    fn a_nested_sourceignore_only_applies_below_its_directory() {
        let ignore = SourceIgnoreBuilder::new()
            .sourceignore("apps", "secret.yaml\n/local/\n")
            .build()
            .unwrap();
        assert!(ignore.is_ignored("apps/secret.yaml", false));
        assert!(ignore.is_ignored("apps/team/secret.yaml", false));
        assert!(kept(&ignore, "secret.yaml"));
        assert!(kept(&ignore, "infra/secret.yaml"));
        assert!(
            ignore.is_ignored("apps/local/x.yaml", false),
            "anchored to apps/"
        );
        assert!(kept(&ignore, "apps/team/local/x.yaml"));
    }

    #[test]
    fn spec_ignore_is_read_last_and_can_re_include() {
        let ignore = SourceIgnoreBuilder::new()
            .sourceignore("", "*.yaml\n")
            .spec_ignore("!keep.yaml\n")
            .build()
            .unwrap();
        assert!(ignore.is_ignored("drop.yaml", false));
        assert!(kept(&ignore, "keep.yaml"));
        assert!(kept(&ignore, "dir/keep.yaml"));
    }

    #[test]
    fn directory_patterns_exclude_everything_below() {
        let ignore = SourceIgnoreBuilder::new()
            .spec_ignore("tests/\n")
            .build()
            .unwrap();
        assert!(ignore.is_ignored("tests", true));
        assert!(ignore.is_ignored("tests/fixture.yaml", false));
        assert!(ignore.is_ignored("sub/tests/fixture.yaml", false));
        assert!(
            kept(&ignore, "tests"),
            "a file named tests is not a directory"
        );
    }

    #[test]
    fn an_invalid_pattern_names_its_origin() {
        let err = SourceIgnoreBuilder::new()
            .sourceignore("apps", "[z-a]\n")
            .build()
            .unwrap_err();
        assert_eq!(err.origin, "apps/.sourceignore");
        assert_eq!(err.pattern, "[z-a]");
    }
}
