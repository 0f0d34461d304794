//! Header hygiene shared by both directions: hop-by-hop headers and those a
//! `Connection` header names never cross the gateway. The upgrade headers
//! (`Upgrade`, `HTTP2-Settings`) go whatever `Connection` says: no route
//! supports an upgrade, and workerd consumes `Connection` before the Worker
//! runs, so a rule that waited for `Connection` to name them would never fire
//! there.

use http::header::{self, HeaderMap, HeaderName};

/// RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies strip.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// RFC 7540 §3.2: only meaningful beside `Upgrade: h2c`, which never crosses.
const HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Removes hop-by-hop headers and every header named in `Connection`.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        strip_connection_named(headers);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(KEEP_ALIVE);
    headers.remove(PROXY_CONNECTION);
    headers.remove(HTTP2_SETTINGS);
}

fn strip_connection_named(headers: &mut HeaderMap) {
    // Read as bytes: a line with an obs-text byte must not hide the names
    // beside it (`Connection: x-b, \xff` still names `x-b`).
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter_map(|name| HeaderName::from_bytes(name.trim_ascii()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
}

/// Size of a header block as a limit sees it: names, values and `: \r\n`.
pub(crate) fn block_size(headers: &HeaderMap) -> u64 {
    headers.iter().map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_and_hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, X-Secret , x-other".parse().expect("value"));
        h.insert("x-secret", "1".parse().expect("value"));
        h.insert("x-other", "1".parse().expect("value"));
        h.insert("keep-alive", "timeout=5".parse().expect("value"));
        h.insert("te", "trailers".parse().expect("value"));
        h.insert("upgrade", "websocket".parse().expect("value"));
        h.insert("x-kept", "1".parse().expect("value"));
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, vec!["x-kept"]);
    }

    /// Found by fuzzing (fuzz/artifacts-found/headers-connection-obs-text):
    /// a `Connection` line with a non-ASCII byte still names what it names.
    #[test]
    fn connection_lines_with_obs_text_still_name_their_headers() {
        for line in [&b"x-b, \xff"[..], b"\xff,x-b", b"x-b ,\x80\x81, \xfe"] {
            let mut h = HeaderMap::new();
            h.insert("connection", http::HeaderValue::from_bytes(line).expect("value"));
            h.insert("x-b", "1".parse().expect("value"));
            h.insert("x-kept", "1".parse().expect("value"));
            strip_hop_by_hop(&mut h);
            let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
            assert_eq!(left, vec!["x-kept"], "{}", String::from_utf8_lossy(line));
        }
    }

    /// workerd consumes `Connection` before the Worker runs, so nothing may
    /// depend on `Connection` naming the upgrade headers: they go anyway.
    #[test]
    fn upgrade_and_http2_settings_are_removed_without_a_connection_header() {
        for (name, value) in [
            ("upgrade", "h2c"),
            ("Upgrade", "websocket"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
            ("http2-settings", ""),
        ] {
            let mut h = HeaderMap::new();
            h.append(HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("value"));
            h.append(HeaderName::from_bytes(name.as_bytes()).expect("name"), "second".parse().expect("value"));
            h.insert("x-kept", "1".parse().expect("value"));
            strip_hop_by_hop(&mut h);
            let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
            assert_eq!(left, vec!["x-kept"], "{name}: {value}");
        }
    }
}
