//! The deferred-work port on Workers: `ctx.wait_until`, which keeps the
//! isolate alive for the future after the response has been returned.

use std::future::Future;
use tollgate_core::platform::{Deferrer, MaybeSend};
use worker::Context;

/// Holds the request's `Context` (one per request).
pub struct WaitUntilDeferrer {
    ctx: Context,
}

impl WaitUntilDeferrer {
    pub fn new(ctx: Context) -> Self {
        WaitUntilDeferrer { ctx }
    }
}

impl Deferrer for WaitUntilDeferrer {
    fn defer(&self, work: impl Future<Output = ()> + MaybeSend + 'static) {
        self.ctx.wait_until(work);
    }
}
