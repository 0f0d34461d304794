//! The Workers `Platform`: per-request ports (fetch / service-binding upstream, JS clock,
//! `wait_until`, the `TOLLGATE_KV` namespace, the `TOLLGATE_LIMITER` Durable
//! Objects) around the per-isolate stores, which are the fallbacks when a
//! binding is missing. The cache is the core's in-memory one for now (per
//! isolate); the Cache API replaces it in a later issue.

use crate::clock::WorkersClock;
use crate::defer::WaitUntilDeferrer;
use crate::kv::WorkersKv;
use crate::limiter::WorkersLimiter;
use crate::upstream::FetchUpstream;
use tollgate_core::platform::memory::{MemoryAnalytics, MemoryCache, MemoryKv, MemoryLimiter};
use tollgate_core::platform::{Platform, Runtime};
use worker::Context;

/// State shared by every request an isolate serves.
#[derive(Default)]
pub struct Stores {
    pub limiter: MemoryLimiter,
    pub kv: MemoryKv,
    pub cache: MemoryCache,
    pub analytics: MemoryAnalytics,
}

/// Built for each request: it owns that request's `Context`.
pub struct WorkersPlatform<'a> {
    stores: &'a Stores,
    upstream: FetchUpstream,
    clock: WorkersClock,
    kv: WorkersKv<'a>,
    limiter: WorkersLimiter<'a>,
    deferrer: WaitUntilDeferrer,
}

impl<'a> WorkersPlatform<'a> {
    pub fn new(stores: &'a Stores, env: &worker::Env, ctx: Context) -> Self {
        WorkersPlatform {
            stores,
            upstream: FetchUpstream::new(env),
            clock: WorkersClock,
            kv: WorkersKv::new(env, &stores.kv),
            limiter: WorkersLimiter::new(env, &stores.limiter),
            deferrer: WaitUntilDeferrer::new(ctx),
        }
    }
}

impl<'a> Platform for WorkersPlatform<'a> {
    type Upstream = FetchUpstream;
    type Clock = WorkersClock;
    type Limiter = WorkersLimiter<'a>;
    type Kv = WorkersKv<'a>;
    type Cache = MemoryCache;
    type Analytics = MemoryAnalytics;
    type Defer = WaitUntilDeferrer;

    fn runtime(&self) -> Runtime {
        Runtime::Cloudflare
    }
    fn upstream(&self) -> &FetchUpstream {
        &self.upstream
    }
    fn clock(&self) -> &WorkersClock {
        &self.clock
    }
    fn limiter(&self) -> &WorkersLimiter<'a> {
        &self.limiter
    }
    fn kv(&self) -> &WorkersKv<'a> {
        &self.kv
    }
    fn cache(&self) -> &MemoryCache {
        &self.stores.cache
    }
    fn analytics(&self) -> &MemoryAnalytics {
        &self.stores.analytics
    }
    fn defer(&self) -> &WaitUntilDeferrer {
        &self.deferrer
    }
}
