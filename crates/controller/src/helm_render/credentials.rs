//! Helm repository credentials in Argo CD's Secret format: a Secret
//! labelled `argocd.argoproj.io/secret-type: repository` for exactly its
//! `url`, or `repo-creds` (a credential template) for every repository
//! whose URL starts with its `url` (the longest prefix wins; an exact
//! `repository` match wins over any template). Keys: `url`, `username`,
//! `password`, `type` (`helm`), `enableOCI`, `insecureOCIForceHttp`.
//! Only the Secret matching the repository being read reaches helm.

use std::collections::BTreeMap;

use driftless_helm::Credentials;
use driftless_source::credentials::SECRET_TYPE_LABEL;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

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

/// One decoded repository Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HelmSecret {
    /// `repo-creds` (a URL prefix) rather than `repository` (one URL).
    pub(crate) template: bool,
    /// The `url` key.
    pub(crate) url: String,
    /// What it grants.
    pub(crate) access: HelmAccess,
}

impl HelmSecret {
    /// Decodes a Secret's data given its type label; `None` when the label
    /// is not a repository kind or `url` is missing.
    pub(crate) fn from_data(label: &str, data: &BTreeMap<String, Vec<u8>>) -> Option<HelmSecret> {
        let template = match label {
            "repository" => false,
            "repo-creds" => true,
            _ => return None,
        };
        let text = |key: &str| {
            data.get(key)
                .map(|v| {
                    String::from_utf8_lossy(v)
                        .trim_end_matches(['\r', '\n'])
                        .to_string()
                })
                .filter(|s| !s.is_empty())
        };
        let flag = |key: &str| text(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let credentials = match (text("username"), text("password")) {
            (None, None) => None,
            (user, password) => Some(Credentials::new(
                user.unwrap_or_default(),
                password.unwrap_or_default(),
            )),
        };
        Some(HelmSecret {
            template,
            url: text("url")?,
            access: HelmAccess {
                credentials,
                enable_oci: flag("enableOCI"),
                plain_http: flag("insecureOCIForceHttp"),
            },
        })
    }
}

/// A URL as Secrets and Applications are compared: no `oci://` scheme, no
/// trailing `/`, the scheme and host in lower case.
fn comparable(url: &str) -> String {
    let url = url.trim();
    let url = url.strip_prefix("oci://").unwrap_or(url);
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let path = if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            };
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => {
            let (host, path) = url.split_once('/').unwrap_or((url, ""));
            let path = if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            };
            format!("{}{path}", host.to_ascii_lowercase())
        }
    }
}

/// Picks the Secret for `url`: an exact `repository` match, else the
/// longest `repo-creds` prefix (ending at a path boundary).
pub(crate) fn pick<'a>(secrets: &'a [HelmSecret], url: &str) -> Option<&'a HelmSecret> {
    let want = comparable(url);
    if let Some(exact) = secrets
        .iter()
        .find(|s| !s.template && comparable(&s.url) == want)
    {
        return Some(exact);
    }
    secrets
        .iter()
        .filter(|s| s.template)
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
) -> Result<Vec<HelmSecret>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let params =
        ListParams::default().labels(&format!("{SECRET_TYPE_LABEL} in (repository,repo-creds)"));
    let list = api.list(&params).await?;
    Ok(list
        .items
        .iter()
        .filter_map(|s| {
            let label = s.metadata.labels.as_ref()?.get(SECRET_TYPE_LABEL)?;
            let data: BTreeMap<String, Vec<u8>> = s
                .data
                .as_ref()?
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            HelmSecret::from_data(label, &data)
        })
        .collect())
}

/// The access `secrets` grant to `url` (none when no Secret matches).
pub(crate) fn access(secrets: &[HelmSecret], url: &str) -> HelmAccess {
    pick(secrets, url)
        .map(|s| s.access.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(label: &str, pairs: &[(&str, &str)]) -> HelmSecret {
        let data = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        HelmSecret::from_data(label, &data).unwrap()
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
        assert!(!s.template);
        assert!(s.access.enable_oci && s.access.plain_http);
        let creds = s.access.credentials.clone().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("bob", "hunter2")
        );
        assert!(!format!("{s:?}").contains("hunter2"));
        let mut data = BTreeMap::new();
        data.insert("url".to_string(), b"x".to_vec());
        assert!(HelmSecret::from_data("cluster", &data).is_none());
        assert!(HelmSecret::from_data("repository", &BTreeMap::new()).is_none());
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
                .and_then(|s| s.access.credentials.clone())
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
