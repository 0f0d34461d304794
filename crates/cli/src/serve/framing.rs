//! HTTP/1.1 framing the local server refuses before the core sees a request
//! (RFC 9112), beyond what hyper already refuses itself. hyper answers a bare
//! 400 and closes for: a request line or header it cannot parse (obs-fold,
//! whitespace before the colon, bare CR), two different `Content-Length`s, a
//! `Transfer-Encoding` whose last coding is not `chunked`, any
//! `Transfer-Encoding` on HTTP/1.0, and a chunk size that is not hex or
//! overflows. It takes `Transfer-Encoding` over `Content-Length` when both
//! are sent, drops the `Content-Length`, and closes the connection after
//! answering (RFC 9112 §6.3), so nothing can be smuggled behind such a
//! request on this connection.
//!
//! What hyper lets through and this refuses (400, connection closed):
//! a request without `Host` (HTTP/1.1) or with more than one, a `Host` that
//! is not a valid authority; a `Transfer-Encoding` other than exactly one
//! `chunked` (`chunked, chunked`, two lines, `gzip, chunked`: a coding
//! applied twice or one the gateway cannot undo, which another hop may read
//! differently); a `Content-Length` that is a list (`5, 5`).

use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::request::Parts;

/// `Err(why)` when the head's framing is refused (the why is for the client).
pub(crate) fn check(parts: &Parts) -> Result<(), &'static str> {
    let headers = &parts.headers;
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if parts.version >= http::Version::HTTP_11 => {
            return Err("An HTTP/1.1 request must carry a Host header.");
        }
        (Some(_), Some(_)) => return Err("A request must not carry more than one Host header."),
        (Some(host), None) if !valid_host(host.as_bytes()) => return Err("The Host header is not a valid host."),
        _ => {}
    }
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter();
    match (codings.next(), codings.next()) {
        (None, _) => {}
        (Some(te), None) if te.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") => {}
        _ => return Err("Transfer-Encoding must be exactly `chunked`."),
    }
    for length in headers.get_all(CONTENT_LENGTH) {
        let digits = length.as_bytes().trim_ascii();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err("Content-Length must be one decimal number.");
        }
    }
    Ok(())
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2), or empty; no user info.
fn valid_host(value: &[u8]) -> bool {
    value.is_empty() || (!value.contains(&b'@') && http::uri::Authority::try_from(value).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: http::Version, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri("/a").version(version);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn refused_heads() {
        const HTTP_10: http::Version = http::Version::HTTP_10;
        const HTTP_11: http::Version = http::Version::HTTP_11;
        let cases: &[(http::Version, &[(&str, &str)])] = &[
            (HTTP_11, &[]),
            (HTTP_11, &[("host", "a"), ("host", "a")]),
            (HTTP_11, &[("host", "a"), ("host", "b")]),
            (HTTP_10, &[("host", "a"), ("host", "b")]),
            (HTTP_11, &[("host", "a, b")]),
            (HTTP_11, &[("host", "user@a")]),
            (HTTP_11, &[("host", "a b")]),
            (HTTP_11, &[("host", "a/b")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "chunked, chunked")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "chunked"), ("transfer-encoding", "chunked")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "gzip, chunked")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "identity, chunked")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "chunked;q=1")]),
            (HTTP_11, &[("host", "a"), ("content-length", "5, 5")]),
            (HTTP_11, &[("host", "a"), ("content-length", "+5")]),
            (HTTP_11, &[("host", "a"), ("content-length", "")]),
        ];
        for (version, headers) in cases {
            assert!(check(&head(*version, headers)).is_err(), "{version:?} {headers:?}");
        }
    }

    #[test]
    fn accepted_heads() {
        const HTTP_10: http::Version = http::Version::HTTP_10;
        const HTTP_11: http::Version = http::Version::HTTP_11;
        let cases: &[(http::Version, &[(&str, &str)])] = &[
            (HTTP_11, &[("host", "a")]),
            (HTTP_11, &[("host", "gw.example.com:8080")]),
            (HTTP_11, &[("host", "[::1]:80")]),
            (HTTP_11, &[("host", "")]),
            (HTTP_10, &[]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", "chunked")]),
            (HTTP_11, &[("host", "a"), ("transfer-encoding", " Chunked ")]),
            (HTTP_11, &[("host", "a"), ("content-length", "12")]),
        ];
        for (version, headers) in cases {
            assert_eq!(check(&head(*version, headers)), Ok(()), "{version:?} {headers:?}");
        }
    }
}
