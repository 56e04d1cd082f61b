//! Headless Chromium driven over the DevTools protocol: a small websocket
//! client (RFC 6455 text frames) over a local TCP connection.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A running headless Chromium and a DevTools session on its page.
pub struct Browser {
    child: Child,
    socket: TcpStream,
    next_id: u64,
    _profile: tempfile::TempDir,
}

/// The browser binary: `$DRIFTLESS_CHROMIUM`, else `chromium` (Debian's package,
/// installed by tests/setup.sh).
fn binary() -> PathBuf {
    std::env::var_os("DRIFTLESS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "chromium".into())
}

impl Browser {
    /// Starts Chromium (1400×1000) and attaches to its first page.
    pub async fn start() -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut child = Command::new(binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (tests/setup.sh installs Debian's chromium): {e}",
                    binary().display()
                )
            });
        let stderr = child.stderr.take().expect("chromium's stderr");
        let mut lines = BufReader::new(stderr).lines();
        let port = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    return rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromium printed no DevTools address");
        // Keep draining stderr so chromium never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let (_, targets) = super::request(addr, "GET", "/json/list", None).await;
        let ws = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no page target: {targets}"))
            .to_string();
        let path = ws
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .expect("a websocket path");
        let socket = handshake(addr, &path).await;
        Browser {
            child,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Calls a DevTools method; its result, or a panic with its error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        send_text(&mut self.socket, message.as_bytes()).await;
        loop {
            let reply: Value = serde_json::from_slice(&read_message(&mut self.socket).await)
                .expect("a JSON message");
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: {error}");
                }
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page (promises awaited); its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("evaluating {expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Opens `url`.
    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// Waits until `expression` is true in the page (panics with `what` after `limit`).
    pub async fn wait_for(&mut self, expression: &str, what: &str, limit: Duration) {
        let started = Instant::now();
        while self.eval(expression).await != Value::Bool(true) {
            if started.elapsed() > limit {
                let body = self
                    .eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await;
                panic!("the page never showed {what} within {limit:?}; it shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Writes a PNG screenshot of the page to `path`.
    pub async fn screenshot(&mut self, path: &std::path::Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("artifact directory");
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Stops the browser.
    pub async fn close(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Where screenshots go: `target/ui-artifacts/` of the workspace.
pub fn artifact(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/ui-artifacts"
    ))
    .join(name)
}

async fn handshake(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr)
        .await
        .expect("connecting to DevTools");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: ZHJpZnRsZXNzLXRlc3RzIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        addr.port()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .expect("websocket handshake");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        socket
            .read_exact(&mut byte)
            .await
            .expect("handshake answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "websocket refused: {head}"
    );
    socket
}

/// One masked text frame (a client must mask).
async fn send_text(socket: &mut TcpStream, payload: &[u8]) {
    let mask = [0x5a, 0x11, 0xc3, 0x7e];
    let mut frame = vec![0x81u8];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    socket.write_all(&frame).await.expect("sending a frame");
}

/// The next whole message (fragments joined; pings answered).
async fn read_message(socket: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    loop {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).await.expect("a frame");
        let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                socket.read_exact(&mut b).await.expect("length");
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                socket.read_exact(&mut b).await.expect("length");
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        socket.read_exact(&mut payload).await.expect("a payload");
        match opcode {
            0x8 => panic!("DevTools closed the connection"),
            0x9 => {
                // An empty, masked pong.
                socket
                    .write_all(&[0x8a, 0x80, 0, 0, 0, 0])
                    .await
                    .expect("pong");
            }
            0xa => {}
            _ => {
                message.extend_from_slice(&payload);
                if fin {
                    return message;
                }
            }
        }
    }
}
