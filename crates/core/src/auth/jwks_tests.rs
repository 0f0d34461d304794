//! Tests of the JWKS cache: single flight, back-off, refresh, hand-over.
//!
//! Concurrency of the cache: many requests, one fetch (issue 9 finding 10).
//! Driven by a JWKS endpoint that answers only when the test opens its gate,
//! and a clock whose sleeps end only when the test fires them, so that every
//! request is provably in flight at once.

use super::*;
use crate::platform::memory::{MemoryKv, MemoryPlatform};
use crate::platform::{MaybeSend, UpstreamError};
use futures_executor::block_on;
use futures_util::future::join_all;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

/// A public test key (the conformance suite's `ec` key, P-256).
const JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
    "x": "R66fa_dbIw7-zuVfpir77rNddhKrNWl9eTu45EwTM_A", "y": "JrsHJwcB2_lzlqUngA5FSFUC6UcvHeBKt2PswmbFPeI"}]}"#;
const START: Timestamp = Timestamp(1_790_000_000_000_000);

/// Something the test opens: pending futures registered on it wake then.
#[derive(Default)]
struct Gate {
    state: Mutex<(u64, Vec<Waker>)>,
}

impl Gate {
    fn generation(&self) -> u64 {
        self.state.lock().expect("gate").0
    }
    /// Ends every wait that started before this call.
    fn open(&self) {
        let wakers = {
            let mut state = self.state.lock().expect("gate");
            state.0 += 1;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
    /// Ready once the gate was opened after `since`.
    fn wait(&self, since: u64) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut state = self.state.lock().expect("gate");
            if state.0 > since {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// A JWKS endpoint that counts requests and answers when its gate opens.
struct SlowJwks {
    calls: AtomicUsize,
    up: std::sync::atomic::AtomicBool,
    gate: Gate,
}

impl UpstreamClient for SlowJwks {
    fn send(
        &self,
        _request: http::Request<Bytes>,
        _timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let since = self.gate.generation();
        async move {
            self.gate.wait(since).await;
            if self.up.load(Ordering::SeqCst) {
                Ok(http::Response::new(Bytes::from_static(JWKS.as_bytes())))
            } else {
                Err(UpstreamError::Connect("connection refused".into()))
            }
        }
    }
}

/// A clock whose `sleep`s end only when the test fires them.
struct FiredClock {
    now: AtomicU64,
    timers: Gate,
}

impl Clock for FiredClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + MaybeSend {
        let since = self.timers.generation();
        self.timers.wait(since)
    }
}

/// A JWKS endpoint that answers when told, and a clock whose timers fire when told.
type TestPlatform = MemoryPlatform<SlowJwks, FiredClock>;

impl TestPlatform {
    fn new(up: bool) -> TestPlatform {
        MemoryPlatform::with_ports(
            SlowJwks { calls: AtomicUsize::new(0), up: up.into(), gate: Gate::default() },
            FiredClock { now: AtomicU64::new(START.0), timers: Gate::default() },
            MemoryKv::default(),
        )
    }
    fn calls(&self) -> usize {
        self.upstream.calls.load(Ordering::SeqCst)
    }
    fn answer(&self) {
        self.upstream.gate.open();
    }
    fn set_up(&self, up: bool) {
        self.upstream.up.store(up, Ordering::SeqCst);
    }
    fn advance(&self, d: Duration) {
        self.clock.now.fetch_add(u64::try_from(d.as_micros()).expect("small"), Ordering::SeqCst);
    }
    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A source and its cache, as the compiled config and the state hold them.
struct Owned(JwksSource, JwksCache);

impl Owned {
    fn view(&self) -> Jwks<'_> {
        self.0.with(&self.1)
    }
}

fn jwks() -> Owned {
    Owned(JwksSource::new("main", "https://issuer.test/jwks.json".parse().expect("uri")), JwksCache::default())
}

/// Polls a future once (it must not be ready yet).
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx)
}

type KeysResult = Result<(Arc<[VerifyKey]>, bool), JwtError>;

fn kids(result: &KeysResult) -> Vec<String> {
    match result {
        Ok((keys, _)) => keys.iter().filter_map(|k| k.kid.clone()).collect(),
        Err(e) => vec![format!("error: {e}")],
    }
}

const N: usize = 20;

#[test]
fn concurrent_requests_on_a_cold_cache_fetch_once() {
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let now = platform.now();
    let mut all = Box::pin(join_all((0..N).map(|_| jwks.keys(&platform, now, false))));
    assert!(poll_once(&mut all).is_pending(), "the endpoint has not answered");
    assert_eq!(platform.calls(), 1, "one fetch in flight, the other {} requests wait for it", N - 1);
    platform.answer();
    let results = block_on(all);
    assert_eq!(platform.calls(), 1);
    for result in &results {
        assert_eq!(kids(result), ["k1"], "every request got the fetched keys");
    }
    // The keys are as fresh as they get for every waiter: an unknown kid
    // right after does not start a second fetch for each of them.
    assert!(results.iter().all(|r| matches!(r, Ok((_, true)))), "waiters count the fetch as theirs");
}

#[test]
fn concurrent_requests_during_an_outage_fetch_once_then_back_off() {
    let platform = TestPlatform::new(false);
    let owned = jwks();
    let jwks = owned.view();
    let now = platform.now();
    let mut all = Box::pin(join_all((0..N).map(|_| jwks.keys(&platform, now, false))));
    assert!(poll_once(&mut all).is_pending());
    assert_eq!(platform.calls(), 1);
    platform.answer();
    let results = block_on(all);
    assert!(
        results.iter().all(|r| matches!(r, Err(JwtError::NoKeys))),
        "{:?}",
        results.iter().map(kids).collect::<Vec<_>>()
    );
    assert_eq!(platform.calls(), 1, "the failed fetch was shared");
    // Right after, another burst fails fast without calling the endpoint.
    let again = block_on(join_all((0..N).map(|_| jwks.keys(&platform, now, false))));
    assert!(again.iter().all(|r| matches!(r, Err(JwtError::NoKeys))));
    assert_eq!(platform.calls(), 1);
}

#[test]
fn a_sustained_outage_on_a_cold_cache_backs_off_to_once_a_minute() {
    let platform = TestPlatform::new(false);
    let owned = jwks();
    let jwks = owned.view();
    let mut attempts = 0;
    let mut waited = Vec::new();
    for _ in 0..8 {
        let before = platform.calls();
        let mut wait = Duration::ZERO;
        // Ask once a second until the cache tries the endpoint again.
        loop {
            let mut call = Box::pin(jwks.keys(&platform, platform.now(), false));
            let result = match poll_once(&mut call) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    platform.answer();
                    block_on(call)
                }
            };
            assert!(matches!(result, Err(JwtError::NoKeys)));
            if platform.calls() > before {
                break;
            }
            platform.advance(Duration::from_secs(1));
            wait += Duration::from_secs(1);
        }
        attempts += 1;
        waited.push(wait.as_secs());
    }
    assert_eq!(attempts, 8);
    assert_eq!(waited, [0, 5, 10, 20, 40, 60, 60, 60], "first fetch, then 5 s doubling up to once a minute");
}

#[test]
fn a_refresh_in_flight_does_not_hold_up_requests_that_have_cached_keys() {
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let mut first = Box::pin(jwks.keys(&platform, platform.now(), false));
    assert!(poll_once(&mut first).is_pending());
    platform.answer();
    assert_eq!(kids(&block_on(first)), ["k1"]);
    // The keys expire; the endpoint is slow (and then down).
    platform.advance(DEFAULT_TTL);
    platform.set_up(false);
    let now = platform.now();
    let mut refresh = Box::pin(jwks.keys(&platform, now, false));
    assert!(poll_once(&mut refresh).is_pending(), "the refresh is in flight");
    for _ in 0..N {
        let mut other = Box::pin(jwks.keys(&platform, now, false));
        match poll_once(&mut other) {
            Poll::Ready(result) => assert_eq!(kids(&result), ["k1"], "answered at once from the cache"),
            Poll::Pending => panic!("a request with cached keys waited for the refresh"),
        }
    }
    assert_eq!(platform.calls(), 2, "one refresh");
    platform.answer();
    assert_eq!(kids(&block_on(refresh)), ["k1"], "the last good keys stay");
    // Unknown kids do not start another refresh within the minute.
    for _ in 0..N {
        assert_eq!(kids(&block_on(jwks.keys(&platform, now, true))), ["k1"]);
    }
    assert_eq!(platform.calls(), 2);
}

#[test]
fn concurrent_requests_on_threads_fetch_once() {
    // As on tokio's multi-threaded runtime: each request on its own thread.
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let now = platform.now();
    let results = std::thread::scope(|scope| {
        let first = scope.spawn(|| block_on(jwks.keys(&platform, now, false)));
        while platform.calls() == 0 {
            std::thread::yield_now();
        }
        let others: Vec<_> = (1..N).map(|_| scope.spawn(|| block_on(jwks.keys(&platform, now, false)))).collect();
        // Open the gate only once every other request waits for the fetch.
        let mut spins = 0u32;
        while jwks.waiting() < N - 1 {
            spins += 1;
            assert!(spins < 200_000, "only {} of {} requests wait", jwks.waiting(), N - 1);
            std::thread::yield_now();
        }
        assert_eq!(platform.calls(), 1);
        platform.answer();
        std::iter::once(first).chain(others).map(|t| t.join().expect("no panic")).collect::<Vec<_>>()
    });
    assert_eq!(platform.calls(), 1);
    assert!(results.iter().all(|r| kids(r) == ["k1"]));
}

#[test]
fn a_request_dropped_mid_fetch_hands_the_fetch_over() {
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let now = platform.now();
    let mut leader = Box::pin(jwks.keys(&platform, now, false));
    assert!(poll_once(&mut leader).is_pending());
    let mut waiters = Box::pin(join_all((1..N).map(|_| jwks.keys(&platform, now, false))));
    assert!(poll_once(&mut waiters).is_pending());
    assert_eq!(platform.calls(), 1);
    // The client of the fetching request goes away: its request is dropped.
    drop(leader);
    // One waiter takes over; the others wait for it.
    assert!(poll_once(&mut waiters).is_pending());
    assert_eq!(platform.calls(), 2);
    platform.answer();
    let results = block_on(waiters);
    assert!(results.iter().all(|r| kids(r) == ["k1"]));
    assert_eq!(platform.calls(), 2);
}

#[test]
fn waiting_for_a_fetch_is_bounded_by_the_fetch_timeout() {
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let now = platform.now();
    let mut all = Box::pin(join_all((0..N).map(|_| jwks.keys(&platform, now, false))));
    assert!(poll_once(&mut all).is_pending());
    // The endpoint never answers; the deadlines (the fetch's, the waits') pass.
    platform.clock.timers.open();
    let results = block_on(all);
    assert!(results.iter().all(|r| matches!(r, Err(JwtError::NoKeys))));
    assert_eq!(platform.calls(), 1);
}

#[test]
fn unknown_kids_during_a_refresh_wait_for_its_keys() {
    let platform = TestPlatform::new(true);
    let owned = jwks();
    let jwks = owned.view();
    let mut first = Box::pin(jwks.keys(&platform, platform.now(), false));
    assert!(poll_once(&mut first).is_pending());
    platform.answer();
    assert!(block_on(first).is_ok());
    // A rotation: tokens with a new kid arrive together (the first fetch
    // does not count against the once-a-minute refresh).
    let now = platform.now();
    let mut all = Box::pin(join_all((0..N).map(|_| jwks.keys(&platform, now, true))));
    assert!(poll_once(&mut all).is_pending());
    assert_eq!(platform.calls(), 2, "one refresh for all unknown kids");
    platform.answer();
    let results = block_on(all);
    assert!(results.iter().all(|r| matches!(r, Ok((_, true)))), "each got the refreshed keys");
    assert_eq!(platform.calls(), 2);
}
