//! HTTP/1.1 framing on `tollgate serve` (issue 9, finding 11), over raw
//! sockets: every ambiguity of the request-smuggling family is refused with
//! 400 and the connection closed, whether hyper refuses it or the server's
//! own check does (RFC 9112 §3.2 Host, §6 Transfer-Encoding and
//! Content-Length, §7.1 chunk sizes, §5.2 obs-fold, §5.1 whitespace before
//! the colon). The upstream is a real one: a request that got through would
//! be answered 200 by it, so "400 and nothing forwarded" is what is pinned.

mod support;

use std::io::Write;
use std::time::Duration;
use support::{End, connect, read_until_closed, serve};

const GENEROUS: Duration = Duration::from_secs(15);

fn server() -> support::Server {
    let up = support::upstream();
    serve(
        "framing",
        &format!(
            "version: 1\nupstreams:\n  u: {{ targets: [ {{ url: \"http://{up}\" }} ] }}\nroutes:\n  - {{ id: a, path: \"/{{*rest}}\", upstream: u }}\n"
        ),
    )
}

/// Sends `request` and reads until the server closes (or 15 s pass).
fn exchange(addr: &str, request: &[u8]) -> End {
    let mut s = connect(addr);
    let _ = s.write_all(request);
    read_until_closed(&mut s, GENEROUS)
}

fn text(end: &End) -> String {
    match end {
        End::Closed(b) | End::StillOpen(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Status lines: lines that start with `HTTP/1.1 ` (or `HTTP/1.0 `).
fn responses(t: &str) -> usize {
    t.split("\r\n").filter(|l| l.starts_with("HTTP/1.1 ") || l.starts_with("HTTP/1.0 ")).count()
}

#[test]
fn ambiguous_framing_is_refused_with_400_and_the_connection_closed() {
    let server = server();
    let cases: &[(&str, &[u8])] = &[
        // Host (RFC 9112 §3.2)
        ("no Host", b"GET /a HTTP/1.1\r\n\r\n"),
        ("two Host lines, same", b"GET /a HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n"),
        ("two Host lines, different", b"GET /a HTTP/1.1\r\nHost: x\r\nHost: evil\r\n\r\n"),
        ("two Host lines on HTTP/1.0", b"GET /a HTTP/1.0\r\nHost: x\r\nHost: evil\r\n\r\n"),
        ("Host as a list", b"GET /a HTTP/1.1\r\nHost: x, evil\r\n\r\n"),
        ("Host with user info", b"GET /a HTTP/1.1\r\nHost: user@x\r\n\r\n"),
        // Transfer-Encoding (§6.1)
        (
            "chunked twice, one list",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "chunked twice, two lines",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        ("gzip then chunked", b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        (
            "identity then chunked",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n",
        ),
        ("chunked then gzip", b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        ("gzip alone", b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("an unknown coding", b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"),
        (
            "Transfer-Encoding on HTTP/1.0",
            b"POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        // Content-Length (§6.3)
        ("two different lengths", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        ("a length list", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab"),
        ("a negative length", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        ("a hex length", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\n\r\nab"),
        ("a signed length", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab"),
        // Chunk sizes (§7.1)
        (
            "a chunk size that is not hex",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        ),
        (
            "a chunk size that overflows",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nab\r\n0\r\n\r\n",
        ),
        (
            "a negative chunk size",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n",
        ),
        ("a 0x chunk size", b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n"),
        (
            "chunk data longer than its size",
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        ),
        // Header syntax (§5)
        ("obs-fold", b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"),
        ("obs-fold with a tab", b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tContent-Length: 2\r\n\r\n"),
        ("whitespace before the colon", b"GET /a HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("whitespace before the colon of a length", b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab"),
        ("a tab before the colon", b"GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n"),
        ("a bare CR in a header line", b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\rContent-Length: 2\r\n\r\nab"),
        ("a NUL in a header value", b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
        ("a header line without a colon", b"GET /a HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n"),
        ("a space in the request target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];
    for (name, request) in cases {
        let end = exchange(&server.addr, request);
        let t = text(&end);
        assert!(matches!(end, End::Closed(_)), "{name}: the connection must be closed: {t}");
        assert!(t.starts_with("HTTP/1.1 400") || t.starts_with("HTTP/1.0 400"), "{name}: want 400: {t}");
        assert_eq!(responses(&t), 1, "{name}: one answer only: {t}");
        assert!(!t.contains("x-seen-head"), "{name}: nothing reached the upstream: {t}");
    }
    let health = support::raw(&server.addr, b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(health.starts_with("HTTP/1.1 200"), "still serving: {health}");
}

#[test]
fn content_length_beside_transfer_encoding_cannot_smuggle_a_second_request() {
    // hyper reads the body by Transfer-Encoding alone, drops the length and
    // closes the connection after the answer (RFC 9112 §6.3): whatever the
    // length covered is never read as a request.
    let server = server();
    for request in [
        &b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 45\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 45\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let end = exchange(&server.addr, request);
        let t = text(&end);
        assert!(matches!(end, End::Closed(_)), "closed after one answer: {t}");
        assert_eq!(responses(&t), 1, "one answer only: {t}");
        assert!(!t.contains(&hex(b"/smuggled")), "the second request never reached the upstream: {t}");
    }
}

#[test]
fn well_formed_requests_still_pass_and_keep_the_connection() {
    let server = server();
    let mut s = connect(&server.addr);
    let requests: &[&[u8]] = &[
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n2;ext=1\r\nab\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: x:8080\r\nContent-Length: 2\r\n\r\nab",
    ];
    for request in requests {
        s.write_all(request).expect("send");
        let (head, body) = support::read_response(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");
    }
    // HTTP/1.0 needs no Host; a bare LF ends lines as RFC 9112 §2.2 allows
    // (read the same way as CRLF, so it cannot hide a header).
    for request in [&b"GET /a HTTP/1.0\r\n\r\n"[..], b"GET /a HTTP/1.1\nHost: x\nConnection: close\n\n"] {
        let resp = support::raw(&server.addr, request);
        assert!(resp.contains(" 200 OK"), "{resp}");
    }
}

#[test]
fn upgrade_and_http2_settings_never_reach_the_upstream() {
    let server = server();
    for request in [
        &b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"[..],
        // Without Connection naming them (what workerd hands a Worker).
        b"GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: close\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
    ] {
        let resp = support::raw(&server.addr, request);
        assert!(resp.starts_with("HTTP/1.1 200"), "served normally, no 101: {resp}");
        let seen = resp.lines().find(|l| l.starts_with("x-seen-head:")).expect("forwarded head").to_owned();
        for name in ["upgrade", "http2-settings", "Upgrade", "HTTP2-Settings"] {
            assert!(!seen.contains(&hex(name.as_bytes())), "{name} reached the upstream");
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}
