//! The clock port on Workers: wall time from JS `Date.now()` (millisecond
//! resolution; the runtime advances it only across I/O), sleeping on a JS
//! timer. `std::time` panics on wasm32-unknown-unknown, so nothing here uses it.

use std::future::Future;
use std::time::Duration;
use tollgate_core::platform::{Clock, MaybeSend, Timestamp};

/// Longest single timer: JS timers take an i32 of milliseconds.
const MAX_TIMER: Duration = Duration::from_millis(i32::MAX as u64);

#[derive(Debug, Clone, Copy, Default)]
pub struct WorkersClock;

impl Clock for WorkersClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(worker::Date::now().as_millis())
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + MaybeSend {
        // Dropping a `Delay` (the race was won by the other side) clears its timer.
        worker::Delay::from(duration.min(MAX_TIMER))
    }
}
