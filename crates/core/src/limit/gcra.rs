//! Generic Cell Rate Algorithm (virtual scheduling form) for rate limits.
//!
//! Semantics, with `T = ceil(period / limit)` in whole microseconds (at least
//! 1 µs) and a capacity `C = limit × T` (so the tolerance is `τ = C − T`):
//!
//! - The only state is the theoretical arrival time `tat`; a key with no
//!   stored value is a full bucket.
//! - A request of `cost` is admitted iff `max(tat, now) + cost × T ≤ now + C`;
//!   the new `tat` is then `max(tat, now) + cost × T`. A fresh key therefore
//!   admits exactly `limit` unit requests at once and then one every `T`.
//!   `cost > limit` is never admitted. A denied request changes nothing.
//! - This is a token bucket of `limit` tokens refilled one per `T`: in any
//!   interval of length `d` at most `limit + floor(d / T)` units are admitted
//!   (so fewer than `2 × limit` in any window of one `period`, and at most
//!   `limit` per `period` in the long run). Rounding `T` up only ever makes
//!   the limit stricter, by less than 1 µs per unit.
//! - A clock that steps backwards (`now` below the previous `now`) keeps the
//!   stored `tat`; the bucket just looks emptier, so it is never more lenient.
//!
//! All arithmetic is done in `u128` and clamped, so no input can panic.

use crate::time::Timestamp;
use std::time::Duration;

/// A rate: `limit` requests per `period`, with a burst of `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per period; must be at least 1 (0 is treated as 1).
    pub limit: u64,
    /// Must be positive (anything below 1 µs is treated as 1 µs).
    pub period: Duration,
}

impl Rate {
    /// `None` when `limit` is 0 or `period` is zero.
    pub fn new(limit: u64, period: Duration) -> Option<Rate> {
        (limit >= 1 && !period.is_zero()).then_some(Rate { limit, period })
    }

    fn limit_or_one(&self) -> u128 {
        u128::from(self.limit.max(1))
    }

    /// Emission interval `T` in µs: `ceil(period / limit)`, at least 1.
    pub fn emission_interval_micros(&self) -> u64 {
        let t = self.period.as_micros().div_ceil(self.limit_or_one()).max(1);
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    /// Bucket capacity `C = limit × T` in µs (the time a full burst takes to
    /// drain back).
    pub fn capacity_micros(&self) -> u128 {
        u128::from(self.emission_interval_micros()) * self.limit_or_one()
    }
}

/// The result of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the request is admitted.
    pub admitted: bool,
    /// What to store (`Some` only when admitted; a denial stores nothing).
    pub new_tat: Option<Timestamp>,
    /// Unit requests that would still be admitted right now.
    pub remaining: u64,
    /// Time until the bucket is full again (the `t` of the `RateLimit` header).
    pub reset_after: Duration,
    /// Zero when admitted; otherwise the wait until this same request would be
    /// admitted. When `cost > limit` waiting never helps; it is then the time
    /// until the bucket is full, like `reset_after`.
    pub retry_after: Duration,
}

fn micros(d: u128) -> Duration {
    Duration::from_micros(u64::try_from(d).unwrap_or(u64::MAX))
}

/// Decides one request of `cost` units at `now`, given the stored `tat`
/// (`None` for a key never seen or expired).
pub fn decide(stored_tat: Option<Timestamp>, now: Timestamp, rate: &Rate, cost: u64) -> Outcome {
    let t = u128::from(rate.emission_interval_micros());
    let capacity = rate.capacity_micros();
    let now_us = u128::from(now.0);
    let tat = stored_tat.map_or(now_us, |s| u128::from(s.0)).max(now_us);
    let increment = u128::from(cost) * t;
    let candidate = tat + increment;
    let admitted = cost <= rate.limit.max(1) && candidate <= now_us + capacity && u64::try_from(candidate).is_ok();
    let effective_tat = if admitted { candidate } else { tat };
    let remaining = (now_us + capacity).saturating_sub(effective_tat) / t;
    let reset_after = effective_tat - now_us;
    let retry_after = if admitted {
        0
    } else if cost > rate.limit.max(1) {
        reset_after
    } else {
        candidate.saturating_sub(now_us + capacity)
    };
    Outcome {
        admitted,
        new_tat: admitted.then(|| Timestamp(u64::try_from(candidate).unwrap_or(u64::MAX))),
        remaining: u64::try_from(remaining).unwrap_or(u64::MAX),
        reset_after: micros(reset_after),
        retry_after: micros(retry_after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn rate(limit: u64, period_us: u64) -> Rate {
        Rate::new(limit, Duration::from_micros(period_us)).expect("valid rate")
    }

    /// Runs `(time in µs, cost)` steps from a fresh key; returns the outcomes.
    fn run(rate: &Rate, steps: &[(u64, u64)]) -> Vec<Outcome> {
        let mut tat = None;
        steps
            .iter()
            .map(|&(at, cost)| {
                let o = decide(tat, Timestamp(at), rate, cost);
                if let Some(n) = o.new_tat {
                    tat = Some(n);
                }
                o
            })
            .collect()
    }

    #[test]
    fn rate_new_rejects_zero() {
        assert!(Rate::new(0, Duration::from_secs(1)).is_none());
        assert!(Rate::new(1, Duration::ZERO).is_none());
        assert_eq!(rate(3, S).emission_interval_micros(), 333_334);
        assert_eq!(rate(10, S).capacity_micros(), 1_000_000);
    }

    #[test]
    fn burst_of_exactly_limit() {
        for limit in [1u64, 2, 3, 7, 10, 100] {
            let r = rate(limit, S);
            let now = 50 * S;
            let outs = run(&r, &vec![(now, 1); limit as usize + 2]);
            let admitted: Vec<bool> = outs.iter().map(|o| o.admitted).collect();
            let mut expected = vec![true; limit as usize];
            expected.extend([false, false]);
            assert_eq!(admitted, expected, "limit {limit}");
            let remaining: Vec<u64> = outs.iter().map(|o| o.remaining).collect();
            let mut expected: Vec<u64> = (0..limit).rev().collect();
            expected.extend([0, 0]);
            assert_eq!(remaining, expected, "limit {limit}");
        }
    }

    #[test]
    fn table_of_decisions() {
        // (limit, period µs, steps (t, cost), expected (admitted, remaining, reset µs, retry µs))
        type Case = (u64, u64, Vec<(u64, u64)>, Vec<(bool, u64, u64, u64)>);
        let cases: Vec<Case> = vec![
            // 10/s: T = 100 ms.
            (10, S, vec![(0, 1)], vec![(true, 9, 100_000, 0)]),
            (10, S, vec![(0, 10), (0, 1)], vec![(true, 0, S, 0), (false, 0, S, 100_000)]),
            // steady rate: one every T is always admitted once the burst is spent.
            (
                10,
                S,
                vec![(0, 10), (100_000, 1), (200_000, 1), (250_000, 1), (300_000, 1)],
                vec![(true, 0, S, 0), (true, 0, S, 0), (true, 0, S, 0), (false, 0, 950_000, 50_000), (true, 0, S, 0)],
            ),
            // cost > 1: 3 units need 3 × T of credit.
            (
                10,
                S,
                vec![(0, 8), (0, 3), (100_000, 3), (0, 2)],
                vec![
                    (true, 2, 800_000, 0),
                    (false, 2, 800_000, 100_000),
                    (true, 0, 1_000_000, 0),
                    (false, 0, 1_100_000, 300_000),
                ],
            ),
            // cost > limit is never admitted, even on a fresh key.
            (5, S, vec![(0, 6), (10 * S, 6)], vec![(false, 5, 0, 0), (false, 5, 0, 0)]),
            // the bucket refills to full, never beyond.
            (2, 60 * S, vec![(0, 2), (3600 * S, 1)], vec![(true, 0, 60 * S, 0), (true, 1, 30 * S, 0)]),
            // uneven T rounds up: 3/s → T = 333_334 µs.
            (
                3,
                S,
                vec![(0, 3), (333_333, 1), (333_334, 1)],
                vec![(true, 0, 1_000_002, 0), (false, 0, 666_669, 1), (true, 0, 1_000_002, 0)],
            ),
            // cost 0 is a probe: admitted, changes nothing.
            (4, S, vec![(0, 0)], vec![(true, 4, 0, 0)]),
        ];
        for (i, (limit, period, steps, expected)) in cases.into_iter().enumerate() {
            let outs = run(&rate(limit, period), &steps);
            let got: Vec<(bool, u64, u64, u64)> = outs
                .iter()
                .map(|o| (o.admitted, o.remaining, o.reset_after.as_micros() as u64, o.retry_after.as_micros() as u64))
                .collect();
            assert_eq!(got, expected, "case {i}");
            for o in &outs {
                assert_eq!(o.admitted, o.new_tat.is_some(), "case {i}");
            }
        }
    }

    #[test]
    fn clock_going_backwards_is_never_more_lenient() {
        let r = rate(2, S);
        let a = decide(None, Timestamp(10 * S), &r, 2);
        assert!(a.admitted);
        // 1 ms earlier: the stored tat stays, the bucket looks emptier.
        let b = decide(a.new_tat, Timestamp(10 * S - 1_000), &r, 1);
        assert!(!b.admitted);
        assert_eq!(b.remaining, 0);
        assert_eq!(b.retry_after, Duration::from_micros(501_000));
        // far in the past: still nothing admitted, no panic.
        let c = decide(a.new_tat, Timestamp(0), &r, 1);
        assert!(!c.admitted);
        assert_eq!(c.remaining, 0);
    }

    #[test]
    fn extremes_do_not_panic() {
        let huge = Rate { limit: u64::MAX, period: Duration::MAX };
        let tiny = Rate { limit: 0, period: Duration::ZERO };
        for r in [huge, tiny, rate(1, 1)] {
            for now in [0, 1, u64::MAX - 1, u64::MAX] {
                for tat in [None, Some(Timestamp(0)), Some(Timestamp(u64::MAX))] {
                    for cost in [0, 1, u64::MAX] {
                        let o = decide(tat, Timestamp(now), &r, cost);
                        assert_eq!(o.admitted, o.new_tat.is_some());
                    }
                }
            }
        }
        // at the end of time nothing more can be stored.
        assert!(!decide(None, Timestamp(u64::MAX), &rate(1, S), 1).admitted);
    }
}
