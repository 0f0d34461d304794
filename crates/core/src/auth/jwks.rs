//! JWKS for one JWT issuer (`auth.jwt.NAME.jwks_url`), consulted while the
//! pipeline authenticates a bearer token: fetched through the `UpstreamClient`
//! port, parsed (RFC 7517 signature keys only), cached in memory with a TTL
//! from `Cache-Control: max-age`, and refreshed on expiry or on an unknown
//! `kid` at most once a minute (spec §4, §7). A failing endpoint keeps the
//! last good keys.

use super::JwtError;
use super::keys::{Alg, KeyKind, VerifyKey};
use crate::platform::{Clock, Platform, Timestamp, UpstreamClient};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures_util::future::{Either, select};
use serde::Deserialize;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Deadline of one JWKS request.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// At most one refresh per this interval once keys are cached.
pub(super) const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Cache lifetime without a usable `Cache-Control: max-age`.
pub(super) const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
pub(super) const MIN_TTL: Duration = Duration::from_secs(60);
pub(super) const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// While no key was ever fetched, a failed fetch is not retried sooner than
/// this (every request would otherwise wait on a dead endpoint).
pub(super) const EMPTY_RETRY: Duration = Duration::from_secs(5);
/// Larger JWKS documents are refused.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Usable keys kept from one document (the rest are ignored).
const MAX_KEYS: usize = 32;

/// The cached key set of one issuer.
pub(super) struct Jwks {
    issuer: String,
    url: http::Uri,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The last good key set; `None` until a fetch succeeds.
    keys: Option<Arc<[VerifyKey]>>,
    /// When the cached keys should be refreshed.
    expires_at: Timestamp,
    /// Start of the last refresh attempt made while keys were cached.
    last_refresh: Option<Timestamp>,
    /// No keys yet and the last fetch failed: no new attempt before this.
    empty_retry_at: Timestamp,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every critical section assigns whole fields; a panic cannot leave the
    // state half-written, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the cache says before a lookup.
enum Plan {
    Use(Arc<[VerifyKey]>),
    /// Fetch; fall back to these keys (if any) when the fetch fails.
    Fetch(Option<Arc<[VerifyKey]>>),
    /// No keys and a recent failure: do not try again yet.
    NoKeys,
}

impl Jwks {
    /// `url` was validated by the caller (https, or http to a loopback host).
    pub(super) fn new(issuer: &str, url: http::Uri) -> Jwks {
        Jwks { issuer: issuer.to_owned(), url, state: Mutex::new(State::default()) }
    }

    /// The keys to verify with, fetching or refreshing first when the cache
    /// says so; `true` when they were fetched by this call. `unknown_kid`
    /// asks for a refresh because the token's `kid` was not among the cached
    /// keys (rate limited like every refresh).
    pub(super) async fn keys<P: Platform>(
        &self,
        platform: &P,
        now: Timestamp,
        unknown_kid: bool,
    ) -> Result<(Arc<[VerifyKey]>, bool), JwtError> {
        let plan = self.plan(now, unknown_kid);
        match plan {
            Plan::Use(keys) => Ok((keys, false)),
            Plan::NoKeys => Err(JwtError::NoKeys),
            Plan::Fetch(fallback) => match self.fetch(platform).await {
                Ok((keys, ttl)) => {
                    let keys: Arc<[VerifyKey]> = keys.into();
                    let mut state = lock(&self.state);
                    state.keys = Some(keys.clone());
                    state.expires_at = now.plus(ttl);
                    Ok((keys, true))
                }
                Err(why) => {
                    tracing::warn!(issuer = %self.issuer, reason = %why, "JWKS fetch failed; keeping the last good keys");
                    match fallback {
                        Some(keys) => Ok((keys, false)),
                        None => {
                            let mut state = lock(&self.state);
                            if state.keys.is_none() {
                                state.empty_retry_at = now.plus(EMPTY_RETRY);
                            }
                            // A concurrent fetch may have succeeded meanwhile.
                            state.keys.clone().map(|keys| (keys, false)).ok_or(JwtError::NoKeys)
                        }
                    }
                }
            },
        }
    }

    /// Decides under the lock, and reserves the refresh slot before the
    /// fetch starts so that concurrent requests cannot refresh twice.
    fn plan(&self, now: Timestamp, unknown_kid: bool) -> Plan {
        let mut state = lock(&self.state);
        let Some(keys) = state.keys.clone() else {
            // The first fetch is not rate limited (spec §7), only backed off
            // after a failure.
            return if now < state.empty_retry_at { Plan::NoKeys } else { Plan::Fetch(None) };
        };
        let wants_refresh = unknown_kid || now >= state.expires_at;
        let may_refresh = state.last_refresh.is_none_or(|last| now.since(last) >= REFRESH_INTERVAL);
        if wants_refresh && may_refresh {
            state.last_refresh = Some(now);
            Plan::Fetch(Some(keys))
        } else {
            Plan::Use(keys)
        }
    }

    /// One GET of the JWKS, with its deadline: the usable keys and how long
    /// to cache them.
    async fn fetch<P: Platform>(&self, platform: &P) -> Result<(Vec<VerifyKey>, Duration), String> {
        let request = http::Request::builder()
            .method(http::Method::GET)
            .uri(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Bytes::new())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let call = pin!(platform.upstream().send(request, FETCH_TIMEOUT));
        // Created lazily: a clock's `sleep` may start timing when called.
        let deadline = pin!(async { platform.clock().sleep(FETCH_TIMEOUT).await });
        let response = match select(call, deadline).await {
            Either::Left((Ok(response), _)) => response,
            Either::Left((Err(e), _)) => return Err(e.to_string()),
            Either::Right(((), _)) => return Err(format!("no answer within {}s", FETCH_TIMEOUT.as_secs())),
        };
        if response.status() != http::StatusCode::OK {
            return Err(format!("status {}", response.status().as_u16()));
        }
        let ttl = cache_ttl(response.headers());
        let keys = parse_jwks(response.body())?;
        Ok((keys, ttl))
    }
}

/// TTL from `Cache-Control: max-age=N`, clamped to [1 min, 24 h]; 5 min
/// when absent. `no-cache` / `no-store` mean the shortest TTL.
pub(super) fn cache_ttl(headers: &http::HeaderMap) -> Duration {
    let mut max_age: Option<u64> = None;
    let mut no_cache = false;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("max-age") {
                if let Some(secs) = arg.and_then(|a| a.parse::<u64>().ok()) {
                    max_age = Some(max_age.map_or(secs, |m| m.min(secs)));
                }
            } else if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                no_cache = true;
            }
        }
    }
    if no_cache {
        return MIN_TTL;
    }
    match max_age {
        Some(secs) => Duration::from_secs(secs).clamp(MIN_TTL, MAX_TTL),
        None => DEFAULT_TTL,
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// The members of one JWK that matter here (others are ignored).
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The usable signature keys of a JWKS document; an error when there are none.
pub(super) fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyKey>, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!("document larger than {MAX_BODY_BYTES} bytes"));
    }
    let set: JwkSet = serde_json::from_slice(body).map_err(|e| format!("not a JWK set: {e}"))?;
    let mut keys = Vec::new();
    let mut skipped = 0usize;
    for value in set.keys {
        match RawJwk::deserialize(value).map_err(|e| e.to_string()).and_then(|raw| parse_jwk(&raw)) {
            Ok(Some(key)) if keys.len() < MAX_KEYS => keys.push(key),
            Ok(_) => {}
            Err(_) => skipped += 1,
        }
    }
    if keys.is_empty() {
        return Err(format!("no usable signature key ({skipped} malformed)"));
    }
    Ok(keys)
}

/// One key: `Ok(None)` for keys that are fine but not for us (encryption,
/// HMAC, unknown types), `Err` for malformed ones.
fn parse_jwk(raw: &RawJwk) -> Result<Option<VerifyKey>, String> {
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if raw.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|op| op == "verify")) {
        return Ok(None);
    }
    // An `alg` we do not verify (RSA-OAEP, ES512, …) makes the key useless here.
    let alg = match raw.alg.as_deref() {
        None => None,
        Some(name) => match Alg::parse(name) {
            Some(alg) => Some(alg),
            None => return Ok(None),
        },
    };
    let kid = raw.kid.clone();
    let kind = match (raw.kty.as_str(), raw.crv.as_deref()) {
        ("RSA", _) => KeyKind::Rsa,
        ("EC", Some("P-256")) => KeyKind::EcP256,
        ("EC", Some("P-384")) => KeyKind::EcP384,
        ("OKP", Some("Ed25519")) => KeyKind::Ed25519,
        // `oct` (a JWKS never supplies HMAC secrets), other curves, other types.
        _ => return Ok(None),
    };
    if alg.is_some_and(|a| a.key_kind() != kind) {
        return Err("`alg` does not fit the key type".to_owned());
    }
    let key = match kind {
        KeyKind::Rsa => VerifyKey::rsa(kid, alg, &member(&raw.n, "n")?, &member(&raw.e, "e")?)?,
        KeyKind::EcP256 | KeyKind::EcP384 => {
            VerifyKey::ec(kid, alg, kind, &member(&raw.x, "x")?, &member(&raw.y, "y")?)?
        }
        KeyKind::Ed25519 => VerifyKey::ed25519(kid, alg, &member(&raw.x, "x")?)?,
        KeyKind::Hmac => return Ok(None),
    };
    Ok(Some(key))
}

/// A base64url key member (trailing `=` padding tolerated).
fn member(value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let text = value.as_deref().ok_or_else(|| format!("`{name}` is missing"))?;
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| format!("`{name}` is not base64url"))
}
