//! The long-running children of the Git server: `git daemon` and `sshd`,
//! started on free ports and tied to the server thread's life.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::SshAccess;

/// Makes the child die with its parent (thread): see `prctl(2)`.
pub(super) fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits until something accepts connections on `port`, or panics naming `what`.
fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            panic!("{what} exited with {status} before listening on {port}: {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 15s");
}

pub(super) fn start_daemon(base: &Path, port: Option<u16>) -> (Child, u16) {
    let port = port.unwrap_or_else(crate::free_port);
    // `git-daemon` itself: started as `git daemon`, the daemon would be a
    // grandchild, and killing `git` (or its death signal) would orphan it.
    let mut cmd = Command::new(super::git_program("git-daemon"));
    cmd.args([
        "--reuseaddr",
        "--export-all",
        "--informative-errors",
        "--enable=receive-pack",
        "--listen=127.0.0.1",
    ])
    .arg(format!("--port={port}"))
    .arg(format!("--base-path={}", base.display()))
    .arg(base)
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env("GIT_CONFIG_GLOBAL", "/dev/null")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().expect("spawn git daemon");
    wait_for_port(port, "git daemon", &mut child);
    // Stop piping stderr into a buffer nobody drains.
    drop(child.stderr.take());
    (child, port)
}

const SSHD: &str = "/usr/sbin/sshd";

pub(super) fn start_sshd(work: &Path) -> Option<(Child, SshAccess)> {
    if !Path::new(SSHD).exists() {
        eprintln!("driftless-testkit: {SSHD} not found (install openssh-server); no SSH server");
        return None;
    }
    let dir = work.join(".sshd");
    std::fs::create_dir_all(&dir).expect("create sshd dir");
    let keygen = |path: &Path| {
        let out = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "driftless-test",
                "-f",
            ])
            .arg(path)
            .output()
            .expect("run ssh-keygen");
        assert!(
            out.status.success(),
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let host_key = dir.join("host_ed25519");
    let client_key = dir.join("client_ed25519");
    keygen(&host_key);
    keygen(&client_key);
    std::fs::copy(
        client_key.with_extension("pub"),
        dir.join("authorized_keys"),
    )
    .expect("write authorized_keys");
    // sshd refuses to start without its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = crate::free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\n\
             AuthorizedKeysFile {auth}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\n\
             UsePAM no\nLogLevel ERROR\nAllowTcpForwarding no\nX11Forwarding no\n",
            host = host_key.display(),
            pid = dir.join("sshd.pid").display(),
            auth = dir.join("authorized_keys").display(),
        ),
    )
    .expect("write sshd_config");
    let mut cmd = Command::new(SSHD);
    cmd.arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().expect("spawn sshd");
    wait_for_port(port, "sshd", &mut child);
    drop(child.stderr.take());
    let host_pub = std::fs::read_to_string(host_key.with_extension("pub")).expect("host key");
    let mut parts = host_pub.split_whitespace();
    let (kind, key) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            let out = Command::new("id").arg("-un").output().expect("run id -un");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        });
    let access = SshAccess {
        user,
        port,
        private_key: std::fs::read_to_string(&client_key).expect("client key"),
        private_key_path: client_key,
        known_hosts: format!("[127.0.0.1]:{port} {kind} {key}\n"),
    };
    Some((child, access))
}
