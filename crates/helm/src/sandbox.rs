//! A private, empty Helm home for one fetch or render: configuration, cache,
//! data and plugin directories of its own, so nothing from the machine
//! (plugins, repositories, registry logins, a `HELM_*` variable) reaches the
//! `helm` process, and only the credentials written here for the repository
//! being read do.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::json;

use crate::Credentials;

/// One private Helm home, removed when dropped.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// Creates the empty home below `parent`.
    pub(crate) fn new(parent: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(parent)?;
        let dir = tempfile::Builder::new()
            .prefix("helm-home-")
            .tempdir_in(parent)?;
        for sub in ["config", "cache", "data", "plugins", "tmp", "work"] {
            std::fs::create_dir(dir.path().join(sub))?;
        }
        Ok(Self { dir })
    }

    /// A scratch directory inside the home (for value files, the chart copy).
    pub(crate) fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn repositories_file(&self) -> PathBuf {
        self.dir.path().join("config/repositories.yaml")
    }

    fn registry_file(&self) -> PathBuf {
        self.dir.path().join("config/registry.json")
    }

    /// The whole environment of a `helm` process: nothing is inherited.
    pub(crate) fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let home = self.dir.path();
        vec![
            ("HOME", home.to_path_buf()),
            ("TMPDIR", home.join("tmp")),
            ("HELM_CONFIG_HOME", home.join("config")),
            ("HELM_CACHE_HOME", home.join("cache")),
            ("HELM_DATA_HOME", home.join("data")),
            ("HELM_PLUGINS", home.join("plugins")),
            ("HELM_NO_PLUGINS", PathBuf::from("1")),
            ("HELM_REPOSITORY_CONFIG", self.repositories_file()),
            ("HELM_REPOSITORY_CACHE", home.join("cache/repository")),
            ("HELM_REGISTRY_CONFIG", self.registry_file()),
            ("HELM_CONTENT_CACHE", home.join("cache/content")),
            // `helm template` never talks to a cluster; make sure no
            // kubeconfig could be found even if it tried.
            ("KUBECONFIG", home.join("config/no-kubeconfig")),
        ]
    }

    /// Writes `repositories.yaml` with these chart repositories (name, URL,
    /// credentials): the only ones `helm` can read from in this home.
    pub(crate) fn write_repositories(&self, repos: &[RepoEntry<'_>]) -> std::io::Result<()> {
        let entries: Vec<_> = repos
            .iter()
            .map(|r| {
                let (username, password) = r
                    .credentials
                    .map_or(("", ""), |c| (c.username.as_str(), c.password.as_str()));
                json!({
                    "name": r.name,
                    "url": r.url,
                    "username": username,
                    "password": password,
                    "pass_credentials_all": r.pass_credentials,
                    "certFile": "", "keyFile": "", "caFile": "",
                    "insecure_skip_tls_verify": false,
                })
            })
            .collect();
        let file = json!({ "apiVersion": "", "generated": "0001-01-01T00:00:00Z", "repositories": entries });
        // JSON is YAML; helm reads it with its YAML loader.
        write_private(&self.repositories_file(), file.to_string().as_bytes())
    }

    /// Writes the registry login of `host` (`host[:port]`), as `helm registry
    /// login` would, without the password ever being a command-line argument.
    pub(crate) fn write_registry_login(
        &self,
        host: &str,
        credentials: &Credentials,
    ) -> std::io::Result<()> {
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", credentials.username, credentials.password));
        let file = json!({ "auths": { host: { "auth": auth } } });
        write_private(&self.registry_file(), file.to_string().as_bytes())
    }
}

/// A chart repository entry of `repositories.yaml`.
pub(crate) struct RepoEntry<'a> {
    /// The name `helm` knows it by in this home.
    pub(crate) name: String,
    /// Its URL.
    pub(crate) url: &'a str,
    /// Its credentials, if any.
    pub(crate) credentials: Option<&'a Credentials>,
    /// Send the credentials to other hosts too (`passCredentials`).
    pub(crate) pass_credentials: bool,
}

/// Writes a file readable by this user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_points_only_inside_the_home() {
        let parent = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(parent.path()).unwrap();
        let home = sandbox.dir.path().to_path_buf();
        for (name, value) in sandbox.env() {
            if name == "HELM_NO_PLUGINS" {
                assert_eq!(value, PathBuf::from("1"));
            } else {
                assert!(value.starts_with(&home), "{name}={}", value.display());
            }
        }
        assert!(sandbox.work().is_dir());
        assert_eq!(std::fs::read_dir(home.join("plugins")).unwrap().count(), 0);
    }

    #[test]
    fn a_registry_login_is_a_private_docker_config() {
        use std::os::unix::fs::PermissionsExt as _;
        let parent = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(parent.path()).unwrap();
        let credentials = Credentials::new("ann", "s3cret");
        sandbox
            .write_registry_login("127.0.0.1:5000", &credentials)
            .unwrap();
        let text = std::fs::read_to_string(sandbox.registry_file()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let auth = value["auths"]["127.0.0.1:5000"]["auth"].as_str().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        assert_eq!(decoded, b"ann:s3cret");
        let mode = std::fs::metadata(sandbox.registry_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    }
}
