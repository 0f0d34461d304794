//! Every failure the gateway answers itself, and the one place where each
//! becomes a status and an RFC 9457 problem+json body.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// A failure answered by the gateway (never by the upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The request cannot be processed as sent (bad path, bad header value).
    BadRequest(String),
    /// 404: no route matches the path, or no such admin endpoint (all but
    /// `health` without `admin.token`).
    NotFound,
    /// 405: a route matches the path but not the method.
    MethodNotAllowed {
        /// The `Allow` header: the methods the path accepts.
        allow: HeaderValue,
    },
    /// 413: the request body is larger than `limits.max_body_bytes`.
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// 431: the request header block is larger than `limits.max_header_bytes`.
    HeadersTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The request body did not arrive within the deadline after the head
    /// (local server, `limits.body_timeout`).
    RequestTimeout,
    /// Missing or invalid credentials; `invalid_token` when one was presented.
    /// The body is the same for every cause (the cause is logged).
    Unauthorized {
        /// Whether a credential was presented: the challenge then carries
        /// `error="invalid_token"`.
        invalid_token: bool,
    },
    /// Valid credentials (or none needed), but this caller may not do this.
    Forbidden(&'static str),
    /// 403: the token lacks a scope the route requires; the challenge carries
    /// `error="insufficient_scope"`.
    InsufficientScope {
        /// The route's required scopes, space-separated.
        scope: String,
    },
    /// Too many failed authentications from this client IP.
    TooManyAuthFailures {
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// A rate limit or quota is used up; retry in `retry_after` seconds.
    RateLimited {
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// The limiter store could not be reached (`on_store_error: closed`).
    LimiterUnavailable {
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// The local server holds as many answers for its clients as
    /// `limits.max_response_memory` allows.
    Overloaded {
        /// `Retry-After`, in seconds.
        retry_after: u64,
    },
    /// A `required` aggregation leg failed: its 4xx passes through, a 5xx is
    /// 502, a timeout 504. The body names the backend.
    BackendFailed {
        /// The leg's `name`.
        backend: String,
        /// Status of the leg's failure: the backend's own non-2xx status, 504 for a
        /// timeout, or one the gateway chose (400, 502, 503).
        status: u16,
    },
    /// An optional aggregation leg failed under `on_partial: fail`.
    PartialAggregate {
        /// Names of the legs that failed.
        failed: Vec<String>,
    },
    /// A translated upstream answered a SOAP Fault or GraphQL `errors`: the
    /// fault string / messages, for the client.
    UpstreamFault {
        /// The fault string or error messages (cut to 1024 characters).
        detail: String,
    },
    /// No connection to the upstream, or it broke before an answer.
    UpstreamUnreachable,
    /// The upstream answered something that is not usable HTTP.
    UpstreamBadResponse,
    /// 504: the upstream did not answer within the route's timeout.
    UpstreamTimeout,
    /// No target of the upstream is eligible: all drained (weight 0) or
    /// ejected by their circuit breakers; `retry_after` is the seconds until
    /// the earliest re-admission, when one is known.
    NoHealthyTarget {
        /// Seconds until a target may be tried again.
        retry_after: Option<u64>,
    },
    /// `If-Match` named another version of an upstream's run-time targets,
    /// or another writer replaced them first.
    PreconditionFailed {
        /// The version the targets are at.
        current: u64,
    },
    /// A state store the request needed could not be reached.
    StoreUnavailable {
        /// Seconds to wait before trying again.
        retry_after: u64,
    },
    /// The local server holds as many connections as `limits.max_connections`
    /// allows (sent before the connection is closed).
    TooManyConnections,
    /// The config does not load (a Worker answers every request with this;
    /// Lambda exits at init instead); the detail names the problems.
    Misconfigured(String),
    /// A bug or an impossible state; details go to the log only.
    Internal,
}

/// One row of the error table: what a variant answers.
struct Row {
    status: StatusCode,
    /// The last part of the problem `type` URI (documented in docs/problems.md).
    slug: &'static str,
    title: &'static str,
}

const fn row(status: StatusCode, slug: &'static str, title: &'static str) -> Row {
    Row { status, slug, title }
}

/// A failed `required` aggregation leg's status for the client: its 4xx
/// passes through, a timeout is 504, anything else 502.
fn backend_status(status: u16) -> StatusCode {
    match status {
        400..=499 => StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        504 => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl GatewayError {
    /// The error table: each variant's status, problem type and title.
    fn row(&self) -> Row {
        use GatewayError as E;
        use StatusCode as S;
        match self {
            E::BadRequest(_) => row(S::BAD_REQUEST, "bad-request", "Bad request"),
            E::NotFound => row(S::NOT_FOUND, "not-found", "Not found"),
            E::MethodNotAllowed { .. } => row(S::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            E::PayloadTooLarge { .. } => row(S::PAYLOAD_TOO_LARGE, "payload-too-large", "Request body too large"),
            E::HeadersTooLarge { .. } => {
                row(S::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request headers too large")
            }
            E::RequestTimeout => row(S::REQUEST_TIMEOUT, "request-timeout", "Request timeout"),
            E::Unauthorized { .. } => row(S::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            E::Forbidden(_) => row(S::FORBIDDEN, "forbidden", "Forbidden"),
            E::InsufficientScope { .. } => row(S::FORBIDDEN, "insufficient-scope", "Insufficient scope"),
            E::TooManyAuthFailures { .. } => {
                row(S::TOO_MANY_REQUESTS, "too-many-auth-failures", "Too many failed authentications")
            }
            E::RateLimited { .. } => row(S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            E::LimiterUnavailable { .. } => {
                row(S::SERVICE_UNAVAILABLE, "rate-limit-store-unavailable", "Rate limiting unavailable")
            }
            E::Overloaded { .. } => row(S::SERVICE_UNAVAILABLE, "overloaded", "Gateway overloaded"),
            E::TooManyConnections => row(S::SERVICE_UNAVAILABLE, "too-many-connections", "Too many connections"),
            E::NoHealthyTarget { .. } => row(S::SERVICE_UNAVAILABLE, "no-healthy-target", "No healthy target"),
            E::PreconditionFailed { .. } => row(S::PRECONDITION_FAILED, "precondition-failed", "Precondition failed"),
            E::StoreUnavailable { .. } => row(S::SERVICE_UNAVAILABLE, "store-unavailable", "State store unavailable"),
            E::UpstreamUnreachable => row(S::BAD_GATEWAY, "upstream-unreachable", "Upstream unreachable"),
            E::UpstreamBadResponse => row(S::BAD_GATEWAY, "upstream-bad-response", "Bad upstream response"),
            E::UpstreamTimeout => row(S::GATEWAY_TIMEOUT, "upstream-timeout", "Upstream timed out"),
            E::BackendFailed { status, .. } => {
                row(backend_status(*status), "backend-failed", "A required backend failed")
            }
            E::PartialAggregate { .. } => row(S::BAD_GATEWAY, "aggregate-partial", "Some backends failed"),
            E::UpstreamFault { .. } => row(S::BAD_GATEWAY, "upstream-fault", "The upstream reported a fault"),
            E::Misconfigured(_) => row(S::INTERNAL_SERVER_ERROR, "config", "Gateway misconfigured"),
            E::Internal => row(S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.row().status
    }

    /// The last part of the problem `type` URI (documented in docs/problems.md).
    pub fn slug(&self) -> &'static str {
        self.row().slug
    }

    /// The problem's `title`: a fixed phrase per variant.
    pub fn title(&self) -> &'static str {
        self.row().title
    }

    /// The problem's `detail`: what went wrong, for the client.
    pub fn detail(&self) -> String {
        match self {
            GatewayError::BadRequest(d) => d.clone(),
            GatewayError::NotFound => "No route matches this path.".into(),
            GatewayError::MethodNotAllowed { allow } => {
                format!("This route accepts: {}.", allow.to_str().unwrap_or(""))
            }
            GatewayError::PayloadTooLarge { limit } => {
                format!("The request body is larger than {limit} bytes.")
            }
            GatewayError::HeadersTooLarge { limit } => {
                format!("The request headers are larger than {limit} bytes.")
            }
            GatewayError::RequestTimeout => "The request body did not arrive in time.".into(),
            GatewayError::Unauthorized { .. } => "Valid credentials are required.".into(),
            GatewayError::Forbidden(why) => (*why).into(),
            GatewayError::InsufficientScope { scope } => format!("This route requires the scopes: {scope}."),
            GatewayError::TooManyAuthFailures { retry_after } => {
                format!("Too many failed authentications from this address; retry in {retry_after} s.")
            }
            GatewayError::RateLimited { retry_after } => {
                format!("A rate limit or quota of this route is used up; retry in {retry_after} s.")
            }
            GatewayError::LimiterUnavailable { retry_after } => {
                format!("The rate-limit store could not be reached; retry in {retry_after} s.")
            }
            GatewayError::Overloaded { retry_after } => {
                format!("The gateway holds as many answers as it may; retry in {retry_after} s.")
            }
            GatewayError::UpstreamUnreachable => "The upstream service could not be reached.".into(),
            GatewayError::UpstreamBadResponse => "The upstream service sent an invalid response.".into(),
            GatewayError::UpstreamTimeout => "The upstream service did not answer in time.".into(),
            GatewayError::BackendFailed { backend, status } => match *status {
                504 => format!("Backend `{backend}` did not answer in time."),
                400..=499 => format!("Backend `{backend}` answered {status}."),
                _ => format!("Backend `{backend}` failed."),
            },
            GatewayError::PartialAggregate { failed } => format!("These backends failed: {}.", failed.join(", ")),
            GatewayError::UpstreamFault { detail } | GatewayError::Misconfigured(detail) => detail.clone(),
            GatewayError::TooManyConnections => "The gateway is at its connection limit.".into(),
            GatewayError::NoHealthyTarget { retry_after: Some(s) } => {
                format!("Every target of the upstream is out of rotation; retry in {s} s.")
            }
            GatewayError::NoHealthyTarget { retry_after: None } => "Every target of the upstream is drained.".into(),
            GatewayError::PreconditionFailed { current } => {
                format!("The targets are at version {current}; read them again and send If-Match: \"{current}\".")
            }
            GatewayError::StoreUnavailable { retry_after } => {
                format!("The state store could not be reached; retry in {retry_after} s.")
            }
            GatewayError::Internal => "The gateway failed to handle this request.".into(),
        }
    }

    /// The problem+json response (without the per-request headers the
    /// pipeline adds to every answer: request id, CORS, Server-Timing). An
    /// empty `request_id` (an answer given outside any request) is left out.
    pub fn to_response(&self, request_id: &str) -> Response<Bytes> {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), format!("https://tollgate.dev/problems/{}", self.slug()).into());
        body.insert("title".into(), self.title().into());
        body.insert("status".into(), self.status().as_u16().into());
        body.insert("detail".into(), self.detail().into());
        if !request_id.is_empty() {
            body.insert("request_id".into(), request_id.into());
        }
        if let GatewayError::BackendFailed { backend, .. } = self {
            body.insert("backend".into(), backend.as_str().into());
        }
        let body = serde_json::Value::Object(body);
        let mut resp = Response::new(Bytes::from(body.to_string()));
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            GatewayError::MethodNotAllowed { allow } => {
                h.insert(header::ALLOW, allow.clone());
            }
            GatewayError::Unauthorized { invalid_token } => {
                let value = if *invalid_token { "Bearer error=\"invalid_token\"" } else { "Bearer" };
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
            }
            GatewayError::InsufficientScope { scope } => {
                let value = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            GatewayError::TooManyAuthFailures { retry_after }
            | GatewayError::RateLimited { retry_after }
            | GatewayError::LimiterUnavailable { retry_after }
            | GatewayError::Overloaded { retry_after } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            GatewayError::TooManyConnections => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            GatewayError::NoHealthyTarget { retry_after: Some(s) } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*s));
            }
            GatewayError::StoreUnavailable { retry_after } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            GatewayError::PreconditionFailed { current } => {
                if let Ok(tag) = HeaderValue::from_str(&format!("\"{current}\"")) {
                    h.insert(header::ETAG, tag);
                }
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the status of every variant: changing one is a contract change.
    #[test]
    fn each_error_has_its_status() {
        let table = [
            (GatewayError::BadRequest("x".into()), 400),
            (GatewayError::NotFound, 404),
            (GatewayError::MethodNotAllowed { allow: HeaderValue::from_static("GET") }, 405),
            (GatewayError::PayloadTooLarge { limit: 1 }, 413),
            (GatewayError::HeadersTooLarge { limit: 1 }, 431),
            (GatewayError::RequestTimeout, 408),
            (GatewayError::Unauthorized { invalid_token: true }, 401),
            (GatewayError::Forbidden("x"), 403),
            (GatewayError::InsufficientScope { scope: "a".into() }, 403),
            (GatewayError::TooManyAuthFailures { retry_after: 3 }, 429),
            (GatewayError::RateLimited { retry_after: 3 }, 429),
            (GatewayError::LimiterUnavailable { retry_after: 1 }, 503),
            (GatewayError::Overloaded { retry_after: 1 }, 503),
            (GatewayError::UpstreamUnreachable, 502),
            (GatewayError::UpstreamBadResponse, 502),
            (GatewayError::UpstreamTimeout, 504),
            (GatewayError::BackendFailed { backend: "p".into(), status: 404 }, 404),
            (GatewayError::BackendFailed { backend: "p".into(), status: 503 }, 502),
            (GatewayError::BackendFailed { backend: "p".into(), status: 504 }, 504),
            (GatewayError::PartialAggregate { failed: vec!["a".into()] }, 502),
            (GatewayError::UpstreamFault { detail: "Server fault".into() }, 502),
            (GatewayError::TooManyConnections, 503),
            (GatewayError::NoHealthyTarget { retry_after: Some(2) }, 503),
            (GatewayError::NoHealthyTarget { retry_after: None }, 503),
            (GatewayError::PreconditionFailed { current: 3 }, 412),
            (GatewayError::StoreUnavailable { retry_after: 1 }, 503),
            (GatewayError::Misconfigured("x.yaml:1:1: bad".into()), 500),
            (GatewayError::Internal, 500),
        ];
        for (err, status) in table {
            let resp = err.to_response("rid");
            assert_eq!(resp.status().as_u16(), status, "{err:?}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
            let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
            assert_eq!(body["status"], status);
            assert_eq!(body["request_id"], "rid");
            assert!(body["type"].as_str().is_some_and(|t| t.ends_with(err.slug())));
            assert!(body["title"].is_string() && body["detail"].is_string());
        }
    }

    #[test]
    fn every_401_has_the_same_body_and_the_right_challenge() {
        let missing = GatewayError::Unauthorized { invalid_token: false }.to_response("r");
        let invalid = GatewayError::Unauthorized { invalid_token: true }.to_response("r");
        assert_eq!(missing.body(), invalid.body());
        assert_eq!(missing.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(invalid.headers()[header::WWW_AUTHENTICATE], "Bearer error=\"invalid_token\"");
        let limited = GatewayError::TooManyAuthFailures { retry_after: 42 }.to_response("r");
        assert_eq!(limited.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn an_answer_outside_a_request_has_no_request_id() {
        let resp = GatewayError::Misconfigured("gateway.yaml:3:5: unknown key".into()).to_response("");
        let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
        assert!(body.get("request_id").is_none(), "{body}");
        assert_eq!(body["detail"], "gateway.yaml:3:5: unknown key");
        assert_eq!(body["type"], "https://tollgate.dev/problems/config");
        let refused = GatewayError::TooManyConnections.to_response("");
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    }
}
