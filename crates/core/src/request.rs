//! One request as it crosses the stages: what the client sent, where it
//! comes from, who it is once authenticated, and what the answer must carry
//! (request id, CORS origin, limit headers, timings). The pipeline builds it
//! once; each stage reads what it needs and fills in what it learns.

use crate::client_ip::ClientIp;
use crate::config::ClientIpMode;
use crate::identity::Identity;
use crate::limit::headers::LimitHeaders;
use crate::time::Timestamp;
use http::{HeaderMap, HeaderValue, Method};
use std::net::IpAddr;

/// What the adapter knows about the client's connection.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The address the platform reports (socket peer, `CF-Connecting-IP`,
    /// Lambda `sourceIp`).
    pub peer_ip: Option<IpAddr>,
    /// Whether the client reached the gateway over TLS.
    pub https: bool,
    /// The host the client addressed, when the request carries no `Host`
    /// header (HTTP/2, some platform events).
    pub host: Option<HeaderValue>,
}

/// The per-request context every stage shares.
pub(crate) struct RequestCtx<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The path as the client sent it (the access log's).
    pub raw_path: &'a str,
    pub query: Option<&'a str>,
    pub client: &'a ClientInfo,
    /// The client's `X-Request-Id` when it is sane, else a new one.
    pub request_id: String,
    pub started: Timestamp,
    /// The client address the config trusts (`client_ip`, `trusted_hops`).
    pub client_ip: ClientIp,
    pub client_ip_mode: ClientIpMode,
    /// IPv6 clients are one identity per prefix of this length in limits.
    pub v6_prefix: u8,
    /// The normalised path: what is matched and forwarded.
    pub path: String,
    /// The matched route (an index into the compiled routes).
    pub route: Option<usize>,
    pub params: Vec<(String, String)>,
    pub identity: Option<Identity>,
    /// The CORS origin to answer, when the request's is allowed.
    pub allowed_origin: Option<HeaderValue>,
    pub upstream_micros: Option<u64>,
    pub limit_headers: LimitHeaders,
}
