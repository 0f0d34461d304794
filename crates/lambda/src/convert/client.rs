//! The client as the platform saw it: its address (the request context's
//! `sourceIp`; for ALB, the hop ALB appended to `X-Forwarded-For`), whether
//! it used TLS and the host it addressed.

use crate::payload::{Event, Kind, RequestContext};
use http::header::HOST;
use http::{HeaderMap, HeaderValue};
use std::net::IpAddr;
use tollgate_core::ClientInfo;

/// The client of `event` (of `kind`, with its converted `headers`).
pub(super) fn client_info(event: &Event, kind: Kind, headers: &HeaderMap) -> ClientInfo {
    let context = event.request_context.as_ref();
    let source_ip = match kind {
        Kind::V2 => context.and_then(|c| c.http.as_ref()).and_then(|h| h.source_ip.as_deref()),
        Kind::V1 => context.and_then(|c| c.identity.as_ref()).and_then(|i| i.source_ip.as_deref()),
        Kind::Alb { .. } => return ClientInfo { peer_ip: alb_client(headers), ..scheme_and_host(context, headers) },
    };
    let peer_ip = source_ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok());
    ClientInfo { peer_ip, ..scheme_and_host(context, headers) }
}

/// The address ALB appended: the last element of the last `X-Forwarded-For` line.
pub(super) fn alb_client(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let element = last.as_bytes().rsplit(|b| *b == b',').next()?.trim_ascii();
    std::str::from_utf8(element).ok()?.parse().ok()
}

/// Scheme and host of the client's request (no address).
fn scheme_and_host(context: Option<&RequestContext>, headers: &HeaderMap) -> ClientInfo {
    // Function URLs, API Gateway and ALB set X-Forwarded-Proto themselves
    // (replacing one the client sent). Emulators such as `cargo lambda watch`
    // send none: that is plain HTTP.
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let domain = context.and_then(|c| c.domain_name.as_deref());
    let host = headers.get(HOST).cloned().or_else(|| domain.and_then(|d| HeaderValue::from_str(d).ok()));
    ClientInfo { peer_ip: None, https, host }
}
