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
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(m) => write!(f, "connect failed: {m}"),
            UpstreamError::Timeout => write!(f, "timed out"),
            UpstreamError::Protocol(m) => write!(f, "bad upstream response: {m}"),
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

/// An HTTP client towards backends. The request URI is absolute; see
/// [`UpstreamTarget`] for requests that go elsewhere.
pub trait UpstreamClient {
    fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend;
}
