//! What a render left out without failing: reported beside its output so
//! the caller can say so (an Application condition, a line on stderr).

/// Something a render skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderWarning {
    /// A symbolic link that was not followed.
    SkippedLink {
        /// The link (tree path).
        link: String,
        /// What it points to, as written in the link.
        target: String,
        /// Why it was not followed.
        reason: String,
    },
    /// Files of a kind the renderer does not render, beside manifests it did.
    UnrenderedFiles {
        /// The directory holding them (tree path, `""` for the root).
        dir: String,
        /// How many there are.
        count: usize,
        /// Their extension, e.g. `.jsonnet`.
        extension: String,
    },
}

impl std::fmt::Display for RenderWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderWarning::SkippedLink {
                link,
                target,
                reason,
            } => write!(f, "symlink {link} -> {target} skipped: {reason}"),
            RenderWarning::UnrenderedFiles {
                dir,
                count,
                extension,
            } => write!(
                f,
                "{} in {} not rendered",
                files(*count, extension),
                display_dir(dir)
            ),
        }
    }
}

/// `1 .jsonnet file`, `3 .jsonnet files`.
pub(crate) fn files(count: usize, extension: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {extension} file{plural}")
}

/// A tree path as people read it: `.` for the root.
pub(crate) fn display_dir(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_was_skipped() {
        let link = RenderWarning::SkippedLink {
            link: "app/passwd.yaml".into(),
            target: "/etc/passwd".into(),
            reason: "it leads outside the repository".into(),
        };
        assert_eq!(
            link.to_string(),
            "symlink app/passwd.yaml -> /etc/passwd skipped: it leads outside the repository"
        );
        let files = RenderWarning::UnrenderedFiles {
            dir: String::new(),
            count: 1,
            extension: ".jsonnet".into(),
        };
        assert_eq!(files.to_string(), "1 .jsonnet file in . not rendered");
    }
}
