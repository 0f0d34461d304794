//! Response cache port (in-memory LRU, Workers Cache API).

use super::{MaybeSend, StoreError, Timestamp};
use bytes::Bytes;
use std::future::Future;

/// A stored response: status, headers and body, with its freshness deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub fresh_until: Timestamp,
    pub stale_until: Timestamp,
}

pub trait ResponseCache {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<CachedResponse>, StoreError>> + MaybeSend;
    fn put(&self, key: &str, response: CachedResponse) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;
    /// Removes every entry whose key starts with `prefix`; the count when the
    /// platform can tell it.
    fn purge_prefix(&self, prefix: &str) -> impl Future<Output = Result<Option<u64>, StoreError>> + MaybeSend;
}
