//! Helm repository credentials in Argo CD's Secret format: a Secret
//! labelled `argocd.argoproj.io/secret-type: repository` for exactly its
//! `url`, or `repo-creds` (a credential template) for every repository
//! whose URL starts with its `url` (the longest prefix wins; an exact
//! `repository` match wins over any template). Keys: `url`, `username`,
//! `password`, `type` (`helm`), `enableOCI`, `insecureOCIForceHttp`.
//! Only the Secret matching the repository being read reaches helm.

use driftless_helm::Credentials;
use driftless_source::credentials::{RepoSecret, SecretType, list_repo_secrets};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

/// How to read one Helm repository or OCI registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HelmAccess {
    /// Its username and password, when a Secret gives them.
    pub(crate) credentials: Option<Credentials>,
    /// The Secret says the URL is an OCI registry (`enableOCI: "true"`).
    pub(crate) enable_oci: bool,
    /// Speak plain HTTP to the OCI registry (`insecureOCIForceHttp: "true"`).
    pub(crate) plain_http: bool,
}

/// A URL as Secrets and Applications are compared: no `oci://` scheme, no
/// trailing `/`, the scheme and host in lower case.
fn comparable(url: &str) -> String {
    let url = url.trim();
    let url = url.strip_prefix("oci://").unwrap_or(url);
    let url = url.trim_end_matches('/');
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{}://", scheme.to_ascii_lowercase()), rest),
        None => (String::new(), url),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let slash = if path.is_empty() { "" } else { "/" };
    format!("{scheme}{}{slash}{path}", host.to_ascii_lowercase())
}

/// Picks the Secret for `url`: an exact `repository` match, else the
/// longest `repo-creds` prefix (ending at a path boundary).
pub(crate) fn pick<'a>(secrets: &'a [RepoSecret], url: &str) -> Option<&'a RepoSecret> {
    let want = comparable(url);
    if let Some(exact) = secrets
        .iter()
        .find(|s| s.secret_type == SecretType::Repository && comparable(&s.url) == want)
    {
        return Some(exact);
    }
    secrets
        .iter()
        .filter(|s| s.secret_type == SecretType::RepoCreds)
        .filter(|s| {
            let prefix = comparable(&s.url);
            want == prefix
                || want
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|s| comparable(&s.url).len())
}

/// Argo CD's repository Secrets in `namespace`, decoded.
pub(crate) async fn list(
    client: &kube::Client,
    namespace: &str,
) -> Result<Vec<RepoSecret>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    list_repo_secrets(&api).await
}

/// The access `secrets` grant to `url` (none when no Secret matches).
pub(crate) fn access(secrets: &[RepoSecret], url: &str) -> HelmAccess {
    pick(secrets, url).map(access_of).unwrap_or_default()
}

/// What one repository Secret grants to helm.
fn access_of(secret: &RepoSecret) -> HelmAccess {
    let c = &secret.credentials;
    let credentials = match (&c.username, &c.password) {
        (None, None) => None,
        (user, password) => Some(Credentials::new(
            user.clone().unwrap_or_default(),
            password.clone().unwrap_or_default(),
        )),
    };
    HelmAccess {
        credentials,
        enable_oci: secret.enable_oci,
        plain_http: secret.insecure_oci_force_http,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn secret(label: &str, pairs: &[(&str, &str)]) -> RepoSecret {
        let data = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        RepoSecret::from_data(label, &data, "test/secret").unwrap()
    }

    #[test]
    fn decodes_helm_secrets_and_never_prints_the_password() {
        let s = secret(
            "repository",
            &[
                ("type", "helm"),
                ("url", "registry.example.com/charts"),
                ("username", "bob"),
                ("password", "hunter2\n"),
                ("enableOCI", "true"),
                ("insecureOCIForceHttp", "True"),
            ],
        );
        assert_eq!(s.secret_type, SecretType::Repository);
        let access = access_of(&s);
        assert!(access.enable_oci && access.plain_http);
        let creds = access.credentials.clone().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("bob", "hunter2")
        );
        assert!(!format!("{s:?}").contains("hunter2"));
        let mut data = BTreeMap::new();
        data.insert("url".to_string(), b"x".to_vec());
        assert!(RepoSecret::from_data("cluster", &data, "o").is_none());
        assert!(RepoSecret::from_data("repository", &BTreeMap::new(), "o").is_none());
    }

    #[test]
    fn urls_compare_without_oci_scheme_trailing_slash_or_host_case() {
        assert_eq!(
            comparable(" HTTPS://Charts.Example.com/Stable/ "),
            "https://charts.example.com/Stable"
        );
        assert_eq!(
            comparable("https://Charts.Example.com"),
            "https://charts.example.com"
        );
        assert_eq!(
            comparable("oci://Registry.Example.com:5000/Charts/"),
            "registry.example.com:5000/Charts"
        );
        assert_eq!(comparable("Registry.Example.com"), "registry.example.com");
        assert_eq!(
            comparable("oci://registry.example.com/charts"),
            comparable("registry.example.com/charts/")
        );
    }

    #[test]
    fn exact_beats_templates_and_the_longest_prefix_wins() {
        let secrets = vec![
            secret(
                "repo-creds",
                &[("url", "https://charts.example.com"), ("password", "host")],
            ),
            secret(
                "repo-creds",
                &[
                    ("url", "https://charts.example.com/team/"),
                    ("password", "team"),
                ],
            ),
            secret(
                "repository",
                &[
                    ("url", "oci://registry.example.com/charts/"),
                    ("password", "oci"),
                ],
            ),
            secret(
                "repository",
                &[
                    ("url", "https://charts.example.com/team/special"),
                    ("password", "exact"),
                ],
            ),
        ];
        let password = |url: &str| {
            pick(&secrets, url)
                .and_then(|s| access_of(s).credentials)
                .map(|c| c.password)
        };
        assert_eq!(
            password("https://charts.example.com/team/special/").as_deref(),
            Some("exact")
        );
        assert_eq!(
            password("https://charts.example.com/team/other").as_deref(),
            Some("team")
        );
        assert_eq!(
            password("https://CHARTS.example.com/stable").as_deref(),
            Some("host")
        );
        assert_eq!(password("https://charts.example.com.evil.io/x"), None);
        assert_eq!(
            password("registry.example.com/charts").as_deref(),
            Some("oci")
        );
        assert_eq!(
            password("oci://registry.example.com/charts").as_deref(),
            Some("oci")
        );
        assert_eq!(password("oci://registry.example.com/other"), None);
    }
}
