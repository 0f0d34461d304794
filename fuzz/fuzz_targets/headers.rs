//! Header handling on hostile bytes. The first input byte picks the part:
//!
//! - 0: hop-by-hop stripping of an upstream answer (`NAME: VALUE` lines):
//!   exactly the hop-by-hop headers, `Content-Length` and every header a
//!   `Connection` line names (as bytes, case-insensitively) are removed;
//!   every other header reaches the client as it came, in order.
//! - 1: `client_ip: x-forwarded-for` (the next byte is `trusted_hops`, the
//!   lines are `X-Forwarded-For` lines): the client address is the element
//!   `trusted_hops` from the right of the whole chain or none — never another
//!   address, never the proxy's own unless the chain names it there; the
//!   chain sent upstream ends with the peer and keeps every element.
//! - 2: RateLimit serialisation (`NAME;A;B` lines): `RateLimit-Policy` and
//!   `RateLimit` parse back with `sfv` to the same names, in order, and the
//!   same integers (capped at 15 digits); names that cannot be written are
//!   left out.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sfv::{BareItem, ListEntry, Parser};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use tollgate_core::limit::headers::{PolicyItem, StateItem, policy_header, state_header};

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "http2-settings",
    // The body is complete in memory; the server writes the true length.
    "content-length",
];

/// Known open (reported in issue 9's fuzzing notes, reproducer in
/// `fuzz/artifacts-found/headers-connection-obs-text`): `strip_hop_by_hop`
/// skips a whole `Connection` line that holds a byte outside visible ASCII,
/// so `Connection: x-b, \xff` lets `x-b` through. Set to `false` once
/// `pipeline/headers.rs` reads the line as bytes.
const KNOWN_OPEN_CONNECTION_OBS_TEXT: bool = false;

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n')
}

fn header_map(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines(data) {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(line[colon + 1..].trim_ascii()))
        else {
            continue;
        };
        map.append(name, value);
    }
    map
}

fn hop_by_hop(data: &[u8]) {
    let sent = header_map(data);
    let mut named: Vec<Vec<u8>> = HOP_BY_HOP.iter().map(|n| n.as_bytes().to_vec()).collect();
    for line in sent.get_all("connection") {
        if KNOWN_OPEN_CONNECTION_OBS_TEXT && line.to_str().is_err() {
            continue;
        }
        for option in line.as_bytes().split(|&b| b == b',') {
            named.push(option.trim_ascii().to_ascii_lowercase());
        }
    }
    let got = tollgate_core::fuzzing::client_response_headers(sent.clone());
    for name in sent.keys() {
        let removed = named.iter().any(|n| n.as_slice() == name.as_str().as_bytes());
        let want: Vec<&HeaderValue> = if removed { Vec::new() } else { sent.get_all(name).iter().collect() };
        let have: Vec<&HeaderValue> = got.get_all(name).iter().collect();
        assert_eq!(have, want, "header {name} (Connection names {named:?})");
    }
    assert!(got.keys().all(|k| sent.contains_key(k)), "a header appeared: {got:?}");
}

/// An element as the spec reads it: an address, `[v6]`, or either with a
/// port; `::ffff:a.b.c.d` is `a.b.c.d`.
fn element_address(raw: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(raw).ok()?;
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse::<Ipv6Addr>().ok().map(IpAddr::V6))
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

fn forwarded(data: &[u8]) {
    let Some((&hops, rest)) = data.split_first() else { return };
    let hops = u32::from(hops % 5);
    let peer: IpAddr = if hops == 4 { "2001:db8::9".parse().expect("ip") } else { "10.9.9.9".parse().expect("ip") };
    let mut headers = HeaderMap::new();
    for line in lines(rest) {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append("x-forwarded-for", v);
        }
    }
    let elements: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
        .collect();
    let want_at = usize::try_from(hops.max(1)).ok().and_then(|h| elements.len().checked_sub(h));
    match tollgate_core::fuzzing::client_ip(&headers, Some(peer), hops) {
        None => {}
        Some(ip) => {
            let Some(at) = want_at else { panic!("{ip} from a chain shorter than {hops} hops: {elements:?}") };
            assert_eq!(
                element_address(elements[at]),
                Some(ip),
                "{ip} is not the trusted element {:?} of {elements:?} (peer {peer})",
                String::from_utf8_lossy(elements[at])
            );
        }
    }
    let platform = tollgate_core::fuzzing::forwarded_for(&headers, Some(peer), false);
    assert_eq!(platform, HeaderValue::from_str(&peer.to_string()).ok(), "platform mode sends the peer alone");
    let chain = tollgate_core::fuzzing::forwarded_for(&headers, Some(peer), true).expect("a chain to send");
    let sent: Vec<&[u8]> = chain.as_bytes().split(|&b| b == b',').map(<[u8]>::trim_ascii).collect();
    assert_eq!(sent.last().copied(), Some(peer.to_string().as_bytes()), "the peer is the last hop: {chain:?}");
    assert_eq!(&sent[..sent.len() - 1], &elements[..], "the client's chain goes on as it came");
}

fn ratelimit(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let items: Vec<(&str, u64, u64)> = text
        .split('\n')
        .take(16)
        .map(|line| {
            let mut parts = line.rsplitn(3, ';');
            let b = parts.next().unwrap_or("");
            let a = parts.next().unwrap_or("");
            let name = parts.next().unwrap_or(line);
            let num = |s: &str| s.parse::<u64>().unwrap_or(if s.is_empty() { 0 } else { u64::MAX });
            (name, num(a), num(b))
        })
        .collect();
    let writable: Vec<&(&str, u64, u64)> =
        items.iter().filter(|(n, ..)| n.bytes().all(|b| (0x20..=0x7e).contains(&b))).collect();
    let policy: Vec<PolicyItem<'_>> =
        items.iter().map(|&(name, quota, window_secs)| PolicyItem { name, quota, window_secs }).collect();
    let state: Vec<StateItem<'_>> =
        items.iter().map(|&(name, remaining, reset_secs)| StateItem { name, remaining, reset_secs }).collect();
    for (value, keys) in [(policy_header(&policy), ["q", "w"]), (state_header(&state), ["r", "t"])] {
        let Some(value) = value else {
            assert!(writable.is_empty(), "no header for writable items {writable:?}");
            continue;
        };
        let text = value.to_str().expect("a structured field is ASCII");
        let list = Parser::new(text).parse::<sfv::List>().unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
        assert_eq!(list.len(), writable.len(), "{text:?} for {writable:?}");
        for (entry, (name, a, b)) in list.iter().zip(&writable) {
            let ListEntry::Item(item) = entry else { panic!("an inner list in {text:?}") };
            assert_eq!(item.bare_item, BareItem::String(sfv::StringRef::from_str(name).expect("writable").to_owned()));
            let cap = |v: u64| i64::try_from(v.min(999_999_999_999_999)).expect("15 digits");
            let params: Vec<(String, i64)> = item
                .params
                .iter()
                .map(|(k, v)| match v {
                    BareItem::Integer(i) => (k.as_str().to_owned(), i64::from(*i)),
                    other => panic!("a non-integer parameter {other:?} in {text:?}"),
                })
                .collect();
            assert_eq!(params, vec![(keys[0].to_owned(), cap(*a)), (keys[1].to_owned(), cap(*b))], "{text:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => hop_by_hop(rest),
        1 => forwarded(rest),
        _ => ratelimit(rest),
    }
});
