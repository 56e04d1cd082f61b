//! The local Git server serves real clones over git://, http:// (basic
//! auth) and ssh://, and refuses a wrong password.

use std::path::Path;
use std::process::{Command, Output};

use driftless_testkit::git::GitServer;

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git")
}

fn clone_ok(dir: &Path, url: &str, into: &str) -> String {
    let out = git(dir, &["clone", "--quiet", url, into]);
    assert!(
        out.status.success(),
        "clone of {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join(into).join("app/config.yaml")).expect("read cloned file")
}

#[tokio::test]
async fn clones_over_git_and_http_and_ssh() {
    let server = GitServer::start().await;
    let repo = server.create_repo("team/apps");
    repo.write("app/config.yaml", "replicas: 3\n");
    let sha = repo.commit("first");
    assert_eq!(sha.len(), 40);
    assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));

    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(
        clone_ok(tmp.path(), &server.git_url("team/apps"), "via-git"),
        "replicas: 3\n"
    );
    assert_eq!(
        clone_ok(
            tmp.path(),
            &server.http_url_with_credentials("team/apps"),
            "via-http"
        ),
        "replicas: 3\n"
    );
    let head = git(&tmp.path().join("via-http"), &["rev-parse", "HEAD"]);
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), sha);

    // A second commit is visible to a fresh clone at once.
    repo.write("app/config.yaml", "replicas: 5\n");
    let second = repo.commit("second");
    assert_ne!(second, sha);
    assert_eq!(
        clone_ok(tmp.path(), &server.git_url("team/apps"), "via-git-2"),
        "replicas: 5\n"
    );

    let ssh = server
        .ssh()
        .expect("sshd must be installed for the SSH server (apt-get install openssh-server)");
    let known = tmp.path().join("known_hosts");
    std::fs::write(&known, &ssh.known_hosts).unwrap();
    let out = Command::new("git")
        .current_dir(tmp.path())
        .args(["clone", "--quiet"])
        .arg(server.ssh_url("team/apps").unwrap())
        .arg("via-ssh")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(
            "GIT_SSH_COMMAND",
            format!(
                "ssh -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes",
                ssh.private_key_path.display(),
                known.display()
            ),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh clone failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("via-ssh/app/config.yaml")).unwrap(),
        "replicas: 5\n"
    );
}

#[tokio::test]
async fn wrong_password_fails_clearly() {
    let server = GitServer::start().await;
    let repo = server.create_repo("private");
    repo.write("app/config.yaml", "x: 1\n");
    repo.commit("first");
    let (user, _) = server.credentials();
    let url = server
        .http_url("private")
        .replace("http://", &format!("http://{user}:wrong-password@"));
    let tmp = tempfile::tempdir().unwrap();
    let out = git(tmp.path(), &["clone", "--quiet", &url, "nope"]);
    assert!(
        !out.status.success(),
        "clone with a wrong password succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Authentication failed"),
        "unexpected error: {stderr}"
    );
    // No credentials at all: also refused.
    let out = git(
        tmp.path(),
        &["clone", "--quiet", &server.http_url("private"), "nope2"],
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn push_over_http_and_stall() {
    let server = GitServer::start().await;
    let repo = server.create_repo("pushed");
    repo.write("a.txt", "a\n");
    repo.commit("first");
    let tmp = tempfile::tempdir().unwrap();
    let url = server.http_url_with_credentials("pushed");
    clone_ok_plain(tmp.path(), &url, "w");
    let work = tmp.path().join("w");
    std::fs::write(work.join("b.txt"), "b\n").unwrap();
    let env_git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&work)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    env_git(&["add", "b.txt"]);
    env_git(&["commit", "-q", "-m", "over http"]);
    env_git(&["push", "-q", "origin", "main"]);
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo.bare_path())
        .args(["log", "-1", "--format=%s", "main"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "over http");

    // A stalled repo hangs until released; the clone then succeeds.
    server.stall("pushed");
    let path = tmp.path().to_path_buf();
    let url2 = url.clone();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let handle = std::thread::spawn(move || {
        let out = git(&path, &["clone", "--quiet", &url2, "stalled"]);
        let _ = tx.send(());
        out
    });
    // Other requests are still served while one repo is stalled.
    clone_ok_plain(tmp.path(), &server.git_url("pushed"), "other");
    assert!(rx.try_recv().is_err(), "stalled clone finished early");
    server.unstall("pushed");
    let out = handle.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn clone_ok_plain(dir: &Path, url: &str, into: &str) {
    let out = git(dir, &["clone", "--quiet", url, into]);
    assert!(
        out.status.success(),
        "clone of {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn clones_over_https_with_the_servers_certificate() {
    let server = GitServer::start().await;
    let repo = server.create_repo("tls");
    repo.write("app/config.yaml", "tls: true\n");
    repo.commit("first");
    let url = server
        .https_url("tls")
        .expect("openssl must be installed for the HTTPS server");
    let (user, password) = server.credentials();
    let url = url.replace("https://", &format!("https://{user}:{password}@"));
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, server.tls_cert_pem().unwrap()).unwrap();
    // Without trusting the certificate: refused.
    let out = git(tmp.path(), &["clone", "--quiet", &url, "untrusted"]);
    assert!(
        !out.status.success(),
        "a self-signed certificate was accepted"
    );
    let out = Command::new("git")
        .current_dir(tmp.path())
        .args(["clone", "--quiet", &url, "trusted"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSL_CAINFO", &ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("trusted/app/config.yaml")).unwrap(),
        "tls: true\n"
    );
}

#[tokio::test]
async fn dropping_the_server_leaves_no_process() {
    let server = GitServer::start().await;
    let pids = server.child_pids().to_vec();
    assert!(!pids.is_empty());
    for pid in &pids {
        assert!(
            Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} not running"
        );
    }
    let base = server.base_dir().to_path_buf();
    drop(server);
    for pid in &pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the server"
        );
    }
    assert!(
        !base.exists(),
        "the temporary repository directory was left behind"
    );
}
