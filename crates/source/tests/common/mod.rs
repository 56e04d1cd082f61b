//! Shared helpers for the integration tests: a real Git server and a cache.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use driftless_source::credentials::{
    CredentialSource, NoCredentials, RepoCredentials, StaticCredentials,
};
use driftless_source::{MirrorCache, Options};
use driftless_testkit::git::{GitServer, TestRepo};

/// A cache in a fresh temporary directory.
pub fn cache_with(
    creds: Arc<dyn CredentialSource>,
    options: Options,
) -> (tempfile::TempDir, MirrorCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = MirrorCache::new(dir.path().join("mirrors"), creds, options).expect("cache");
    (dir, cache)
}

/// A cache without credentials and a 60 s fetch timeout.
pub fn cache() -> (tempfile::TempDir, MirrorCache) {
    cache_with(Arc::new(NoCredentials), options())
}

/// Default test options.
pub fn options() -> Options {
    Options {
        fetch_timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

/// Credentials for every repository on `server`'s HTTP port.
pub fn http_credentials(server: &GitServer) -> Arc<dyn CredentialSource> {
    let (user, password) = server.credentials();
    Arc::new(StaticCredentials::default().with_prefix(
        &format!("http://127.0.0.1:{}/", server.http_port()),
        RepoCredentials {
            username: Some(user.into()),
            password: Some(password.into()),
            ..Default::default()
        },
    ))
}

/// A repository with one commit: `app/config.yaml` and `base/cm.yaml`.
pub fn seeded(server: &GitServer, name: &str) -> (TestRepo, String) {
    let repo = server.create_repo(name);
    repo.write("app/config.yaml", "replicas: 1\n");
    repo.write("base/cm.yaml", "kind: ConfigMap\n");
    let sha = repo.commit("first");
    (repo, sha)
}
