//! Limiter store port: one atomic read-decide-write per check, for rate
//! limits, quotas and failed-authentication counting. Each store (memory, a
//! Durable Object per key, a DynamoDB conditional update) keeps one `u64` per
//! key with an expiry and must make exactly the decision
//! [`crate::limit::apply`] makes on it; a denial writes nothing.

use super::{MaybeSend, StoreError, Timestamp};
use crate::limit::{Decision, Limit};
use std::future::Future;

/// Atomic per-key counters for rate limits, quotas and the
/// failed-authentication limit (see the module docs).
pub trait LimiterStore {
    /// Takes `cost` units from `key` under `limit` if they are there, in one
    /// atomic step, and reports what is left.
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend;

    /// Gives back `cost` units an `acquire` took (the request was denied by
    /// another policy, so it must consume nothing).
    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
}
