//! Ports: the small traits through which the core reaches the outside world.
//!
//! Every adapter (local server, Workers, Lambda) implements these; the core is
//! generic over them and never names a platform. Futures returned by the ports
//! are `Send` on native targets (tokio) and need not be on wasm (Workers is
//! single-threaded and its JS handles are `!Send`): see [`MaybeSend`].

mod clock;
pub(crate) mod hash;
mod kv;
mod limiter;
pub mod memory;
mod upstream;

pub use crate::time::Timestamp;
pub use clock::Clock;
pub use kv::KeyValueStore;
pub use limiter::LimiterStore;
pub use upstream::{DEFAULT_MAX_UPSTREAM_BODY, UpstreamBodyLimit, UpstreamClient, UpstreamError, UpstreamTarget};

/// `Send` on native targets, nothing on wasm: futures from the ports carry it.
#[cfg(not(target_family = "wasm"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_family = "wasm"))]
impl<T: Send + ?Sized> MaybeSend for T {}

/// `Send` on native targets, nothing on wasm: futures from the ports carry it.
#[cfg(target_family = "wasm")]
pub trait MaybeSend {}
#[cfg(target_family = "wasm")]
impl<T: ?Sized> MaybeSend for T {}

/// Failure of a state store (counter, key-value, cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Which runtime the gateway runs on (reported by `/_gateway/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Local,
    Cloudflare,
    Lambda,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Local => "local",
            Runtime::Cloudflare => "cloudflare",
            Runtime::Lambda => "lambda",
        }
    }
}

/// Everything the core needs from one platform, bundled.
pub trait Platform {
    type Upstream: UpstreamClient;
    type Clock: Clock;
    type Limiter: LimiterStore;
    type Kv: KeyValueStore;

    fn runtime(&self) -> Runtime;
    fn upstream(&self) -> &Self::Upstream;
    fn clock(&self) -> &Self::Clock;
    fn limiter(&self) -> &Self::Limiter;
    fn kv(&self) -> &Self::Kv;
}
