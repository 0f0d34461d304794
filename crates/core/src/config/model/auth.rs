//! `auth`, `consumers`, `auth_failures` and a route's `ip` rules.

use super::*;

/// One value or a list of them (`audience: api` or `audience: [api, web]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `audience: api`.
    One(String),
    /// `audience: [api, web]`.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
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
    /// Header the token is read from (its whole value); `authorization` means
    /// `Authorization: Bearer`.
    pub header: Option<String>,
    /// Query parameter the token may come in instead of the `Authorization`
    /// header (both at once: 400).
    pub query: Option<String>,
}

/// One JWT issuer (`auth.jwt.NAME`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Explicit allowlist, required (`HS256`, `RS256`, `ES256`, `EdDSA`, …).
    pub algorithms: Vec<String>,
    /// HMAC secret for HS256/384/512, at least 32 bytes. Exactly one of `secret`,
    /// `public_key_pem`, `jwks_url`.
    pub secret: Option<String>,
    /// One public key in PEM (SPKI or PKCS#1): RSA, EC P-256/P-384 or Ed25519.
    pub public_key_pem: Option<String>,
    /// JWKS URL (`https`, or `http` to a loopback host); its keys are cached and
    /// refetched for an unknown `kid` at most once a minute.
    pub jwks_url: Option<String>,
    /// Required `iss` (`None`: any).
    pub issuer: Option<String>,
    /// Accepted audiences: the token's `aud` must hold one of them (`None`: any).
    pub audience: Option<OneOrMany>,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30s, at most 5m).
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
    /// Header the key is read from (not `Authorization`).
    pub header: Option<String>,
    /// Query parameter the key is read from; give `header` or `query`, not both.
    pub query: Option<String>,
}

/// `auth`: the credential schemes routes name in their `auth`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// JWT issuers by name (`jwt:NAME` in a route's `auth`).
    #[serde(default)]
    pub jwt: BTreeMap<String, JwtConfig>,
    /// API-key schemes by name (`api_key:NAME` in a route's `auth`).
    #[serde(default)]
    pub api_key: BTreeMap<String, ApiKeyConfig>,
}

/// One entry of `consumers`: who a credential belongs to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Unique, non-empty id: `X-Consumer-Id` towards the upstream,
    /// `{consumer.id}` in templates.
    pub id: String,
    /// Stored forms: `sha256:<64 hex>` (see `tollgate hash-key`).
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// JWT subjects that are this consumer: `ISSUER:SUB`, or a bare `SUB` when
    /// exactly one issuer is configured.
    #[serde(default)]
    pub jwt_subjects: Vec<String>,
    /// A name from `plans`.
    pub plan: Option<String>,
}

/// `auth_failures`: the failed-authentication limit per client address
/// (default 20 per 1m).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFailuresConfig {
    /// Failed credentials evaluated per client address and window (more than 0).
    pub per_ip: u64,
    /// The window (more than 0).
    pub per: ConfigDuration,
}

/// A route's `ip`: addresses or CIDR blocks (`10.0.0.0/8`, `2001:db8::1`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRules {
    /// Only these may call (empty: any address not denied).
    #[serde(default)]
    pub allow: Vec<String>,
    /// These may not call, even inside `allow`.
    #[serde(default)]
    pub deny: Vec<String>,
}
