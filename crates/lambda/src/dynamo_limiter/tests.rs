//! Tests of the limiter protocol without DynamoDB: every expression's
//! placeholders, the conditions' boundaries against `limit::apply`, the
//! decisions on returned items, and a simulation of DynamoDB's side over
//! random traces. (tests/dynamo_limiter.rs runs the port against an emulator.)

use super::ops::{COUNT_FRESH_IF, COUNT_LIVE_IF, RATE_FRESH_IF, RATE_LIVE_IF};
use super::*;
use crate::dynamo_kv::{PK, VALUE};
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::Duration;
use tollgate_core::limit::{self, Decision, Limit, Stored};
use tollgate_core::platform::Timestamp;

const S: u64 = 1_000_000;
const NOW: Timestamp = Timestamp(1_790_000_000_250_000);

fn item(v: Option<u64>, exp: Option<u64>) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), AttributeValue::S("rl#k".into()));
    if let Some(v) = v {
        item.insert(VALUE.into(), AttributeValue::N(v.to_string()));
    }
    if let Some(exp) = exp {
        item.insert(EXPIRY.into(), AttributeValue::N(exp.to_string()));
    }
    item
}

fn value(op: &Op, name: &str) -> Option<u64> {
    op.values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A small deterministic generator (xorshift).
struct Gen(u64);
impl Gen {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

fn limits() -> Vec<Limit> {
    vec![
        Limit::Rate { limit: 100, period_us: 3600 * S },
        Limit::Rate { limit: 3, period_us: S },
        Limit::Rate { limit: 1, period_us: 1 },
        Limit::Rate { limit: 0, period_us: 0 },
        Limit::Rate { limit: u64::MAX, period_us: u64::MAX },
        Limit::Count { limit: 7, window_end: NOW.plus(Duration::from_secs(60)) },
        Limit::Count { limit: 1, window_end: Timestamp(NOW.0 + 1) },
        Limit::Count { limit: 5, window_end: NOW },
        Limit::Count { limit: 0, window_end: Timestamp(u64::MAX) },
    ]
}

#[test]
fn keys_are_prefixed_apart_from_key_value_items() {
    assert_eq!(item_key("rate:acme"), "rl#rate:acme");
    assert_ne!(item_key("x"), crate::dynamo_kv::item_key("x"));
}

#[test]
fn ttl_rounds_up_to_the_second() {
    assert_eq!(ttl_secs(0), 0);
    assert_eq!(ttl_secs(1), 1);
    assert_eq!(ttl_secs(S), 1);
    assert_eq!(ttl_secs(S + 1), 2);
    assert_eq!(ttl_secs(u64::MAX), u64::MAX / S + 1);
}

#[test]
fn every_placeholder_is_bound_and_used() {
    let mut ops = Vec::new();
    for limit in limits() {
        for cost in [0, 1, 3, 100, u64::MAX] {
            for shape in [Shape::Fresh, Shape::Live] {
                ops.extend(acquire_op(&limit, cost, NOW, shape));
            }
            for refund in [Refund::GiveBack, Refund::Reset] {
                ops.extend(release_op(&limit, cost, NOW, refund));
            }
        }
    }
    assert!(ops.len() > 20, "{}", ops.len());
    for op in ops {
        let text = match op.action {
            Action::Update(update) => format!("{} {update}", op.condition),
            Action::Delete => op.condition.to_owned(),
        };
        let bound: Vec<&str> = op.values.iter().map(|(n, _)| *n).collect();
        let used: Vec<&str> = text
            .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '#' || c == '_'))
            .filter(|w| w.starts_with(':') || w.starts_with('#'))
            .collect();
        for word in &used {
            if word.starts_with(':') {
                assert!(bound.contains(word), "{word} unbound in {text}");
            } else {
                assert!(op.names().contains_key(*word), "{word} unnamed in {text}");
            }
        }
        for name in bound.iter().copied().chain(op.names().keys().map(String::as_str)) {
            assert!(used.contains(&name), "{name} unused in {text}");
        }
    }
}

#[test]
fn no_write_when_nothing_could_be_admitted() {
    let count = Limit::Count { limit: 5, window_end: NOW.plus(Duration::from_secs(1)) };
    let rate = Limit::Rate { limit: 5, period_us: S };
    for shape in [Shape::Fresh, Shape::Live] {
        for limit in [count, rate] {
            assert_eq!(acquire_op(&limit, 0, NOW, shape), None, "a probe reads");
            assert_eq!(acquire_op(&limit, 6, NOW, shape), None, "more than the limit");
            assert!(acquire_op(&limit, 5, NOW, shape).is_some());
        }
        assert_eq!(acquire_op(&Limit::Count { limit: 5, window_end: NOW }, 1, NOW, shape), None, "window over");
        assert_eq!(acquire_op(&rate, 1, Timestamp(u64::MAX), shape), None, "end of time");
    }
}

/// The boundary of each live condition is exactly where `apply` stops
/// admitting, and the fresh update writes what `apply(None)` writes.
#[test]
fn conditions_match_apply_at_their_boundaries() {
    let mut checked = 0;
    for limit in limits() {
        for cost in [1, 2, 3, 7, 100] {
            for now in [NOW, Timestamp(NOW.0 + 123_457)] {
                let Some(fresh) = acquire_op(&limit, cost, now, Shape::Fresh) else { continue };
                let Some(live) = acquire_op(&limit, cost, now, Shape::Live) else {
                    panic!("fresh without live: {limit:?} {cost}")
                };
                let written = limit::apply(&limit, None, cost, now).write.expect("admitted on a fresh key");
                let max = value(&live, ":max").expect(":max");
                let admits = |stored: u64| limit::apply(&limit, Some(stored), cost, now).decision.admitted;
                match limit {
                    Limit::Count { .. } => {
                        assert_eq!(value(&fresh, ":cost"), Some(written.value));
                        assert_eq!(value(&fresh, ":end"), Some(written.expires_at.0));
                        assert!(admits(max) && admits(0), "{limit:?} {cost}");
                        assert!(!admits(max + 1), "{limit:?} {cost}");
                    }
                    Limit::Rate { .. } => {
                        assert_eq!(value(&fresh, ":tat"), Some(written.value));
                        assert_eq!(written.expires_at.0, written.value);
                        // Live means tat > now: admitted from now + 1 to max (an
                        // empty range when cost = limit: only a full bucket admits).
                        assert!(max >= now.0, "{limit:?} {cost}");
                        if max > now.0 {
                            assert!(admits(now.0 + 1) && admits(max), "{limit:?} {cost}");
                        }
                        assert!(max == u64::MAX || !admits(max + 1), "{limit:?} {cost}");
                        assert!(admits(now.0), "a full bucket admits");
                        // The live update's result: old + inc, within the ttl.
                        let inc = value(&live, ":inc").expect(":inc");
                        let applied = limit::apply(&limit, Some(max), cost, now).write.expect("admitted");
                        assert_eq!(applied.value, max + inc);
                        let secs = |op: &Op| u128::from(value(op, ":ttl").expect(":ttl")) * u128::from(S);
                        assert!(secs(&live) >= u128::from(applied.value));
                        assert!(secs(&fresh) >= u128::from(written.value));
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn live_values() {
    let count = Limit::Count { limit: 5, window_end: NOW.plus(Duration::from_secs(1)) };
    let rate = Limit::Rate { limit: 5, period_us: S };
    assert_eq!(live_value(&count, None, NOW), Ok(None));
    let live = item(Some(3), Some(NOW.0 + 1));
    assert_eq!(live_value(&count, Some(&live), NOW), Ok(Some(Stored { value: 3, expires_at: Timestamp(NOW.0 + 1) })));
    assert_eq!(live_value(&count, Some(&item(Some(3), Some(NOW.0))), NOW), Ok(None), "expired at exp");
    assert_eq!(live_value(&count, Some(&item(Some(3), None)), NOW), Ok(None), "no exp");
    assert_eq!(live_value(&count, Some(&item(None, Some(NOW.0 + 9))), NOW), Ok(None), "no value");
    // A rate's value is its expiry.
    let tat = NOW.0 + 10;
    let busy = item(Some(tat), Some(tat));
    assert_eq!(live_value(&rate, Some(&busy), NOW), Ok(Some(Stored { value: tat, expires_at: Timestamp(tat) })));
    assert_eq!(live_value(&rate, Some(&item(Some(NOW.0), Some(NOW.0))), NOW), Ok(None));
    // Malformed items are errors.
    let mut bad = item(None, None);
    bad.insert(VALUE.into(), AttributeValue::N("1.5".into()));
    assert!(live_value(&rate, Some(&bad), NOW).is_err());
    bad.insert(VALUE.into(), AttributeValue::S("3".into()));
    assert!(live_value(&count, Some(&bad), NOW).is_err());
    let mut bad = item(Some(1), None);
    bad.insert(EXPIRY.into(), AttributeValue::Bool(true));
    assert!(live_value(&count, Some(&bad), NOW).is_err());
}

#[test]
fn conflicts_deny_exactly_as_apply_or_retry_with_the_fitting_shape() {
    let end = NOW.plus(Duration::from_secs(1));
    let count = Limit::Count { limit: 5, window_end: end };
    let full = item(Some(5), Some(end.0));
    assert_eq!(
        after_conflict(&count, 1, NOW, Some(&full)),
        Ok(Next::Deny(limit::apply(&count, Some(5), 1, NOW).decision))
    );
    assert_eq!(after_conflict(&count, 1, NOW, Some(&item(Some(4), Some(end.0)))), Ok(Next::Retry(Shape::Live)));
    assert_eq!(
        after_conflict(&count, 2, NOW, Some(&item(Some(4), Some(end.0)))).map(|n| matches!(n, Next::Deny(_))),
        Ok(true)
    );
    assert_eq!(after_conflict(&count, 5, NOW, Some(&item(Some(5), Some(NOW.0)))), Ok(Next::Retry(Shape::Fresh)));
    assert_eq!(after_conflict(&count, 1, NOW, None), Ok(Next::Retry(Shape::Fresh)));

    let rate = Limit::Rate { limit: 10, period_us: S }; // T = 100 ms, C = 1 s
    let emptied = item(Some(NOW.0 + S), Some(NOW.0 + S));
    let Ok(Next::Deny(denied)) = after_conflict(&rate, 1, NOW, Some(&emptied)) else { panic!("not denied") };
    assert_eq!(denied, limit::apply(&rate, Some(NOW.0 + S), 1, NOW).decision);
    assert_eq!((denied.admitted, denied.remaining, denied.wait), (false, 0, Duration::from_millis(100)));
    let half = item(Some(NOW.0 + S / 2), Some(NOW.0 + S / 2));
    assert_eq!(after_conflict(&rate, 5, NOW, Some(&half)), Ok(Next::Retry(Shape::Live)));
    assert_eq!(after_conflict(&rate, 6, NOW, Some(&half)).map(|n| matches!(n, Next::Deny(_))), Ok(true));
    let idle = item(Some(NOW.0), Some(NOW.0));
    assert_eq!(after_conflict(&rate, 10, NOW, Some(&idle)), Ok(Next::Retry(Shape::Fresh)));
}

#[test]
fn decisions_after_an_update_are_applys_on_the_old_value() {
    let rate = Limit::Rate { limit: 10, period_us: S };
    let old = NOW.0 + 300_000;
    let returned = item(Some(old), Some(old));
    let (decision, exp) = after_update(&rate, 2, NOW, Shape::Live, Some(&returned)).expect("decided");
    let applied = limit::apply(&rate, Some(old), 2, NOW);
    assert_eq!(decision, applied.decision);
    assert_eq!((decision.admitted, decision.remaining), (true, 5));
    assert_eq!(exp, Some(Timestamp(old + 200_000)));
    let (fresh, exp) = after_update(&rate, 2, NOW, Shape::Fresh, None).expect("decided");
    assert_eq!(fresh, limit::apply(&rate, None, 2, NOW).decision);
    assert_eq!(exp, Some(Timestamp(NOW.0 + 200_000)));
    assert!(after_update(&rate, 2, NOW, Shape::Live, None).is_err(), "no old value");
}

#[test]
fn refunds_follow_limit_refund() {
    let rate = Limit::Rate { limit: 10, period_us: S };
    let tat = |us: u64| item(Some(NOW.0 + us), Some(NOW.0 + us));
    assert_eq!(refund_after_conflict(&rate, 1, NOW, None), Ok(None));
    assert_eq!(refund_after_conflict(&rate, 1, NOW, Some(&tat(0))), Ok(None), "full: nothing to give back");
    assert_eq!(refund_after_conflict(&rate, 1, NOW, Some(&tat(100_001))), Ok(Some(Refund::GiveBack)));
    assert_eq!(refund_after_conflict(&rate, 1, NOW, Some(&tat(100_000))), Ok(Some(Refund::Reset)));
    let op = release_op(&rate, 1, NOW, Refund::GiveBack).expect("op");
    assert_eq!((value(&op, ":floor"), value(&op, ":back")), (Some(NOW.0 + 100_000), Some(100_000)));
    let op = release_op(&rate, 1, NOW, Refund::Reset).expect("op");
    assert_eq!(op.action, Action::Delete);

    let end = NOW.plus(Duration::from_secs(1));
    let count = Limit::Count { limit: 5, window_end: end };
    assert_eq!(refund_after_conflict(&count, 2, NOW, Some(&item(Some(2), Some(end.0)))), Ok(Some(Refund::GiveBack)));
    assert_eq!(refund_after_conflict(&count, 2, NOW, Some(&item(Some(1), Some(end.0)))), Ok(Some(Refund::Reset)));
    assert_eq!(refund_after_conflict(&count, 2, NOW, Some(&item(Some(1), Some(NOW.0)))), Ok(None));
    assert_eq!(release_op(&count, 0, NOW, Refund::GiveBack), None);
    assert_eq!(release_op(&Limit::Count { limit: 5, window_end: NOW }, 1, NOW, Refund::GiveBack), None);
    assert_eq!(release_op(&rate, 0, NOW, Refund::GiveBack), None);
}

/// DynamoDB's side of the protocol, simulated on one item: every
/// condition and update as the expressions above state them, over many
/// random traces, decides as `apply` on a map does.
#[test]
fn simulated_protocol_decides_as_apply() {
    fn simulate_acquire(
        limit: &Limit,
        cost: u64,
        now: Timestamp,
        state: &mut Option<(u64, u64)>,
        shape: Shape,
    ) -> Decision {
        let mut shape = shape;
        for _ in 0..MAX_ATTEMPTS {
            let Some(op) = acquire_op(limit, cost, now, shape) else {
                let old = state.map(|(v, e)| item(Some(v), Some(e)));
                let stored = live_value(limit, old.as_ref(), now).expect("item");
                return limit::apply(limit, stored.map(|s| s.value), cost, now).decision;
            };
            let v = |n: &str| value(&op, n).expect("bound");
            let holds = match (op.condition, *state) {
                (COUNT_FRESH_IF, s) => s.is_none_or(|(_, e)| e <= v(":now")),
                (COUNT_LIVE_IF, Some((val, e))) => e > v(":now") && val <= v(":max"),
                (RATE_FRESH_IF, s) => s.is_none_or(|(val, _)| val <= v(":now")),
                (RATE_LIVE_IF, Some((val, _))) => val > v(":now") && val <= v(":max"),
                _ => false,
            };
            let old = state.map(|(val, e)| item(Some(val), Some(e)));
            if !holds {
                match after_conflict(limit, cost, now, old.as_ref()).expect("item") {
                    Next::Deny(d) => return d,
                    Next::Retry(next) => shape = next,
                }
                continue;
            }
            *state = Some(match (op.condition, *state) {
                (COUNT_FRESH_IF, _) => (v(":cost"), v(":end")),
                (COUNT_LIVE_IF, Some((val, _))) => (val + v(":cost"), v(":end")),
                (RATE_FRESH_IF, _) => (v(":tat"), v(":tat")),
                (_, Some((val, _))) => (val + v(":inc"), val + v(":inc")),
                _ => panic!("no state"),
            });
            return after_update(limit, cost, now, shape, old.as_ref()).expect("decided").0;
        }
        panic!("no decision after {MAX_ATTEMPTS} attempts")
    }

    let mut rng = Gen(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let start = NOW.0 + rng.next(S);
        let limit = match round % 2 {
            0 => Limit::Rate { limit: 1 + rng.next(6), period_us: 1 + rng.next(2 * S) },
            _ => Limit::Count { limit: rng.next(8), window_end: Timestamp(start + rng.next(3 * S)) },
        };
        let mut reference: Option<Stored> = None;
        let mut state = None;
        let mut shape = Shape::Fresh;
        let mut now = start;
        for step in 0..40 {
            now += rng.next(S / 3);
            let t = Timestamp(now);
            let cost = rng.next(4);
            let expected = {
                let live = reference.filter(|s| s.expires_at > t).map(|s| s.value);
                let applied = limit::apply(&limit, live, cost, t);
                if applied.write.is_some() {
                    reference = applied.write;
                }
                applied.decision
            };
            let got = simulate_acquire(&limit, cost, t, &mut state, shape);
            assert_eq!(got, expected, "round {round} step {step}: {limit:?} cost {cost} at +{}", now - start);
            // The next guess, right or wrong, must not change decisions.
            shape = if rng.next(2) == 0 { Shape::Fresh } else { Shape::Live };
        }
    }
}
