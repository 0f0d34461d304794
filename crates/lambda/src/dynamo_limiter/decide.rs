//! Decisions on what DynamoDB returned: the live value of an item, the next
//! step after a failed condition, the decision after an applied update —
//! each [`limit::apply`] on the value the write met. Pure: no I/O.

use super::ops::{EXPIRY, Item, Refund, Shape};
use crate::dynamo_kv::VALUE;
use aws_sdk_dynamodb::types::AttributeValue;
use tollgate_core::limit::{self, Decision, Limit, Stored};
use tollgate_core::platform::Timestamp;

fn number(item: &Item, name: &str) -> Result<Option<u64>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(text)) => {
            text.trim().parse::<u64>().map(Some).map_err(|_| format!("`{name}` is not a whole number: {text:?}"))
        }
        Some(_) => Err(format!("`{name}` is not a number")),
    }
}

/// The live value of `item` at `now` with its expiry; `None` for a missing
/// item or an expired value (a key never seen).
pub fn live_value(limit: &Limit, item: Option<&Item>, now: Timestamp) -> Result<Option<Stored>, String> {
    let Some(item) = item else { return Ok(None) };
    let value = number(item, VALUE)?;
    Ok(match limit {
        Limit::Count { .. } => match (value, number(item, EXPIRY)?) {
            (Some(value), Some(exp)) if exp > now.0 => Some(Stored { value, expires_at: Timestamp(exp) }),
            _ => None,
        },
        Limit::Rate { .. } => {
            value.filter(|&tat| tat > now.0).map(|tat| Stored { value: tat, expires_at: Timestamp(tat) })
        }
    })
}

/// What an acquire does next after its condition failed on `old`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// `apply` on the item as it was does not admit: the answer.
    Deny(Decision),
    /// It admits: the shape that fits the item as it was.
    Retry(Shape),
}

/// Maps the item a failed condition saw (`ALL_OLD`) to the next step.
pub fn after_conflict(limit: &Limit, cost: u64, now: Timestamp, old: Option<&Item>) -> Result<Next, String> {
    let stored = live_value(limit, old, now)?;
    let applied = limit::apply(limit, stored.map(|s| s.value), cost, now);
    Ok(if !applied.decision.admitted {
        Next::Deny(applied.decision)
    } else if stored.is_some() {
        Next::Retry(Shape::Live)
    } else {
        Next::Retry(Shape::Fresh)
    })
}

/// What a release does next after its condition failed on `old`: `None`
/// when there is nothing (more) to give back.
pub fn refund_after_conflict(
    limit: &Limit,
    cost: u64,
    now: Timestamp,
    old: Option<&Item>,
) -> Result<Option<Refund>, String> {
    let Some(stored) = live_value(limit, old, now)? else { return Ok(None) };
    Ok(match *limit {
        Limit::Count { window_end, .. } if now >= window_end => None,
        Limit::Count { .. } => Some(if stored.value >= cost { Refund::GiveBack } else { Refund::Reset }),
        Limit::Rate { .. } => Some(match limit::refund(limit, Some(stored.value), cost, now) {
            Some(_) => Refund::GiveBack,
            None => Refund::Reset,
        }),
    })
}

/// The decision for an update in `shape` that succeeded; `old` is what
/// `UPDATED_OLD` returned (the value it was applied to), and the expiry it
/// wrote.
pub fn after_update(
    limit: &Limit,
    cost: u64,
    now: Timestamp,
    shape: Shape,
    old: Option<&Item>,
) -> Result<(Decision, Option<Timestamp>), String> {
    let stored = match shape {
        Shape::Fresh => None,
        Shape::Live => {
            let value = old.map(|item| number(item, VALUE)).transpose()?.flatten();
            Some(value.ok_or_else(|| format!("the update returned no old `{VALUE}`"))?)
        }
    };
    let applied = limit::apply(limit, stored, cost, now);
    Ok((applied.decision, applied.write.map(|w| w.expires_at)))
}
