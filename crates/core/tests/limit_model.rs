//! Model tests for `limit::gcra`: arbitrary request sequences are checked
//! against an independent token-bucket simulation in exact integer
//! arithmetic, plus the safety properties every limiter store relies on.
//!
//! Burst semantics under test: a bucket of `limit` units refilled one unit per
//! `T = ceil(period / limit)` µs, full for a fresh key. Hence over any stretch
//! of requests `i..=j` starting at an admitted request `i`, the admitted cost
//! is at most `limit + (t_j − t_i) / T`, where `t_j` is the latest clock
//! reading seen up to `j` and `t_i` the reading at `i`. With a monotone clock
//! that is: at most `limit + d / T` in any interval of length `d`, i.e. fewer
//! than `2 × limit` in any window of one `period`; a clock going backwards
//! never buys extra requests.

use proptest::prelude::*;
use std::time::Duration;
use tollgate_core::limit::gcra::{Outcome, Rate, decide};
use tollgate_core::platform::Timestamp;

/// Reference: a token bucket holding `credit` µs worth of tokens (one unit is
/// `T` µs of credit, full is `limit × T`), refilled by elapsed time.
struct Bucket {
    t: u128,
    capacity: u128,
    credit: u128,
    last: u128,
}

impl Bucket {
    fn new(rate: &Rate, start: u64) -> Self {
        let t = u128::from(rate.emission_interval_micros());
        let capacity = t * u128::from(rate.limit);
        Bucket { t, capacity, credit: capacity, last: u128::from(start) }
    }

    /// Only valid for a clock that does not go backwards.
    fn step(&mut self, now: u64, cost: u64, limit: u64) -> (bool, u64, u128, u128) {
        let now = u128::from(now);
        self.credit = (self.credit + (now - self.last)).min(self.capacity);
        self.last = now;
        let need = u128::from(cost) * self.t;
        let admitted = cost <= limit && need <= self.credit;
        if admitted {
            self.credit -= need;
        }
        let retry = if admitted { 0 } else { need.saturating_sub(self.credit) };
        (admitted, (self.credit / self.t) as u64, self.capacity - self.credit, retry)
    }
}

fn rate_strategy() -> impl Strategy<Value = Rate> {
    (1u64..=20, prop_oneof![Just(1_000_000u64), Just(60_000_000), 1u64..=5_000_000])
        .prop_map(|(limit, period)| Rate { limit, period: Duration::from_micros(period) })
}

/// (time step in µs, possibly negative, cost)
fn steps_strategy(monotone: bool) -> impl Strategy<Value = Vec<(i64, u64)>> {
    let step = if monotone {
        prop_oneof![Just(0i64), 0i64..2_000, 0i64..500_000, 0i64..5_000_000].boxed()
    } else {
        prop_oneof![Just(0i64), 0i64..500_000, 0i64..5_000_000, -20_000i64..0].boxed()
    };
    prop::collection::vec((step, prop_oneof![4 => Just(1u64), 2 => 0u64..=4, 1 => 0u64..=25]), 1..60)
}

const START: u64 = 1_790_000_000_000_000; // late 2026, in µs

fn times(steps: &[(i64, u64)]) -> Vec<u64> {
    let mut now = START;
    steps
        .iter()
        .map(|&(dt, _)| {
            now = now.saturating_add_signed(dt);
            now
        })
        .collect()
}

/// Runs the sequence; returns each outcome and the stored tat before it.
fn run(rate: &Rate, steps: &[(i64, u64)]) -> Vec<(Option<Timestamp>, u64, Outcome)> {
    let mut tat = None;
    times(steps)
        .into_iter()
        .zip(steps)
        .map(|(now, &(_, cost))| {
            let before = tat;
            let o = decide(tat, Timestamp(now), rate, cost);
            assert_eq!(o.admitted, o.new_tat.is_some());
            if let Some(n) = o.new_tat {
                tat = Some(n);
            }
            (before, now, o)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// With a monotone clock, GCRA and the token bucket agree exactly.
    #[test]
    fn matches_token_bucket(rate in rate_strategy(), steps in steps_strategy(true)) {
        let mut bucket = Bucket::new(&rate, START);
        let outs = run(&rate, &steps);
        for ((_, now, o), &(_, cost)) in outs.iter().zip(&steps) {
            let (admitted, remaining, reset, retry) = bucket.step(*now, cost, rate.limit);
            prop_assert_eq!(o.admitted, admitted);
            prop_assert_eq!(o.remaining, remaining);
            prop_assert_eq!(o.reset_after.as_micros(), reset);
            if cost <= rate.limit {
                prop_assert_eq!(o.retry_after.as_micros(), retry);
            }
        }
    }

    /// Safety over any clock, including small backwards steps.
    #[test]
    fn never_over_admits(rate in rate_strategy(), steps in steps_strategy(false)) {
        let t = u128::from(rate.emission_interval_micros());
        let outs = run(&rate, &steps);
        let mut latest = Vec::with_capacity(outs.len());
        let mut max_now = 0u64;
        for (_, now, _) in &outs {
            max_now = max_now.max(*now);
            latest.push(max_now);
        }
        // Windows start at an admitted request: its reading is what the stored
        // tat is measured against.
        for i in (0..outs.len()).filter(|&i| outs[i].2.admitted) {
            let mut admitted_cost = 0u128;
            for j in i..outs.len() {
                if outs[j].2.admitted {
                    admitted_cost += u128::from(steps[j].1);
                }
                let span = u128::from(latest[j] - outs[i].1);
                prop_assert!(
                    admitted_cost * t <= u128::from(rate.limit) * t + span,
                    "requests {}..={}: cost {} in {} µs", i, j, admitted_cost, span
                );
            }
        }
    }

    /// A denial changes nothing; remaining never grows unless time advances;
    /// waiting `retry_after` gets the same request admitted (and not sooner).
    #[test]
    fn denials_remaining_and_retry(rate in rate_strategy(), steps in steps_strategy(false)) {
        let outs = run(&rate, &steps);
        for (k, ((before, now, o), &(_, cost))) in outs.iter().zip(&steps).enumerate() {
            if k > 0 {
                let (_, prev_now, prev) = &outs[k - 1];
                if now <= prev_now {
                    prop_assert!(o.remaining <= prev.remaining, "remaining grew at step {}", k);
                }
            }
            prop_assert!(o.remaining <= rate.limit);
            if o.admitted {
                prop_assert_eq!(o.retry_after, Duration::ZERO);
                continue;
            }
            prop_assert!(o.new_tat.is_none());
            // Same stored value, same time: same answer, nothing changed.
            prop_assert_eq!(decide(*before, Timestamp(*now), &rate, cost), *o);
            if cost > rate.limit {
                continue;
            }
            prop_assert!(o.retry_after > Duration::ZERO);
            let wait = Timestamp(*now).plus(o.retry_after);
            prop_assert!(decide(*before, wait, &rate, cost).admitted, "retry_after not honoured");
            let sooner = Timestamp(wait.0 - 1);
            prop_assert!(!decide(*before, sooner, &rate, cost).admitted, "retry_after too long");
        }
    }
}

#[test]
fn fresh_key_burst_then_one_per_interval() {
    let rate = Rate { limit: 5, period: Duration::from_secs(1) };
    let mut tat = None;
    let mut admitted = 0;
    for _ in 0..10 {
        let o = decide(tat, Timestamp(START), &rate, 1);
        if let Some(n) = o.new_tat {
            tat = Some(n);
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
    for k in 1..=20u64 {
        let now = Timestamp(START + k * 200_000);
        let o = decide(tat, now, &rate, 1);
        assert!(o.admitted, "one per T at step {k}");
        tat = o.new_tat;
        assert!(!decide(tat, now, &rate, 1).admitted);
    }
}

mod windows {
    //! Quota windows through the memory limiter store, keyed by window start
    //! as the pipeline keys them, against a plain per-window counter.

    use proptest::prelude::*;
    use std::collections::HashMap;
    use tollgate_core::limit::window::{Per, window_of};
    use tollgate_core::limit::{Limit, apply};
    use tollgate_core::platform::memory::MemoryLimiter;
    use tollgate_core::platform::{LimiterStore, Timestamp};

    const START: u64 = 1_790_000_000_000_000;

    fn steps() -> impl Strategy<Value = Vec<(i64, u64, bool)>> {
        // (µs step, possibly backwards by up to 2 s; cost 0..=3; release after?)
        prop::collection::vec((-2_000_000i64..40_000_000_000, 0u64..=3, prop::bool::weighted(0.1)), 1..120)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_store_counts_each_calendar_window_exactly(
            limit in 1u64..20,
            monthly in any::<bool>(),
            steps in steps(),
        ) {
            let per = if monthly { Per::Month } else { Per::Day };
            let store = MemoryLimiter::default();
            let mut model: HashMap<u64, u64> = HashMap::new();
            let mut now = START;
            for (step, cost, give_back) in steps {
                now = now.saturating_add_signed(step);
                let at = Timestamp(now);
                let (start, end) = window_of(at, per);
                let key = format!("q@{}", start.0);
                let lim = Limit::Count { limit, window_end: end };
                let d = futures_executor::block_on(store.acquire(&key, &lim, cost, at)).expect("memory store");
                let count = model.entry(start.0).or_default();
                let admit = *count + cost <= limit;
                prop_assert_eq!(d.admitted, admit);
                if admit {
                    *count += cost;
                }
                prop_assert_eq!(d.remaining, limit - *count);
                prop_assert_eq!(d.reset_after, end.since(at));
                prop_assert!(*count <= limit);
                if admit && give_back && cost > 0 {
                    futures_executor::block_on(store.release(&key, &lim, cost, at)).expect("memory store");
                    *count -= cost;
                    let probe = futures_executor::block_on(store.acquire(&key, &lim, 0, at)).expect("probe");
                    prop_assert_eq!(probe.remaining, limit - *count);
                }
                // the pure decision agrees with the store on the model's count.
                let pure = apply(&lim, Some(*count), 0, at).decision;
                prop_assert_eq!(pure.remaining, limit - *count);
            }
        }
    }
}
