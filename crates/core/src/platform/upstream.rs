//! Upstream port: sends one HTTP request to a backend and returns its answer.
//!
//! The core enforces the deadline itself (racing the call against
//! [`super::Clock::sleep`]); the timeout is passed along so that clients which
//! can cancel at the socket level do so.

use super::MaybeSend;
use bytes::Bytes;
use std::future::Future;
use std::time::Duration;

/// Why an upstream call produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect(String),
    /// The deadline passed before the response head and body arrived.
    Timeout,
    /// The connection broke or the answer was not valid HTTP.
    Protocol(String),
    /// The runtime holds as many answer bytes as it may (the local server's
    /// `limits.max_response_memory`): this answer was not read.
    Overloaded,
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(m) => write!(f, "connect failed: {m}"),
            UpstreamError::Timeout => write!(f, "timed out"),
            UpstreamError::Protocol(m) => write!(f, "bad upstream response: {m}"),
            UpstreamError::Overloaded => write!(f, "no answer memory left (limits.max_response_memory)"),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// Where a request goes when it is not plain HTTP: the core puts this in the
/// request's extensions for upstreams declared with `binding` or `lambda`
/// (the URI's authority is then a placeholder). An adapter that cannot reach
/// the kind answers `UpstreamError::Connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamTarget {
    /// A Workers service binding, by binding name.
    Binding(String),
    /// A Lambda function (name or ARN), called with the Invoke API.
    Lambda(String),
}

/// The most answer-body bytes the adapter may read for this request: the
/// core puts it in every upstream request's extensions (the smallest cap that
/// applies: `limits.max_upstream_body`, 8 MiB for an aggregation leg, 4 MiB
/// for a translated answer). An adapter checks `Content-Length` first, then
/// counts while reading, and answers `UpstreamError::Protocol` as soon as the
/// body passes the cap, without reading the rest. Without it, the adapter
/// uses [`DEFAULT_MAX_UPSTREAM_BODY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamBodyLimit(pub u64);

/// `limits.max_upstream_body` when the config names none (16 MiB).
pub const DEFAULT_MAX_UPSTREAM_BODY: u64 = 16 * 1024 * 1024;

impl UpstreamBodyLimit {
    /// The cap of `request` ([`DEFAULT_MAX_UPSTREAM_BODY`] when unmarked).
    pub fn of<B>(request: &http::Request<B>) -> u64 {
        request.extensions().get::<UpstreamBodyLimit>().map_or(DEFAULT_MAX_UPSTREAM_BODY, |l| l.0)
    }
}

/// An HTTP client towards backends. The request URI is absolute; see
/// [`UpstreamTarget`] for requests that go elsewhere.
pub trait UpstreamClient {
    /// Sends `request` and returns the answer with its whole body (at most
    /// [`UpstreamBodyLimit::of`] the request). `timeout` is the call's
    /// deadline; the core enforces it as well.
    fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend;
}
