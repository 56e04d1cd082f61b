//! One error type per phase, each naming the owner (`application ns/name`,
//! `kustomization ns/name`) and what the phase worked on.

use std::fmt;

/// Who a phase runs for: the API kind (lower case, as in messages) and
/// `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// `application` or `kustomization`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub name: String,
}

impl Owner {
    /// An owner of `kind` named `namespace/name`.
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> Self {
        Owner {
            kind,
            name: format!("{namespace}/{name}"),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// The resolve phase failed: the revision is unknown or Git is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("{owner}: cannot resolve revision {revision:?} of {repo}: {message}")]
pub struct ResolveError {
    /// Who resolved.
    pub owner: Owner,
    /// The repository URL.
    pub repo: String,
    /// The revision asked for.
    pub revision: String,
    /// What went wrong.
    pub message: String,
}

/// The render phase failed: the path does not build.
#[derive(Debug, thiserror::Error)]
#[error("{owner}: cannot render path {path:?} of {repo} at {revision}: {message}")]
pub struct RenderError {
    /// Who rendered.
    pub owner: Owner,
    /// The repository URL.
    pub repo: String,
    /// The commit.
    pub revision: String,
    /// The rendered path.
    pub path: String,
    /// What went wrong (the renderer's message names the file).
    pub message: String,
}

/// The compare phase failed as a whole (discovery, listing, an object
/// rendered twice); per-object problems are reported on the resources.
#[derive(Debug, thiserror::Error)]
#[error("{owner}: comparison at {revision} failed: {message}")]
pub struct CompareError {
    /// Who compared.
    pub owner: Owner,
    /// The commit compared.
    pub revision: String,
    /// What went wrong.
    pub message: String,
}

/// The sync phase failed as a whole (e.g. it refused to prune everything
/// after an empty render); per-object failures are in the sync result.
#[derive(Debug, thiserror::Error)]
#[error("{owner}: sync to {revision} failed: {message}")]
pub struct ApplyError {
    /// Who synced.
    pub owner: Owner,
    /// The commit synced to.
    pub revision: String,
    /// What went wrong.
    pub message: String,
}

/// Finding the objects to delete failed (the owner is being deleted).
#[derive(Debug, thiserror::Error)]
#[error("{owner}: cannot find its resources: {message}")]
pub struct DeleteError {
    /// Who is being deleted.
    pub owner: Owner,
    /// What went wrong.
    pub message: String,
}

impl From<ResolveError> for crate::Error {
    fn from(e: ResolveError) -> Self {
        crate::Error::Source {
            app: e.owner.name,
            repo: e.repo,
            revision: e.revision,
            message: e.message,
        }
    }
}

impl From<RenderError> for crate::Error {
    fn from(e: RenderError) -> Self {
        crate::Error::Render {
            app: e.owner.name,
            repo: e.repo,
            revision: e.revision,
            path: e.path,
            message: e.message,
        }
    }
}

impl From<CompareError> for crate::Error {
    fn from(e: CompareError) -> Self {
        crate::Error::Comparison {
            app: e.owner.name,
            revision: e.revision,
            message: e.message,
        }
    }
}

impl From<ApplyError> for crate::Error {
    fn from(e: ApplyError) -> Self {
        crate::Error::Sync {
            app: e.owner.name,
            revision: e.revision,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_owner_and_what_failed() {
        let owner = Owner::new("kustomization", "flux-system", "apps");
        let e = RenderError {
            owner: owner.clone(),
            repo: "git://h/r".into(),
            revision: "abc".into(),
            path: "apps".into(),
            message: "apps/kustomization.yaml: bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "kustomization flux-system/apps: cannot render path \"apps\" of git://h/r at abc: apps/kustomization.yaml: bad"
        );
        let app: crate::Error = ResolveError {
            owner: Owner::new("application", "argocd", "web"),
            repo: "git://h/r".into(),
            revision: "main".into(),
            message: "no such branch".into(),
        }
        .into();
        assert_eq!(
            app.to_string(),
            "application argocd/web: cannot resolve revision \"main\" of git://h/r: no such branch"
        );
    }
}
