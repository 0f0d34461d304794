//! JWKS for one JWT issuer (`auth.jwt.NAME.jwks_url`), consulted while the
//! pipeline authenticates a bearer token: fetched through the `UpstreamClient`
//! port, parsed (RFC 7517 signature keys only), cached in memory with a TTL
//! from `Cache-Control: max-age`, and refreshed on expiry or on an unknown
//! `kid` at most once a minute (spec §4, §7). A failing endpoint keeps the
//! last good keys. One fetch per key set is in flight at a time in an
//! instance: concurrent requests that need its answer wait for it (bounded),
//! the others use the cached keys, so a cold start or an outage never turns
//! a burst of requests into a burst of fetches.

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
use std::task::Waker;
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
/// this (every request would otherwise wait on a dead endpoint); the wait
/// doubles with each further failure, up to [`REFRESH_INTERVAL`].
pub(super) const EMPTY_RETRY: Duration = Duration::from_secs(5);
/// How often a request waiting for another's fetch looks whether it ended,
/// where it cannot be woken by it (wasm: Workers).
#[cfg(target_family = "wasm")]
const WAIT_POLL: Duration = Duration::from_millis(20);
/// Larger JWKS documents are refused.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Usable keys kept from one document (the rest are ignored).
const MAX_KEYS: usize = 32;

/// Where one issuer's key set comes from (compiled, immutable).
pub(crate) struct JwksSource {
    issuer: String,
    url: http::Uri,
}

/// The cached key set of one issuer (run-time state: `GatewayState` holds
/// one per JWKS issuer).
#[derive(Default)]
pub(crate) struct JwksCache {
    state: Mutex<State>,
}

/// One issuer's key set: where it comes from, and its cache.
pub(super) struct Jwks<'a> {
    issuer: &'a str,
    url: &'a http::Uri,
    state: &'a Mutex<State>,
}

impl JwksSource {
    /// `url` was validated by the caller (https, or http to a loopback host).
    pub(super) fn new(issuer: &str, url: http::Uri) -> JwksSource {
        JwksSource { issuer: issuer.to_owned(), url }
    }

    /// This source with `cache`.
    pub(super) fn with<'a>(&'a self, cache: &'a JwksCache) -> Jwks<'a> {
        Jwks { issuer: &self.issuer, url: &self.url, state: &cache.state }
    }
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
    /// Failed fetches in a row while no key was ever fetched (sets the back-off).
    empty_failures: u32,
    /// The fetch in flight, if any: one per key set at a time.
    flight: Option<Flight>,
    /// Number of the last flight started.
    flights: u64,
    /// Number of the last flight that stored keys.
    stored_by: u64,
}

/// A fetch in flight, made by the request that started it; the requests
/// that wait for it are woken when it ends (stored keys, failed, or was
/// dropped with its request). On wasm nobody registers here: waiting
/// requests look on a timer of their own (see `landed`).
struct Flight {
    id: u64,
    waiters: Vec<Waker>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every critical section assigns whole fields; a panic cannot leave the
    // state half-written, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the cache says before a lookup.
enum Plan {
    Use(Arc<[VerifyKey]>),
    /// Fetch as flight `id`; fall back to these keys (if any) when it fails.
    Fetch {
        id: u64,
        fallback: Option<Arc<[VerifyKey]>>,
    },
    /// Another request's fetch is in flight: wait for it.
    Wait(u64),
    /// No keys and a recent failure: do not try again yet.
    NoKeys,
}

/// Back-off after a failed fetch while no key was ever fetched: 5 s, then
/// doubling up to the refresh interval (once a minute in a long outage).
fn empty_backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(8);
    (EMPTY_RETRY * (1u32 << doublings)).min(REFRESH_INTERVAL)
}

impl Jwks<'_> {
    /// The keys to verify with, fetching or refreshing first when the cache
    /// says so; `true` when they were fetched during this call (by it, or by
    /// the fetch it waited for). `unknown_kid` asks for a refresh because
    /// the token's `kid` was not among the cached keys (rate limited like
    /// every refresh).
    ///
    /// At most one fetch per key set is in flight in this instance. A
    /// request with no usable cached answer (none cached yet, or an unknown
    /// `kid` while a refresh is under way) waits for it, for at most
    /// [`FETCH_TIMEOUT`] in all; one with cached keys uses them at once.
    pub(super) async fn keys<P: Platform>(
        &self,
        platform: &P,
        now: Timestamp,
        unknown_kid: bool,
    ) -> Result<(Arc<[VerifyKey]>, bool), JwtError> {
        // Created lazily, and only polled while waiting for another fetch.
        let mut deadline = pin!(async { platform.clock().sleep(FETCH_TIMEOUT).await });
        loop {
            match self.plan(now, unknown_kid) {
                Plan::Use(keys) => return Ok((keys, false)),
                Plan::NoKeys => return Err(JwtError::NoKeys),
                Plan::Fetch { id, fallback } => return self.lead(platform, now, id, fallback).await,
                Plan::Wait(id) => match select(pin!(self.landed(platform, id)), deadline.as_mut()).await {
                    Either::Left(((), _)) => {
                        let state = lock(self.state);
                        if state.stored_by >= id
                            && let Some(keys) = state.keys.clone()
                        {
                            return Ok((keys, true));
                        }
                        // The fetch failed (the plan now says so) or was
                        // dropped with its request (this one may take over).
                    }
                    Either::Right(((), _)) => {
                        tracing::warn!(issuer = %self.issuer, "gave up waiting for a JWKS fetch in flight");
                        return lock(self.state).keys.clone().map(|keys| (keys, false)).ok_or(JwtError::NoKeys);
                    }
                },
            }
        }
    }

    /// Runs flight `id`: fetches, stores the outcome, wakes the waiters.
    async fn lead<P: Platform>(
        &self,
        platform: &P,
        now: Timestamp,
        id: u64,
        fallback: Option<Arc<[VerifyKey]>>,
    ) -> Result<(Arc<[VerifyKey]>, bool), JwtError> {
        // Ends the flight even when this request is dropped mid-fetch.
        let _landing = Landing { jwks: self, id };
        match self.fetch(platform).await {
            Ok((keys, ttl)) => {
                let keys: Arc<[VerifyKey]> = keys.into();
                let mut state = lock(self.state);
                state.keys = Some(keys.clone());
                state.expires_at = now.plus(ttl);
                state.empty_failures = 0;
                state.stored_by = id;
                Ok((keys, true))
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, reason = %why, "JWKS fetch failed; keeping the last good keys");
                match fallback {
                    Some(keys) => Ok((keys, false)),
                    None => {
                        let mut state = lock(self.state);
                        if state.keys.is_none() {
                            state.empty_failures = state.empty_failures.saturating_add(1);
                            state.empty_retry_at = now.plus(empty_backoff(state.empty_failures));
                        }
                        state.keys.clone().map(|keys| (keys, false)).ok_or(JwtError::NoKeys)
                    }
                }
            }
        }
    }

    /// Ready once flight `id` is no longer in flight: woken by the fetching
    /// request when it ends.
    #[cfg(not(target_family = "wasm"))]
    async fn landed<P: Platform>(&self, _platform: &P, id: u64) {
        use std::task::{Context, Poll};
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut state = lock(self.state);
            match &mut state.flight {
                Some(flight) if flight.id == id => {
                    if !flight.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                        flight.waiters.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
                _ => Poll::Ready(()),
            }
        })
        .await
    }

    /// Ready once flight `id` is no longer in flight, looked at on a timer of
    /// the waiting request's own. Workers resumes a request only from its own
    /// context: woken by the fetching request, this request's next I/O would
    /// run in that request's context, which workerd refuses ("Cannot perform
    /// I/O on behalf of a different request").
    #[cfg(target_family = "wasm")]
    async fn landed<P: Platform>(&self, platform: &P, id: u64) {
        while lock(self.state).flight.as_ref().is_some_and(|f| f.id == id) {
            platform.clock().sleep(WAIT_POLL).await;
        }
    }

    /// Decides under the lock. A fetch is started only when none is in
    /// flight, and a refresh reserves its once-a-minute slot before it
    /// starts, so that concurrent requests cannot fetch twice.
    fn plan(&self, now: Timestamp, unknown_kid: bool) -> Plan {
        let mut state = lock(self.state);
        let in_flight = state.flight.as_ref().map(|f| f.id);
        let Some(keys) = state.keys.clone() else {
            // The first fetch is not rate limited (spec §7), only backed off
            // after a failure.
            return match in_flight {
                Some(id) => Plan::Wait(id),
                None if now < state.empty_retry_at => Plan::NoKeys,
                None => Self::take_off(&mut state, None),
            };
        };
        if let Some(id) = in_flight {
            // A refresh is under way: its answer is what an unknown kid needs;
            // everyone else has an answer already.
            return if unknown_kid { Plan::Wait(id) } else { Plan::Use(keys) };
        }
        let wants_refresh = unknown_kid || now >= state.expires_at;
        let may_refresh = state.last_refresh.is_none_or(|last| now.since(last) >= REFRESH_INTERVAL);
        if wants_refresh && may_refresh {
            state.last_refresh = Some(now);
            Self::take_off(&mut state, Some(keys))
        } else {
            Plan::Use(keys)
        }
    }

    /// Requests waiting for the fetch in flight (tests watch them arrive).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(self.state).flight.as_ref().map_or(0, |f| f.waiters.len())
    }

    fn take_off(state: &mut State, fallback: Option<Arc<[VerifyKey]>>) -> Plan {
        state.flights += 1;
        let id = state.flights;
        state.flight = Some(Flight { id, waiters: Vec::new() });
        Plan::Fetch { id, fallback }
    }

    /// One GET of the JWKS, with its deadline: the usable keys and how long
    /// to cache them.
    async fn fetch<P: Platform>(&self, platform: &P) -> Result<(Vec<VerifyKey>, Duration), String> {
        let request = http::Request::builder()
            .method(http::Method::GET)
            .uri((*self.url).clone())
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

/// Ends a flight when its fetch is over or its request is dropped, and
/// wakes the requests waiting for it (after the outcome is stored).
struct Landing<'a> {
    jwks: &'a Jwks<'a>,
    id: u64,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let waiters = {
            let mut state = lock(self.jwks.state);
            match state.flight.take() {
                Some(flight) if flight.id == self.id => flight.waiters,
                other => {
                    state.flight = other;
                    Vec::new()
                }
            }
        };
        waiters.into_iter().for_each(Waker::wake);
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

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod tests;
