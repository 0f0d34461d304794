//! Every failure the gateway answers itself, and the one place where each
//! becomes a status and an RFC 9457 problem+json body.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// A failure answered by the gateway (never by the upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// The request cannot be processed as sent (bad path, bad header value).
    BadRequest(String),
    NotFound,
    MethodNotAllowed {
        allow: HeaderValue,
    },
    PayloadTooLarge {
        limit: u64,
    },
    HeadersTooLarge {
        limit: u64,
    },
    /// The request body did not arrive within the deadline after the head
    /// (local server, `limits.body_timeout`).
    RequestTimeout,
    /// Missing or invalid credentials; `invalid_token` when one was presented.
    /// The body is the same for every cause (the cause is logged).
    Unauthorized {
        invalid_token: bool,
    },
    /// Valid credentials (or none needed), but this caller may not do this.
    Forbidden(&'static str),
    InsufficientScope {
        scope: String,
    },
    /// Too many failed authentications from this client IP.
    TooManyAuthFailures {
        retry_after: u64,
    },
    /// A rate limit or quota is used up; retry in `retry_after` seconds.
    RateLimited {
        retry_after: u64,
    },
    /// The limiter store could not be reached (`on_store_error: closed`).
    LimiterUnavailable {
        retry_after: u64,
    },
    /// The local server holds as many answers for its clients as
    /// `limits.max_response_memory` allows.
    Overloaded {
        retry_after: u64,
    },
    /// A `required` aggregation leg failed: its 4xx passes through, a 5xx is
    /// 502, a timeout 504. The body names the backend.
    BackendFailed {
        backend: String,
        status: u16,
    },
    /// An optional aggregation leg failed under `on_partial: fail`.
    PartialAggregate {
        failed: Vec<String>,
    },
    /// A translated upstream answered a SOAP Fault or GraphQL `errors`: the
    /// fault string / messages, for the client.
    UpstreamFault {
        detail: String,
    },
    /// No connection to the upstream, or it broke before an answer.
    UpstreamUnreachable,
    /// The upstream answered something that is not usable HTTP.
    UpstreamBadResponse,
    UpstreamTimeout,
    /// A bug or an impossible state; details go to the log only.
    Internal,
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            GatewayError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            GatewayError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) | GatewayError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            GatewayError::TooManyAuthFailures { .. } | GatewayError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            GatewayError::LimiterUnavailable { .. } | GatewayError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GatewayError::UpstreamUnreachable | GatewayError::UpstreamBadResponse => StatusCode::BAD_GATEWAY,
            GatewayError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            GatewayError::BackendFailed { status, .. } => match *status {
                400..=499 => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
                504 => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            },
            GatewayError::PartialAggregate { .. } | GatewayError::UpstreamFault { .. } => StatusCode::BAD_GATEWAY,
            GatewayError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last part of the problem `type` URI (documented in docs/problems.md).
    pub fn slug(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "bad-request",
            GatewayError::NotFound => "not-found",
            GatewayError::MethodNotAllowed { .. } => "method-not-allowed",
            GatewayError::PayloadTooLarge { .. } => "payload-too-large",
            GatewayError::HeadersTooLarge { .. } => "headers-too-large",
            GatewayError::RequestTimeout => "request-timeout",
            GatewayError::Unauthorized { .. } => "unauthorized",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::InsufficientScope { .. } => "insufficient-scope",
            GatewayError::TooManyAuthFailures { .. } => "too-many-auth-failures",
            GatewayError::RateLimited { .. } => "rate-limited",
            GatewayError::LimiterUnavailable { .. } => "rate-limit-store-unavailable",
            GatewayError::Overloaded { .. } => "overloaded",
            GatewayError::UpstreamUnreachable => "upstream-unreachable",
            GatewayError::UpstreamBadResponse => "upstream-bad-response",
            GatewayError::UpstreamTimeout => "upstream-timeout",
            GatewayError::BackendFailed { .. } => "backend-failed",
            GatewayError::PartialAggregate { .. } => "aggregate-partial",
            GatewayError::UpstreamFault { .. } => "upstream-fault",
            GatewayError::Internal => "internal",
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "Bad request",
            GatewayError::NotFound => "Not found",
            GatewayError::MethodNotAllowed { .. } => "Method not allowed",
            GatewayError::PayloadTooLarge { .. } => "Request body too large",
            GatewayError::HeadersTooLarge { .. } => "Request headers too large",
            GatewayError::RequestTimeout => "Request timeout",
            GatewayError::Unauthorized { .. } => "Unauthorized",
            GatewayError::Forbidden(_) => "Forbidden",
            GatewayError::InsufficientScope { .. } => "Insufficient scope",
            GatewayError::TooManyAuthFailures { .. } => "Too many failed authentications",
            GatewayError::RateLimited { .. } => "Too many requests",
            GatewayError::LimiterUnavailable { .. } => "Rate limiting unavailable",
            GatewayError::Overloaded { .. } => "Gateway overloaded",
            GatewayError::UpstreamUnreachable => "Upstream unreachable",
            GatewayError::UpstreamBadResponse => "Bad upstream response",
            GatewayError::UpstreamTimeout => "Upstream timed out",
            GatewayError::BackendFailed { .. } => "A required backend failed",
            GatewayError::PartialAggregate { .. } => "Some backends failed",
            GatewayError::UpstreamFault { .. } => "The upstream reported a fault",
            GatewayError::Internal => "Internal error",
        }
    }

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
            GatewayError::UpstreamFault { detail } => detail.clone(),
            GatewayError::Internal => "The gateway failed to handle this request.".into(),
        }
    }

    /// The problem+json response (without the per-request headers the
    /// pipeline adds to every answer: request id, CORS, Server-Timing).
    pub fn to_response(&self, request_id: &str) -> Response<Bytes> {
        let mut body = serde_json::json!({
            "type": format!("https://tollgate.dev/problems/{}", self.slug()),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.detail(),
            "request_id": request_id,
        });
        if let (GatewayError::BackendFailed { backend, .. }, Some(map)) = (self, body.as_object_mut()) {
            map.insert("backend".into(), serde_json::Value::String(backend.clone()));
        }
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
}
