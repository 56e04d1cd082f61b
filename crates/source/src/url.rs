//! Repository URLs: parsing every form Argo CD accepts, normalizing them so
//! that spellings of one repository share one mirror, and removing
//! credentials before a URL is logged or shown.

use crate::error::{Result, SourceError};

/// The transport a repository URL uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `https://`
    Https,
    /// `http://`
    Http,
    /// `git://`
    Git,
    /// `ssh://` or scp-style `user@host:path`.
    Ssh,
    /// `file://` or an absolute local path.
    File,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Git => "git",
            Scheme::Ssh => "ssh",
            Scheme::File => "file",
        }
    }

    fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Https => Some(443),
            Scheme::Http => Some(80),
            Scheme::Git => Some(9418),
            Scheme::Ssh => Some(22),
            Scheme::File => None,
        }
    }
}

/// A parsed repository URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RepoUrl {
    /// The transport.
    pub scheme: Scheme,
    /// The user name in the URL (`git` in `git@github.com:org/repo`), if any.
    pub user: Option<String>,
    /// A password embedded in the URL (`https://user:token@host/...`); never
    /// shown by `Debug`/`Display`.
    password: Option<String>,
    /// Host name, lower-cased (empty for `file`).
    pub host: String,
    /// Port, when it is not the scheme's default.
    pub port: Option<u16>,
    /// Path with a leading `/`, without a trailing `/` or `.git`.
    pub path: String,
    /// The URL handed to Git: the original spelling without the password.
    fetch_url: String,
}

impl std::fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RepoUrl").field(&self.fetch_url).finish()
    }
}

impl std::fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fetch_url)
    }
}

impl RepoUrl {
    /// Parses `url` in any supported form: `https://`, `http://`, `git://`,
    /// `ssh://`, scp-style `user@host:org/repo`, `file://` or an absolute path.
    pub fn parse(url: &str) -> Result<RepoUrl> {
        let invalid = |reason: &str| SourceError::InvalidUrl {
            url: redact(url),
            reason: reason.to_string(),
        };
        let url = url.trim();
        if url.is_empty() {
            return Err(invalid("empty"));
        }
        if let Some(path) = url.strip_prefix("file://") {
            return Self::file(path, url).ok_or_else(|| invalid("file URLs need an absolute path"));
        }
        if url.starts_with('/') {
            return Self::file(url, url).ok_or_else(|| invalid("not an absolute path"));
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "https" => Scheme::Https,
                "http" => Scheme::Http,
                "git" => Scheme::Git,
                "ssh" | "git+ssh" | "ssh+git" => Scheme::Ssh,
                _ => return Err(invalid("unsupported scheme")),
            };
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let (userinfo, hostport) = match authority.rfind('@') {
                Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
                None => (None, authority),
            };
            let (user, password) = match userinfo {
                Some(info) => match info.split_once(':') {
                    Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                    None => (Some(info.to_string()), None),
                },
                None => (None, None),
            };
            let (host, port) = split_host_port(hostport).ok_or_else(|| invalid("bad port"))?;
            if host.is_empty() {
                return Err(invalid("no host"));
            }
            let port = port.filter(|p| Some(*p) != scheme.default_port());
            let fetch_url = match (&user, scheme) {
                (Some(u), _) if password.is_some() => {
                    format!("{}://{u}@{hostport}{path}", scheme_text(url))
                }
                _ => url.to_string(),
            };
            return Ok(RepoUrl {
                scheme,
                user: user.filter(|u| !u.is_empty()),
                password: password.filter(|p| !p.is_empty()),
                host: host.to_ascii_lowercase(),
                port,
                path: clean_path(path),
                fetch_url,
            });
        }
        // scp-style: [user@]host:path (no scheme, a colon before any slash).
        if let Some((authority, path)) = url.split_once(':')
            && !authority.contains('/')
            && !authority.is_empty()
            && !path.is_empty()
        {
            let (user, host) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u.to_string()), h),
                None => (None, authority),
            };
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            return Ok(RepoUrl {
                scheme: Scheme::Ssh,
                user,
                password: None,
                host: host.to_ascii_lowercase(),
                port: None,
                path: clean_path(&path),
                fetch_url: url.to_string(),
            });
        }
        Err(invalid(
            "expected https://, http://, git://, ssh://, user@host:path, file:// or an absolute path",
        ))
    }

    fn file(path: &str, original: &str) -> Option<RepoUrl> {
        if !path.starts_with('/') {
            return None;
        }
        Some(RepoUrl {
            scheme: Scheme::File,
            user: None,
            password: None,
            host: String::new(),
            port: None,
            path: clean_path(path),
            fetch_url: original.to_string(),
        })
    }

    /// The normalized form: the key of the mirror cache and of credential
    /// matching. Scheme and host lower-cased, default port, password,
    /// trailing `/` and `.git` removed; scp-style written as `ssh://`.
    pub fn normalized(&self) -> String {
        let mut out = format!("{}://", self.scheme.as_str());
        if self.scheme == Scheme::Ssh
            && let Some(user) = &self.user
        {
            out.push_str(user);
            out.push('@');
        }
        out.push_str(&self.host);
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        out.push_str(&self.path);
        out
    }

    /// The URL to hand to Git (no password in it).
    pub fn fetch_url(&self) -> &str {
        &self.fetch_url
    }

    /// A password embedded in the URL, if any.
    pub fn embedded_password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `host` or `[host]:port` as written in a `known_hosts` file.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(port) => format!("[{}]:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

fn scheme_text(url: &str) -> &str {
    url.split_once("://").map(|(s, _)| s).unwrap_or("")
}

fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    // [v6]:port
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) if !port.is_empty() => Some((host, Some(port.parse().ok()?))),
            _ => Some((host, None)),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, "")) => Some((host, None)),
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((hostport, None)),
    }
}

fn clean_path(path: &str) -> String {
    let mut p = path.trim_end_matches('/');
    if let Some(stripped) = p.strip_suffix(".git") {
        p = stripped;
    }
    let p = p.trim_end_matches('/');
    if p.starts_with('/') || p.is_empty() {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

/// The normalized form of `url` (see [`RepoUrl::normalized`]): `https://host/org/repo`,
/// `https://HOST/org/repo.git/` and `https://user:pw@host/org/repo` all give the same string.
pub fn normalize_url(url: &str) -> Result<String> {
    RepoUrl::parse(url).map(|u| u.normalized())
}

/// `url` with any password removed from its user-info part, for logs and errors.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_repo_normalize_equal() {
        let want = "https://github.com/org/repo";
        for url in [
            "https://github.com/org/repo",
            "https://github.com/org/repo.git",
            "https://github.com/org/repo/",
            "https://github.com/org/repo.git/",
            "HTTPS://GitHub.com/org/repo",
            "https://github.com:443/org/repo",
            "https://user:token@github.com/org/repo.git",
        ] {
            assert_eq!(normalize_url(url).unwrap(), want, "{url}");
        }
        assert_ne!(normalize_url("https://github.com/org/other").unwrap(), want);
    }

    #[test]
    fn scp_style_is_ssh() {
        assert_eq!(
            normalize_url("git@github.com:org/repo.git").unwrap(),
            "ssh://git@github.com/org/repo"
        );
        assert_eq!(
            normalize_url("ssh://git@github.com/org/repo").unwrap(),
            "ssh://git@github.com/org/repo"
        );
        assert_eq!(
            normalize_url("ssh://git@host:2222/abs/repo.git").unwrap(),
            "ssh://git@host:2222/abs/repo"
        );
        let u = RepoUrl::parse("ssh://git@host:2222/abs/repo.git").unwrap();
        assert_eq!(u.known_hosts_name(), "[host]:2222");
    }

    #[test]
    fn other_schemes() {
        assert_eq!(
            normalize_url("git://127.0.0.1:9418/a.git").unwrap(),
            "git://127.0.0.1/a"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:8080/a.git").unwrap(),
            "http://127.0.0.1:8080/a"
        );
        assert_eq!(normalize_url("file:///srv/a.git").unwrap(), "file:///srv/a");
        assert_eq!(normalize_url("/srv/a/").unwrap(), "file:///srv/a");
        assert!(normalize_url("ftp://x/y").is_err());
        assert!(normalize_url("").is_err());
        assert!(normalize_url("relative/path").is_err());
        assert!(normalize_url("https://host:notaport/x").is_err());
    }

    #[test]
    fn passwords_are_kept_out_of_display() {
        let u = RepoUrl::parse("https://bob:hunter2@example.com/r.git").unwrap();
        assert_eq!(u.embedded_password(), Some("hunter2"));
        assert_eq!(u.fetch_url(), "https://bob@example.com/r.git");
        assert!(!format!("{u} {u:?}").contains("hunter2"));
        assert_eq!(
            redact("https://bob:hunter2@example.com/r"),
            "https://bob@example.com/r"
        );
        let err = RepoUrl::parse("ftp://bob:hunter2@example.com/r").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
