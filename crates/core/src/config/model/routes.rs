//! The `upstreams` and `routes` sections: targets, edits, aggregation and
//! translation.

use super::*;

/// One HTTP target of an upstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `http://` or `https://` URL, without credentials or query; its path
    /// (without a trailing `/`) prefixes every forwarded path.
    pub url: String,
    /// Relative share for load balancing, 0–1000 (default 100); 0 drains the
    /// target (it gets no request).
    pub weight: Option<u32>,
}

/// One entry of `upstreams`: where routes and aggregation legs send requests.
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
    /// Deadline of one call (default 10s; more than 0); a route's `timeout` overrides it.
    pub timeout: Option<ConfigDuration>,
    /// How a target is chosen (default `weighted_round_robin`).
    pub balance: Option<Balance>,
    /// Retries of failed calls; none when absent.
    pub retries: Option<RetriesConfig>,
    /// Ejection of failing targets; none when absent.
    pub circuit_breaker: Option<BreakerConfig>,
}

/// `balance`: how each call chooses among the eligible targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// In turn, weights ignored.
    RoundRobin,
    /// In turn by weight, interleaved (smooth, as nginx).
    WeightedRoundRobin,
    /// At random, in proportion to the weights.
    Random,
    /// The target with the fewest calls in flight from this instance.
    LeastInflight,
}

/// `retries`: when a failed call is tried again, on another target if one is eligible.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetriesConfig {
    /// Retries after the first try (0–10; `attempts: 2` → at most 3 tries).
    pub attempts: u32,
    /// Base of the full-jitter backoff before a retry (default 50ms); the
    /// wait is random up to `backoff × 2^(retry − 1)`, at most 1 s.
    pub backoff: Option<ConfigDuration>,
    /// What is retried: `connect`, `timeout` and answer statuses (default
    /// `[connect, timeout, 502, 503, 504]`).
    pub on: Option<Vec<RetryOn>>,
    /// Deadline of each try (default: the call's whole deadline).
    pub per_try_timeout: Option<ConfigDuration>,
}

/// One entry of `retries.on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOn {
    /// The connection could not be made.
    Connect,
    /// A try ran out of time.
    Timeout,
    /// The upstream answered this status.
    Status(u16),
}

impl<'de> Deserialize<'de> for RetryOn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(RetryOn::Status(n)),
            Raw::Text(t) if t == "connect" => Ok(RetryOn::Connect),
            Raw::Text(t) if t == "timeout" => Ok(RetryOn::Timeout),
            Raw::Text(t) => t
                .parse::<u16>()
                .map(RetryOn::Status)
                .map_err(|_| serde::de::Error::custom(format!("`{t}` is not `connect`, `timeout` or a status code"))),
        }
    }
}

/// `circuit_breaker`: a target that keeps failing is ejected for a while.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures (5xx, connection errors, timeouts) that eject a target (default 5).
    pub failures: Option<u32>,
    /// How long a first ejection lasts (default 30s); the n-th in a row lasts
    /// n times that, at most 10 times.
    pub open_for: Option<ConfigDuration>,
    /// The largest share of an upstream's targets ejected at once, in percent
    /// (default 50); at least one target always stays eligible.
    pub max_ejected_percent: Option<u8>,
}

/// Header edits: `remove` is applied first, then `set`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderOps {
    /// Header name → value, replacing any value the header had. Request values
    /// may hold placeholders; response values must be fixed.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Names of headers to drop.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Query edits towards the upstream: client parameters named in `remove` or `set`
/// are dropped, then `set` is appended.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryOps {
    /// Parameter → value (placeholders allowed, percent-encoded), replacing every
    /// client value of that parameter.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Names of client parameters to drop.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// A route's `request`: edits of the request towards the upstream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTransform {
    /// Header edits, applied after the headers the gateway sets itself.
    #[serde(default)]
    pub headers: HeaderOps,
    /// Query parameter edits.
    #[serde(default)]
    pub query: QueryOps,
}

/// A route's `response`: edits of the upstream's answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTransform {
    /// Header edits on the answer to the client.
    #[serde(default)]
    pub headers: HeaderOps,
}

/// One entry of `routes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique, non-empty name (RateLimit counters, logs, `tollgate check`).
    pub id: String,
    /// matchit pattern matched against the normalised path (`/v1/users/{id}`,
    /// `{*rest}` catch-all); starts with `/`, never under `/_gateway/`.
    pub path: String,
    /// Accepted methods (GET also accepts HEAD); `None`: every method. Must not be empty.
    pub methods: Option<Vec<String>>,
    /// Required unless the route has `aggregate`.
    pub upstream: Option<String>,
    /// Path sent to the upstream instead of the normalised request path, with
    /// placeholders; starts with `/`, no query or fragment.
    pub rewrite: Option<String>,
    /// Overrides the upstream's timeout for this route.
    pub timeout: Option<ConfigDuration>,
    /// Edits of the request towards the upstream.
    #[serde(default)]
    pub request: RequestTransform,
    /// Edits of the upstream's answer.
    #[serde(default)]
    pub response: ResponseTransform,
    /// Any one of these schemes (`jwt:NAME`, `api_key:NAME`); empty: public.
    #[serde(default)]
    pub auth: Vec<String>,
    /// All must be in the token's `scope` / `scp`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Client address rules: outside `allow` or inside `deny`, 403 (also when
    /// the client address is unknown).
    pub ip: Option<IpRules>,
    /// path param → `claims.NAME` it must equal.
    #[serde(default)]
    pub bind: BTreeMap<String, String>,
    /// Forwards the credential the gateway checked (API key, bearer token) to
    /// the upstream (default false: removed).
    #[serde(default)]
    pub forward_credentials: bool,
    /// Lets `X-HTTP-Method-Override` / `X-Method-Override` / `X-HTTP-Method`
    /// through to the upstream (dropped by default).
    #[serde(default)]
    pub allow_method_override: bool,
    /// This route's rate limit (`RateLimit` item `route`).
    pub rate_limit: Option<RateLimitConfig>,
    /// Answers from several backends; excludes `upstream`.
    pub aggregate: Option<AggregateConfig>,
    /// SOAP / GraphQL translation of the request and of the answer.
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
    /// What to answer when an optional backend failed (default `allow`).
    #[serde(default)]
    pub on_partial: OnPartial,
    /// The legs (1 to 64, names unique); each runs after the legs its `path` reads.
    pub backends: Vec<BackendConfig>,
}

/// One leg of an aggregation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Key of this leg's value in the answer (and in `_errors`): letters,
    /// digits, `_`, `-`, not starting with `_`.
    pub name: String,
    /// Name of the upstream (in `upstreams`) this leg calls.
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
    /// Whether a failure of this leg fails the whole call (default false):
    /// its 4xx passes through, a 5xx is 502, a timeout 504.
    #[serde(default)]
    pub required: bool,
    /// This leg's own timeout, within the aggregate's.
    pub timeout: Option<ConfigDuration>,
}

/// A route's `translate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslateConfig {
    /// How the request is rebuilt for the upstream (`None`: forwarded as it came).
    pub request: Option<TranslateRequestConfig>,
    /// How the upstream's answer is read (`None`: passed through).
    pub response: Option<TranslateResponse>,
}

/// How the request is rewritten for the upstream: exactly one of these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranslateRequestConfig {
    /// Rebuild the request as a SOAP 1.1 POST.
    pub soap: Option<SoapConfig>,
    /// Rebuild the request as a GraphQL POST.
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
    /// The GraphQL document, sent as written; its variable declarations type `variables`.
    pub query: String,
    /// Variable → value; strings may hold placeholders.
    #[serde(default)]
    pub variables: BTreeMap<String, serde_json::Value>,
}

/// How the upstream's answer is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslateResponse {
    /// `xml_to_json`: the XML answer as JSON (SOAP `Envelope`/`Body` unwrapped,
    /// spec §7); a SOAP Fault becomes 502.
    XmlToJson,
    /// `graphql_data`: the answer's `data`; GraphQL `errors` become 502.
    GraphqlData,
}
