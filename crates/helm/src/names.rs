//! Checks on the names and URLs a user controls, before any of them reaches
//! a `helm` command line (so none can be read as a flag or point helm
//! somewhere unexpected).

use crate::HelmError;

fn input(chart: &str, field: &str, message: impl Into<String>) -> HelmError {
    HelmError::Input {
        chart: chart.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// A release name as helm accepts it: at most 53 characters of lower-case
/// DNS labels (`a-z`, `0-9`, `-`, `.`), starting and ending alphanumeric.
pub(crate) fn check_release_name(chart: &str, name: &str) -> Result<(), HelmError> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !name.is_empty()
        && name.len() <= 53
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || c == '-' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(input(
            chart,
            "releaseName",
            format!(
                "{name:?} is not a valid release name (at most 53 characters: lower-case \
                 letters, digits, '-' and '.', starting and ending with a letter or digit)"
            ),
        ))
    }
}

/// A chart name: one path element, not starting with `-` or `.`.
pub(crate) fn check_chart_name(chart: &str) -> Result<(), HelmError> {
    let valid = !chart.is_empty()
        && !chart.starts_with(['-', '.'])
        && chart
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(input(
            chart,
            "chart",
            "not a valid chart name (letters, digits, '-', '_' and '.', not starting with '-' or '.')",
        ))
    }
}

/// A version that is safe as a directory name of the chart cache: letters,
/// digits, `.`, `-`, `+`, `_`, not starting with `.` (never `..`, `/` or a
/// range operator).
pub(crate) fn is_plain_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && !version.starts_with('.')
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
}

/// A chart repository URL: `http://` or `https://`.
pub(crate) fn check_repo_url(chart: &str, url: &str) -> Result<(), HelmError> {
    let lower = url.to_ascii_lowercase();
    if (lower.starts_with("http://") || lower.starts_with("https://"))
        && !url.contains(char::is_whitespace)
    {
        Ok(())
    } else {
        Err(input(
            chart,
            "repoURL",
            format!("{url:?} is not an http:// or https:// chart repository URL"),
        ))
    }
}

/// The `oci://host/path/chart` reference and the registry host (for its
/// login) of a chart in an OCI registry.
pub(crate) fn oci_reference(chart: &str, url: &str) -> Result<(String, String), HelmError> {
    let bare = url
        .strip_prefix("oci://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let host = bare.split('/').next().unwrap_or_default();
    let valid = !host.is_empty()
        && !bare.starts_with('-')
        && !bare.contains("://")
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'));
    if !valid {
        return Err(input(
            chart,
            "repoURL",
            format!("{url:?} is not an OCI registry reference (oci://host[:port]/path)"),
        ));
    }
    Ok((format!("oci://{bare}/{chart}"), host.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names() {
        for good in ["web", "a", "web-1", "my.app", &"a".repeat(53)] {
            assert!(check_release_name("c", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-web",
            "--post-renderer",
            "Web",
            "web-",
            "a b",
            &"a".repeat(54),
        ] {
            let error = check_release_name("c", bad).unwrap_err().to_string();
            assert!(error.contains("releaseName"), "{error}");
        }
    }

    #[test]
    fn chart_names() {
        assert!(check_chart_name("kube-prometheus_stack.v2").is_ok());
        for bad in ["", "-x", "../x", "a/b", ".hidden", "a b"] {
            assert!(check_chart_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_versions() {
        for good in ["1.2.3", "v1.2.3-rc.1+build_5"] {
            assert!(is_plain_version(good), "{good}");
        }
        for bad in [
            "", "..", "../x", "1.0/..", "^1.2", ">=1 <2", ".hidden", "1 .2",
        ] {
            assert!(!is_plain_version(bad), "{bad}");
        }
    }

    #[test]
    fn repository_urls() {
        assert!(check_repo_url("c", "https://charts.example.com/stable").is_ok());
        assert!(check_repo_url("c", "HTTP://127.0.0.1:8080").is_ok());
        for bad in [
            "file:///etc",
            "oci://r/x",
            "charts.example.com",
            "-https://x",
            "https://a b",
        ] {
            assert!(check_repo_url("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oci_references() {
        assert_eq!(
            oci_reference("web", "oci://127.0.0.1:5000/charts/").unwrap(),
            (
                "oci://127.0.0.1:5000/charts/web".to_string(),
                "127.0.0.1:5000".to_string()
            )
        );
        assert_eq!(
            oci_reference("web", "registry.example.com").unwrap().0,
            "oci://registry.example.com/web"
        );
        for bad in ["", "oci://", "https://x/y", "-x/y", "r/x?y"] {
            assert!(oci_reference("web", bad).is_err(), "{bad}");
        }
    }
}
