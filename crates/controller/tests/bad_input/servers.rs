//! Misbehaving Git servers on 127.0.0.1: one that accepts connections and
//! never answers, and one that advertises a branch and then streams a pack
//! that never ends (valid objects, throttled so the disk is not filled).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Accepts every connection and holds it open without a byte in reply.
pub async fn black_hole() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Serves smart HTTP: `info/refs` advertises `refs/heads/main`, and
/// `git-upload-pack` answers with a pack announcing 2^32-1 objects and
/// streaming blobs at about 1 MB/s, forever.
pub async fn endless_pack() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream));
        }
    });
    addr
}

/// A fake commit id the advertisement names.
const FAKE_SHA: &str = "1111111111111111111111111111111111111111";

fn pkt(line: &str) -> String {
    format!("{:04x}{line}", line.len() + 4)
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn serve_one(mut stream: TcpStream) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let request_line = head.lines().next().unwrap_or_default().to_string();
    if request_line.contains("/info/refs") {
        let body = format!(
            "{}0000{}{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!(
                "{FAKE_SHA} HEAD\0side-band-64k ofs-delta symref=HEAD:refs/heads/main\n"
            )),
            pkt(&format!("{FAKE_SHA} refs/heads/main\n")),
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\nCache-Control: no-cache\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return;
    }
    // git-upload-pack: ignore the request body, stream the pack.
    let header = "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-result\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if stream.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    let mut out = b"0008NAK\n".to_vec();
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&u32::MAX.to_be_bytes());
    out.extend(sideband(&pack));
    let blob = blob_entry(60_000);
    let chunk = sideband(&blob);
    if stream.write_all(&out).await.is_err() {
        return;
    }
    loop {
        for _ in 0..16 {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A side-band-64k data packet (band 1) carrying `data` (< 65515 bytes).
fn sideband(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:04x}", data.len() + 5).into_bytes();
    out.push(1);
    out.extend_from_slice(data);
    out
}

/// A pack entry: a blob of `size` zero bytes, zlib "stored" (uncompressed).
fn blob_entry(size: usize) -> Vec<u8> {
    // Type 3 (blob) and the size in the variable-length header.
    let mut out = Vec::new();
    let mut rest = size >> 4;
    let mut first = (3u8 << 4) | (size & 0x0f) as u8;
    if rest > 0 {
        first |= 0x80;
    }
    out.push(first);
    while rest > 0 {
        let mut byte = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest > 0 {
            byte |= 0x80;
        }
        out.push(byte);
    }
    let data = vec![0u8; size];
    out.extend_from_slice(&[0x78, 0x01]);
    out.push(1); // final stored block
    let len = u16::try_from(size).expect("a stored block holds < 64 KiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&adler32(&data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
