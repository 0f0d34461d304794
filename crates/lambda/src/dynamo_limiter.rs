//! The limiter port on DynamoDB: rate limits and window counts shared
//! exactly by every container of the function, each check one conditional
//! `UpdateItem` in the common case (never a read followed by a write).
//!
//! Item layout, in the key-value store's table (hash key `pk`):
//!
//! | attribute | type | value |
//! |---|---|---|
//! | `pk`  | S | `rl#` + the port's key |
//! | `v`   | N | a count: the units taken in the window; a rate: the GCRA theoretical arrival time `tat` (µs) |
//! | `exp` | N | when the value stops counting (µs since the epoch): a count's `window_end`; for a rate always equal to `v` |
//! | `ttl` | N | whole epoch seconds at or after `exp` (the table's TTL attribute, so DynamoDB drops old items) |
//!
//! A value is live while `exp > now` (for a rate: `v > now`); an expired or
//! missing item is a key never seen. This is what
//! [`MemoryLimiter`](tollgate_core::platform::memory::MemoryLimiter) keeps, and
//! every decision is [`limit::apply`] on the value the write actually applied
//! to, so the two stores decide alike.
//!
//! **One acquire.** When no state could admit the request (a cost of 0, more
//! than the limit, a window already over) nothing is written: one strongly
//! consistent `GetItem` and `apply` give the decision. Otherwise there are two
//! conditional updates ([`Shape`]), each of which is admitted exactly when
//! `apply` admits:
//!
//! - [`Shape::Fresh`], for a key with no live value: the condition is "no
//!   live value", the update writes what `apply(None)` writes;
//! - [`Shape::Live`], for a key with one: the condition is "live, and room for
//!   `cost`" (count `v ≤ limit − cost`; rate `now < v ≤ now + C − cost·T`), the
//!   update adds `cost` (count) or `cost·T` (rate) to `v` in place; the old
//!   value (`UPDATED_OLD`) gives the decision.
//!
//! The shape is picked from the last state this container saw for the key (a
//! small bounded map). When the condition fails, the item as it was
//! (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) decides: `apply` on it
//! denies — that is the answer, nothing written — or it admits, and the other
//! shape fits: retry, at most [`MAX_ATTEMPTS`] in all. So a check costs one
//! round trip when the guess is right, two when another container changed
//! the key between (e.g. the first requests on a new key), and ends in a
//! [`StoreError`] only if the item keeps flipping between live and not live
//! (releases racing with it).
//!
//! **Release** gives units back the same way: `v` lowered in place while
//! enough is left (`SET v = v − …`), else the bucket is full again (rate:
//! the item is deleted) or the count is 0; nothing live means nothing to give
//! back.
//!
//! `ttl` is `exp` rounded up to the second, except after a rate's in-place
//! update, whose new `tat` DynamoDB computes: there it is `now + C` rounded
//! up (an upper bound of that `tat`); releases only lower `v`.
//!
//! Calls go through the key-value store's client, so the same timeouts bound
//! each of them ([`crate::dynamo_kv::timeouts`]: 1 s, retries included); any
//! SDK error is a [`StoreError`] at once (no further attempts).

use crate::dynamo_kv::{PK, TTL, VALUE};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tollgate_core::limit::{self, Decision, Limit, Rate, Stored};
use tollgate_core::platform::{LimiterStore, MaybeSend, StoreError, Timestamp};

/// Prefix of every limiter item's `pk`.
pub const KEY_PREFIX: &str = "rl#";
/// The exact expiry attribute (µs).
pub const EXPIRY: &str = "exp";
/// Conditional writes one check may make before giving up.
pub const MAX_ATTEMPTS: usize = 4;
/// Keys whose last seen state a container remembers.
const CACHE_CAPACITY: usize = 4096;

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

const COUNT_FRESH_IF: &str = "attribute_not_exists(#v) OR attribute_not_exists(#exp) OR #exp <= :now";
const COUNT_FRESH_SET: &str = "SET #v = :cost, #exp = :end, #ttl = :ttl";
const COUNT_LIVE_IF: &str = "#exp > :now AND #v <= :max";
const COUNT_LIVE_SET: &str = "SET #v = #v + :cost, #exp = :end, #ttl = :ttl";
const RATE_FRESH_IF: &str = "attribute_not_exists(#v) OR #v <= :now";
const RATE_FRESH_SET: &str = "SET #v = :tat, #exp = :tat, #ttl = :ttl";
const RATE_LIVE_IF: &str = "#v > :now AND #v <= :max";
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

/// How a conditional write went.
enum Sent {
    /// Applied; the attributes `UPDATED_OLD` returned.
    Applied(Option<Item>),
    /// The condition failed; the item as it was.
    Conflict(Option<Item>),
}

fn sdk_error(operation: &str, pk: &str, e: impl std::error::Error) -> StoreError {
    StoreError(format!("dynamodb {operation} {pk:?}: {}", DisplayErrorContext(e)))
}

fn item_error(pk: &str, e: String) -> StoreError {
    StoreError(format!("dynamodb limiter item {pk:?}: {e}"))
}

/// The limiter port on one DynamoDB table.
pub struct DynamoLimiter {
    client: Client,
    table: String,
    /// Per `pk`: the expiry of the last live value seen (a hint for the shape).
    seen: Mutex<HashMap<String, Timestamp>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for DynamoLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoLimiter").field("table", &self.table).finish_non_exhaustive()
    }
}

impl DynamoLimiter {
    /// A store on `table` through an existing client (the key-value store's:
    /// build it with [`crate::dynamo_kv::timeouts`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLimiter { client, table: table.into(), seen: Mutex::new(HashMap::new()), calls: AtomicU64::new(0) }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// DynamoDB requests made so far (for tests and metrics).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Timestamp>> {
        // Every critical section is one map operation: poisoning cannot
        // leave it half-written.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn guess(&self, pk: &str, now: Timestamp) -> Shape {
        match self.seen().get(pk) {
            Some(&exp) if exp > now => Shape::Live,
            _ => Shape::Fresh,
        }
    }

    fn remember(&self, pk: &str, expires_at: Option<Timestamp>, now: Timestamp) {
        let mut seen = self.seen();
        match expires_at.filter(|&exp| exp > now) {
            Some(exp) => {
                if seen.len() >= CACHE_CAPACITY && !seen.contains_key(pk) {
                    seen.retain(|_, exp| *exp > now);
                    if seen.len() >= CACHE_CAPACITY {
                        seen.clear();
                    }
                }
                seen.insert(pk.to_owned(), exp);
            }
            None => {
                seen.remove(pk);
            }
        }
    }

    async fn send(&self, pk: &str, op: &Op) -> Result<Sent, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match op.action {
            Action::Update(update) => {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, AttributeValue::S(pk.to_owned()))
                    .condition_expression(op.condition)
                    .update_expression(update)
                    .set_expression_attribute_names(Some(op.names()))
                    .set_expression_attribute_values(Some(op.attribute_values()))
                    .return_values(ReturnValue::UpdatedOld)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .send()
                    .await;
                match result {
                    Ok(output) => Ok(Sent::Applied(output.attributes)),
                    Err(SdkError::ServiceError(e)) => match e.into_err() {
                        UpdateItemError::ConditionalCheckFailedException(failed) => Ok(Sent::Conflict(failed.item)),
                        other => Err(sdk_error("UpdateItem", pk, other)),
                    },
                    Err(e) => Err(sdk_error("UpdateItem", pk, e)),
                }
            }
            Action::Delete => {
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .key(PK, AttributeValue::S(pk.to_owned()))
                    .condition_expression(op.condition)
                    .set_expression_attribute_names(Some(op.names()))
                    .set_expression_attribute_values(Some(op.attribute_values()))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Sent::Applied(None)),
                    Err(SdkError::ServiceError(e)) => match e.into_err() {
                        DeleteItemError::ConditionalCheckFailedException(failed) => Ok(Sent::Conflict(failed.item)),
                        other => Err(sdk_error("DeleteItem", pk, other)),
                    },
                    Err(e) => Err(sdk_error("DeleteItem", pk, e)),
                }
            }
        }
    }

    /// A decision no write can change: on the item as it is.
    async fn decide_on_read(&self, pk: &str, limit: &Limit, cost: u64, now: Timestamp) -> Result<Decision, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", pk, e))?;
        let stored = live_value(limit, output.item(), now).map_err(|e| item_error(pk, e))?;
        self.remember(pk, stored.map(|s| s.expires_at), now);
        Ok(limit::apply(limit, stored.map(|s| s.value), cost, now).decision)
    }

    async fn acquire_at(&self, key: &str, limit: Limit, cost: u64, now: Timestamp) -> Result<Decision, StoreError> {
        let pk = item_key(key);
        let mut shape = self.guess(&pk, now);
        for _ in 0..MAX_ATTEMPTS {
            let Some(op) = acquire_op(&limit, cost, now, shape) else {
                return self.decide_on_read(&pk, &limit, cost, now).await;
            };
            match self.send(&pk, &op).await? {
                Sent::Applied(old) => {
                    let (decision, exp) =
                        after_update(&limit, cost, now, shape, old.as_ref()).map_err(|e| item_error(&pk, e))?;
                    self.remember(&pk, exp, now);
                    return Ok(decision);
                }
                Sent::Conflict(old) => {
                    let stored = live_value(&limit, old.as_ref(), now).map_err(|e| item_error(&pk, e))?;
                    self.remember(&pk, stored.map(|s| s.expires_at), now);
                    match after_conflict(&limit, cost, now, old.as_ref()).map_err(|e| item_error(&pk, e))? {
                        Next::Deny(decision) => return Ok(decision),
                        Next::Retry(next) => shape = next,
                    }
                }
            }
        }
        Err(StoreError(format!(
            "dynamodb limiter item {pk:?}: still changing after {MAX_ATTEMPTS} conditional updates"
        )))
    }

    async fn release_at(&self, key: &str, limit: Limit, cost: u64, now: Timestamp) -> Result<(), StoreError> {
        let pk = item_key(key);
        let mut refund = Refund::GiveBack;
        for _ in 0..MAX_ATTEMPTS {
            let Some(op) = release_op(&limit, cost, now, refund) else { return Ok(()) };
            match self.send(&pk, &op).await? {
                Sent::Applied(_) => {
                    if op.action == Action::Delete {
                        self.remember(&pk, None, now);
                    }
                    return Ok(());
                }
                Sent::Conflict(old) => {
                    match refund_after_conflict(&limit, cost, now, old.as_ref()).map_err(|e| item_error(&pk, e))? {
                        None => return Ok(()),
                        Some(next) => refund = next,
                    }
                }
            }
        }
        Err(StoreError(format!("dynamodb limiter item {pk:?}: still changing after {MAX_ATTEMPTS} conditional writes")))
    }
}

impl LimiterStore for DynamoLimiter {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        self.acquire_at(key, *limit, cost, now)
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.release_at(key, *limit, cost, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            live_value(&count, Some(&live), NOW),
            Ok(Some(Stored { value: 3, expires_at: Timestamp(NOW.0 + 1) }))
        );
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
        assert_eq!(
            refund_after_conflict(&count, 2, NOW, Some(&item(Some(2), Some(end.0)))),
            Ok(Some(Refund::GiveBack))
        );
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
}
