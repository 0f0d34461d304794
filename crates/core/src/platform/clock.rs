//! Clock port: wall time and sleeping. The core never reads `std::time` (it
//! panics on wasm32); all time flows through here so tests can use a manual clock.

use super::MaybeSend;
use std::future::Future;
use std::time::Duration;

/// Microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_millis(ms: u64) -> Self {
        Timestamp(ms.saturating_mul(1000))
    }
    pub fn as_micros(self) -> u64 {
        self.0
    }
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    pub fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Time elapsed since `earlier` (zero when the clock went backwards).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)))
    }
}

pub trait Clock {
    fn now(&self) -> Timestamp;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + MaybeSend;
}
