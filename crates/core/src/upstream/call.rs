//! Calling an upstream: choose a target (balancing, breakers), send under
//! the try's deadline, record the outcome, and retry — on another target when
//! one is eligible — while the policy, the method, the budget and the call's
//! deadline allow. The client gets the last try's answer.

use super::Upstream;
use super::retry;
use super::state::{Pick, UpstreamState, Verdict};
use crate::error::GatewayError;
use crate::ids;
use crate::platform::{Clock, Platform, UpstreamClient, UpstreamError};
use crate::time::Timestamp;
use bytes::Bytes;
use futures_util::future::{Either, select};
use http::{Request, Response};
use std::pin::pin;
use std::time::Duration;

/// Why a call has no answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The last try failed so.
    Upstream(UpstreamError),
    /// No target is eligible (all drained or ejected); seconds until the
    /// earliest re-admission, when one is known.
    NoHealthyTarget { retry_after: Option<u64> },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Upstream(e) => e.fmt(f),
            CallError::NoHealthyTarget { .. } => f.write_str("no healthy target"),
        }
    }
}

/// The path and query to send behind the chosen target's URL, as the
/// request was built (`""` or `?q` for a translated request: the target URL
/// itself). Set by whoever builds the request; read by [`call`].
#[derive(Debug, Clone)]
pub(crate) struct UpstreamPath(pub String);

/// `path_and_query` as an origin-form URI (`/` in front when it has no
/// path), or `None` when it cannot be one.
pub(crate) fn origin_form(path_and_query: &str) -> Option<http::Uri> {
    if path_and_query.starts_with('/') {
        path_and_query.parse().ok()
    } else {
        format!("/{path_and_query}").parse().ok()
    }
}

/// Sends `request`, giving up after `timeout`.
async fn send_within<P: Platform>(
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

/// The answer to the client when the call failed.
pub(crate) fn refusal(error: &CallError) -> GatewayError {
    match error {
        CallError::Upstream(UpstreamError::Timeout) => GatewayError::UpstreamTimeout,
        CallError::Upstream(UpstreamError::Connect(_)) => GatewayError::UpstreamUnreachable,
        CallError::Upstream(UpstreamError::Protocol(_)) => GatewayError::UpstreamBadResponse,
        CallError::Upstream(UpstreamError::Overloaded) => GatewayError::Overloaded { retry_after: 1 },
        CallError::NoHealthyTarget { retry_after } => GatewayError::NoHealthyTarget { retry_after: *retry_after },
    }
}

/// Ends a try when dropped, even mid-flight: the in-flight count goes down,
/// and a probe that got no outcome frees its slot.
struct Try<'a> {
    upstream: &'a Upstream,
    state: &'a UpstreamState,
    pick: Pick,
    verdict: Option<Verdict>,
    now: Timestamp,
}

impl Drop for Try<'_> {
    fn drop(&mut self) {
        self.state.finish(self.upstream, &self.pick, self.verdict, self.now);
    }
}

fn verdict(outcome: &Result<Response<Bytes>, UpstreamError>) -> Verdict {
    match outcome {
        Ok(resp) if resp.status().is_server_error() => Verdict::Failure,
        Ok(_) => Verdict::Success,
        Err(UpstreamError::Overloaded) => Verdict::Neutral,
        Err(_) => Verdict::Failure,
    }
}

/// One request through `upstream`: `request` carries an origin-form URI
/// (path and query); each try gets the chosen target's absolute URI. The
/// whole call ends within `deadline`.
pub(crate) async fn call<P: Platform>(
    platform: &P,
    upstream: &Upstream,
    state: &UpstreamState,
    request: Request<Bytes>,
    deadline: Duration,
) -> Result<Response<Bytes>, CallError> {
    let started = platform.clock().now();
    super::discovery::refresh(platform, upstream, state, started).await;
    state.note_request(started);
    let (mut parts, body) = request.into_parts();
    let path_and_query = match parts.extensions.remove::<UpstreamPath>() {
        Some(UpstreamPath(p)) => p,
        None => parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned(),
    };
    let retry = upstream.retry.as_ref().filter(|_| retry::replayable(&parts.method, &parts.headers));
    let mut tried: Vec<usize> = Vec::new();
    let mut last: Option<Result<Response<Bytes>, UpstreamError>> = None;
    let mut parts = Some(parts);
    loop {
        let now = platform.clock().now();
        let pick = match state.pick(upstream, now, &tried, ids::random_u64()) {
            Ok(pick) => pick,
            Err(readmit) => {
                return match last {
                    Some(outcome) => outcome.map_err(CallError::Upstream),
                    None => Err(CallError::NoHealthyTarget {
                        retry_after: readmit.map(|t| t.since(now).as_secs_f64().ceil().max(1.0) as u64),
                    }),
                };
            }
        };
        tried.push(pick.index);
        let remaining = deadline.saturating_sub(now.since(started));
        let try_timeout = retry.and_then(|r| r.per_try_timeout).map_or(remaining, |t| t.min(remaining));
        // The last possible try takes the parts; earlier ones copy them.
        let more_possible = retry.is_some_and(|r| (tried.len() as u32) <= r.attempts);
        let head = if more_possible { parts.as_ref().map(clone_parts) } else { parts.take() };
        let Some(mut head) = head else {
            // Unreachable: only the last possible try takes the parts.
            return Err(CallError::Upstream(UpstreamError::Connect("request already sent".into())));
        };
        let target = pick.targets.get(pick.index);
        head.uri = target
            .ok_or_else(|| "no such target".to_owned())
            .and_then(|t| t.uri(&path_and_query))
            .map_err(|e| CallError::Upstream(UpstreamError::Connect(format!("target URI: {e}"))))?;
        let mut guard = Try { upstream, state, pick, verdict: None, now };
        let outcome = send_within(platform, Request::from_parts(head, body.clone()), try_timeout).await;
        let ended = platform.clock().now();
        guard.verdict = Some(verdict(&outcome));
        guard.now = ended;
        drop(guard);
        let again = retry.is_some_and(|policy| {
            let status = outcome.as_ref().map(|r| r.status().as_u16());
            (tried.len() as u32) <= policy.attempts
                && retry::wanted(policy, status)
                && deadline.saturating_sub(ended.since(started)) > Duration::ZERO
                && state.take_retry(ended)
        });
        if !again {
            return outcome.map_err(CallError::Upstream);
        }
        if let Some(policy) = retry {
            let wait = retry::backoff(policy, tried.len() as u32, ids::random_u64());
            let left = deadline.saturating_sub(ended.since(started));
            if wait >= left {
                return outcome.map_err(CallError::Upstream);
            }
            if !wait.is_zero() {
                platform.clock().sleep(wait).await;
            }
        }
        tracing::debug!(upstream = %upstream.name, try = tried.len(), "retrying on another target");
        last = Some(outcome);
    }
}

fn clone_parts(parts: &http::request::Parts) -> http::request::Parts {
    let mut req = Request::new(());
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    req.into_parts().0
}
