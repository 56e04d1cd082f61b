//! One network fetch into a bare mirror with git2 (blocking; call it from
//! `spawn_blocking`): credentials, host-key and certificate checks, a
//! deadline, and errors sorted into the kinds a user can act on.

use std::cell::Cell;
use std::time::Instant;

use base64::Engine as _;
use git2::{
    AutotagOption, CertificateCheckStatus, Cred, CredentialType, FetchOptions, FetchPrune,
    RemoteCallbacks, Repository,
};

use crate::credentials::RepoCredentials;
use crate::error::SourceError;
use crate::url::{RepoUrl, Scheme};

/// The refs every mirror fetches.
pub(crate) const REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// What one fetch needs besides the repository.
pub(crate) struct FetchRequest<'a> {
    pub url: &'a RepoUrl,
    pub credentials: Option<&'a RepoCredentials>,
    /// `known_hosts` lines trusted by every repository.
    pub known_hosts: Option<&'a str>,
    /// PEM certificates trusted as-is by every repository.
    pub tls_certs: Option<&'a str>,
    pub deadline: Instant,
    pub timeout_secs: u64,
    /// Refs fetched besides [`REFSPECS`] (e.g. `+refs/pull/1/head:refs/pull/1/head`).
    pub extra_refspecs: Vec<String>,
}

/// Fetches into `repo` and points its `HEAD` at the remote's default branch.
pub(crate) fn fetch(repo: &Repository, req: &FetchRequest<'_>) -> Result<(), SourceError> {
    let auth_tried = Cell::new(false);
    let auth_missing = Cell::new(false);
    let untrusted: Cell<Option<String>> = Cell::new(None);
    let timed_out = Cell::new(false);

    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|_url, user_from_url, allowed| {
        credential(req, user_from_url, allowed, &auth_tried, &auth_missing)
    });
    callbacks.certificate_check(|cert, host| {
        let insecure = req.credentials.is_some_and(|c| c.insecure);
        if insecure {
            return Ok(CertificateCheckStatus::CertificateOk);
        }
        let Some(hostkey) = cert.as_hostkey() else {
            // TLS: a pinned certificate is accepted as-is; anything else is
            // left to libgit2's verification against the system roots.
            let pinned = cert.as_x509().is_some_and(|x509| {
                [
                    req.tls_certs,
                    req.credentials.and_then(|c| c.tls_certs.as_deref()),
                ]
                .iter()
                .flatten()
                .any(|pem| pem_contains(pem, x509.data()))
            });
            return Ok(if pinned {
                CertificateCheckStatus::CertificateOk
            } else {
                CertificateCheckStatus::CertificatePassthrough
            });
        };
        let Some(raw) = hostkey.hostkey() else {
            untrusted.set(Some(format!("{host} sent no host key")));
            return Err(git2::Error::from_str("host key missing"));
        };
        let key = base64::engine::general_purpose::STANDARD.encode(raw);
        let name = req.url.known_hosts_name();
        let lists = [
            req.known_hosts,
            req.credentials.and_then(|c| c.known_hosts.as_deref()),
        ];
        if lists
            .iter()
            .flatten()
            .any(|list| known_host(list, &name, &key))
        {
            Ok(CertificateCheckStatus::CertificateOk)
        } else {
            untrusted.set(Some(format!(
                "the SSH host key of {name} is not in the known hosts"
            )));
            Err(git2::Error::from_str("unknown SSH host key"))
        }
    });
    callbacks.transfer_progress(|_| {
        let ok = Instant::now() < req.deadline;
        if !ok {
            timed_out.set(true);
        }
        ok
    });
    callbacks.sideband_progress(|_| {
        let ok = Instant::now() < req.deadline;
        if !ok {
            timed_out.set(true);
        }
        ok
    });

    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    if let Some(header) = authorization(req) {
        options.custom_headers(&[header.as_str()]);
    }
    let mut refspecs: Vec<&str> = REFSPECS.to_vec();
    refspecs.extend(req.extra_refspecs.iter().map(String::as_str));

    let outcome = repo
        .remote_anonymous(req.url.fetch_url())
        .and_then(|mut remote| {
            remote.fetch(&refspecs, Some(&mut options), None)?;
            let head = remote.default_branch().ok();
            Ok(head.and_then(|b| b.as_str().ok().map(str::to_string)))
        });
    drop(options);
    match outcome {
        Ok(head) => {
            if let Some(head) = head
                && repo.find_reference(&head).is_ok()
            {
                repo.set_head(&head)
                    .map_err(|e| cache_error(req.url, repo, &e))?;
            }
            Ok(())
        }
        Err(e) if is_local(&e) => Err(cache_error(req.url, repo, &e)),
        Err(e) => Err(classify(
            req,
            &e,
            timed_out.get() || Instant::now() >= req.deadline,
            auth_missing.get(),
            untrusted.take(),
        )),
    }
}

/// The `Authorization` header every HTTP(S) request of the fetch carries:
/// the bearer token, else basic auth when both a username and a password
/// are known. Sent with the first request, so no request is made twice
/// (libgit2 otherwise sends each one without credentials, reads the 401,
/// asks the credentials callback and sends it again).
fn authorization(req: &FetchRequest<'_>) -> Option<String> {
    if !matches!(req.url.scheme, Scheme::Http | Scheme::Https) {
        return None;
    }
    let creds = req.credentials?;
    if let Some(token) = &creds.bearer_token {
        return Some(format!("Authorization: Bearer {token}"));
    }
    let user = creds.username.as_deref().or(req.url.user.as_deref())?;
    let password = creds.password.as_deref()?;
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Authorization: Basic {pair}"))
}

fn credential(
    req: &FetchRequest<'_>,
    user_from_url: Option<&str>,
    allowed: CredentialType,
    tried: &Cell<bool>,
    missing: &Cell<bool>,
) -> Result<Cred, git2::Error> {
    let creds = req.credentials;
    let user = user_from_url
        .map(str::to_string)
        .or_else(|| creds.and_then(|c| c.username.clone()))
        .or_else(|| req.url.user.clone());
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(user.as_deref().unwrap_or("git"));
    }
    // libgit2 asks again after a rejection; a second ask means the server
    // refused what we sent, so stop instead of looping.
    if tried.replace(true) {
        return Err(git2::Error::from_str("credentials rejected"));
    }
    if allowed.contains(CredentialType::SSH_KEY)
        && let Some(key) = creds.and_then(|c| c.ssh_private_key.as_deref())
    {
        return Cred::ssh_key_from_memory(user.as_deref().unwrap_or("git"), None, key, None);
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        let password = creds
            .and_then(|c| c.password.clone())
            .or_else(|| req.url.embedded_password().map(str::to_string));
        if let Some(password) = password {
            return Cred::userpass_plaintext(user.as_deref().unwrap_or("git"), &password);
        }
    }
    missing.set(true);
    Err(git2::Error::from_str("no credentials configured"))
}

/// Whether the PEM bundle `pem` holds the DER certificate `der`.
fn pem_contains(pem: &str, der: &[u8]) -> bool {
    let mut inside = false;
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN CERTIFICATE") {
            inside = true;
            body.clear();
        } else if line.starts_with("-----END CERTIFICATE") {
            inside = false;
            if base64::engine::general_purpose::STANDARD
                .decode(&body)
                .is_ok_and(|bytes| bytes == der)
            {
                return true;
            }
        } else if inside {
            body.push_str(line);
        }
    }
    false
}

/// Whether `list` (known_hosts format) trusts `key` (base64) for `name`.
fn known_host(list: &str, name: &str, key: &str) -> bool {
    list.lines().any(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return false;
        }
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(_kind), Some(k)) = (fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        k == key && hosts.split(',').any(|h| h == name)
    })
}

fn cache_error(url: &RepoUrl, repo: &Repository, e: &git2::Error) -> SourceError {
    SourceError::Cache {
        url: url.to_string(),
        path: repo.path().display().to_string(),
        message: e.message().to_string(),
    }
}

/// Whether the error comes from the local mirror (its objects or refs)
/// rather than the network.
fn is_local(e: &git2::Error) -> bool {
    use git2::ErrorClass as C;
    matches!(
        e.class(),
        C::Odb | C::Object | C::Zlib | C::Reference | C::Repository | C::Filesystem
    )
}

/// Sorts a failed fetch into the error a user can act on.
fn classify(
    req: &FetchRequest<'_>,
    e: &git2::Error,
    timed_out: bool,
    auth_missing: bool,
    untrusted: Option<String>,
) -> SourceError {
    let url = req.url.to_string();
    let message = e.message().to_string();
    let lower = message.to_ascii_lowercase();
    if let Some(message) = untrusted {
        return SourceError::Untrusted { url, message };
    }
    if lower.contains("certificate") || (lower.contains("ssl") && lower.contains("verif")) {
        return SourceError::Untrusted { url, message };
    }
    if timed_out || lower.contains("timed out") || lower.contains("timeout") {
        return SourceError::Timeout {
            url,
            seconds: req.timeout_secs,
        };
    }
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "404",
        "not found",
        "does not appear to be a git repository",
        "not exported",
        "no such file",
        "could not find repository",
        "does not exist",
        "access denied",
    ]) || (req.url.scheme == Scheme::Git
        && has(&["early eof", "unexpected eof", "could not read refs"]))
    {
        return SourceError::RepoNotFound { url, message };
    }
    if auth_missing
        || has(&[
            "401",
            "403",
            "authentication",
            "credentials",
            "permission denied",
            "auth",
        ])
    {
        return SourceError::AuthFailed { url, message };
    }
    if has(&["connection refused"]) {
        return SourceError::ConnectionRefused { url, message };
    }
    if has(&[
        "failed to resolve",
        "could not resolve",
        "name or service not known",
        "no route to host",
        "network is unreachable",
        "host is unreachable",
        "temporary failure in name resolution",
    ]) {
        return SourceError::Unreachable { url, message };
    }
    SourceError::Fetch { url, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_matching() {
        let list = "# comment\n[127.0.0.1]:2222 ssh-ed25519 AAAAkey\ngithub.com,gh ssh-rsa BBBB\n";
        assert!(known_host(list, "[127.0.0.1]:2222", "AAAAkey"));
        assert!(!known_host(list, "127.0.0.1", "AAAAkey"));
        assert!(!known_host(list, "[127.0.0.1]:2222", "other"));
        assert!(known_host(list, "gh", "BBBB"));
    }
}
