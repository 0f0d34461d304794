//! Clock port: wall time and sleeping. The core never reads `std::time` (it
//! panics on wasm32); all time flows through here so tests can use a manual clock.

use super::MaybeSend;
use crate::time::Timestamp;
use std::future::Future;
use std::time::Duration;

/// Wall time and sleeping, from the platform.
pub trait Clock {
    /// The current wall time.
    fn now(&self) -> Timestamp;
    /// A future that completes `duration` from now.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + MaybeSend;
}
