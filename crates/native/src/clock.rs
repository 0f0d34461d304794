//! The clock port on tokio: wall time from the OS, sleeping on tokio's timer.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tollgate_core::platform::{Clock, MaybeSend, Timestamp};

#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + MaybeSend {
        tokio::time::sleep(duration)
    }
}
