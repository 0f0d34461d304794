//! The conditional writes of the limiter protocol: for an acquire in a
//! [`Shape`] or a release as a [`Refund`], the condition and update
//! expressions and the values they bind ([`Op`]). Pure: no I/O.

use crate::dynamo_kv::{TTL, VALUE};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::Duration;
use tollgate_core::limit::{self, Limit, Rate};
use tollgate_core::platform::Timestamp;

/// Prefix of every limiter item's `pk`.
pub const KEY_PREFIX: &str = "rl#";
/// The exact expiry attribute (µs).
pub const EXPIRY: &str = "exp";
/// Conditional writes one check may make before giving up.
pub const MAX_ATTEMPTS: usize = 4;
/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// The `pk` of the item holding `key`.
pub fn item_key(key: &str) -> String {
    let mut pk = String::with_capacity(KEY_PREFIX.len() + key.len());
    pk.push_str(KEY_PREFIX);
    pk.push_str(key);
    pk
}

/// Whole seconds at or after `micros`.
pub fn ttl_secs(micros: u64) -> u64 {
    micros.div_ceil(1_000_000)
}

/// The rate a `Limit::Rate` means (as `tollgate_core::limit` reads it).
fn rate_of(limit: u64, period_us: u64) -> Rate {
    Rate { limit: limit.max(1), period: Duration::from_micros(period_us.max(1)) }
}

/// Which conditional update an acquire tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The key has no live value.
    Fresh,
    /// The key has a live value, changed in place.
    Live,
}

/// Which conditional write a release tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refund {
    /// Lower the live value by what was taken.
    GiveBack,
    /// Less is left than was taken: a full bucket (rate: the item deleted) or
    /// a count of 0.
    Reset,
}

/// What a conditional write does besides its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Update(&'static str),
    Delete,
}

/// One conditional write on a limiter item; every `#name` and `:value` it
/// lists appears in its expressions (DynamoDB refuses unused ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub action: Action,
    pub condition: &'static str,
    pub values: Vec<(&'static str, u64)>,
}

impl Op {
    fn update(condition: &'static str, update: &'static str, values: Vec<(&'static str, u64)>) -> Op {
        Op { action: Action::Update(update), condition, values }
    }

    /// The attribute names the expressions use, by placeholder.
    pub fn names(&self) -> HashMap<String, String> {
        let text = match self.action {
            Action::Update(update) => format!("{} {update}", self.condition),
            Action::Delete => self.condition.to_owned(),
        };
        [("#v", VALUE), ("#exp", EXPIRY), ("#ttl", TTL)]
            .into_iter()
            .filter(|(placeholder, _)| text.contains(placeholder))
            .map(|(placeholder, name)| (placeholder.to_owned(), name.to_owned()))
            .collect()
    }

    pub fn attribute_values(&self) -> HashMap<String, AttributeValue> {
        self.values.iter().map(|(name, value)| ((*name).to_owned(), AttributeValue::N(value.to_string()))).collect()
    }
}

/// The acquire conditions (the tests simulate DynamoDB evaluating them).
pub(super) const COUNT_FRESH_IF: &str = "attribute_not_exists(#v) OR attribute_not_exists(#exp) OR #exp <= :now";
const COUNT_FRESH_SET: &str = "SET #v = :cost, #exp = :end, #ttl = :ttl";
pub(super) const COUNT_LIVE_IF: &str = "#exp > :now AND #v <= :max";
const COUNT_LIVE_SET: &str = "SET #v = #v + :cost, #exp = :end, #ttl = :ttl";
pub(super) const RATE_FRESH_IF: &str = "attribute_not_exists(#v) OR #v <= :now";
const RATE_FRESH_SET: &str = "SET #v = :tat, #exp = :tat, #ttl = :ttl";
pub(super) const RATE_LIVE_IF: &str = "#v > :now AND #v <= :max";
// `exp` first: DynamoDB evaluates every right-hand side on the old item, an
// emulator applying the actions in order still gets the same result.
const RATE_LIVE_SET: &str = "SET #exp = #v + :inc, #v = #v + :inc, #ttl = :ttl";
const COUNT_GIVE_BACK_IF: &str = "#exp > :now AND #v >= :cost";
const COUNT_GIVE_BACK_SET: &str = "SET #v = #v - :cost, #exp = :end, #ttl = :ttl";
const COUNT_RESET_IF: &str = "#exp > :now AND #v < :cost";
const COUNT_RESET_SET: &str = "SET #v = :zero, #exp = :end, #ttl = :ttl";
const RATE_GIVE_BACK_IF: &str = "#v > :floor";
const RATE_GIVE_BACK_SET: &str = "SET #exp = #v - :back, #v = #v - :back";
const RATE_RESET_IF: &str = "#v <= :floor";

/// The conditional update for an acquire in `shape`; `None` when no stored
/// value could admit the request (decide on a read, write nothing).
pub fn acquire_op(limit: &Limit, cost: u64, now: Timestamp, shape: Shape) -> Option<Op> {
    let fresh = limit::apply(limit, None, cost, now).write?;
    Some(match (*limit, shape) {
        (Limit::Count { .. }, Shape::Fresh) => Op::update(
            COUNT_FRESH_IF,
            COUNT_FRESH_SET,
            vec![
                (":now", now.0),
                (":cost", fresh.value),
                (":end", fresh.expires_at.0),
                (":ttl", ttl_secs(fresh.expires_at.0)),
            ],
        ),
        (Limit::Count { limit, window_end }, Shape::Live) => Op::update(
            COUNT_LIVE_IF,
            COUNT_LIVE_SET,
            vec![
                (":now", now.0),
                // apply(None) admitted: cost ≤ limit.
                (":max", limit.saturating_sub(cost)),
                (":cost", cost),
                (":end", window_end.0),
                (":ttl", ttl_secs(window_end.0)),
            ],
        ),
        (Limit::Rate { .. }, Shape::Fresh) => Op::update(
            RATE_FRESH_IF,
            RATE_FRESH_SET,
            vec![(":now", now.0), (":tat", fresh.value), (":ttl", ttl_secs(fresh.value))],
        ),
        (Limit::Rate { limit, period_us }, Shape::Live) => {
            let rate = rate_of(limit, period_us);
            // apply(None) admitted, so inc = cost·T ≤ C and now + inc fits a u64.
            let inc = fresh.value.saturating_sub(now.0);
            let max_tat = u64::try_from(u128::from(now.0) + rate.capacity_micros()).unwrap_or(u64::MAX);
            Op::update(
                RATE_LIVE_IF,
                RATE_LIVE_SET,
                vec![
                    (":now", now.0),
                    (":max", max_tat.saturating_sub(inc)),
                    (":inc", inc),
                    (":ttl", ttl_secs(max_tat)),
                ],
            )
        }
    })
}

/// The conditional write for a release; `None` when there can be nothing to
/// give back (cost 0, or a count whose window is over).
pub fn release_op(limit: &Limit, cost: u64, now: Timestamp, refund: Refund) -> Option<Op> {
    if cost == 0 {
        return None;
    }
    Some(match (*limit, refund) {
        (Limit::Count { window_end, .. }, _) if now >= window_end => return None,
        (Limit::Count { window_end, .. }, Refund::GiveBack) => Op::update(
            COUNT_GIVE_BACK_IF,
            COUNT_GIVE_BACK_SET,
            vec![(":now", now.0), (":cost", cost), (":end", window_end.0), (":ttl", ttl_secs(window_end.0))],
        ),
        (Limit::Count { window_end, .. }, Refund::Reset) => Op::update(
            COUNT_RESET_IF,
            COUNT_RESET_SET,
            vec![
                (":now", now.0),
                (":cost", cost),
                (":zero", 0),
                (":end", window_end.0),
                (":ttl", ttl_secs(window_end.0)),
            ],
        ),
        (Limit::Rate { limit, period_us }, refund) => {
            let back = u128::from(cost) * u128::from(rate_of(limit, period_us).emission_interval_micros());
            // Every stored tat is a u64, so clamping keeps both conditions' meaning.
            let floor = u64::try_from(u128::from(now.0) + back).unwrap_or(u64::MAX);
            match refund {
                Refund::GiveBack => Op::update(
                    RATE_GIVE_BACK_IF,
                    RATE_GIVE_BACK_SET,
                    vec![(":floor", floor), (":back", u64::try_from(back).unwrap_or(u64::MAX))],
                ),
                Refund::Reset => {
                    Op { action: Action::Delete, condition: RATE_RESET_IF, values: vec![(":floor", floor)] }
                }
            }
        }
    })
}
