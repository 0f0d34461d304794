//! Shared by the `serve_*` integration tests: starts a real `tollgate serve`
//! on a free port with a given config, a raw-socket client, and a small
//! upstream on a std thread whose answers are chosen by the path.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Peak resident memory of the server process so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

pub fn serve(name: &str, config: &str) -> Server {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tollgate-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}-{n}.yaml"));
    std::fs::write(&path, config).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("serve")
        .arg("-c")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let addr = line.trim().rsplit("http://").next().expect("address").to_owned();
    Server { child, addr }
}

pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    s
}

/// Sends `request` whole and reads until the server closes (or 20 s pass).
pub fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = connect(addr);
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// How a connection ended when read to its end.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The server closed it (EOF or reset) after sending these bytes.
    Closed(Vec<u8>),
    /// Still open when the read timeout passed.
    StillOpen(Vec<u8>),
}

/// Reads until the server closes the connection or `within` passes.
pub fn read_until_closed(s: &mut TcpStream, within: Duration) -> End {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return End::StillOpen(out);
        }
        s.set_read_timeout(Some(left)).expect("timeout");
        match s.read(&mut buf) {
            Ok(0) => return End::Closed(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return End::StillOpen(out);
            }
            Err(_) => return End::Closed(out),
        }
    }
}

/// Reads one response with a `content-length` (keep-alive): status line and
/// body text.
pub fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = s.read_exact(&mut body);
    (head, String::from_utf8_lossy(&body).into_owned())
}

/// An upstream on 127.0.0.1: `/big/N` answers N bytes with a
/// `Content-Length`, `/chunked/N` N bytes chunked (64 KiB chunks, no
/// length), anything else 200 `{"ok":true}` plus the request head it got in
/// `x-seen-head` (base16, so any byte survives). Connections are closed after
/// each answer.
pub fn upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    addr
}

fn answer(mut s: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    // Read the body the gateway sends (always with a length) before answering:
    // closing with unread bytes makes the kernel reset the connection, and the
    // gateway could see the reset before the answer (a 502 that is the test's).
    let length = text
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if std::io::copy(&mut (&mut s).take(length), &mut std::io::sink()).is_err() {
        return;
    }
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let size = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
    let chunk = vec![b'x'; 64 * 1024];
    if let Some(n) = size("/big/") {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {n}\r\nconnection: close\r\n\r\n"
        );
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            if s.write_all(&chunk[..k]).is_err() {
                return;
            }
            left -= k;
        }
    } else if let Some(n) = size("/chunked/") {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            if write!(s, "{k:x}\r\n").is_err() || s.write_all(&chunk[..k]).is_err() || s.write_all(b"\r\n").is_err() {
                return;
            }
            left -= k;
        }
        let _ = s.write_all(b"0\r\n\r\n");
    } else {
        let seen: String = head.iter().map(|b| format!("{b:02x}")).collect();
        let body = br#"{"ok":true}"#;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-seen-head: {seen}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(body);
    }
}
