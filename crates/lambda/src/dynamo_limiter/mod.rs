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
//!
//! Files: [`ops`] (the conditional writes, pure), [`decide`] (decisions on
//! the items DynamoDB returns, pure), [`store`] (the port: calls and retries).

mod decide;
mod ops;
mod store;

pub use decide::{Next, after_conflict, after_update, live_value, refund_after_conflict};
pub use ops::{
    Action, EXPIRY, Item, KEY_PREFIX, MAX_ATTEMPTS, Op, Refund, Shape, acquire_op, item_key, release_op, ttl_secs,
};
pub use store::DynamoLimiter;

#[cfg(test)]
mod tests;
