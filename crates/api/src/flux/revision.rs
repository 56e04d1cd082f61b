//! Flux's revision strings: `main@sha1:<sha>` for a branch, `v1.0.0@sha1:<sha>`
//! for a tag, `refs/pull/1/head@sha1:<sha>` for a reference name, and
//! `sha1:<sha>` for a bare commit.

/// The revision of `sha` resolved from `reference` (a branch, tag or
/// reference name; empty or `None` for a bare commit), in Flux's form.
pub fn format_revision(reference: Option<&str>, sha: &str) -> String {
    match reference.filter(|r| !r.is_empty()) {
        Some(reference) => format!("{reference}@sha1:{sha}"),
        None => format!("sha1:{sha}"),
    }
}

/// The commit SHA in a Flux revision (`main@sha1:<sha>`, `sha1:<sha>`), or
/// in an older Flux spelling (`main/<sha>`) or a bare SHA.
pub fn revision_sha(revision: &str) -> &str {
    let digest = revision.rsplit_once('@').map_or(revision, |(_, d)| d);
    if let Some(sha) = digest.strip_prefix("sha1:") {
        return sha;
    }
    digest.rsplit_once('/').map_or(digest, |(_, sha)| sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";

    #[test]
    fn formats_as_flux() {
        assert_eq!(
            format_revision(Some("main"), SHA),
            format!("main@sha1:{SHA}")
        );
        assert_eq!(
            format_revision(Some("refs/pull/1/head"), SHA),
            format!("refs/pull/1/head@sha1:{SHA}")
        );
        assert_eq!(format_revision(None, SHA), format!("sha1:{SHA}"));
        assert_eq!(format_revision(Some(""), SHA), format!("sha1:{SHA}"));
    }

    #[test]
    fn reads_the_sha_back() {
        for reference in [Some("main"), Some("feature/x"), Some("refs/tags/v1"), None] {
            assert_eq!(revision_sha(&format_revision(reference, SHA)), SHA);
        }
        assert_eq!(revision_sha(&format!("main/{SHA}")), SHA);
        assert_eq!(revision_sha(SHA), SHA);
    }
}
