//! One call through the upstream port under a deadline (the port's own
//! timeout is a hint; the deadline here holds on every runtime), and what a
//! failed call means for the client.

use crate::error::GatewayError;
use crate::platform::{Clock, Platform, UpstreamClient, UpstreamError};
use bytes::Bytes;
use futures_util::future::{Either, select};
use http::{Request, Response};
use std::pin::pin;
use std::time::Duration;

/// Sends `request`, giving up after `timeout`.
pub(crate) async fn send_within<P: Platform>(
    platform: &P,
    request: Request<Bytes>,
    timeout: Duration,
) -> Result<Response<Bytes>, UpstreamError> {
    let call = pin!(platform.upstream().send(request, timeout));
    let deadline = pin!(platform.clock().sleep(timeout));
    match select(call, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(UpstreamError::Timeout),
    }
}

/// The answer to the client when the upstream call failed.
pub(crate) fn refusal(error: &UpstreamError) -> GatewayError {
    match error {
        UpstreamError::Timeout => GatewayError::UpstreamTimeout,
        UpstreamError::Connect(_) => GatewayError::UpstreamUnreachable,
        UpstreamError::Protocol(_) => GatewayError::UpstreamBadResponse,
        UpstreamError::Overloaded => GatewayError::Overloaded { retry_after: 1 },
    }
}
