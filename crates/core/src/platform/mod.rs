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
mod or_memory;
mod upstream;

pub use crate::time::Timestamp;
pub use clock::Clock;
pub use kv::KeyValueStore;
pub use limiter::LimiterStore;
pub use or_memory::OrMemory;
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

/// What kind of failure a state store had: what a stage decides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The store could not be reached or refused the call (network, a
    /// missing table or binding, throttling): a later try may work.
    Unavailable,
    /// The store did not answer within the deadline.
    Timeout,
    /// The store answered something the gateway cannot read (a corrupt
    /// item, an unexpected answer): trying again will not help.
    Invalid,
    /// A conditional write kept losing to concurrent writers.
    Contention,
}

impl StoreErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Timeout => "timed out",
            StoreErrorKind::Invalid => "invalid answer",
            StoreErrorKind::Contention => "contention",
        }
    }
}

/// Failure of a state store (limiter, key-value): its kind, and the
/// store's own words for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    detail: String,
}

impl StoreError {
    /// A failure of `kind`; `detail` goes to the log, never to a client.
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>) -> Self {
        StoreError { kind, detail: detail.into() }
    }

    /// The store could not be reached or refused the call.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unavailable, detail)
    }

    /// The store answered something the gateway cannot read.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Invalid, detail)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.kind != StoreErrorKind::Invalid
    }

    /// The store's own description.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store {}: {}", self.kind.as_str(), self.detail)
    }
}

impl std::error::Error for StoreError {}

/// Which runtime the gateway runs on (reported by `/_gateway/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// The local server, `tollgate serve` (also the in-memory test platform).
    Local,
    /// Cloudflare Workers.
    Cloudflare,
    /// AWS Lambda.
    Lambda,
}

impl Runtime {
    /// The `runtime` value of `/_gateway/health`: `local`, `cloudflare` or `lambda`.
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
    /// The HTTP client towards upstreams.
    type Upstream: UpstreamClient;
    /// Wall time and sleeping.
    type Clock: Clock;
    /// Counters of rate limits, quotas and failed authentications.
    type Limiter: LimiterStore;
    /// Run-time consumers, dynamic upstream targets, approximate-limit totals.
    type Kv: KeyValueStore;

    /// Which runtime this is.
    fn runtime(&self) -> Runtime;
    /// The upstream port.
    fn upstream(&self) -> &Self::Upstream;
    /// The clock port.
    fn clock(&self) -> &Self::Clock;
    /// The limiter store port.
    fn limiter(&self) -> &Self::Limiter;
    /// The key-value store port.
    fn kv(&self) -> &Self::Kv;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_says_its_kind_and_whether_a_retry_may_help() {
        let down = StoreError::unavailable("connection refused");
        assert_eq!((down.kind(), down.is_retryable()), (StoreErrorKind::Unavailable, true));
        assert_eq!(down.to_string(), "store unavailable: connection refused");
        let bad = StoreError::invalid("item without a count");
        assert_eq!((bad.kind(), bad.is_retryable()), (StoreErrorKind::Invalid, false));
        assert!(StoreError::new(StoreErrorKind::Contention, "x").is_retryable());
    }
}
