//! The config file's shape (version 1), as plain serde types. Every struct
//! denies unknown keys; `compile` turns these into the hot-path structures.

mod auth;
mod limits;
mod routes;

pub use auth::*;
pub use limits::*;
pub use routes::*;

use super::duration::ConfigDuration;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `admin`: access to the admin API under `/_gateway/` (spec §5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token every admin endpoint but `/_gateway/health` requires
    /// (compared in constant time); must not be empty. `None`: those endpoints
    /// answer 404.
    pub token: Option<String>,
}

fn default_max_body() -> u64 {
    1_048_576
}
fn default_max_header() -> u64 {
    16_384
}

/// `limits`: request size limits and the resource bounds of the runtimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body in bytes (default 1048576, 1 MiB); a larger one,
    /// declared by `Content-Length` or received, is answered 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Largest request header block in bytes, each header counted as name +
    /// value + 4 (default 16384, 16 KiB; at least 1024); larger: 431.
    #[serde(default = "default_max_header")]
    pub max_header_bytes: u64,
    /// Largest upstream answer body read (default 16 MiB); larger: 502.
    #[serde(default)]
    pub max_upstream_body: Option<u64>,
    /// Local server: open client connections at most (default from the fd limit).
    #[serde(default)]
    pub max_connections: Option<u64>,
    /// Local server: deadline for the request head (default 10s).
    #[serde(default)]
    pub header_timeout: Option<ConfigDuration>,
    /// Local server: deadline for the whole request body after the head (default 60s).
    #[serde(default)]
    pub body_timeout: Option<ConfigDuration>,
    /// Local server: a write that makes no progress this long ends the connection (default 60s).
    #[serde(default)]
    pub send_timeout: Option<ConfigDuration>,
    /// Local server: bytes of answers held for clients at once (default 1 GiB);
    /// past it, 503 `overloaded`.
    #[serde(default)]
    pub max_response_memory: Option<u64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: default_max_body(),
            max_header_bytes: default_max_header(),
            max_upstream_body: None,
            max_connections: None,
            header_timeout: None,
            body_timeout: None,
            send_timeout: None,
            max_response_memory: None,
        }
    }
}

/// `cors`: CORS headers for browsers; without it the gateway sends none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins (`scheme://host[:port]`, compared case-insensitively) that get
    /// CORS headers, or `["*"]` for any; must not be empty.
    pub allow_origins: Vec<String>,
    /// `Access-Control-Allow-Methods` of a preflight answer (default `GET, HEAD, POST`).
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// `Access-Control-Allow-Headers` of a preflight answer (empty: not sent).
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// `Access-Control-Expose-Headers` on answers to an allowed origin (empty: not sent).
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// `Access-Control-Max-Age` of a preflight answer, in whole seconds (`None`:
    /// not sent).
    pub max_age: Option<ConfigDuration>,
    /// Sends `Access-Control-Allow-Credentials: true` (default false); a config
    /// error beside `allow_origins: ["*"]`.
    #[serde(default)]
    pub allow_credentials: bool,
}

/// `client_ip`: which address is the client's (spec §3, §7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientIpMode {
    /// `platform` (default): the address the platform reports (socket peer,
    /// `CF-Connecting-IP`, Lambda `sourceIp`).
    #[default]
    #[serde(rename = "platform")]
    Platform,
    /// `x-forwarded-for`: the `X-Forwarded-For` element `trusted_hops` from the
    /// right; only behind a trusted proxy.
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
}

/// The whole file, after each section was read on its own.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `version`: the format version; only 1 is read.
    pub version: u32,
    /// `admin`: the admin API's token.
    pub admin: AdminConfig,
    /// `limits` (defaults when absent).
    pub limits: LimitsConfig,
    /// `cors`; `None`: no CORS headers.
    pub cors: Option<CorsConfig>,
    /// `client_ip` (default `platform`).
    pub client_ip: ClientIpMode,
    /// `trusted_hops`: with `client_ip: x-forwarded-for`, which element from
    /// the right is the client's (1, the rightmost, when absent; at least 1).
    pub trusted_hops: u32,
    /// The prefix IPv6 clients are keyed by in limits (`ipv6_key_prefix`).
    pub ipv6_key_prefix: Option<u8>,
    /// `upstreams` by name.
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// `routes` in file order.
    pub routes: Vec<RouteConfig>,
    /// `auth`: JWT issuers and API-key schemes.
    pub auth: AuthConfig,
    /// `consumers` in file order.
    pub consumers: Vec<ConsumerConfig>,
    /// `auth_failures`; `None`: 20 failures per minute per client address.
    pub auth_failures: Option<AuthFailuresConfig>,
    /// `plans` by name.
    pub plans: BTreeMap<String, PlanConfig>,
}

/// Keys of later capabilities: recognised, refused with a pointer to the plan.
pub(crate) const NOT_BUILT_TOP: &[(&str, &str)] = &[("store", "external state stores")];
pub(crate) const NOT_BUILT_CONSUMER: &[(&str, &str)] = &[];
pub(crate) const NOT_BUILT_ROUTE: &[(&str, &str)] =
    &[("cache", "response caching"), ("validate", "request validation"), ("deprecation", "deprecation headers")];
pub(crate) const NOT_BUILT_UPSTREAM: &[(&str, &str)] = &[("health_check", "health checks")];
