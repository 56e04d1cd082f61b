//! A real local Git server on 127.0.0.1 for tests, benchmarks and the demo.
//!
//! [`GitServer::start`] serves one directory of bare repositories over
//!
//! * `git://` — `git daemon` (export-all, receive-pack enabled),
//! * `http://` — `git http-backend` (CGI) behind a small hyper server that
//!   requires HTTP basic auth with the username and password you choose
//!   ([`GitServerOptions`]), so credentials are tested for real,
//! * `https://` — the same HTTP server behind TLS with a self-signed
//!   certificate made by the `openssl` command ([`GitServer::tls_cert_pem`]),
//!   when `openssl` is installed,
//! * `ssh://` — Debian's `openssh-server` (`/usr/sbin/sshd -D -f config` on a
//!   free port, generated host key and client key), when it is installed.
//!
//! Every child process is killed when the [`GitServer`] is dropped, and gets
//! `PR_SET_PDEATHSIG` so nothing outlives the test process even on a crash.
//!
//! ```no_run
//! # async fn demo() {
//! use driftless_testkit::git::GitServer;
//! let server = GitServer::start().await;
//! let repo = server.create_repo("apps");
//! repo.write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n");
//! let sha = repo.commit("first");
//! assert_eq!(sha.len(), 40);
//! let url = server.http_url("apps"); // http://127.0.0.1:PORT/apps.git
//! # }
//! ```
//!
//! [`GitServer::stall`] makes HTTP requests for one repository hang until
//! [`GitServer::unstall`], to show a slow repository does not block others.

mod daemons;
mod http;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use daemons::{start_daemon, start_sshd};
use http::{HttpState, make_tls, serve};

/// What a [`GitServer`] is started with.
#[derive(Clone, Debug)]
pub struct GitServerOptions {
    /// Username HTTP basic auth accepts.
    pub username: String,
    /// Password HTTP basic auth accepts (also as `Authorization: Bearer <password>`).
    pub password: String,
    /// Directory holding the bare repositories; a fresh temporary directory
    /// (removed on drop) when `None`.
    pub dir: Option<PathBuf>,
    /// Start an SSH server too (needs `/usr/sbin/sshd`); when it is missing
    /// the server starts without SSH and [`GitServer::ssh`] is `None`.
    pub ssh: bool,
    /// Port for `git daemon`; a free one when `None`.
    pub git_port: Option<u16>,
    /// Port for the HTTP server; a free one when `None`.
    pub http_port: Option<u16>,
}

impl Default for GitServerOptions {
    fn default() -> Self {
        Self {
            username: "git-user".into(),
            password: "s3cret-test-password".into(),
            dir: None,
            ssh: true,
            git_port: None,
            http_port: None,
        }
    }
}

/// How to reach the SSH server: the URL prefix, the client key and the
/// known-hosts line of the server's host key.
#[derive(Clone, Debug)]
pub struct SshAccess {
    /// The login user (the user running the tests).
    pub user: String,
    /// The port sshd listens on.
    pub port: u16,
    /// The client's private key (OpenSSH format), authorized on the server.
    pub private_key: String,
    /// Path of the client's private key file.
    pub private_key_path: PathBuf,
    /// A `known_hosts` line for `[127.0.0.1]:port`.
    pub known_hosts: String,
}

/// A running Git server; stops (and kills its children) on drop.
pub struct GitServer {
    base: PathBuf,
    work: tempfile::TempDir,
    _base_tmp: Option<tempfile::TempDir>,
    git_port: u16,
    http_port: u16,
    https: Option<(u16, String)>,
    ssh: Option<SshAccess>,
    pids: Vec<u32>,
    options: GitServerOptions,
    stalled: Arc<Mutex<HashSet<String>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for GitServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitServer")
            .field("base", &self.base)
            .field("git_port", &self.git_port)
            .field("http_port", &self.http_port)
            .finish_non_exhaustive()
    }
}

/// Everything the server thread reports back once it is listening.
struct Ready {
    pids: Vec<u32>,
    git_port: u16,
    http_port: u16,
    https: Option<(u16, String)>,
    ssh: Option<SshAccess>,
}

impl GitServer {
    /// Starts a server with [`GitServerOptions::default`] in a temporary directory.
    pub async fn start() -> GitServer {
        Self::start_with(GitServerOptions::default()).await
    }

    /// Starts a server with the given options.
    pub async fn start_with(options: GitServerOptions) -> GitServer {
        tokio::task::spawn_blocking(move || Self::start_blocking(options))
            .await
            .expect("git server start panicked")
    }

    /// Starts a server from synchronous code (no async runtime needed).
    ///
    /// Panics when `git daemon` or the HTTP server cannot be started: this is
    /// test support, and a test cannot go on without its server.
    pub fn start_blocking(options: GitServerOptions) -> GitServer {
        let (base_tmp, base) = match &options.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).expect("create git server dir");
                (
                    None,
                    dir.canonicalize().expect("canonicalize git server dir"),
                )
            }
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("driftless-git-")
                    .tempdir()
                    .expect("temp dir");
                let path = tmp.path().canonicalize().expect("canonicalize temp dir");
                (Some(tmp), path)
            }
        };
        let work = tempfile::Builder::new()
            .prefix("driftless-git-work-")
            .tempdir()
            .expect("temp dir");
        let stalled = Arc::new(Mutex::new(HashSet::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
        let thread_base = base.clone();
        let thread_work = work.path().to_path_buf();
        let thread_opts = options.clone();
        let thread_stalled = stalled.clone();
        // Children are spawned from this long-lived thread: PR_SET_PDEATHSIG
        // fires when the spawning *thread* exits, so it must live as long as
        // the server does.
        let thread = std::thread::Builder::new()
            .name("git-server".into())
            .spawn(move || {
                server_thread(
                    thread_base,
                    thread_work,
                    thread_opts,
                    thread_stalled,
                    ready_tx,
                    shutdown_rx,
                )
            })
            .expect("spawn git server thread");
        let ready = ready_rx
            .recv()
            .expect("git server thread failed to start (see panic above)");
        GitServer {
            base,
            work,
            _base_tmp: base_tmp,
            git_port: ready.git_port,
            http_port: ready.http_port,
            https: ready.https,
            ssh: ready.ssh,
            pids: ready.pids,
            options,
            stalled,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// Creates an empty bare repository `name` (default branch `main`) and a
    /// working clone to commit from.
    pub fn create_repo(&self, name: &str) -> TestRepo {
        let bare = self.base.join(format!("{name}.git"));
        if let Some(parent) = bare.parent() {
            std::fs::create_dir_all(parent).expect("create repo parent");
        }
        git(
            &self.base,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
            Some(&bare),
        );
        let work = self.work.path().join(name);
        std::fs::create_dir_all(&work).expect("create work dir");
        git(&work, &["init", "--quiet", "--initial-branch=main"], None);
        git(
            &work,
            &["remote", "add", "origin", &bare.display().to_string()],
            None,
        );
        TestRepo {
            name: name.to_string(),
            bare,
            work,
        }
    }

    /// The directory holding the bare repositories (`<name>.git`).
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// `git://127.0.0.1:PORT/<repo>.git`
    pub fn git_url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}.git", self.git_port)
    }

    /// `http://127.0.0.1:PORT/<repo>.git` (needs [`GitServer::credentials`]).
    pub fn http_url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}.git", self.http_port)
    }

    /// `https://127.0.0.1:PORT/<repo>.git` (self-signed certificate, basic
    /// auth), when `openssl` was available to make the certificate.
    pub fn https_url(&self, repo: &str) -> Option<String> {
        self.https
            .as_ref()
            .map(|(port, _)| format!("https://127.0.0.1:{port}/{repo}.git"))
    }

    /// The HTTPS server's self-signed certificate (PEM), when it runs.
    pub fn tls_cert_pem(&self) -> Option<&str> {
        self.https.as_ref().map(|(_, pem)| pem.as_str())
    }

    /// The HTTP URL with the credentials embedded (for the `git` command line).
    pub fn http_url_with_credentials(&self, repo: &str) -> String {
        format!(
            "http://{}:{}@127.0.0.1:{}/{repo}.git",
            self.options.username, self.options.password, self.http_port
        )
    }

    /// `ssh://USER@127.0.0.1:PORT/ABS/PATH/<repo>.git`, when SSH runs.
    pub fn ssh_url(&self, repo: &str) -> Option<String> {
        self.ssh.as_ref().map(|ssh| {
            format!(
                "ssh://{}@127.0.0.1:{}{}/{repo}.git",
                ssh.user,
                ssh.port,
                self.base.display()
            )
        })
    }

    /// `file://ABS/PATH/<repo>.git`
    pub fn file_url(&self, repo: &str) -> String {
        format!("file://{}/{repo}.git", self.base.display())
    }

    /// The SSH server's access details, when it runs.
    pub fn ssh(&self) -> Option<&SshAccess> {
        self.ssh.as_ref()
    }

    /// The (username, password) HTTP basic auth accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.options.username, &self.options.password)
    }

    /// Process ids of the long-running children (`git daemon`, `sshd`);
    /// all are killed and reaped when the server is dropped.
    pub fn child_pids(&self) -> &[u32] {
        &self.pids
    }

    /// The port `git daemon` listens on.
    pub fn git_port(&self) -> u16 {
        self.git_port
    }

    /// The port the HTTP server listens on.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// Makes every HTTP request for `repo` hang (after authentication) until
    /// [`GitServer::unstall`] is called.
    pub fn stall(&self, repo: &str) {
        lock(&self.stalled).insert(repo.to_string());
    }

    /// Lets stalled HTTP requests for `repo` proceed.
    pub fn unstall(&self, repo: &str) {
        lock(&self.stalled).remove(repo);
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A repository on a [`GitServer`], with a working clone to commit from.
/// Commits are pushed to the server's bare repository at once.
#[derive(Debug, Clone)]
pub struct TestRepo {
    name: String,
    bare: PathBuf,
    work: PathBuf,
}

impl TestRepo {
    /// The repository's name (URLs end in `<name>.git`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bare repository the server serves.
    pub fn bare_path(&self) -> &Path {
        &self.bare
    }

    /// The working clone commits are made in.
    pub fn work_path(&self) -> &Path {
        &self.work
    }

    /// Writes `contents` to `path` (creating parent directories) in the working clone.
    pub fn write(&self, path: &str, contents: &str) {
        self.write_bytes(path, contents.as_bytes());
    }

    /// Writes raw bytes to `path` in the working clone.
    pub fn write_bytes(&self, path: &str, contents: &[u8]) {
        let full = self.work.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&full, contents).expect("write file");
    }

    /// Creates a symlink at `path` pointing to `target` (taken verbatim).
    pub fn symlink(&self, path: &str, target: &str) {
        let full = self.work.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        let _ = std::fs::remove_file(&full);
        std::os::unix::fs::symlink(target, &full).expect("create symlink");
    }

    /// Removes the file or directory at `path` in the working clone.
    pub fn remove(&self, path: &str) {
        let full = self.work.join(path);
        if full.is_dir() {
            std::fs::remove_dir_all(&full).expect("remove dir");
        } else {
            std::fs::remove_file(&full).expect("remove file");
        }
    }

    /// Commits everything in the working clone, pushes the current branch and
    /// returns the new commit's full SHA.
    pub fn commit(&self, message: &str) -> String {
        git(&self.work, &["add", "-A"], None);
        git(
            &self.work,
            &["commit", "--quiet", "--allow-empty", "-m", message],
            None,
        );
        git(&self.work, &["push", "--quiet", "origin", "HEAD"], None);
        self.head()
    }

    /// The full SHA of the working clone's `HEAD`.
    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"], None)
    }

    /// Creates a lightweight tag at `HEAD` and pushes it.
    pub fn tag(&self, name: &str) {
        git(&self.work, &["tag", name], None);
        git(
            &self.work,
            &["push", "--quiet", "origin", "tag", name],
            None,
        );
    }

    /// Creates an annotated tag at `HEAD` and pushes it.
    pub fn tag_annotated(&self, name: &str, message: &str) {
        git(&self.work, &["tag", "-a", name, "-m", message], None);
        git(
            &self.work,
            &["push", "--quiet", "origin", "tag", name],
            None,
        );
    }

    /// Creates branch `name` at `HEAD`, pushes it and switches to it, so the
    /// next commits land on it.
    pub fn branch(&self, name: &str) {
        git(&self.work, &["checkout", "--quiet", "-b", name], None);
        git(&self.work, &["push", "--quiet", "origin", name], None);
    }

    /// Deletes branch `name` on the server (the working clone keeps it).
    pub fn delete_branch(&self, name: &str) {
        git(
            &self.work,
            &["push", "--quiet", "origin", "--delete", name],
            None,
        );
    }

    /// Moves tag `name` to `HEAD` and force-pushes it.
    pub fn move_tag(&self, name: &str) {
        git(&self.work, &["tag", "-f", name], None);
        git(
            &self.work,
            &["push", "--quiet", "--force", "origin", "tag", name],
            None,
        );
    }

    /// Switches the working clone to an existing branch.
    pub fn checkout(&self, name: &str) {
        git(&self.work, &["checkout", "--quiet", name], None);
    }

    /// Sets the server repository's default branch (its `HEAD`).
    pub fn set_default_branch(&self, name: &str) {
        git(
            &self.bare,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{name}")],
            None,
        );
    }
}

/// Runs `git` in `dir` (or with `extra` as the last argument), isolated from
/// the user's configuration, and returns its trimmed stdout. Panics with
/// git's stderr on failure.
fn git(dir: &Path, args: &[&str], extra: Option<&Path>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_TERMINAL_PROMPT", "0");
    if let Some(extra) = extra {
        cmd.arg(extra);
    }
    let out = cmd.output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn server_thread(
    base: PathBuf,
    work: PathBuf,
    options: GitServerOptions,
    stalled: Arc<Mutex<HashSet<String>>>,
    ready: std::sync::mpsc::Sender<Ready>,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let (mut daemon, git_port) = start_daemon(&base, options.git_port);
    let sshd = if options.ssh { start_sshd(&work) } else { None };
    let (mut sshd_child, ssh) = match sshd {
        Some((child, access)) => (Some(child), Some(access)),
        None => (None, None),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("git server runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind((
            "127.0.0.1",
            options.http_port.unwrap_or(0),
        )))
        .expect("bind HTTP listener");
    let http_port = listener.local_addr().expect("local addr").port();
    let tls = make_tls(&work).map(|(acceptor, pem)| {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind HTTPS listener");
        (listener, acceptor, pem)
    });
    let https = tls
        .as_ref()
        .map(|(l, _, pem)| (l.local_addr().expect("local addr").port(), pem.clone()));
    let state = Arc::new(HttpState {
        base,
        auth: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", options.username, options.password))
        ),
        bearer: format!("Bearer {}", options.password),
        username: options.username.clone(),
        stalled,
        backend: git_program("git-http-backend"),
    });
    let mut pids = vec![daemon.id()];
    pids.extend(sshd_child.as_ref().map(Child::id));
    let _ = ready.send(Ready {
        pids,
        git_port,
        http_port,
        https,
        ssh,
    });
    runtime.block_on(async move {
        let plain = {
            let state = state.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(state.clone(), http::QuickAck::new(stream)));
                }
            }
        };
        let secure = async move {
            let Some((listener, acceptor, _)) = tls else {
                return std::future::pending::<()>().await;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let stream = http::QuickAck::new(stream);
                let (state, acceptor) = (state.clone(), acceptor.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(state, stream).await;
                    }
                });
            }
        };
        tokio::select! {
            _ = plain => {}
            _ = secure => {}
            _ = shutdown => {}
        }
    });
    drop(runtime);
    let _ = daemon.kill();
    let _ = daemon.wait();
    if let Some(child) = sshd_child.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The git program `name` (e.g. `git-daemon`) in git's exec path, run
/// directly rather than as `git <command>`.
fn git_program(name: &str) -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("run git --exec-path");
    assert!(out.status.success(), "git --exec-path failed");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join(name)
}
