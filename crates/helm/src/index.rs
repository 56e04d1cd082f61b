//! A chart repository's `index.yaml`: which versions of a chart it lists,
//! and which of them a version or semver range picks.

use std::collections::BTreeMap;

use driftless_source::semver_range::{SemverRange, parse_version};

use crate::HelmError;

/// The part of `index.yaml` read here: the versions listed per chart.
#[derive(Debug, serde::Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<IndexEntry>>,
}

/// One version of a chart as the index lists it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct IndexEntry {
    /// The chart version.
    #[serde(default)]
    pub(crate) version: String,
    /// Where its archive is: absolute, or relative to the repository URL.
    #[serde(default)]
    pub(crate) urls: Vec<String>,
    /// The archive's sha256 (hex), when the index gives one.
    #[serde(default)]
    pub(crate) digest: Option<String>,
}

/// The entries of `chart` that `text` (an `index.yaml`) lists, in order.
pub(crate) fn chart_entries(
    text: &str,
    repository: &str,
    chart: &str,
) -> Result<Vec<IndexEntry>, HelmError> {
    let mut index: Index = serde_saphyr::from_str(text).map_err(|e| HelmError::Index {
        repository: repository.to_string(),
        message: e.to_string(),
    })?;
    Ok(index.entries.remove(chart).unwrap_or_default())
}

/// The versions of `chart` that `text` (an `index.yaml`) lists, in order.
#[cfg(test)]
fn chart_versions(text: &str, repository: &str, chart: &str) -> Result<Vec<String>, HelmError> {
    chart_entries(text, repository, chart).map(|e| e.into_iter().map(|e| e.version).collect())
}

/// The version `wanted` picks among `versions`: the one written exactly
/// like it (or equal as a version, `v1.0.0` = `1.0.0`), else the highest in
/// the range `wanted` is (pre-releases only when the range names one).
pub(crate) fn pick_version(
    versions: &[String],
    wanted: &str,
    repository: &str,
    chart: &str,
) -> Result<String, HelmError> {
    let wanted = wanted.trim();
    if let Some(exact) = versions.iter().find(|v| v.as_str() == wanted) {
        return Ok(exact.clone());
    }
    if let Some(version) = parse_version(wanted).filter(|_| looks_exact(wanted)) {
        if let Some(equal) = versions
            .iter()
            .find(|v| parse_version(v).as_ref() == Some(&version))
        {
            return Ok(equal.clone());
        }
        return Err(no_such_version(versions, wanted, repository, chart));
    }
    let range = SemverRange::parse(if wanted.is_empty() { "*" } else { wanted }).map_err(|e| {
        HelmError::BadVersion {
            chart: chart.to_string(),
            repository: repository.to_string(),
            wanted: wanted.to_string(),
            message: e.to_string(),
        }
    })?;
    range
        .highest(versions.iter().map(String::as_str))
        .map(|(version, _)| version.to_string())
        .ok_or_else(|| no_such_version(versions, wanted, repository, chart))
}

/// A full version (three numbers), not a range or wildcard such as `1.2`.
pub(crate) fn looks_exact(wanted: &str) -> bool {
    let text = wanted.strip_prefix(['v', 'V']).unwrap_or(wanted);
    semver::Version::parse(text).is_ok()
}

fn no_such_version(versions: &[String], wanted: &str, repository: &str, chart: &str) -> HelmError {
    let mut sorted: Vec<_> = versions
        .iter()
        .filter_map(|v| parse_version(v).map(|parsed| (parsed, v.as_str())))
        .collect();
    sorted.sort();
    let newest: Vec<&str> = sorted.iter().rev().take(10).map(|(_, v)| *v).collect();
    HelmError::NoSuchVersion {
        chart: chart.to_string(),
        repository: repository.to_string(),
        wanted: if wanted.is_empty() {
            "*".into()
        } else {
            wanted.to_string()
        },
        available: if newest.is_empty() {
            "none".into()
        } else {
            newest.join(", ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"
apiVersion: v1
entries:
  web:
    - name: web
      version: 1.10.0
      urls: [web-1.10.0.tgz]
    - name: web
      version: 1.2.0
      urls: [web-1.2.0.tgz]
    - name: web
      version: 2.0.0-rc.1
    - name: web
      version: v0.9.0
  other:
    - version: 5.0.0
generated: "2026-01-01T00:00:00Z"
"#;

    fn versions() -> Vec<String> {
        chart_versions(INDEX, "http://repo", "web").unwrap()
    }

    #[test]
    fn lists_the_versions_of_one_chart() {
        assert_eq!(versions(), ["1.10.0", "1.2.0", "2.0.0-rc.1", "v0.9.0"]);
        assert!(
            chart_versions(INDEX, "http://repo", "missing")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn exact_versions_and_ranges() {
        let pick = |wanted| pick_version(&versions(), wanted, "http://repo", "web");
        assert_eq!(pick("1.2.0").unwrap(), "1.2.0");
        assert_eq!(pick("0.9.0").unwrap(), "v0.9.0");
        assert_eq!(pick("^1.0").unwrap(), "1.10.0");
        assert_eq!(pick("~1.2").unwrap(), "1.2.0");
        assert_eq!(pick(">=1.0.0 <1.5.0").unwrap(), "1.2.0");
        assert_eq!(pick("*").unwrap(), "1.10.0", "no pre-release unless named");
        assert_eq!(pick("").unwrap(), "1.10.0");
        assert_eq!(pick(">=2.0.0-0").unwrap(), "2.0.0-rc.1");
    }

    #[test]
    fn a_missing_version_names_chart_repository_and_what_exists() {
        let error = pick_version(&versions(), "1.3.0", "http://repo", "web")
            .unwrap_err()
            .to_string();
        assert!(error.contains("chart web in http://repo"), "{error}");
        assert!(error.contains("no version matches 1.3.0"), "{error}");
        assert!(
            error.contains("available: 2.0.0-rc.1, 1.10.0, 1.2.0, v0.9.0"),
            "{error}"
        );
        let error = pick_version(&versions(), "^3", "http://repo", "web").unwrap_err();
        assert!(matches!(error, HelmError::NoSuchVersion { .. }), "{error}");
        let error = pick_version(&[], "1.0.0", "http://repo", "web").unwrap_err();
        assert!(error.to_string().contains("available: none"), "{error}");
    }

    #[test]
    fn a_bad_range_is_its_own_error() {
        let error = pick_version(&versions(), ">=banana", "http://repo", "web").unwrap_err();
        assert!(matches!(error, HelmError::BadVersion { .. }), "{error}");
        assert!(error.to_string().contains(">=banana"), "{error}");
    }

    #[test]
    fn a_broken_index_names_the_repository() {
        let error = chart_versions("entries: [", "http://repo", "web").unwrap_err();
        assert!(
            error.to_string().contains("http://repo: index.yaml"),
            "{error}"
        );
    }
}
