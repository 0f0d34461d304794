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
    /// Any one of these schemes (`jwt:NAME`, `api_key:NAME`); empty: public.
    #[serde(default)]
    pub auth: Vec<String>,
    /// All must be in the token's `scope` / `scp`.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub ip: Option<IpRules>,
    /// path param → `claims.NAME` it must equal.
    #[serde(default)]
    pub bind: BTreeMap<String, String>,
    #[serde(default)]
    pub forward_credentials: bool,
    pub rate_limit: Option<RateLimitConfig>,
}

/// How exact a rate limit must be across instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Durable Object / DynamoDB / memory: never more than the limit.
    #[default]
    Exact,
    /// KV / per-instance counting: cheaper, may admit somewhat more.
    Approximate,
}

/// What to do when the limiter store cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// 503 + `Retry-After`.
    #[default]
    Closed,
    /// Admit, log, count it.
    Open,
}

/// A route's `rate_limit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub requests: u64,
    pub per: ConfigDuration,
    /// `consumer | ip | route | header:NAME | claim:NAME`; default `consumer`.
    pub key: Option<String>,
    #[serde(default)]
    pub consistency: Consistency,
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// A plan's `rate_limit` (always per consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRateConfig {
    pub requests: u64,
    pub per: ConfigDuration,
    #[serde(default)]
    pub consistency: Consistency,
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// A quota's calendar window (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPer {
    Day,
    Month,
}

/// A plan's `quota` (always exact, per consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    pub requests: u64,
    pub per: QuotaPer,
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// One entry of `plans`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub rate_limit: Option<PlanRateConfig>,
    pub quota: Option<QuotaConfig>,
}

/// One value or a list of them (`audience: api` or `audience: [api, web]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Where a credential is read from: one header, or one query parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSource {
    pub header: Option<String>,
    pub query: Option<String>,
}

/// One JWT issuer (`auth.jwt.NAME`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Explicit allowlist, required (`HS256`, `RS256`, `ES256`, `EdDSA`, …).
    pub algorithms: Vec<String>,
    pub secret: Option<String>,
    pub public_key_pem: Option<String>,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<OneOrMany>,
    pub leeway: Option<ConfigDuration>,
    /// claim → header towards the upstream.
    #[serde(default)]
    pub forward_claims: BTreeMap<String, String>,
    /// Default: `Authorization: Bearer`.
    pub token: Option<CredentialSource>,
}

/// One API-key scheme (`auth.api_key.NAME`): where the key is read from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub header: Option<String>,
    pub query: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub jwt: BTreeMap<String, JwtConfig>,
    #[serde(default)]
    pub api_key: BTreeMap<String, ApiKeyConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    pub id: String,
    /// Stored forms: `sha256:<64 hex>` (see `tollgate hash-key`).
    #[serde(default)]
    pub api_keys: Vec<String>,
    #[serde(default)]
    pub jwt_subjects: Vec<String>,
    /// A name from `plans`.
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFailuresConfig {
    pub per_ip: u64,
    pub per: ConfigDuration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRules {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
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
    pub auth: AuthConfig,
    pub consumers: Vec<ConsumerConfig>,
    pub auth_failures: Option<AuthFailuresConfig>,
    pub plans: BTreeMap<String, PlanConfig>,
}

/// Keys of later capabilities: recognised, refused with a pointer to the plan.
pub(crate) const NOT_BUILT_TOP: &[(&str, &str)] = &[("store", "external state stores")];
pub(crate) const NOT_BUILT_CONSUMER: &[(&str, &str)] = &[];
pub(crate) const NOT_BUILT_ROUTE: &[(&str, &str)] = &[
    ("cache", "response caching"),
    ("validate", "request validation"),
    ("aggregate", "aggregation"),
    ("translate", "protocol translation"),
    ("deprecation", "deprecation headers"),
];
pub(crate) const NOT_BUILT_UPSTREAM: &[(&str, &str)] = &[
    ("balance", "load balancing across targets"),
    ("retries", "retries"),
    ("circuit_breaker", "circuit breakers"),
    ("health_check", "health checks"),
    ("binding", "Workers service bindings"),
    ("lambda", "direct Lambda invoke"),
];
