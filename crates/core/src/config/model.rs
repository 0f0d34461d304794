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
    /// HTTP targets; or instead one of `binding` / `lambda`.
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// A Workers service binding (Workers only).
    pub binding: Option<String>,
    /// A Lambda function called with the Invoke API (Lambda only).
    pub lambda: Option<String>,
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
    /// Required unless the route has `aggregate`.
    pub upstream: Option<String>,
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
    /// Lets `X-HTTP-Method-Override` / `X-Method-Override` / `X-HTTP-Method`
    /// through to the upstream (dropped by default).
    #[serde(default)]
    pub allow_method_override: bool,
    pub rate_limit: Option<RateLimitConfig>,
    pub aggregate: Option<AggregateConfig>,
    pub translate: Option<TranslateConfig>,
}

/// What an aggregation answers when an optional backend failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnPartial {
    /// 200 with what arrived, `x-gateway-partial: true` and `_errors`.
    #[default]
    Allow,
    /// 502.
    Fail,
}

/// A route's `aggregate`: several backends, one JSON answer keyed by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    /// One deadline for the whole call (default: the route's timeout).
    pub timeout: Option<ConfigDuration>,
    #[serde(default)]
    pub on_partial: OnPartial,
    pub backends: Vec<BackendConfig>,
}

/// One leg of an aggregation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub name: String,
    pub upstream: String,
    /// Path and query on the upstream; placeholders as in `rewrite`, plus
    /// `{BACKEND.FIELD}` of another backend (this leg then waits for it).
    pub path: String,
    /// Default GET.
    pub method: Option<String>,
    /// Keep only these top-level fields (dotted paths allowed).
    pub select: Option<Vec<String>>,
    /// Take this one field (dotted path) instead of the whole body.
    pub extract: Option<String>,
    /// Answer this value when the leg fails.
    pub fallback: Option<serde_json::Value>,
    #[serde(default)]
    pub required: bool,
    /// This leg's own timeout, within the aggregate's.
    pub timeout: Option<ConfigDuration>,
}

/// A route's `translate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslateConfig {
    pub request: Option<TranslateRequestConfig>,
    pub response: Option<TranslateResponse>,
}

/// How the request is rewritten for the upstream: exactly one of these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslateRequestConfig {
    pub soap: Option<SoapConfig>,
    pub graphql: Option<GraphqlConfig>,
}

/// `translate.request.soap`: a SOAP 1.1 call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapConfig {
    /// The `SOAPAction`.
    pub action: String,
    /// The Body's content (XML, with placeholders; values are XML-escaped).
    pub body: String,
}

/// `translate.request.graphql`: a GraphQL POST.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlConfig {
    pub query: String,
    /// Variable → value; strings may hold placeholders.
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
}

/// How the upstream's answer is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslateResponse {
    XmlToJson,
    GraphqlData,
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
    /// The prefix IPv6 clients are keyed by in limits (`ipv6_key_prefix`).
    pub ipv6_key_prefix: Option<u8>,
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
pub(crate) const NOT_BUILT_ROUTE: &[(&str, &str)] =
    &[("cache", "response caching"), ("validate", "request validation"), ("deprecation", "deprecation headers")];
pub(crate) const NOT_BUILT_UPSTREAM: &[(&str, &str)] = &[
    ("balance", "load balancing across targets"),
    ("retries", "retries"),
    ("circuit_breaker", "circuit breakers"),
    ("health_check", "health checks"),
];
