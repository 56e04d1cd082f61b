//! Protocols, credentials and the distinct errors of a failed fetch, against
//! a real Git server (git daemon, http-backend with basic auth, sshd).

mod common;

use std::sync::Arc;
use std::time::Duration;

use driftless_render::tree::FileTree;
use driftless_source::credentials::{NoCredentials, RepoCredentials, StaticCredentials};
use driftless_source::{Options, SourceError};
use driftless_testkit::git::GitServer;

use common::*;

fn password_creds(user: &str, password: &str) -> RepoCredentials {
    RepoCredentials {
        username: Some(user.into()),
        password: Some(password.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn http_basic_auth_right_wrong_and_missing() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "private");
    let url = server.http_url("private");
    let (user, password) = server.credentials();

    // Exact `repository` match.
    let creds = StaticCredentials::default().with_repository(&url, password_creds(user, password));
    let (_d, cache) = cache_with(Arc::new(creds), options());
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);

    // Wrong password.
    let creds = StaticCredentials::default()
        .with_repository(&url, password_creds(user, "not-the-password-42"));
    let (_d, cache) = cache_with(Arc::new(creds), options());
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("private.git"), "{shown}");
    assert!(!shown.contains("not-the-password-42"), "{shown}");

    // No credentials at all.
    let (_d, cache) = cache_with(Arc::new(NoCredentials), options());
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err:?}");

    // Credentials embedded in the URL work and never show.
    let embedded = server.http_url_with_credentials("private");
    let (_d, cache) = cache_with(Arc::new(NoCredentials), options());
    let r = cache.resolve(&embedded, "main", false).await.unwrap();
    assert_eq!(r.sha, sha);
    assert!(!format!("{r:?}").contains(password));
    assert!(!format!("{:?}", cache.all_stats()).contains(password));
}

#[tokio::test]
async fn ssh_with_key_and_known_hosts() {
    let server = GitServer::start().await;
    let ssh = server
        .ssh()
        .expect("sshd must be installed for SSH tests (apt-get install openssh-server)")
        .clone();
    let (_repo, sha) = seeded(&server, "over-ssh");
    let url = server.ssh_url("over-ssh").unwrap();
    let key_creds = RepoCredentials {
        ssh_private_key: Some(ssh.private_key.clone()),
        ..Default::default()
    };

    let opts = Options {
        known_hosts: Some(ssh.known_hosts.clone()),
        ..options()
    };
    let creds = StaticCredentials::default().with_repository(&url, key_creds.clone());
    let (_d, cache) = cache_with(Arc::new(creds), opts.clone());
    let r = cache.resolve(&url, "HEAD", false).await.unwrap();
    assert_eq!(r.sha, sha);
    let tree = cache.tree(&url, &r.sha).unwrap();
    assert_eq!(tree.read("app/config.yaml").unwrap(), b"replicas: 1\n");

    // Known hosts from the credentials (Argo's ConfigMap) work as well.
    let per_repo = RepoCredentials {
        known_hosts: Some(ssh.known_hosts.clone()),
        ..key_creds.clone()
    };
    let creds = StaticCredentials::default().with_repository(&url, per_repo);
    let (_d, cache) = cache_with(Arc::new(creds), options());
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);

    // Unknown host key: refused, unless insecure.
    let creds = StaticCredentials::default().with_repository(&url, key_creds.clone());
    let (_d, cache) = cache_with(Arc::new(creds), options());
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::Untrusted { .. }), "{err:?}");
    let insecure = RepoCredentials {
        insecure: true,
        ..key_creds.clone()
    };
    let creds = StaticCredentials::default().with_repository(&url, insecure);
    let (_d, cache) = cache_with(Arc::new(creds), options());
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);

    // A key the server does not know: authentication fails, the key never shows.
    let other = tempfile::tempdir().unwrap();
    let key_path = other.path().join("k");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let wrong_key = std::fs::read_to_string(&key_path).unwrap();
    let creds = StaticCredentials::default().with_repository(
        &url,
        RepoCredentials {
            ssh_private_key: Some(wrong_key.clone()),
            ..Default::default()
        },
    );
    let (_d, cache) = cache_with(Arc::new(creds), opts);
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{err:?}");
    let body = wrong_key.lines().nth(1).unwrap();
    assert!(!format!("{err} {err:?}").contains(body));
}

#[tokio::test]
async fn distinct_errors_for_refused_unreachable_and_missing_repo() {
    let server = GitServer::start().await;
    seeded(&server, "exists");
    let (_d, cache) = cache_with(http_credentials(&server), options());

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = cache
        .resolve(&format!("http://127.0.0.1:{closed}/x.git"), "main", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::ConnectionRefused { .. }),
        "{err:?}"
    );
    let err = cache
        .resolve(&format!("git://127.0.0.1:{closed}/x.git"), "main", false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::ConnectionRefused { .. }),
        "{err:?}"
    );

    let err = cache
        .resolve("https://no-such-host.invalid/org/repo.git", "main", false)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-host.invalid"));

    for url in [
        server.http_url("nope"),
        server.git_url("nope"),
        server.file_url("nope"),
    ] {
        let err = cache.resolve(&url, "main", false).await.unwrap_err();
        assert!(
            matches!(err, SourceError::RepoNotFound { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
    }
    let err = cache
        .resolve("ftp://example.com/x", "main", false)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::InvalidUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn file_urls_work() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "local");
    let (_d, cache) = cache();
    assert_eq!(
        cache
            .resolve(&server.file_url("local"), "main", false)
            .await
            .unwrap()
            .sha,
        sha
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_fetch_times_out() {
    let server = GitServer::start().await;
    seeded(&server, "stuck");
    let opts = Options {
        fetch_timeout: Duration::from_secs(2),
        ..options()
    };
    let (_d, cache) = cache_with(http_credentials(&server), opts);
    server.stall("stuck");
    let err = cache
        .resolve(&server.http_url("stuck"), "main", false)
        .await
        .unwrap_err();
    server.unstall("stuck");
    assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn https_self_signed_refused_unless_pinned_or_insecure() {
    let server = GitServer::start().await;
    let (_repo, sha) = seeded(&server, "tls");
    let url = server
        .https_url("tls")
        .expect("openssl must be installed for the HTTPS server");
    let pem = server.tls_cert_pem().unwrap().to_string();
    let (user, password) = server.credentials();
    let creds = |insecure: bool, tls_certs: Option<String>| {
        Arc::new(StaticCredentials::default().with_repository(
            &url,
            RepoCredentials {
                insecure,
                tls_certs,
                ..password_creds(user, password)
            },
        ))
    };

    let (_d, cache) = cache_with(creds(false, None), options());
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::Untrusted { .. }), "{err:?}");

    let (_d, cache) = cache_with(creds(true, None), options());
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);

    // Pinned per repository (argocd-tls-certs-cm) or for every repository.
    let (_d, cache) = cache_with(creds(false, Some(pem.clone())), options());
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);
    let opts = Options {
        tls_certs: Some(pem),
        ..options()
    };
    let (_d, cache) = cache_with(creds(false, None), opts);
    assert_eq!(cache.resolve(&url, "main", false).await.unwrap().sha, sha);

    // Another certificate pinned: still refused.
    let other = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
            "-keyout",
            "/dev/null",
        ])
        .output()
        .unwrap();
    let other = String::from_utf8(other.stdout).unwrap();
    assert!(other.contains("BEGIN CERTIFICATE"));
    let (_d, cache) = cache_with(creds(false, Some(other)), options());
    let err = cache.resolve(&url, "main", false).await.unwrap_err();
    assert!(matches!(err, SourceError::Untrusted { .. }), "{err:?}");
}
