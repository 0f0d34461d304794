//! Key-value store port: consumers issued at run time, dynamic upstream
//! targets, usage rollups (memory, Workers KV, DynamoDB).

use super::{MaybeSend, StoreError, Timestamp};
use bytes::Bytes;
use std::future::Future;

/// Byte values by string key, each with an optional expiry.
pub trait KeyValueStore {
    /// The value at `key`; `None` when there is none or it has expired at `now`.
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend;
    /// Stores `value`; with `expires_at`, reads after that time see nothing.
    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
    /// Removes `key` and its value, if any.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
}
