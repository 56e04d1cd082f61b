//! Semantic-version ranges over tag names: the `ref.semver` of a Flux
//! `GitRepository` and a semver `targetRevision` (Git tags or chart
//! versions) pick the highest tag that satisfies a range.
//!
//! Ranges are written the way Flux and Argo CD users write them (the Go
//! `Masterminds/semver` syntax): comparators separated by spaces or commas
//! must all hold, `||` separates alternatives, `1.2.x` / `1.2.*` / `1.2` are
//! wildcards, `a - b` is an inclusive range, `~` and `^` work as in Cargo, and
//! a leading `v` is accepted on both ranges and tags. As with both tools, a
//! pre-release tag only matches a range that names a pre-release itself.
//! Pure: the caller lists the tags.

use semver::{Version, VersionReq};

/// A range that cannot be parsed, naming the range and the part that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("semver range {range:?}: {part:?} is not a version constraint ({reason})")]
pub struct RangeError {
    /// The whole range as written.
    pub range: String,
    /// The comparator that failed.
    pub part: String,
    /// Why.
    pub reason: String,
}

/// A parsed range: any of its alternatives matches.
#[derive(Clone, Debug)]
pub struct SemverRange {
    alternatives: Vec<VersionReq>,
}

impl SemverRange {
    /// Parses `range` (e.g. `>=1.2.0 <2.0.0`, `~1.4`, `1.x || >=3.1`).
    pub fn parse(range: &str) -> Result<SemverRange, RangeError> {
        let error = |part: &str, reason: String| RangeError {
            range: range.to_string(),
            part: part.to_string(),
            reason,
        };
        let mut alternatives = Vec::new();
        for alternative in range.split("||") {
            let comparators = comparators(alternative).map_err(|part| {
                error(
                    &part,
                    "an inclusive range needs a version on each side".into(),
                )
            })?;
            let joined = if comparators.is_empty() {
                "*".to_string()
            } else {
                comparators.join(", ")
            };
            let req =
                VersionReq::parse(&joined).map_err(|e| error(alternative.trim(), e.to_string()))?;
            alternatives.push(req);
        }
        Ok(SemverRange { alternatives })
    }

    /// Whether `version` is in the range.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|req| req.matches(version))
    }

    /// The highest of `tags` in the range, with its version; tags that are
    /// not versions are skipped. Equal versions (`v1.0.0` and `1.0.0`) keep
    /// the first tag listed.
    pub fn highest<'a>(
        &self,
        tags: impl IntoIterator<Item = &'a str>,
    ) -> Option<(&'a str, Version)> {
        let mut best: Option<(&'a str, Version)> = None;
        for tag in tags {
            let Some(version) = parse_version(tag) else {
                continue;
            };
            let higher = best.as_ref().is_none_or(|(_, b)| version > *b);
            if higher && self.matches(&version) {
                best = Some((tag, version));
            }
        }
        best
    }
}

/// A tag as a version: a leading `v` is dropped and a partial version
/// (`1`, `1.2`) is completed with zeros, as Masterminds' lenient parser does.
pub fn parse_version(tag: &str) -> Option<Version> {
    let text = tag.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    if let Ok(version) = Version::parse(text) {
        return Some(version);
    }
    // Complete `1` or `1.2` (possibly with a pre-release or build suffix).
    let split = text.find(['-', '+']).unwrap_or(text.len());
    let (core, rest) = text.split_at(split);
    let parts = core.split('.').count();
    if core.is_empty() || parts >= 3 {
        return None;
    }
    let zeros = ".0".repeat(3 - parts);
    Version::parse(&format!("{core}{zeros}{rest}")).ok()
}

/// The comparators of one alternative, in Cargo's syntax. A hyphen range
/// with a side missing is returned as the error.
fn comparators(alternative: &str) -> Result<Vec<String>, String> {
    let words: Vec<&str> = alternative
        .split([' ', ',', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words.get(i + 1) == Some(&"-") {
            let Some(upper) = words.get(i + 2) else {
                return Err(alternative.trim().to_string());
            };
            out.push(format!(">={}", bare(words[i])));
            out.push(format!("<={}", bare(upper)));
            i += 3;
        } else if words[i] == "-" {
            return Err(alternative.trim().to_string());
        } else {
            out.push(comparator(words[i]));
            i += 1;
        }
    }
    Ok(out)
}

/// One comparator: a bare version means exactly that version (Masterminds'
/// `=`; a partial one is a wildcard); `x`/`X` become `*`; a leading `v` is dropped.
fn comparator(word: &str) -> String {
    let op_len = word
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^' | '!'))
        .unwrap_or(word.len());
    let (op, version) = word.split_at(op_len);
    let version = bare(version);
    match op {
        "" if version.contains('*') => version,
        // `=1.2` is `1.2.*` in both syntaxes; a bare `1.2` is Cargo's `^1.2`.
        "" | "==" => format!("={version}"),
        "~>" | "~=" => format!("~{version}"),
        _ => format!("{op}{version}"),
    }
}

/// A version without a leading `v`, with `x`/`X` parts written as `*`.
fn bare(version: &str) -> String {
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    version
        .split('.')
        .map(|part| {
            if part == "x" || part == "X" {
                "*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &[&str] = &[
        "v0.9.0",
        "v1.0.0",
        "v1.2.3",
        "v1.2.10",
        "v1.3.0-rc.1",
        "1.4.0",
        "v2.0.0",
        "v2.1.0-beta.2",
        "release-7",
        "latest",
    ];

    fn highest(range: &str) -> Option<&'static str> {
        SemverRange::parse(range)
            .unwrap_or_else(|e| panic!("{e}"))
            .highest(TAGS.iter().copied())
            .map(|(tag, _)| tag)
    }

    #[test]
    fn picks_the_highest_matching_tag() {
        assert_eq!(highest("*"), Some("v2.0.0"), "pre-releases are skipped");
        assert_eq!(highest(">=1.0.0 <2.0.0"), Some("1.4.0"));
        assert_eq!(highest(">=1.0.0, <2.0.0"), Some("1.4.0"));
        assert_eq!(highest("~1.2"), Some("v1.2.10"), "10 > 3 numerically");
        assert_eq!(highest("^1.0"), Some("1.4.0"));
        assert_eq!(highest("1.2.x"), Some("v1.2.10"));
        assert_eq!(highest("1.x"), Some("1.4.0"));
        assert_eq!(
            highest("1.2"),
            Some("v1.2.10"),
            "a partial version is a wildcard"
        );
        assert_eq!(highest("1.2.3"), Some("v1.2.3"), "a full version is exact");
        assert_eq!(highest("v1.0.0"), Some("v1.0.0"));
        assert_eq!(highest("1.0.0 - 1.2.5"), Some("v1.2.3"));
        assert_eq!(highest("<1.0.0 || >=2.0.0"), Some("v2.0.0"));
        assert_eq!(highest(">=3.0.0"), None);
    }

    #[test]
    fn pre_releases_only_when_the_range_names_one() {
        assert_eq!(highest(">=1.3.0-rc.0 <1.4.0"), Some("v1.3.0-rc.1"));
        assert_eq!(highest(">=2.1.0-beta.1"), Some("v2.1.0-beta.2"));
        assert_eq!(highest(">=1.3.0 <1.4.0"), None);
    }

    #[test]
    fn lenient_tag_versions() {
        assert_eq!(parse_version("v1.2.3"), Version::parse("1.2.3").ok());
        assert_eq!(parse_version("1.2"), Version::parse("1.2.0").ok());
        assert_eq!(parse_version("V3"), Version::parse("3.0.0").ok());
        assert_eq!(parse_version("1.2-rc.1"), Version::parse("1.2.0-rc.1").ok());
        assert_eq!(parse_version("release-7"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn equal_versions_keep_the_first_tag() {
        let range = SemverRange::parse("1.0.0").unwrap_or_else(|e| panic!("{e}"));
        let picked = range.highest(["v1.0.0", "1.0.0"]).map(|(t, _)| t);
        assert_eq!(picked, Some("v1.0.0"));
    }

    #[test]
    fn bad_ranges_name_the_part() {
        for (range, part) in [(">=banana", ">=banana"), ("1.0 -", "1.0 -"), ("- 2", "- 2")] {
            let err = SemverRange::parse(range).expect_err(range);
            assert_eq!(err.range, range);
            assert_eq!(err.part, part, "{err}");
            assert!(err.to_string().contains(range), "{err}");
        }
    }
}
