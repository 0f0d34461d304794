//! Deferred-work port: run a future after the response has been sent
//! (`ctx.wait_until` on Workers, a spawned task on tokio).

use super::MaybeSend;
use std::future::Future;

pub trait Deferrer {
    fn defer(&self, work: impl Future<Output = ()> + MaybeSend + 'static);
}
