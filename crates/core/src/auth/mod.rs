//! Authentication and security policy, between route matching and
//! forwarding: IP rules, the failed-authentication limit, credential
//! extraction (JWT, API keys), consumers, scopes and claim binding. Produces
//! the `Identity` that forwarding turns into `X-Consumer-Id` and claim headers.

pub(crate) mod api_key;
mod compile;
pub(crate) mod consumers;
pub(crate) mod credentials;
pub(crate) mod failures;
pub(crate) mod jwt;
pub(crate) mod policy;
mod stage;
mod state;

pub(crate) use compile::{RoutePolicy, compile, route_policy};
pub(crate) use stage::{check_request, guard};
pub(crate) use state::AuthState;

use crate::error::GatewayError;
pub(crate) use crate::identity::{Identity, Source};
use crate::platform::{Clock, KeyValueStore, Platform};
use credentials::Extracted;
use http::{HeaderMap, HeaderName};
use jwt::{JwksCache, JwtIssuer};

/// A JWT scheme: the issuer, where its token is read, which claims go upstream.
pub(crate) struct JwtScheme {
    pub issuer: JwtIssuer,
    pub source: Source,
    pub forward_claims: Vec<(String, HeaderName)>,
}

/// An API-key scheme: where the key is read.
pub(crate) struct ApiKeyScheme {
    pub name: String,
    pub source: Source,
}

/// One entry of a route's `auth` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Jwt(usize),
    ApiKey(usize),
}

/// Every compiled authentication setting of the gateway.
pub(crate) struct Auth {
    pub jwt: Vec<JwtScheme>,
    pub api_keys: Vec<ApiKeyScheme>,
    pub consumers: consumers::Consumers,
    pub failures: failures::FailureLimit,
    /// Forwarded-claim headers: set by the gateway only, client copies dropped.
    pub identity_headers: Vec<HeaderName>,
}

impl Auth {
    /// Where `scheme` reads its credential.
    pub(crate) fn source(&self, scheme: Scheme) -> Option<&Source> {
        match scheme {
            Scheme::Jwt(i) => self.jwt.get(i).map(|s| &s.source),
            Scheme::ApiKey(i) => self.api_keys.get(i).map(|s| &s.source),
        }
    }

    /// The credentials a request presents to `schemes`, in order (for the
    /// failed-authentication limit); `Err` when one is ambiguous (400).
    pub(crate) fn presented(
        &self,
        schemes: &[Scheme],
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Vec<String>, GatewayError> {
        let mut out = Vec::new();
        for scheme in schemes {
            let Some(source) = self.source(*scheme) else { continue };
            match credentials::extract(source, headers, query) {
                Extracted::None => {}
                Extracted::Ambiguous(why) => return Err(GatewayError::BadRequest(why.into())),
                Extracted::One(c) => out.push(c),
            }
        }
        Ok(out)
    }

    /// Tries the route's schemes in order; the first credential that verifies
    /// wins. No credential at all: 401 without `error`; only bad ones: 401
    /// `invalid_token` (the reasons go to the log, never to the client).
    pub(crate) async fn authenticate<P: Platform>(
        &self,
        state: &AuthState,
        platform: &P,
        schemes: &[Scheme],
        headers: &HeaderMap,
        query: Option<&str>,
        request_id: &str,
    ) -> Result<Identity, GatewayError> {
        let mut presented = false;
        for scheme in schemes {
            let source = match scheme {
                Scheme::Jwt(i) => self.jwt.get(*i).map(|s| &s.source),
                Scheme::ApiKey(i) => self.api_keys.get(*i).map(|s| &s.source),
            };
            let Some(source) = source else { continue };
            let credential = match credentials::extract(source, headers, query) {
                Extracted::None => continue,
                Extracted::Ambiguous(why) => return Err(GatewayError::BadRequest(why.into())),
                Extracted::One(c) => c,
            };
            presented = true;
            let outcome = match scheme {
                Scheme::Jwt(i) => match self.jwt.get(*i) {
                    Some(s) => self.verify_jwt(platform, state.jwks(*i), s, &credential).await,
                    None => continue,
                },
                Scheme::ApiKey(_) => self.verify_api_key(platform, &credential).await,
            };
            match outcome {
                Ok(mut identity) => {
                    identity.credential = Some(source.clone());
                    return Ok(identity);
                }
                Err(reason) => {
                    tracing::info!(request_id, scheme = ?scheme, reason = %reason, "credential refused");
                }
            }
        }
        Err(GatewayError::Unauthorized { invalid_token: presented })
    }

    async fn verify_jwt<P: Platform>(
        &self,
        platform: &P,
        cache: Option<&JwksCache>,
        scheme: &JwtScheme,
        token: &str,
    ) -> Result<Identity, String> {
        // A state built for another config has no cache for this issuer: verify uncached.
        let uncached = JwksCache::default();
        let claims = scheme
            .issuer
            .verify(platform, cache.unwrap_or(&uncached), token)
            .await
            .map_err(|e| format!("jwt {}: {e}", scheme.issuer.name))?;
        let mut identity = Identity { claims: Some(claims), ..Identity::default() };
        for (claim, header) in &scheme.forward_claims {
            let Some(text) = identity.claim_str(claim) else { continue };
            if text.contains(['\r', '\n', '\0']) {
                return Err(format!("claim `{claim}` holds a control character"));
            }
            let value =
                http::HeaderValue::from_str(&text).map_err(|_| format!("claim `{claim}` is not a header value"))?;
            identity.claim_headers.push((header.clone(), value));
        }
        if let Some(sub) = identity.claim_str("sub")
            && let Some(found) = self.consumers.by_subject(platform, &scheme.issuer.name, &sub).await
        {
            identity.consumer = Some(found.id);
            identity.plan = found.plan;
        }
        Ok(identity)
    }

    async fn verify_api_key<P: Platform>(&self, platform: &P, key: &str) -> Result<Identity, String> {
        let digest = api_key::digest(key);
        if let Some(id) = self.consumers.by_key_digest(&digest) {
            return Ok(Identity { consumer: Some(id), ..Identity::default() });
        }
        let stored = platform
            .kv()
            .get(&consumers::kv_key_for_digest(&digest), platform.clock().now())
            .await
            .map_err(|e| format!("consumer store: {e}"))?;
        match stored.and_then(|bytes| consumers::parse_stored(&bytes)) {
            Some(found) => Ok(Identity { consumer: Some(found.id), plan: found.plan, ..Identity::default() }),
            None => Err("unknown API key".into()),
        }
    }
}

/// Every header a client may not send on its own (forwarded claim headers).
fn claim_header_names(auth: &Auth) -> Vec<HeaderName> {
    let mut names: Vec<HeaderName> =
        auth.jwt.iter().flat_map(|s| s.forward_claims.iter().map(|(_, h)| h.clone())).collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    names.dedup();
    names
}
