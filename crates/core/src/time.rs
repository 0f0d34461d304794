//! Time as the core sees it: microseconds since the Unix epoch, read only
//! through the `Clock` port (`std::time::SystemTime::now` panics on wasm32).

use std::time::Duration;

/// Microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The time `ms` milliseconds after the epoch (saturating).
    pub fn from_millis(ms: u64) -> Self {
        Timestamp(ms.saturating_mul(1000))
    }
    /// Microseconds since the epoch.
    pub fn as_micros(self) -> u64 {
        self.0
    }
    /// Whole milliseconds since the epoch (rounded down).
    pub fn as_millis(self) -> u64 {
        self.0 / 1000
    }
    /// Whole seconds since the epoch (rounded down).
    pub fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Time elapsed since `earlier` (zero when the clock went backwards).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
    /// The time `d` later (saturating).
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)))
    }
}
