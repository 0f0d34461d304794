//! The Workers `Platform`: per-request ports (fetch / service-binding
//! upstream, JS clock, the `TOLLGATE_KV` namespace, the `TOLLGATE_LIMITER`
//! Durable Objects) around the per-isolate stores, which are the fallbacks
//! when a binding is missing.

use crate::clock::WorkersClock;
use crate::kv::WorkersKv;
use crate::limiter::WorkersLimiter;
use crate::upstream::FetchUpstream;
use tollgate_core::platform::memory::{MemoryKv, MemoryLimiter};
use tollgate_core::platform::{Platform, Runtime};

/// State shared by every request an isolate serves.
#[derive(Default)]
pub struct Stores {
    pub limiter: MemoryLimiter,
    pub kv: MemoryKv,
}

/// Built for each request: it owns that request's `Context`.
pub struct WorkersPlatform<'a> {
    upstream: FetchUpstream,
    clock: WorkersClock,
    kv: WorkersKv<'a>,
    limiter: WorkersLimiter<'a>,
}

impl<'a> WorkersPlatform<'a> {
    pub fn new(stores: &'a Stores, env: &worker::Env) -> Self {
        WorkersPlatform {
            upstream: FetchUpstream::new(env),
            clock: WorkersClock,
            kv: crate::kv::workers_kv(env, &stores.kv),
            limiter: crate::limiter::workers_limiter(env, &stores.limiter),
        }
    }
}

impl<'a> Platform for WorkersPlatform<'a> {
    type Upstream = FetchUpstream;
    type Clock = WorkersClock;
    type Limiter = WorkersLimiter<'a>;
    type Kv = WorkersKv<'a>;

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
}
