//! Resource bounds from `limits`: the upstream answer cap every adapter
//! applies while reading (the core marks each upstream request with it), and
//! the local server's connection cap and deadlines (header, body, send),
//! which only `tollgate serve` enforces. Zero values are config errors.

use crate::config::{ConfigDuration, Parsed, Problems};
use crate::platform::DEFAULT_MAX_UPSTREAM_BODY;
use std::time::Duration;

/// How long a client may take to send its request head (default).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send the whole body after the head
/// (default; like nginx's `client_body_timeout`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a write to the client may make no progress (default; like
/// nginx's `send_timeout`).
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of answers the local server holds for its clients at once (default).
pub const DEFAULT_MAX_RESPONSE_MEMORY: u64 = 1 << 30;

/// What the local server bounds per connection (other runtimes: the platform does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open client connections at most; `None`: the server sizes it from
    /// its file-descriptor limit.
    pub max_connections: Option<u64>,
    /// Deadline for the request head (`limits.header_timeout`, default 10s).
    pub header_timeout: Duration,
    /// Deadline for the whole request body after the head (`limits.body_timeout`,
    /// default 60s); past it, 408.
    pub body_timeout: Duration,
    /// A write to the client that makes no progress this long ends the connection
    /// (`limits.send_timeout`, default 60s).
    pub send_timeout: Duration,
    /// Bytes of answer bodies held for clients at once (written, or waiting
    /// for a slow reader); an answer that would pass it is replaced by a 503.
    pub max_response_memory: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub max_upstream_body: u64,
    pub server: ServerLimits,
}

pub(crate) fn compile(parsed: &Parsed, problems: &mut Problems) -> Bounds {
    let limits = &parsed.config.limits;
    let mut at_least_one = |field: &str, value: Option<u64>| {
        if value == Some(0) {
            problems.push(parsed.loc(&["limits", field]), format!("limits.{field} must be at least 1"));
        }
    };
    at_least_one("max_connections", limits.max_connections);
    at_least_one("max_upstream_body", limits.max_upstream_body);
    at_least_one("max_response_memory", limits.max_response_memory);
    let mut duration = |field: &str, value: Option<ConfigDuration>, default: Duration| match value {
        Some(ConfigDuration(d)) if d.is_zero() => {
            problems.push(parsed.loc(&["limits", field]), format!("limits.{field} must be longer than 0"));
            default
        }
        Some(ConfigDuration(d)) => d,
        None => default,
    };
    let server = ServerLimits {
        max_connections: limits.max_connections,
        header_timeout: duration("header_timeout", limits.header_timeout, DEFAULT_HEADER_TIMEOUT),
        body_timeout: duration("body_timeout", limits.body_timeout, DEFAULT_BODY_TIMEOUT),
        send_timeout: duration("send_timeout", limits.send_timeout, DEFAULT_SEND_TIMEOUT),
        max_response_memory: limits.max_response_memory.unwrap_or(DEFAULT_MAX_RESPONSE_MEMORY),
    };
    Bounds { max_upstream_body: limits.max_upstream_body.unwrap_or(DEFAULT_MAX_UPSTREAM_BODY), server }
}
