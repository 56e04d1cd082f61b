//! Which Git reference a GitRepository follows (Flux's precedence:
//! `commit` > `name` > `semver` > `tag` > `branch`; none: branch `master`)
//! and how its revision is written (`main@sha1:<sha>`, `sha1:<sha>`). Pure.

use driftless_api::flux::revision::format_revision;
use driftless_api::flux::source::GitRepositoryRef;

/// The branch Flux follows when `spec.ref` names nothing.
pub(crate) const DEFAULT_BRANCH: &str = "master";

/// The one reference a GitRepository follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// A commit, expected on `branch` when one is given.
    Commit {
        /// The commit SHA as written.
        sha: String,
        /// The branch it must be on.
        branch: Option<String>,
    },
    /// A full reference name (`refs/heads/main`, `refs/pull/1/head`).
    Name(String),
    /// The highest tag in a semver range.
    Semver(String),
    /// A tag.
    Tag(String),
    /// A branch.
    Branch(String),
}

/// A field of `spec.ref`, `None` when unset or blank.
fn field(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl Wanted {
    /// The reference `spec.ref` asks for, with Flux's precedence.
    pub(crate) fn from_ref(reference: Option<&GitRepositoryRef>) -> Wanted {
        let Some(r) = reference else {
            return Wanted::Branch(DEFAULT_BRANCH.to_string());
        };
        if let Some(sha) = field(&r.commit) {
            return Wanted::Commit {
                sha,
                branch: field(&r.branch),
            };
        }
        if let Some(name) = field(&r.name) {
            return Wanted::Name(name);
        }
        if let Some(range) = field(&r.semver) {
            return Wanted::Semver(range);
        }
        if let Some(tag) = field(&r.tag) {
            return Wanted::Tag(tag);
        }
        Wanted::Branch(field(&r.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_string()))
    }

    /// Whether a push to the ref `pushed` (`refs/heads/main`,
    /// `refs/tags/v1`; empty when the provider did not say) can move what
    /// this follows: its branch, its tag, any tag for a semver range, its
    /// ref name. A commit never moves.
    pub(crate) fn moved_by(&self, pushed: &str) -> bool {
        if pushed.is_empty() {
            return true;
        }
        let branch = pushed.strip_prefix("refs/heads/");
        let tag = pushed.strip_prefix("refs/tags/");
        match self {
            Wanted::Commit { .. } => false,
            Wanted::Name(name) => name == pushed || !name.starts_with("refs/"),
            Wanted::Semver(_) => tag.is_some(),
            Wanted::Tag(t) => tag == Some(t.as_str()),
            Wanted::Branch(b) => branch == Some(b.as_str()),
        }
    }

    /// Refs to fetch besides branches and tags: a `name` outside both.
    pub(crate) fn extra_refs(&self) -> Vec<String> {
        match self {
            Wanted::Name(name)
                if !name.starts_with("refs/heads/") && !name.starts_with("refs/tags/") =>
            {
                vec![name.clone()]
            }
            _ => Vec::new(),
        }
    }
}

/// The revision of `sha` in Flux's form: `<branch>@sha1:<sha>` for a
/// branch (and a commit on a branch), `<tag>@sha1:<sha>` for a tag or a
/// semver match (`tag`), the short name for `refs/heads/` and `refs/tags/`
/// names and the full name for other references, `sha1:<sha>` for a bare
/// commit.
pub(crate) fn revision(wanted: &Wanted, tag: Option<&str>, sha: &str) -> String {
    let reference = match wanted {
        Wanted::Commit { branch, .. } => branch.clone(),
        Wanted::Name(name) => Some(
            name.strip_prefix("refs/heads/")
                .or_else(|| name.strip_prefix("refs/tags/"))
                .unwrap_or(name)
                .to_string(),
        ),
        Wanted::Semver(_) => tag.map(str::to_string),
        Wanted::Tag(tag) => Some(tag.clone()),
        Wanted::Branch(branch) => Some(branch.clone()),
    };
    format_revision(reference.as_deref(), sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_moves_only_what_follows_the_pushed_ref() {
        let branch = |b: &str| Wanted::Branch(b.into());
        assert!(branch("main").moved_by("refs/heads/main"));
        assert!(!branch("main").moved_by("refs/heads/dev"));
        assert!(!branch("main").moved_by("refs/tags/main"));
        assert!(branch("main").moved_by(""), "unknown ref: refresh");
        let tag = Wanted::Tag("v1".into());
        assert!(tag.moved_by("refs/tags/v1"));
        assert!(!tag.moved_by("refs/tags/v2"));
        assert!(!tag.moved_by("refs/heads/v1"));
        let semver = Wanted::Semver(">=1.0.0".into());
        assert!(semver.moved_by("refs/tags/v1.2.0"));
        assert!(!semver.moved_by("refs/heads/main"));
        let commit = Wanted::Commit {
            sha: "abc".into(),
            branch: Some("main".into()),
        };
        assert!(!commit.moved_by("refs/heads/main"));
        let name = Wanted::Name("refs/pull/1/head".into());
        assert!(name.moved_by("refs/pull/1/head"));
        assert!(!name.moved_by("refs/heads/main"));
    }

    const SHA: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";

    fn r(branch: &str, tag: &str, semver: &str, name: &str, commit: &str) -> GitRepositoryRef {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        GitRepositoryRef {
            branch: opt(branch),
            tag: opt(tag),
            semver: opt(semver),
            name: opt(name),
            commit: opt(commit),
        }
    }

    #[test]
    fn precedence_is_fluxs() {
        let all = r("dev", "v1", ">=1.0.0", "refs/pull/1/head", SHA);
        assert_eq!(
            Wanted::from_ref(Some(&all)),
            Wanted::Commit {
                sha: SHA.into(),
                branch: Some("dev".into())
            }
        );
        assert_eq!(
            Wanted::from_ref(Some(&r("dev", "v1", ">=1.0.0", "refs/pull/1/head", ""))),
            Wanted::Name("refs/pull/1/head".into())
        );
        assert_eq!(
            Wanted::from_ref(Some(&r("dev", "v1", ">=1.0.0", "", ""))),
            Wanted::Semver(">=1.0.0".into())
        );
        assert_eq!(
            Wanted::from_ref(Some(&r("dev", "v1", "", "", ""))),
            Wanted::Tag("v1".into())
        );
        assert_eq!(
            Wanted::from_ref(Some(&r("dev", "", "", "", ""))),
            Wanted::Branch("dev".into())
        );
    }

    #[test]
    fn nothing_or_blanks_mean_master() {
        assert_eq!(Wanted::from_ref(None), Wanted::Branch("master".into()));
        assert_eq!(
            Wanted::from_ref(Some(&r(" ", "", "", "", ""))),
            Wanted::Branch("master".into())
        );
    }

    #[test]
    fn revisions_are_written_as_flux_writes_them() {
        let branch = Wanted::Branch("main".into());
        assert_eq!(revision(&branch, None, SHA), format!("main@sha1:{SHA}"));
        let tag = Wanted::Tag("v1.2.0".into());
        assert_eq!(revision(&tag, None, SHA), format!("v1.2.0@sha1:{SHA}"));
        let semver = Wanted::Semver("1.x".into());
        assert_eq!(
            revision(&semver, Some("v1.4.0"), SHA),
            format!("v1.4.0@sha1:{SHA}")
        );
        let bare = Wanted::Commit {
            sha: SHA.into(),
            branch: None,
        };
        assert_eq!(revision(&bare, None, SHA), format!("sha1:{SHA}"));
        let on_branch = Wanted::Commit {
            sha: SHA.into(),
            branch: Some("main".into()),
        };
        assert_eq!(revision(&on_branch, None, SHA), format!("main@sha1:{SHA}"));
        let pull = Wanted::Name("refs/pull/7/head".into());
        assert_eq!(
            revision(&pull, None, SHA),
            format!("refs/pull/7/head@sha1:{SHA}")
        );
        let head = Wanted::Name("refs/heads/main".into());
        assert_eq!(revision(&head, None, SHA), format!("main@sha1:{SHA}"));
    }

    #[test]
    fn only_names_outside_heads_and_tags_are_fetched_extra() {
        assert_eq!(
            Wanted::Name("refs/pull/7/head".into()).extra_refs(),
            ["refs/pull/7/head"]
        );
        assert!(
            Wanted::Name("refs/heads/main".into())
                .extra_refs()
                .is_empty()
        );
        assert!(Wanted::Branch("main".into()).extra_refs().is_empty());
    }
}
