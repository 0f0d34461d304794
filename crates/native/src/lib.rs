//! Port implementations shared by the two tokio runtimes, the local server and
//! the Lambda adapter: the hyper upstream client, the tokio clock, and a
//! `NativePlatform` bundling them with the in-memory stores from the core
//! (or, for the key-value and limiter stores, whatever the runtime brings:
//! Lambda's are on DynamoDB).

mod answer_memory;
mod clock;
mod upstream;

pub use answer_memory::AnswerMemory;
pub use clock::TokioClock;
pub use upstream::HyperUpstream;

use tollgate_core::platform::memory::{MemoryKv, MemoryLimiter};
use tollgate_core::platform::{KeyValueStore, LimiterStore, Platform, Runtime, UpstreamClient};

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
        NativePlatform { runtime, upstream, clock: TokioClock, limiter, kv }
    }
}

impl<K: KeyValueStore, L: LimiterStore, U: UpstreamClient> Platform for NativePlatform<K, L, U> {
    type Upstream = U;
    type Clock = TokioClock;
    type Limiter = L;
    type Kv = K;

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
}
