//! In-memory implementations of every port: the local server's default state
//! stores, and the manual clock and scripted upstream that native tests use to
//! drive the whole pipeline without sockets.

use super::{Clock, KeyValueStore, LimiterStore, MaybeSend, StoreError, Timestamp, UpstreamClient, UpstreamError};
#[cfg(not(target_family = "wasm"))]
use super::{Platform, Runtime};
use crate::limit::{Decision, Limit, Stored};
use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Bounded maps with expiry-ordered eviction (limiter and key-value state).
pub mod bounded;

use bounded::ExpiryMap;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-written
    // (every critical section is a single map operation), so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keys the in-memory limiter store holds by default. A key costs about
/// 160 bytes (a 50-byte key) to 230 bytes (the longest: a 96-byte value),
/// so 1,000,000 keys stay under ~230 MB (docs/decisions.md). A Worker
/// isolate (128 MB) uses it only as a fallback when the Durable Object
/// binding is missing, so it holds fewer.
pub const DEFAULT_LIMITER_KEYS: usize = if cfg!(target_family = "wasm") { 50_000 } else { 1_000_000 };

/// Pairs with an expiry the in-memory key-value store holds by default
/// (approximate-limit totals, one per key and window synced).
pub const DEFAULT_KV_EXPIRING_KEYS: usize = if cfg!(target_family = "wasm") { 50_000 } else { 250_000 };

/// Limiter state in a process-local map (exact within one process): each
/// check is one critical section around [`crate::limit::apply`]. The map
/// holds at most [`MemoryLimiter::capacity`] keys; past that, the entry
/// dropped is the one expiring first (an expired one before any live one),
/// among equals the one holding the fewest units, then the newest: a live
/// count is lost only when `capacity` entries that outlive it exist.
pub struct MemoryLimiter {
    map: Mutex<ExpiryMap<u64>>,
    calls: AtomicU64,
    failing: std::sync::atomic::AtomicBool,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_LIMITER_KEYS)
    }
}

impl MemoryLimiter {
    /// A store holding at most `keys` limiter keys.
    pub fn with_capacity(keys: usize) -> Self {
        MemoryLimiter {
            map: Mutex::new(ExpiryMap::new(keys)),
            calls: AtomicU64::new(0),
            failing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// How many keys it holds now (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys it holds.
    pub fn capacity(&self) -> usize {
        lock(&self.map).capacity()
    }

    /// How many `acquire`/`release` calls reached the store.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Fault injection for tests: while set, every call fails like an
    /// unreachable store.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn enter(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("limiter store unavailable (injected)"));
        }
        Ok(())
    }

    fn store(map: &mut ExpiryMap<u64>, key: &str, write: Option<Stored>, now: Timestamp) {
        match write {
            // The eviction weight is the stored value: a count's units (a
            // GCRA time stamp equals its expiry, so it adds nothing there).
            Some(w) => map.insert(key, w.value, w.expires_at, w.value, now),
            None => {
                map.remove(key);
            }
        }
    }
}

impl LimiterStore for MemoryLimiter {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        if let Err(e) = self.enter() {
            return std::future::ready(Err(e));
        }
        let mut map = lock(&self.map);
        let applied = crate::limit::apply(limit, map.get(key, now).copied(), cost, now);
        if applied.write.is_some() {
            Self::store(&mut map, key, applied.write, now);
        }
        std::future::ready(Ok(applied.decision))
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        if let Err(e) = self.enter() {
            return std::future::ready(Err(e));
        }
        let mut map = lock(&self.map);
        let stored = map.get(key, now).copied();
        if stored.is_some() {
            let write = crate::limit::refund(limit, stored, cost, now);
            Self::store(&mut map, key, write, now);
        }
        std::future::ready(Ok(()))
    }
}

/// Key-value pairs in a process-local map. Pairs written with an expiry
/// (approximate-limit totals: their keys come from clients) are bounded like
/// [`MemoryLimiter`]'s; pairs without one (run-time consumers, upstream
/// targets: written by the operator) are kept until deleted.
pub struct MemoryKv {
    expiring: Mutex<ExpiryMap<Bytes>>,
    permanent: Mutex<HashMap<String, Bytes>>,
}

impl Default for MemoryKv {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_KV_EXPIRING_KEYS)
    }
}

impl MemoryKv {
    /// A store holding at most `keys` pairs that expire (and any number that do not).
    pub fn with_capacity(keys: usize) -> Self {
        MemoryKv { expiring: Mutex::new(ExpiryMap::new(keys)), permanent: Mutex::default() }
    }

    /// How many pairs it holds now.
    pub fn len(&self) -> usize {
        lock(&self.expiring).len() + lock(&self.permanent).len()
    }

    /// Whether it holds no pair.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KeyValueStore for MemoryKv {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        let value = match lock(&self.permanent).get(key) {
            Some(v) => Some(v.clone()),
            None => lock(&self.expiring).get(key, now).cloned(),
        };
        std::future::ready(Ok(value))
    }
    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        match expires_at {
            Some(at) => {
                lock(&self.permanent).remove(key);
                // `now` is not known here; an expiry in the past is only
                // purged by later writes that are given one.
                lock(&self.expiring).insert(key, value, at, 0, Timestamp(0));
            }
            None => {
                lock(&self.expiring).remove(key);
                lock(&self.permanent).insert(key.to_owned(), value);
            }
        }
        std::future::ready(Ok(()))
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        lock(&self.expiring).remove(key);
        lock(&self.permanent).remove(key);
        std::future::ready(Ok(()))
    }
}

/// A clock that moves only when told to; `sleep` advances it and returns at once.
#[derive(Default, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock showing `t`.
    pub fn at(t: Timestamp) -> Self {
        ManualClock { micros: Arc::new(AtomicU64::new(t.0)) }
    }
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let add = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(add, Ordering::SeqCst);
    }
    /// Sets the clock to `t` (backwards too).
    pub fn set(&self, t: Timestamp) {
        self.micros.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.micros.load(Ordering::SeqCst))
    }
    /// Advances the clock when first polled (not when created), so a deadline
    /// that loses its race against a ready future costs no time.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + MaybeSend {
        let clock = self.clone();
        std::future::poll_fn(move |_| {
            clock.advance(duration);
            std::task::Poll::Ready(())
        })
    }
}

/// What a scripted upstream does with one request.
pub enum Script {
    /// Answers with this response.
    Respond(http::Response<Bytes>),
    /// Fails the call with this error.
    Fail(UpstreamError),
    /// Never answers (the gateway's deadline must fire).
    Hang,
}

type ScriptFn = dyn Fn(&http::Request<Bytes>) -> Script + Send + Sync;

/// An upstream that answers from a closure and remembers what it was sent.
#[derive(Clone)]
pub struct ScriptedUpstream {
    script: Arc<ScriptFn>,
    seen: Arc<Mutex<Vec<http::Request<Bytes>>>>,
    record: bool,
}

impl ScriptedUpstream {
    /// An upstream that answers each request with what `script` returns for it,
    /// and records the request.
    pub fn new(script: impl Fn(&http::Request<Bytes>) -> Script + Send + Sync + 'static) -> Self {
        ScriptedUpstream { script: Arc::new(script), seen: Arc::default(), record: true }
    }
    /// Stops remembering requests (benchmarks send millions).
    pub fn without_recording(mut self) -> Self {
        self.record = false;
        self
    }
    /// Answers 200 with a JSON body describing the request (like the echo backend).
    pub fn echo() -> Self {
        Self::new(|req| {
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect();
            let body = serde_json::json!({
                "method": req.method().as_str(),
                "uri": req.uri().to_string(),
                "path": req.uri().path(),
                "query": req.uri().query().unwrap_or(""),
                "headers": headers,
                "body": String::from_utf8_lossy(req.body()),
            });
            let mut resp = http::Response::new(Bytes::from(body.to_string()));
            resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            Script::Respond(resp)
        })
    }
    /// Every request this upstream received, in order.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        lock(&self.seen).clone()
    }
}

impl UpstreamClient for ScriptedUpstream {
    fn send(
        &self,
        request: http::Request<Bytes>,
        _timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend {
        let script = (self.script)(&request);
        if self.record {
            lock(&self.seen).push(request);
        }
        async move {
            match script {
                Script::Respond(r) => Ok(r),
                Script::Fail(e) => Err(e),
                Script::Hang => std::future::pending().await,
            }
        }
    }
}

/// Every port in memory, with a manual clock and a scripted upstream by
/// default; a test that needs another upstream, clock or key-value store
/// swaps just that one ([`MemoryPlatform::with_ports`]).
#[cfg(not(target_family = "wasm"))]
pub struct MemoryPlatform<U = ScriptedUpstream, C = ManualClock, K = MemoryKv> {
    /// The upstream port.
    pub upstream: U,
    /// The clock port.
    pub clock: C,
    /// The limiter store (default capacity).
    pub limiter: MemoryLimiter,
    /// The key-value store port.
    pub kv: K,
}

#[cfg(not(target_family = "wasm"))]
impl MemoryPlatform {
    /// `upstream`, a [`ManualClock`] at 1_790_000_000_000 ms
    /// (2026-09-21T14:13:20Z) and a default [`MemoryKv`].
    pub fn new(upstream: ScriptedUpstream) -> Self {
        MemoryPlatform::with_ports(
            upstream,
            ManualClock::at(Timestamp::from_millis(1_790_000_000_000)),
            MemoryKv::default(),
        )
    }
}

#[cfg(not(target_family = "wasm"))]
impl<U, C, K> MemoryPlatform<U, C, K> {
    /// The given upstream, clock and key-value store; every other port in memory.
    pub fn with_ports(upstream: U, clock: C, kv: K) -> Self {
        MemoryPlatform { upstream, clock, limiter: MemoryLimiter::default(), kv }
    }
}

#[cfg(not(target_family = "wasm"))]
impl<U: UpstreamClient, C: Clock, K: KeyValueStore> Platform for MemoryPlatform<U, C, K> {
    type Upstream = U;
    type Clock = C;
    type Limiter = MemoryLimiter;
    type Kv = K;

    fn runtime(&self) -> Runtime {
        Runtime::Local
    }
    fn upstream(&self) -> &U {
        &self.upstream
    }
    fn clock(&self) -> &C {
        &self.clock
    }
    fn limiter(&self) -> &MemoryLimiter {
        &self.limiter
    }
    fn kv(&self) -> &K {
        &self.kv
    }
}
