//! What a GitRepository's spec asks for, checked before anything is
//! fetched: fields driftless does not do, durations, the URL and the
//! reference. A spec that fails here stalls (`Stalled=True`) until it is
//! changed. Pure.

use std::time::Duration;

use driftless_api::flux::condition::reasons;
use driftless_api::flux::source::v1::GitRepositorySpec;
use driftless_api::flux::unsupported::git_repository_unsupported;
use driftless_source::RepoUrl;
use driftless_source::semver_range::SemverRange;
use driftless_source::url::Scheme;

use super::reference::Wanted;

/// A spec that can be fetched.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The parsed URL.
    pub(crate) url: RepoUrl,
    /// The reference to follow.
    pub(crate) wanted: Wanted,
    /// `spec.interval`.
    pub(crate) interval: Duration,
    /// `spec.timeout` (60 s when unset).
    pub(crate) timeout: Duration,
}

/// Why a spec cannot be acted on: a condition reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stall {
    /// `UnsupportedField`, `InvalidSpec` or `URLInvalid`.
    pub(crate) reason: &'static str,
    /// What is wrong, naming the field.
    pub(crate) message: String,
}

/// Checks `spec`.
pub(crate) fn plan(spec: &GitRepositorySpec) -> Result<Plan, Stall> {
    let unsupported = git_repository_unsupported(spec);
    if !unsupported.is_empty() {
        let list: Vec<String> = unsupported.iter().map(ToString::to_string).collect();
        return Err(Stall {
            reason: reasons::UNSUPPORTED,
            message: format!("not supported by driftless: {}", list.join("; ")),
        });
    }
    let invalid = |message: String| Stall {
        reason: reasons::INVALID_SPEC,
        message,
    };
    let interval = spec
        .interval_duration()
        .map_err(|e| invalid(e.to_string()))?;
    let timeout = spec
        .timeout_duration()
        .map_err(|e| invalid(e.to_string()))?;
    let url_invalid = |message: String| Stall {
        reason: reasons::URL_INVALID,
        message,
    };
    let url = RepoUrl::parse(&spec.url).map_err(|e| url_invalid(format!("spec.url: {e}")))?;
    if url.scheme == Scheme::File {
        // A local path would read the controller's own disk (its other mirrors included).
        return Err(url_invalid(
            "spec.url: local paths and file:// URLs are not allowed; use https, http, ssh or git"
                .into(),
        ));
    }
    let wanted = Wanted::from_ref(spec.reference.as_ref());
    if let Wanted::Semver(range) = &wanted {
        SemverRange::parse(range).map_err(|e| invalid(format!("spec.ref.semver: {e}")))?;
    }
    Ok(Plan {
        url,
        wanted,
        interval,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(value: serde_json::Value) -> GitRepositorySpec {
        serde_json::from_value(value).expect("a valid spec")
    }

    #[test]
    fn a_plain_spec_is_planned_with_fluxs_defaults() {
        let p = plan(&spec(
            json!({"url": "https://git.example/org/apps", "interval": "1m"}),
        ))
        .unwrap();
        assert_eq!(p.wanted, Wanted::Branch("master".into()));
        assert_eq!(p.interval, Duration::from_secs(60));
        assert_eq!(p.timeout, Duration::from_secs(60));
    }

    #[test]
    fn unsupported_fields_are_named() {
        let s = plan(&spec(json!({
            "url": "https://git.example/org/apps", "interval": "1m",
            "recurseSubmodules": true
        })))
        .unwrap_err();
        assert_eq!(s.reason, "UnsupportedField");
        assert!(
            s.message.contains("spec.recurseSubmodules"),
            "{}",
            s.message
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let s = plan(&spec(
            json!({"url": "https://git.example/r", "interval": "soon"}),
        ))
        .unwrap_err();
        assert_eq!(s.reason, "InvalidSpec");
        assert!(s.message.contains("interval"), "{}", s.message);
        let s = plan(&spec(json!({
            "url": "https://git.example/r", "interval": "1m", "ref": {"semver": ">=x.y"}
        })))
        .unwrap_err();
        assert_eq!(s.reason, "InvalidSpec");
        assert!(s.message.contains("spec.ref.semver"), "{}", s.message);
        let s = plan(&spec(json!({"url": "", "interval": "1m"}))).unwrap_err();
        assert_eq!(s.reason, "URLInvalid");
        for local in [
            "file:///var/cache/driftless/x.git",
            "/var/cache/driftless/x.git",
        ] {
            let s = plan(&spec(json!({"url": local, "interval": "1m"}))).unwrap_err();
            assert_eq!(s.reason, "URLInvalid", "{local}");
            assert!(s.message.contains("file://"), "{}", s.message);
        }
    }
}
