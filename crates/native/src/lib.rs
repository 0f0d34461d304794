//! Port implementations shared by the two tokio runtimes, the local server and
//! the Lambda adapter: the hyper upstream client, the tokio clock, deferred
//! work as spawned tasks, and a `NativePlatform` bundling them with the
//! in-memory stores from the core (or, for the key-value and limiter stores,
//! whatever the runtime brings: Lambda's are on DynamoDB).

mod answer_memory;
mod clock;
mod upstream;

pub use answer_memory::AnswerMemory;
pub use clock::TokioClock;
pub use upstream::HyperUpstream;

use std::future::Future;
use tollgate_core::platform::memory::{MemoryAnalytics, MemoryCache, MemoryKv, MemoryLimiter};
use tollgate_core::platform::{Deferrer, KeyValueStore, LimiterStore, MaybeSend, Platform, Runtime, UpstreamClient};

/// Deferred work runs as a tokio task after the response is returned.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpawnDeferrer;

impl Deferrer for SpawnDeferrer {
    fn defer(&self, work: impl Future<Output = ()> + MaybeSend + 'static) {
        tokio::spawn(work);
    }
}

/// The ports of a tokio runtime: real HTTP and time, state in memory except
/// for the key-value and limiter stores and the upstream client, which the
/// runtime may choose (Lambda: DynamoDB, and an upstream client that also
/// invokes functions).
pub struct NativePlatform<K = MemoryKv, L = MemoryLimiter, U = HyperUpstream> {
    pub runtime: Runtime,
    pub upstream: U,
    pub clock: TokioClock,
    pub limiter: L,
    pub kv: K,
    pub cache: MemoryCache,
    pub analytics: MemoryAnalytics,
    pub deferrer: SpawnDeferrer,
}

impl NativePlatform {
    pub fn new(runtime: Runtime) -> Self {
        Self::with_kv(runtime, MemoryKv::default())
    }
}

impl<K> NativePlatform<K> {
    /// The ports with the given key-value store (limits in memory).
    pub fn with_kv(runtime: Runtime, kv: K) -> Self {
        Self::with_stores(runtime, kv, MemoryLimiter::default())
    }
}

impl<K, L> NativePlatform<K, L> {
    /// The ports with the given key-value and limiter stores.
    pub fn with_stores(runtime: Runtime, kv: K, limiter: L) -> Self {
        Self::with_upstream(runtime, kv, limiter, HyperUpstream::new())
    }
}

impl<K, L, U> NativePlatform<K, L, U> {
    /// The ports with the given stores and upstream client.
    pub fn with_upstream(runtime: Runtime, kv: K, limiter: L, upstream: U) -> Self {
        NativePlatform {
            runtime,
            upstream,
            clock: TokioClock,
            limiter,
            kv,
            cache: MemoryCache::default(),
            analytics: MemoryAnalytics::default(),
            deferrer: SpawnDeferrer,
        }
    }
}

impl<K: KeyValueStore, L: LimiterStore, U: UpstreamClient> Platform for NativePlatform<K, L, U> {
    type Upstream = U;
    type Clock = TokioClock;
    type Limiter = L;
    type Kv = K;
    type Cache = MemoryCache;
    type Analytics = MemoryAnalytics;
    type Defer = SpawnDeferrer;

    fn runtime(&self) -> Runtime {
        self.runtime
    }
    fn upstream(&self) -> &U {
        &self.upstream
    }
    fn clock(&self) -> &TokioClock {
        &self.clock
    }
    fn limiter(&self) -> &L {
        &self.limiter
    }
    fn kv(&self) -> &K {
        &self.kv
    }
    fn cache(&self) -> &MemoryCache {
        &self.cache
    }
    fn analytics(&self) -> &MemoryAnalytics {
        &self.analytics
    }
    fn defer(&self) -> &SpawnDeferrer {
        &self.deferrer
    }
}
