//! Turning a `targetRevision` into a commit of a local mirror: `HEAD`, a
//! branch, a tag, a full ref name, or a full or abbreviated commit SHA.

use git2::{ErrorCode, Oid, Repository};

/// The shape of a `targetRevision`, before looking anything up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevisionKind {
    /// `HEAD` or empty: the remote's default branch.
    Head,
    /// A full 40-character (SHA-1) or 64-character (SHA-256) commit id.
    FullSha(String),
    /// A full ref name such as `refs/heads/main` or `refs/pull/1/head`.
    Ref(String),
    /// A branch or tag name, or an abbreviated SHA (tried in that order).
    Name(String),
}

impl RevisionKind {
    /// Classifies `revision` (surrounding whitespace ignored).
    pub fn parse(revision: &str) -> RevisionKind {
        let rev = revision.trim();
        if rev.is_empty() || rev == "HEAD" {
            RevisionKind::Head
        } else if (rev.len() == 40 || rev.len() == 64) && is_hex(rev) {
            RevisionKind::FullSha(rev.to_ascii_lowercase())
        } else if rev.starts_with("refs/") {
            RevisionKind::Ref(rev.to_string())
        } else {
            RevisionKind::Name(rev.to_string())
        }
    }

    /// Whether the revision can never move (a full SHA): once it is in the
    /// mirror, no fetch is needed to resolve it.
    pub fn is_immutable(&self) -> bool {
        matches!(self, RevisionKind::FullSha(_))
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The outcome of looking a revision up in one repository.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The commit it names.
    Found(Oid),
    /// Nothing matches.
    Missing,
    /// An abbreviated SHA matching several objects.
    Ambiguous,
}

/// Resolves `kind` to a commit in `repo` (tags are peeled to their commit).
pub(crate) fn lookup(repo: &Repository, kind: &RevisionKind) -> Result<Lookup, git2::Error> {
    match kind {
        RevisionKind::Head => peel_ref(repo, "HEAD"),
        RevisionKind::FullSha(sha) => {
            let oid = Oid::from_str(sha)?;
            match repo.find_commit(oid) {
                Ok(c) => Ok(Lookup::Found(c.id())),
                Err(e) if e.code() == ErrorCode::NotFound => Ok(Lookup::Missing),
                Err(e) => Err(e),
            }
        }
        RevisionKind::Ref(name) => peel_ref(repo, name),
        RevisionKind::Name(name) => {
            for full in [
                format!("refs/heads/{name}"),
                format!("refs/tags/{name}"),
                format!("refs/{name}"),
            ] {
                if let Lookup::Found(oid) = peel_ref(repo, &full)? {
                    return Ok(Lookup::Found(oid));
                }
            }
            if name.len() >= 4 && is_hex(name) {
                return match repo.find_object_by_prefix(name, None) {
                    Ok(obj) => match obj.peel_to_commit() {
                        Ok(c) => Ok(Lookup::Found(c.id())),
                        Err(_) => Ok(Lookup::Missing),
                    },
                    Err(e) if e.code() == ErrorCode::Ambiguous => Ok(Lookup::Ambiguous),
                    Err(e) if e.code() == ErrorCode::NotFound => Ok(Lookup::Missing),
                    Err(e) => Err(e),
                };
            }
            Ok(Lookup::Missing)
        }
    }
}

fn peel_ref(repo: &Repository, name: &str) -> Result<Lookup, git2::Error> {
    let reference = match repo.find_reference(name) {
        Ok(r) => r,
        Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
            return Ok(Lookup::Missing);
        }
        Err(e) if e.class() == git2::ErrorClass::Reference => return Ok(Lookup::Missing),
        Err(e) => return Err(e),
    };
    match reference.peel_to_commit() {
        Ok(c) => Ok(Lookup::Found(c.id())),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(Lookup::Missing),
        // An unborn HEAD (empty repository) has no commit.
        Err(e) if e.code() == ErrorCode::UnbornBranch => Ok(Lookup::Missing),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_revisions() {
        assert_eq!(RevisionKind::parse(""), RevisionKind::Head);
        assert_eq!(RevisionKind::parse("HEAD"), RevisionKind::Head);
        let sha = "0123456789abcdef0123456789ABCDEF01234567";
        assert_eq!(
            RevisionKind::parse(sha),
            RevisionKind::FullSha(sha.to_ascii_lowercase())
        );
        assert!(RevisionKind::parse(sha).is_immutable());
        assert_eq!(
            RevisionKind::parse("refs/heads/main"),
            RevisionKind::Ref("refs/heads/main".into())
        );
        assert_eq!(
            RevisionKind::parse("v1.2.0"),
            RevisionKind::Name("v1.2.0".into())
        );
        assert_eq!(
            RevisionKind::parse("abc1234"),
            RevisionKind::Name("abc1234".into())
        );
        assert!(!RevisionKind::parse("main").is_immutable());
    }
}
