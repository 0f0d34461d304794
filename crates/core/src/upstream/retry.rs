//! When a failed try is tried again: an idempotent request (or one carrying
//! `Idempotency-Key`), a failure `retries.on` names, and room in the retry
//! budget of the upstream — per instance, retries stay within 20% of the
//! requests of the last 10 s plus 3, so a backend that fails everything
//! sees at most about 1.2 times the client load. The wait before a retry is
//! full jitter: random up to `backoff × 2^(retry − 1)`, at most 1 s.

use super::compile::RetryPolicy;
use crate::config::RetryOn;
use crate::platform::UpstreamError;
use crate::time::Timestamp;
use http::{HeaderMap, Method};
use std::time::Duration;

/// The budget's window, in one-second buckets.
const WINDOW_SECS: usize = 10;
/// Retries allowed per request in the window.
const RATIO: f64 = 0.2;
/// Retries allowed per window whatever the traffic (spec §7).
const FLOOR: u32 = 3;
/// Longest wait before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Whether a request may be sent twice: a safe or idempotent method
/// (RFC 9110 §9.2.2), or a client that marked it with `Idempotency-Key`.
pub(super) fn replayable(method: &Method, headers: &HeaderMap) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE)
        || headers.contains_key("idempotency-key")
}

/// Whether `policy` retries a try that ended so.
pub(super) fn wanted(policy: &RetryPolicy, outcome: Result<u16, &UpstreamError>) -> bool {
    policy.on.iter().any(|on| match (on, outcome) {
        (RetryOn::Connect, Err(UpstreamError::Connect(_))) => true,
        (RetryOn::Timeout, Err(UpstreamError::Timeout)) => true,
        (RetryOn::Status(s), Ok(status)) => *s == status,
        _ => false,
    })
}

/// The wait before retry number `retry` (1 for the first), from `random`.
pub(super) fn backoff(policy: &RetryPolicy, retry: u32, random: u64) -> Duration {
    let shift = retry.saturating_sub(1).min(16);
    let ceiling = policy.backoff.saturating_mul(1u32 << shift).min(MAX_BACKOFF);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(if micros == 0 { 0 } else { random % (micros + 1) })
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: u64,
    requests: u32,
    retries: u32,
}

/// The retry budget of one upstream in this instance.
#[derive(Debug, Default)]
pub(super) struct Budget {
    buckets: [Bucket; WINDOW_SECS],
}

impl Budget {
    fn bucket(&mut self, now: Timestamp) -> &mut Bucket {
        let second = now.as_secs();
        let slot = &mut self.buckets[(second % WINDOW_SECS as u64) as usize];
        if slot.second != second {
            *slot = Bucket { second, requests: 0, retries: 0 };
        }
        slot
    }

    /// Counts a client request.
    pub(super) fn note_request(&mut self, now: Timestamp) {
        let b = self.bucket(now);
        b.requests = b.requests.saturating_add(1);
    }

    /// Takes one retry from the budget, if there is room.
    pub(super) fn take_retry(&mut self, now: Timestamp) -> bool {
        let since = now.as_secs().saturating_sub(WINDOW_SECS as u64 - 1);
        let (requests, retries) = self
            .buckets
            .iter()
            .filter(|b| b.second >= since && b.second <= now.as_secs())
            .fold((0u64, 0u64), |(q, r), b| (q + u64::from(b.requests), r + u64::from(b.retries)));
        let allowed = (requests as f64 * RATIO) as u64 + u64::from(FLOOR);
        if retries >= allowed {
            return false;
        }
        let b = self.bucket(now);
        b.retries = b.retries.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 2,
            backoff: Duration::from_millis(50),
            on: vec![RetryOn::Connect, RetryOn::Status(503)],
            per_try_timeout: None,
        }
    }

    #[test]
    fn only_replayable_requests_and_named_failures_are_retried() {
        let none = HeaderMap::new();
        assert!(replayable(&Method::GET, &none) && replayable(&Method::PUT, &none));
        assert!(!replayable(&Method::POST, &none) && !replayable(&Method::PATCH, &none));
        let mut keyed = HeaderMap::new();
        keyed.insert("idempotency-key", "k1".parse().expect("value"));
        assert!(replayable(&Method::POST, &keyed));
        let p = policy();
        assert!(wanted(&p, Err(&UpstreamError::Connect("refused".into()))));
        assert!(wanted(&p, Ok(503)));
        assert!(!wanted(&p, Ok(502)) && !wanted(&p, Err(&UpstreamError::Timeout)));
        assert!(!wanted(&p, Err(&UpstreamError::Protocol("bad".into()))));
    }

    #[test]
    fn backoff_is_full_jitter_doubling_and_capped() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 0), Duration::ZERO);
        assert_eq!(backoff(&p, 1, 50_000), Duration::from_millis(50));
        assert_eq!(backoff(&p, 1, 50_001), Duration::ZERO, "wraps within [0, 50 ms]");
        assert_eq!(backoff(&p, 2, 100_000), Duration::from_millis(100));
        assert!(backoff(&p, 9, u64::MAX - 1) <= MAX_BACKOFF);
    }

    #[test]
    fn the_budget_allows_a_fifth_of_the_traffic_plus_three() {
        let mut b = Budget::default();
        let now = Timestamp::from_millis(1_000_000);
        for _ in 0..100 {
            b.note_request(now);
        }
        let granted = (0..100).filter(|_| b.take_retry(now)).count();
        assert_eq!(granted, 23);
        // Ten seconds later the window has moved on: only the floor.
        let later = now.plus(Duration::from_secs(10));
        assert_eq!((0..10).filter(|_| b.take_retry(later)).count(), 3);
    }
}
