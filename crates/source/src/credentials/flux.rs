//! Git credentials in Flux's Secret format (a `GitRepository`'s
//! `spec.secretRef`), converted to [`RepoCredentials`].
//!
//! Keys, as Flux reads them:
//! - HTTP(S): `username` and `password` (basic auth), or `bearerToken`;
//!   `ca.crt` (a CA bundle), `tls.crt`/`tls.key` (a client certificate);
//! - SSH: `identity` (the private key), `known_hosts` (required), and
//!   `password` (the key's passphrase).
//!
//! What [`RepoCredentials`] cannot express yet (`bearerToken`, a client
//! certificate, an encrypted SSH key) is an error naming the key, never a
//! silent anonymous fetch. `ca.crt` is trusted as a pinned certificate: a
//! server whose certificate is in the bundle (self-signed) is accepted.
//! Errors and `Debug` output never contain values.

use std::collections::BTreeMap;

use super::RepoCredentials;
use crate::url::{RepoUrl, Scheme};

/// Why a Flux Git Secret cannot be used. Every variant names the Secret
/// (`namespace/name`) and the key; none carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FluxSecretError {
    /// A key the URL's transport needs is absent or empty.
    #[error("Secret {secret}: key {key:?} is required for {transport} repositories")]
    MissingKey {
        /// The Secret.
        secret: String,
        /// The key.
        key: &'static str,
        /// `SSH` or `HTTPS`.
        transport: &'static str,
    },
    /// A key driftless cannot act on yet.
    #[error("Secret {secret}: key {key:?} ({what}) is not supported by driftless yet")]
    Unsupported {
        /// The Secret.
        secret: String,
        /// The key.
        key: &'static str,
        /// What it would do.
        what: &'static str,
    },
    /// Keys that exclude each other.
    #[error("Secret {secret}: {what}")]
    Conflict {
        /// The Secret.
        secret: String,
        /// Which keys, and what to do.
        what: &'static str,
    },
    /// A value that is not UTF-8 text.
    #[error("Secret {secret}: key {key:?} is not UTF-8 text")]
    NotText {
        /// The Secret.
        secret: String,
        /// The key.
        key: &'static str,
    },
}

/// Converts the data of Flux Secret `secret` (`namespace/name`, for errors),
/// already base64-decoded, into credentials for `url`.
pub fn from_flux_secret(
    url: &RepoUrl,
    data: &BTreeMap<String, Vec<u8>>,
    secret: &str,
) -> Result<RepoCredentials, FluxSecretError> {
    let reader = Keys { data, secret };
    match url.scheme {
        Scheme::Ssh => ssh_credentials(&reader),
        _ => http_credentials(&reader),
    }
}

/// The HTTP(S) keys of Flux Secret `secret` (for a source that is never
/// SSH: a Helm repository, an OCI registry), as [`from_flux_secret`] reads
/// them for an `https://` URL.
pub fn from_flux_http_secret(
    data: &BTreeMap<String, Vec<u8>>,
    secret: &str,
) -> Result<RepoCredentials, FluxSecretError> {
    http_credentials(&Keys { data, secret })
}

/// Reads text keys of one Secret.
struct Keys<'a> {
    data: &'a BTreeMap<String, Vec<u8>>,
    secret: &'a str,
}

impl Keys<'_> {
    /// The key's text, `None` when absent or blank.
    fn text(&self, key: &'static str) -> Result<Option<String>, FluxSecretError> {
        let Some(bytes) = self.data.get(key) else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes.clone()).map_err(|_| FluxSecretError::NotText {
            secret: self.secret.to_string(),
            key,
        })?;
        Ok(Some(text).filter(|t| !t.trim().is_empty()))
    }

    /// The key's text without a trailing newline (user names, passwords).
    fn line(&self, key: &'static str) -> Result<Option<String>, FluxSecretError> {
        Ok(self
            .text(key)?
            .map(|t| t.trim_end_matches(['\r', '\n']).to_string()))
    }

    fn has(&self, key: &str) -> bool {
        self.data.get(key).is_some_and(|v| !v.is_empty())
    }

    fn unsupported(&self, key: &'static str, what: &'static str) -> FluxSecretError {
        FluxSecretError::Unsupported {
            secret: self.secret.to_string(),
            key,
            what,
        }
    }

    fn missing(&self, key: &'static str, transport: &'static str) -> FluxSecretError {
        FluxSecretError::MissingKey {
            secret: self.secret.to_string(),
            key,
            transport,
        }
    }
}

fn ssh_credentials(keys: &Keys<'_>) -> Result<RepoCredentials, FluxSecretError> {
    let identity = keys
        .text("identity")?
        .ok_or_else(|| keys.missing("identity", "SSH"))?;
    let known_hosts = keys
        .text("known_hosts")?
        .ok_or_else(|| keys.missing("known_hosts", "SSH"))?;
    if keys.has("password") {
        return Err(keys.unsupported("password", "the passphrase of an encrypted SSH key"));
    }
    Ok(RepoCredentials {
        ssh_private_key: Some(identity),
        known_hosts: Some(known_hosts),
        ..RepoCredentials::default()
    })
}

fn http_credentials(keys: &Keys<'_>) -> Result<RepoCredentials, FluxSecretError> {
    for key in ["tls.crt", "tls.key"] {
        if keys.has(key) {
            return Err(keys.unsupported(key, "a TLS client certificate"));
        }
    }
    let username = keys.line("username")?;
    let password = keys.line("password")?;
    let bearer_token = keys.line("bearerToken")?;
    if bearer_token.is_some() && username.is_some() {
        return Err(FluxSecretError::Conflict {
            secret: keys.secret.to_string(),
            what: "bearerToken and username/password: use one of them",
        });
    }
    match (&username, &password) {
        (Some(_), None) => return Err(keys.missing("password", "HTTPS")),
        (None, Some(_)) => return Err(keys.missing("username", "HTTPS")),
        _ => {}
    }
    let ca = match keys.text("ca.crt")? {
        Some(ca) => Some(ca),
        None => keys.text("caFile")?,
    };
    Ok(RepoCredentials {
        username,
        password,
        bearer_token,
        tls_certs: ca,
        ..RepoCredentials::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn url(text: &str) -> RepoUrl {
        RepoUrl::parse(text).expect("a valid URL")
    }

    const SECRET: &str = "flux-system/git-auth";

    #[test]
    fn basic_auth_over_https() {
        let creds = from_flux_secret(
            &url("https://git.example.com/org/repo.git"),
            &data(&[("username", "bot\n"), ("password", "s3cret\n")]),
            SECRET,
        )
        .unwrap();
        assert_eq!(creds.username.as_deref(), Some("bot"));
        assert_eq!(creds.password.as_deref(), Some("s3cret"));
        assert_eq!(creds.ssh_private_key, None);
        assert!(
            !format!("{creds:?}").contains("s3cret"),
            "Debug hides the password"
        );
    }

    #[test]
    fn no_keys_means_anonymous_and_ca_is_pinned() {
        let creds = from_flux_secret(&url("https://h/r.git"), &data(&[]), SECRET).unwrap();
        assert_eq!(creds, RepoCredentials::default());
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let creds =
            from_flux_secret(&url("https://h/r.git"), &data(&[("ca.crt", pem)]), SECRET).unwrap();
        assert_eq!(creds.tls_certs.as_deref(), Some(pem));
    }

    #[test]
    fn half_a_basic_auth_pair_is_an_error() {
        let err = from_flux_secret(
            &url("https://h/r.git"),
            &data(&[("username", "bot")]),
            SECRET,
        )
        .unwrap_err();
        assert_eq!(
            err,
            FluxSecretError::MissingKey {
                secret: SECRET.into(),
                key: "password",
                transport: "HTTPS"
            }
        );
        let err = from_flux_secret(
            &url("https://h/r.git"),
            &data(&[("password", "p4ss")]),
            SECRET,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            FluxSecretError::MissingKey {
                key: "username",
                ..
            }
        ));
        assert!(!err.to_string().contains("p4ss"));
    }

    #[test]
    fn ssh_needs_identity_and_known_hosts() {
        let key =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n";
        let hosts = "git.example.com ssh-ed25519 AAAAC3Nza\n";
        let ssh = url("ssh://git@git.example.com/org/repo.git");
        let creds = from_flux_secret(
            &ssh,
            &data(&[
                ("identity", key),
                ("known_hosts", hosts),
                ("identity.pub", "ssh-ed25519 AAAA"),
            ]),
            SECRET,
        )
        .unwrap();
        assert_eq!(
            creds.ssh_private_key.as_deref(),
            Some(key),
            "the key keeps its final newline"
        );
        assert_eq!(creds.known_hosts.as_deref(), Some(hosts));
        assert_eq!(creds.password, None);
        let err = from_flux_secret(&ssh, &data(&[("known_hosts", hosts)]), SECRET).unwrap_err();
        assert!(matches!(
            err,
            FluxSecretError::MissingKey {
                key: "identity",
                transport: "SSH",
                ..
            }
        ));
        let err = from_flux_secret(&ssh, &data(&[("identity", key)]), SECRET).unwrap_err();
        assert!(matches!(
            err,
            FluxSecretError::MissingKey {
                key: "known_hosts",
                ..
            }
        ));
        assert!(err.to_string().contains(SECRET), "{err}");
        let scp = url("git@git.example.com:org/repo.git");
        assert!(
            from_flux_secret(
                &scp,
                &data(&[("identity", key), ("known_hosts", hosts)]),
                SECRET
            )
            .is_ok()
        );
    }

    #[test]
    fn a_bearer_token_is_sent_instead_of_basic_auth() {
        let https = url("https://h/r.git");
        let creds = from_flux_secret(&https, &data(&[("bearerToken", "tok-123\n")]), SECRET)
            .expect("a bearer token");
        assert_eq!(creds.bearer_token.as_deref(), Some("tok-123"));
        assert_eq!((creds.username, creds.password), (None, None));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_key() {
        let https = url("https://h/r.git");
        let err = from_flux_secret(
            &https,
            &data(&[
                ("bearerToken", "tok-123"),
                ("username", "u"),
                ("password", "p"),
            ]),
            SECRET,
        )
        .unwrap_err();
        assert!(matches!(err, FluxSecretError::Conflict { .. }), "{err}");
        assert!(!err.to_string().contains("tok-123"));
        let err = from_flux_secret(&https, &data(&[("tls.crt", "c"), ("tls.key", "k")]), SECRET)
            .unwrap_err();
        assert!(matches!(
            err,
            FluxSecretError::Unsupported { key: "tls.crt", .. }
        ));
        let ssh = url("ssh://git@h/r.git");
        let err = from_flux_secret(
            &ssh,
            &data(&[
                ("identity", "k"),
                ("known_hosts", "h"),
                ("password", "phrase"),
            ]),
            SECRET,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            FluxSecretError::Unsupported {
                key: "password",
                ..
            }
        ));
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn binary_values_are_refused_by_key() {
        let mut bad = data(&[("username", "bot")]);
        bad.insert("password".into(), vec![0xff, 0xfe]);
        let err = from_flux_secret(&url("https://h/r.git"), &bad, SECRET).unwrap_err();
        assert_eq!(
            err,
            FluxSecretError::NotText {
                secret: SECRET.into(),
                key: "password"
            }
        );
    }
}
