//! The config file's shape (version 1), as plain serde types. Every struct
//! denies unknown keys; `compile` turns these into the hot-path structures.

use super::duration::ConfigDuration;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub token: Option<String>,
}

fn default_max_body() -> u64 {
    1_048_576
}
fn default_max_header() -> u64 {
    16_384
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    #[serde(default = "default_max_header")]
    pub max_header_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { max_body_bytes: default_max_body(), max_header_bytes: default_max_header() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    pub max_age: Option<ConfigDuration>,
    #[serde(default)]
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientIpMode {
    #[default]
    #[serde(rename = "platform")]
    Platform,
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub url: String,
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub targets: Vec<TargetConfig>,
    pub timeout: Option<ConfigDuration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderOps {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryOps {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTransform {
    #[serde(default)]
    pub headers: HeaderOps,
    #[serde(default)]
    pub query: QueryOps,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTransform {
    #[serde(default)]
    pub headers: HeaderOps,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub id: String,
    pub path: String,
    pub methods: Option<Vec<String>>,
    pub upstream: String,
    pub rewrite: Option<String>,
    /// Overrides the upstream's timeout for this route.
    pub timeout: Option<ConfigDuration>,
    #[serde(default)]
    pub request: RequestTransform,
    #[serde(default)]
    pub response: ResponseTransform,
}

/// The whole file, after each section was read on its own.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub version: u32,
    pub admin: AdminConfig,
    pub limits: LimitsConfig,
    pub cors: Option<CorsConfig>,
    pub client_ip: ClientIpMode,
    pub trusted_hops: u32,
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    pub routes: Vec<RouteConfig>,
}

/// Keys of later capabilities: recognised, refused with a pointer to the plan.
pub(crate) const NOT_BUILT_TOP: &[(&str, &str)] = &[
    ("auth", "authentication (JWT, API keys)"),
    ("consumers", "consumers"),
    ("plans", "plans and quotas"),
    ("store", "external state stores"),
    ("auth_failures", "failed-authentication limits"),
];
pub(crate) const NOT_BUILT_ROUTE: &[(&str, &str)] = &[
    ("auth", "authentication"),
    ("scopes", "scope checks"),
    ("rate_limit", "rate limiting"),
    ("ip", "IP allow/deny rules"),
    ("bind", "claim binding"),
    ("cache", "response caching"),
    ("validate", "request validation"),
    ("aggregate", "aggregation"),
    ("translate", "protocol translation"),
    ("deprecation", "deprecation headers"),
    ("forward_credentials", "credential forwarding"),
];
pub(crate) const NOT_BUILT_UPSTREAM: &[(&str, &str)] = &[
    ("balance", "load balancing across targets"),
    ("retries", "retries"),
    ("circuit_breaker", "circuit breakers"),
    ("health_check", "health checks"),
    ("binding", "Workers service bindings"),
    ("lambda", "direct Lambda invoke"),
];
