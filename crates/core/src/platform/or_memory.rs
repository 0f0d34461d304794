//! A state store the platform provides when it is configured (a Workers
//! binding, a DynamoDB table), else the process's memory: one wrapper for
//! every adapter and every store port, so the fallback is written once.

use super::{KeyValueStore, LimiterStore, MaybeSend, StoreError, Timestamp};
use crate::limit::{Decision, Limit};
use bytes::Bytes;
use futures_util::future::Either;
use std::future::Future;

/// The platform's store `S`, or the memory store `M` when `S` is missing.
pub enum OrMemory<S, M> {
    /// The platform's store.
    Store(S),
    /// The fallback in memory (per process / isolate / container).
    Memory(M),
}

impl<S, M> OrMemory<S, M> {
    /// `Some(store)`, else the memory store.
    pub fn new(store: Option<S>, memory: impl FnOnce() -> M) -> Self {
        match store {
            Some(s) => OrMemory::Store(s),
            None => OrMemory::Memory(memory()),
        }
    }

    /// Whether this is the memory fallback.
    pub fn is_memory(&self) -> bool {
        matches!(self, OrMemory::Memory(_))
    }
}

impl<S: std::fmt::Debug, M> std::fmt::Debug for OrMemory<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrMemory::Store(s) => f.debug_tuple("Store").field(s).finish(),
            OrMemory::Memory(_) => f.write_str("Memory"),
        }
    }
}

impl<S: KeyValueStore, M: KeyValueStore> KeyValueStore for OrMemory<S, M> {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        match self {
            OrMemory::Store(s) => Either::Left(s.get(key, now)),
            OrMemory::Memory(m) => Either::Right(m.get(key, now)),
        }
    }

    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        match self {
            OrMemory::Store(s) => Either::Left(s.put(key, value, expires_at)),
            OrMemory::Memory(m) => Either::Right(m.put(key, value, expires_at)),
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        match self {
            OrMemory::Store(s) => Either::Left(s.delete(key)),
            OrMemory::Memory(m) => Either::Right(m.delete(key)),
        }
    }
}

impl<S: LimiterStore, M: LimiterStore> LimiterStore for OrMemory<S, M> {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        match self {
            OrMemory::Store(s) => Either::Left(s.acquire(key, limit, cost, now)),
            OrMemory::Memory(m) => Either::Right(m.acquire(key, limit, cost, now)),
        }
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        match self {
            OrMemory::Store(s) => Either::Left(s.release(key, limit, cost, now)),
            OrMemory::Memory(m) => Either::Right(m.release(key, limit, cost, now)),
        }
    }
}

impl<T: KeyValueStore + ?Sized> KeyValueStore for &T {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        (**self).get(key, now)
    }

    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        (**self).put(key, value, expires_at)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        (**self).delete(key)
    }
}

impl<T: LimiterStore + ?Sized> LimiterStore for &T {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        (**self).acquire(key, limit, cost, now)
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        (**self).release(key, limit, cost, now)
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use super::*;
    use crate::platform::memory::{MemoryKv, MemoryLimiter};
    use futures_executor::block_on;

    #[test]
    fn the_memory_fallback_is_a_whole_store() {
        let kv: OrMemory<MemoryKv, MemoryKv> = OrMemory::new(None, MemoryKv::default);
        assert!(kv.is_memory());
        block_on(kv.put("k", Bytes::from_static(b"v"), None)).expect("put");
        assert_eq!(block_on(kv.get("k", Timestamp(0))).expect("get").as_deref(), Some(&b"v"[..]));
        let shared = MemoryLimiter::default();
        let limiter: OrMemory<MemoryLimiter, &MemoryLimiter> = OrMemory::new(None, || &shared);
        let limit = Limit::Count { limit: 1, window_end: Timestamp(10) };
        assert!(block_on(limiter.acquire("k", &limit, 1, Timestamp(0))).expect("store").admitted);
        assert!(!block_on(shared.acquire("k", &limit, 1, Timestamp(0))).expect("store").admitted, "one count");
    }

    #[test]
    fn the_platform_store_is_used_when_there_is_one() {
        let kv: OrMemory<MemoryKv, MemoryKv> = OrMemory::new(Some(MemoryKv::default()), MemoryKv::default);
        assert!(!kv.is_memory());
        block_on(kv.put("k", Bytes::from_static(b"v"), None)).expect("put");
        let OrMemory::Store(store) = &kv else { unreachable!("a store was given") };
        assert!(block_on(store.get("k", Timestamp(0))).expect("get").is_some());
    }
}
