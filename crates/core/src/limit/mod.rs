//! Rate-limit and quota decisions, shared by every limiter store.
//!
//! A store keeps one `u64` per key with an expiry. [`apply`] is the whole
//! decision on that value: a store loads it (treating an expired value as
//! absent), calls `apply` with the time from the clock port, and writes back
//! what it is told to, atomically. Nothing here does I/O, reads the wall clock
//! or panics, so all runtimes decide alike.
//!
//! - [`Limit::Rate`]: request rates, the Generic Cell Rate Algorithm
//!   ([`gcra`]); the stored value is the theoretical arrival time in µs.
//! - [`Limit::Count`]: a counter for one fixed window (a quota's calendar day
//!   or month from [`window`], or the failed-authentication window); the
//!   caller puts the window's start in the key, the stored value is the count.

pub mod gcra;
pub mod headers;
pub mod window;

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use gcra::{Outcome, Rate};
pub use window::Per;

/// What a store enforces for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `limit` requests per `period_us`, burst `limit` (GCRA).
    Rate {
        /// Requests per period, and the burst (0 counts as 1).
        limit: u64,
        /// The period in microseconds (0 counts as 1).
        period_us: u64,
    },
    /// At most `limit` units in the window ending at `window_end`.
    Count {
        /// Units the window admits.
        limit: u64,
        /// The window's end (exclusive): from then on nothing is admitted.
        window_end: Timestamp,
    },
}

impl Limit {
    /// `rate` in store form (the period in whole microseconds).
    pub fn rate(rate: Rate) -> Limit {
        Limit::Rate { limit: rate.limit, period_us: u64::try_from(rate.period.as_micros()).unwrap_or(u64::MAX) }
    }

    fn as_rate(limit: u64, period_us: u64) -> Rate {
        Rate { limit: limit.max(1), period: Duration::from_micros(period_us.max(1)) }
    }
}

/// What a store reports for one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request (its `cost` units) is admitted.
    pub admitted: bool,
    /// Units that would still be admitted now (the `r` of `RateLimit`).
    pub remaining: u64,
    /// Until every unit is back (end of the window for a count).
    pub reset_after: Duration,
    /// Until at least one unit is back; zero while `remaining > 0`.
    pub wait: Duration,
}

impl Decision {
    /// The `t` of the `RateLimit` header: when nothing is left, the time until
    /// the next request can pass; otherwise the time until all are back.
    pub fn reset_for_header(&self) -> Duration {
        if self.remaining == 0 { self.wait } else { self.reset_after }
    }
}

/// A value for the store to keep, and when it may drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The count (count limits) or the GCRA theoretical arrival time in µs (rate limits).
    pub value: u64,
    /// When the store may drop it; an expired value reads as absent.
    pub expires_at: Timestamp,
}

/// What [`apply`] decided, and what the store must write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// What the store reports.
    pub decision: Decision,
    /// What to store: `Some` only when the request was admitted and changed
    /// the value; `None`: write nothing.
    pub write: Option<Stored>,
}

/// Decides a request of `cost` units at `now` against `stored` (the key's
/// live value, `None` when absent or expired).
pub fn apply(limit: &Limit, stored: Option<u64>, cost: u64, now: Timestamp) -> Applied {
    match *limit {
        Limit::Rate { limit, period_us } => {
            let rate = Limit::as_rate(limit, period_us);
            let o = gcra::decide(stored.map(Timestamp), now, &rate, cost);
            let wait = if o.remaining > 0 {
                Duration::ZERO
            } else {
                let t = Duration::from_micros(rate.emission_interval_micros());
                let c = u64::try_from(rate.capacity_micros()).unwrap_or(u64::MAX);
                (o.reset_after + t).saturating_sub(Duration::from_micros(c))
            };
            let write = o.new_tat.filter(|_| cost > 0).map(|tat| Stored { value: tat.0, expires_at: tat });
            Applied {
                decision: Decision { admitted: o.admitted, remaining: o.remaining, reset_after: o.reset_after, wait },
                write,
            }
        }
        Limit::Count { limit, window_end } => {
            let count = stored.unwrap_or(0);
            let after = count.checked_add(cost).filter(|&c| c <= limit && now < window_end);
            let new_count = after.unwrap_or(count);
            let remaining = if now < window_end { limit.saturating_sub(new_count) } else { 0 };
            let reset_after = window_end.since(now);
            Applied {
                decision: Decision {
                    admitted: after.is_some(),
                    remaining,
                    reset_after,
                    wait: if remaining > 0 { Duration::ZERO } else { reset_after },
                },
                write: after.filter(|_| cost > 0).map(|value| Stored { value, expires_at: window_end }),
            }
        }
    }
}

/// What to store after giving back `cost` units an admitted request took;
/// `None` when nothing needs writing (nothing stored, or nothing left).
pub fn refund(limit: &Limit, stored: Option<u64>, cost: u64, now: Timestamp) -> Option<Stored> {
    let value = stored?;
    match *limit {
        Limit::Rate { limit, period_us } => {
            let rate = Limit::as_rate(limit, period_us);
            let back = cost.saturating_mul(rate.emission_interval_micros());
            let tat = value.saturating_sub(back);
            // At or before now the bucket is full: same as no value.
            (tat > now.0).then_some(Stored { value: tat, expires_at: Timestamp(tat) })
        }
        Limit::Count { window_end, .. } => {
            (now < window_end).then(|| Stored { value: value.saturating_sub(cost), expires_at: window_end })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn rate_wait_is_the_time_to_the_next_unit() {
        let limit = Limit::Rate { limit: 10, period_us: S };
        let mut stored = None;
        let now = Timestamp(100 * S);
        for i in 0..10 {
            let a = apply(&limit, stored, 1, now);
            assert!(a.decision.admitted, "request {i}");
            stored = a.write.map(|w| w.value);
        }
        let last = apply(&limit, stored, 0, now).decision;
        assert_eq!(
            (last.remaining, last.wait, last.reset_after),
            (0, Duration::from_millis(100), Duration::from_secs(1))
        );
        assert_eq!(last.reset_for_header(), Duration::from_millis(100));
        let denied = apply(&limit, stored, 1, now);
        assert!(!denied.decision.admitted);
        assert_eq!(denied.write, None);
        // after `wait`, one more passes.
        let later = apply(&limit, stored, 1, now.plus(denied.decision.wait));
        assert!(later.decision.admitted);
    }

    #[test]
    fn count_decisions_and_window_end() {
        let end = Timestamp(10 * S);
        let limit = Limit::Count { limit: 2, window_end: end };
        let a = apply(&limit, None, 1, Timestamp(S));
        assert_eq!(a.write, Some(Stored { value: 1, expires_at: end }));
        assert_eq!((a.decision.remaining, a.decision.wait), (1, Duration::ZERO));
        let b = apply(&limit, Some(2), 1, Timestamp(S));
        assert!(!b.decision.admitted);
        assert_eq!((b.decision.remaining, b.decision.wait), (0, Duration::from_secs(9)));
        // a probe (cost 0) writes nothing.
        assert_eq!(apply(&limit, Some(1), 0, Timestamp(S)).write, None);
        // past the window's end nothing is admitted under this key.
        assert!(!apply(&limit, None, 1, end).decision.admitted);
    }

    #[test]
    fn refund_gives_back_exactly_what_was_taken() {
        let rate = Limit::Rate { limit: 4, period_us: S };
        let now = Timestamp(50 * S);
        let first = apply(&rate, None, 1, now).write.map(|w| w.value);
        let second = apply(&rate, first, 1, now).write.map(|w| w.value);
        assert_eq!(refund(&rate, second, 1, now).map(|s| s.value), first);
        // refunding the only unit leaves a full bucket: nothing to store.
        assert_eq!(refund(&rate, first, 1, now), None);
        let count = Limit::Count { limit: 5, window_end: Timestamp(60 * S) };
        assert_eq!(refund(&count, Some(3), 1, now), Some(Stored { value: 2, expires_at: Timestamp(60 * S) }));
        assert_eq!(refund(&count, Some(0), 1, now).map(|s| s.value), Some(0));
        assert_eq!(refund(&count, None, 1, now), None);
    }

    #[test]
    fn limits_round_trip_as_json() {
        for limit in [Limit::Rate { limit: 3, period_us: 7 }, Limit::Count { limit: 9, window_end: Timestamp(11) }] {
            let text = serde_json::to_string(&limit).expect("serialise");
            assert_eq!(serde_json::from_str::<Limit>(&text).expect("parse"), limit);
        }
    }
}
