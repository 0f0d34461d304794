//! Who the client is, by address (spec §3 `client_ip`, §7): the address IP
//! rules, IP-keyed rate limits and the failed-authentication limit use.
//!
//! - `platform`: the address the platform reports (socket peer,
//!   `CF-Connecting-IP` set by Cloudflare's edge, Lambda `sourceIp`, the hop
//!   ALB appends).
//! - `x-forwarded-for`: the element `trusted_hops` from the right of the
//!   whole `X-Forwarded-For` chain (every line, in order). The chain is read
//!   as bytes: an element that is not an address still counts as an element,
//!   so a hostile byte in an earlier element cannot shift which one is read.
//!   When that element is absent or not an address the request has **no**
//!   trusted client address — never the proxy's own: IP rules deny it,
//!   IP-keyed limits count it under `ip:unknown`.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address
//! everywhere. Limit keys take IPv6 addresses by prefix (`ipv6_key_prefix`,
//! default /64): one customer's subnet is one identity, not 2^64.
//!
//! A leaf: it reads only the config's `ClientIpMode`, so authentication and
//! the pipeline both use it without importing each other.

use crate::config::ClientIpMode;
use http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The default prefix IPv6 clients are keyed by (one end site's subnet).
pub(crate) const DEFAULT_V6_PREFIX: u8 = 64;

/// The config's client-address settings (`client_ip`, `trusted_hops`,
/// `ipv6_key_prefix`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIpPolicy {
    pub mode: ClientIpMode,
    pub trusted_hops: u32,
    /// IPv6 clients are one identity per prefix of this length in limits.
    pub v6_prefix: u8,
}

/// Why a request has no trusted client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// The platform reported no address (`platform` mode).
    NoPeer,
    /// Fewer `X-Forwarded-For` elements than `trusted_hops`.
    MissingHop,
    /// The trusted element is not an IP address.
    Unparsable,
}

impl Unknown {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Unknown::NoPeer => "the platform reported no client address",
            Unknown::MissingHop => "X-Forwarded-For holds fewer elements than trusted_hops",
            Unknown::Unparsable => "the trusted X-Forwarded-For element is not an IP address",
        }
    }
}

/// The client address a request is attributed to, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientIp {
    Known(IpAddr),
    Unknown(Unknown),
}

impl ClientIp {
    pub(crate) fn ip(self) -> Option<IpAddr> {
        match self {
            ClientIp::Known(ip) => Some(ip),
            ClientIp::Unknown(_) => None,
        }
    }

    /// The identity limits count under: `1.2.3.4`, `2001:db8:1:2::/64`, or
    /// `unknown` (one shared, itself limited, bucket).
    pub(crate) fn limit_identity(self, v6_prefix: u8) -> String {
        match self {
            ClientIp::Known(IpAddr::V4(v4)) => v4.to_string(),
            ClientIp::Known(IpAddr::V6(v6)) if v6_prefix >= 128 => v6.to_string(),
            ClientIp::Known(IpAddr::V6(v6)) => {
                let bits = u128::from(v6);
                let mask = if v6_prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(v6_prefix)) };
                format!("{}/{v6_prefix}", Ipv6Addr::from(bits & mask))
            }
            ClientIp::Unknown(_) => "unknown".to_owned(),
        }
    }
}

/// `::ffff:a.b.c.d` is `a.b.c.d`; every other address is itself.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An `X-Forwarded-For` element: an address, `[v6]`, or either with a port.
fn parse_element(raw: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(raw).ok()?;
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(|v6| canonical(IpAddr::V6(v6)));
    }
    text.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// Every element of every `X-Forwarded-For` line, in order, trimmed of
/// optional whitespace; empty list elements are skipped (RFC 9110 §5.6.1).
pub(crate) fn forwarded_elements(headers: &HeaderMap) -> Vec<&[u8]> {
    headers
        .get_all(http::header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty())
        .collect()
}

/// The client address as `mode` sees it.
pub(crate) fn resolve(headers: &HeaderMap, peer: Option<IpAddr>, mode: ClientIpMode, trusted_hops: u32) -> ClientIp {
    match mode {
        ClientIpMode::Platform => peer.map(canonical).map_or(ClientIp::Unknown(Unknown::NoPeer), ClientIp::Known),
        ClientIpMode::XForwardedFor => {
            let all = forwarded_elements(headers);
            let hops = usize::try_from(trusted_hops).unwrap_or(usize::MAX).max(1);
            match all.len().checked_sub(hops).and_then(|i| all.get(i)) {
                None => ClientIp::Unknown(Unknown::MissingHop),
                Some(raw) => parse_element(raw).map_or(ClientIp::Unknown(Unknown::Unparsable), ClientIp::Known),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn xff(lines: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", HeaderValue::from_bytes(l).expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    const PROXY: &str = "10.9.9.9";

    fn via_proxy(lines: &[&[u8]], hops: u32) -> ClientIp {
        resolve(&xff(lines), Some(ip(PROXY)), ClientIpMode::XForwardedFor, hops)
    }

    #[test]
    fn the_trusted_hop_of_the_whole_chain() {
        assert_eq!(via_proxy(&[b"1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"6.6.6.6, 1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"6.6.6.6", b"1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")), "lines in order");
        assert_eq!(via_proxy(&[b"6.6.6.6, 1.2.3.4", b"10.0.0.2"], 2), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"1.2.3.4,,  "], 1), ClientIp::Known(ip("1.2.3.4")), "empty elements skipped");
        assert_eq!(via_proxy(&[b"[2001:db8::1]:443"], 1), ClientIp::Known(ip("2001:db8::1")));
        assert_eq!(via_proxy(&[b"1.2.3.4:5678"], 1), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"::ffff:1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")), "v4-mapped is v4");
    }

    /// Finding 1: no variant of a hostile chain makes the proxy the client.
    #[test]
    fn never_the_proxys_own_address() {
        let cases: &[(&[&[u8]], u32, Unknown)] = &[
            (&[], 1, Unknown::MissingHop),
            (&[b""], 1, Unknown::MissingHop),
            (&[b" , ,"], 1, Unknown::MissingHop),
            (&[b"\xff"], 1, Unknown::Unparsable),
            (&[b"1.2.3.4\xff"], 1, Unknown::Unparsable),
            (&[b"unknown"], 1, Unknown::Unparsable),
            (&[b"1.2.3.4"], 2, Unknown::MissingHop),
            (&[b"1.2.3.4, \xff"], 1, Unknown::Unparsable),
            (&[b"999.1.1.1"], 1, Unknown::Unparsable),
            (&[b"1.2.3.4 5.6.7.8"], 1, Unknown::Unparsable),
        ];
        for (lines, hops, why) in cases {
            assert_eq!(via_proxy(lines, *hops), ClientIp::Unknown(*why), "{lines:?} hops {hops}");
        }
        // An unreadable element left of the trusted hop does not shift it
        // (nginx's $proxy_add_x_forwarded_for joins the client's value and its own).
        assert_eq!(via_proxy(&[b"\xff, 1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"\xff", b"1.2.3.4"], 1), ClientIp::Known(ip("1.2.3.4")));
        assert_eq!(via_proxy(&[b"a\xffb, 1.2.3.4, 10.0.0.2"], 2), ClientIp::Known(ip("1.2.3.4")));
    }

    #[test]
    fn platform_mode_takes_the_peer_only() {
        let h = xff(&[b"1.2.3.4"]);
        assert_eq!(resolve(&h, Some(ip(PROXY)), ClientIpMode::Platform, 1), ClientIp::Known(ip(PROXY)));
        assert_eq!(resolve(&h, None, ClientIpMode::Platform, 1), ClientIp::Unknown(Unknown::NoPeer));
        assert_eq!(
            resolve(&h, Some(ip("::ffff:192.0.2.7")), ClientIpMode::Platform, 1),
            ClientIp::Known(ip("192.0.2.7"))
        );
    }

    #[test]
    fn ipv6_is_keyed_by_prefix() {
        let a = ClientIp::Known(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientIp::Known(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = ClientIp::Known(ip("2001:db8:1:3::1"));
        assert_eq!(a.limit_identity(64), "2001:db8:1:2::/64");
        assert_eq!(a.limit_identity(64), b.limit_identity(64));
        assert_ne!(a.limit_identity(64), other.limit_identity(64));
        assert_eq!(a.limit_identity(48), other.limit_identity(48));
        assert_eq!(a.limit_identity(128), "2001:db8:1:2:aaaa::1");
        assert_eq!(ClientIp::Known(ip("192.0.2.1")).limit_identity(64), "192.0.2.1");
        assert_eq!(ClientIp::Unknown(Unknown::NoPeer).limit_identity(64), "unknown");
    }
}
