//! Counter store port: atomic, bounded counters for rate limits, quotas and
//! failed-authentication counting (memory, Durable Objects, DynamoDB).

use super::{MaybeSend, StoreError, Timestamp};
use std::future::Future;

/// Result of one atomic increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterOutcome {
    /// Whether the increment was applied (it would not exceed the limit).
    pub admitted: bool,
    /// The counter's value after the call (unchanged when not admitted).
    pub count: u64,
}

pub trait CounterStore {
    /// Adds `delta` to the counter `key` unless the result would exceed
    /// `limit`, in one atomic step. A counter past `expires_at` counts from zero.
    fn increment(
        &self,
        key: &str,
        delta: u64,
        limit: u64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<CounterOutcome, StoreError>> + MaybeSend;
}
