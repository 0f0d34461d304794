//! Key-value store port: consumers issued at run time, dynamic upstream
//! targets, usage rollups (memory, Workers KV, DynamoDB).

use super::{MaybeSend, StoreError, Timestamp};
use bytes::Bytes;
use std::future::Future;

pub trait KeyValueStore {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend;
    /// Stores `value`; with `expires_at`, reads after that time see nothing.
    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
}
