//! The request pipeline: normalise path → admin endpoints → limits → match
//! route → CORS preflight → forward → response. Each stage returns a
//! `GatewayError` on failure; `finish` puts the per-request headers (request
//! id, CORS, Server-Timing) on every answer, errors included, and records it.

mod admin;
mod approx;
mod cors;
pub(crate) mod forward;
mod headers;
pub mod ids;
pub(crate) mod limit;

pub use limit::PlanUsage;
pub mod normalize;

use crate::Gateway;
use crate::auth;
use crate::client_ip;
use crate::compile::route::Match;
use crate::error::GatewayError;
use crate::platform::{AnalyticsSink, Clock, Platform, RequestRecord, Timestamp, UpstreamClient, UpstreamError};
use bytes::Bytes;
use futures_util::future::{Either, select};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use std::net::IpAddr;
use std::pin::pin;

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");
const SERVER_TIMING: http::HeaderName = http::HeaderName::from_static("server-timing");
const RATELIMIT_POLICY: http::HeaderName = http::HeaderName::from_static("ratelimit-policy");
const RATELIMIT: http::HeaderName = http::HeaderName::from_static("ratelimit");

/// What the adapter knows about the client's connection.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The address the platform reports (socket peer, `CF-Connecting-IP`,
    /// Lambda `sourceIp`).
    pub peer_ip: Option<IpAddr>,
    /// Whether the client reached the gateway over TLS.
    pub https: bool,
    /// The host the client addressed, when the request carries no `Host`
    /// header (HTTP/2, some platform events).
    pub host: Option<HeaderValue>,
}

/// Per-request state carried through the stages.
struct Ctx {
    request_id: String,
    started: Timestamp,
    allowed_origin: Option<HeaderValue>,
    route: Option<usize>,
    consumer: Option<String>,
    upstream_micros: Option<u64>,
    limit_headers: limit::LimitHeaders,
}

fn only_get(method: &Method) -> Result<(), GatewayError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(GatewayError::MethodNotAllowed { allow: HeaderValue::from_static("GET, HEAD") })
    }
}

fn json_response(body: &serde_json::Value) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::from(body.to_string()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn server_timing(total_us: u64, upstream_us: Option<u64>) -> HeaderValue {
    let ms = |us: u64| format!("{}.{:03}", us / 1000, us % 1000);
    let text = match upstream_us {
        Some(u) => format!("gateway;dur={}, upstream;dur={}", ms(total_us), ms(u)),
        None => format!("gateway;dur={}", ms(total_us)),
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("gateway"))
}

impl Gateway {
    /// The per-request state before any stage ran: the request id (the
    /// client's when it is sane) and the CORS origin to answer.
    fn context(&self, headers: &http::HeaderMap, started: Timestamp) -> Ctx {
        let incoming_id =
            headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| ids::is_sane_request_id(v));
        let allowed_origin = match (&self.cors, headers.get(header::ORIGIN)) {
            (Some(cors), Some(origin)) => cors.allow_origin(origin),
            _ => None,
        };
        Ctx {
            request_id: incoming_id.map_or_else(ids::new_request_id, str::to_owned),
            started,
            allowed_origin,
            route: None,
            consumer: None,
            upstream_micros: None,
            limit_headers: Default::default(),
        }
    }

    /// Handles one request end to end. Never panics on client or upstream
    /// input; every failure is answered as problem+json.
    pub async fn handle<P: Platform>(
        &self,
        platform: &P,
        request: Request<Bytes>,
        client: ClientInfo,
    ) -> Response<Bytes> {
        let started = platform.clock().now();
        let mut ctx = self.context(request.headers(), started);
        let method = request.method().clone();
        let path_for_log = request.uri().path().to_owned();
        let response = match self.route_request(platform, request, &client, &mut ctx).await {
            Ok(resp) => resp,
            Err(err) => {
                tracing::debug!(request_id = %ctx.request_id, error = ?err, "request refused");
                err.to_response(&ctx.request_id)
            }
        };
        self.finish(platform, response, &ctx, &method, &path_for_log)
    }

    /// An answer the adapter must give before the core sees the request (a
    /// body over the limit while reading it, a request it cannot convert),
    /// with the same headers as any other gateway answer (request id, CORS,
    /// Server-Timing from `started`), recorded like any other request.
    pub fn reject<P: Platform>(
        &self,
        platform: &P,
        started: Timestamp,
        error: GatewayError,
        request_headers: &http::HeaderMap,
    ) -> Response<Bytes> {
        let ctx = self.context(request_headers, started);
        tracing::debug!(request_id = %ctx.request_id, error = ?error, "request refused by the adapter");
        let resp = error.to_response(&ctx.request_id);
        self.finish(platform, resp, &ctx, &Method::from_bytes(b"-").unwrap_or_default(), "-")
    }

    async fn route_request<P: Platform>(
        &self,
        platform: &P,
        request: Request<Bytes>,
        client: &ClientInfo,
        ctx: &mut Ctx,
    ) -> Result<Response<Bytes>, GatewayError> {
        let (parts, body) = request.into_parts();
        let path = normalize::normalize(parts.uri.path()).map_err(|e| GatewayError::BadRequest(e.describe().into()))?;
        if headers::block_size(&parts.headers) > self.max_header_bytes {
            return Err(GatewayError::HeadersTooLarge { limit: self.max_header_bytes });
        }
        let declared =
            parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) || body.len() as u64 > self.max_body_bytes {
            return Err(GatewayError::PayloadTooLarge { limit: self.max_body_bytes });
        }
        let client_ip = client_ip::resolve(&parts.headers, client.peer_ip, self.client_ip, self.trusted_hops);
        if let client_ip::ClientIp::Unknown(why) = client_ip {
            tracing::info!(request_id = %ctx.request_id, reason = why.describe(), "no trusted client address: IP rules deny, IP limits count it as `ip:unknown`");
        }
        if path == "/_gateway" || path.starts_with("/_gateway/") {
            return self.admin(platform, &parts.method, &path, &parts.headers, client_ip).await;
        }
        let (route_idx, params) = match self.table.lookup(&self.routes, &path, &parts.method) {
            Match::Found { route, params } => (route, params),
            Match::MethodNotAllowed(allow) => {
                if let (Some(cors), true) = (&self.cors, cors::is_preflight(&parts.method, &parts.headers)) {
                    return Ok(cors::preflight(cors, ctx.allowed_origin.as_ref()));
                }
                return Err(GatewayError::MethodNotAllowed { allow });
            }
            Match::NotFound => return Err(GatewayError::NotFound),
        };
        ctx.route = Some(route_idx);
        let route = self.routes.get(route_idx).ok_or(GatewayError::Internal)?;
        if let (Some(cors), true) = (&self.cors, cors::is_preflight(&parts.method, &parts.headers))
            && !route.methods.as_ref().is_some_and(|m| m.contains(&Method::OPTIONS))
        {
            return Ok(cors::preflight(cors, ctx.allowed_origin.as_ref()));
        }
        if let Some(ip_policy) = &route.policy.ip {
            ip_policy.check(client_ip.ip())?;
        }
        let identity = if route.policy.schemes.is_empty() {
            None
        } else {
            let now = platform.clock().now();
            let failures = &self.auth.failures;
            failures.check(&self.limiter, client_ip, self.ipv6_key_prefix, now)?;
            let presented = self.auth.presented(&route.policy.schemes, &parts.headers, parts.uri.query())?;
            // Every presented credential takes a unit of the failed-auth window
            // before it is verified (given back when it verifies).
            let attempt = if presented.is_empty() {
                None
            } else {
                let refs: Vec<&str> = presented.iter().map(String::as_str).collect();
                let digest = auth::failures::credentials_digest(&refs);
                Some(failures.reserve(platform, &self.limiter, client_ip, self.ipv6_key_prefix, digest, now).await?)
            };
            let outcome = self
                .auth
                .authenticate(platform, &route.policy.schemes, &parts.headers, parts.uri.query(), &ctx.request_id)
                .await;
            if let Some(attempt) = attempt {
                failures.settle(platform, &self.limiter, attempt, outcome.is_ok(), now).await;
            }
            let identity = outcome?;
            auth::policy::check_scopes(&route.policy.scopes, &identity)?;
            auth::policy::check_binding(&route.policy.bind, &params, &identity)?;
            ctx.consumer.clone_from(&identity.consumer);
            Some(identity)
        };
        self.enforce_limits(
            platform,
            route,
            limit::Caller {
                identity: identity.as_ref(),
                headers: &parts.headers,
                ip: client_ip,
                v6_prefix: self.ipv6_key_prefix,
            },
            &ctx.request_id,
            &mut ctx.limit_headers,
        )
        .await?;
        if let Some(aggregate) = &route.aggregate {
            let call = crate::aggregate::Call {
                gateway: self,
                route,
                headers: &parts.headers,
                query: parts.uri.query(),
                params: &params,
                identity: identity.as_ref(),
                client,
                client_ip,
                request_id: &ctx.request_id,
            };
            let started = platform.clock().now();
            let result = aggregate.run(platform, call).await;
            ctx.upstream_micros =
                Some(platform.clock().now().since(started).as_micros().try_into().unwrap_or(u64::MAX));
            return result;
        }
        let upstream = route.upstream.and_then(|u| self.upstreams.get(u)).ok_or(GatewayError::Internal)?;
        let incoming_trace = parts.headers.get("traceparent").and_then(|v| v.to_str().ok());
        let (traceparent, continued) = ids::next_traceparent(incoming_trace);
        let mut upstream_req = forward::upstream_request(
            forward::ForwardInput {
                route,
                upstream,
                auth: &self.auth,
                method: &parts.method,
                headers: &parts.headers,
                path: &path,
                query: parts.uri.query(),
                params: &params,
                body,
                client,
                client_ip_mode: self.client_ip,
                client_ip,
                request_id: &ctx.request_id,
                identity: identity.as_ref(),
                identity_headers: &self.identity_headers,
            },
            &traceparent,
            continued,
        )?;
        // The adapter stops reading the answer at this cap (and so does the core).
        let answer_limit = route.answer_limit(self.bounds.max_upstream_body);
        upstream_req.extensions_mut().insert(crate::platform::UpstreamBodyLimit(answer_limit));
        let sent_at = platform.clock().now();
        let call = pin!(platform.upstream().send(upstream_req, route.timeout));
        let deadline = pin!(platform.clock().sleep(route.timeout));
        let outcome = match select(call, deadline).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(UpstreamError::Timeout),
        };
        ctx.upstream_micros = Some(platform.clock().now().since(sent_at).as_micros().try_into().unwrap_or(u64::MAX));
        match outcome {
            Ok(resp) if resp.body().len() as u64 > answer_limit => {
                tracing::warn!(request_id = %ctx.request_id, route = %route.id, upstream = %upstream.name, limit = answer_limit, "upstream answer larger than the cap");
                Err(GatewayError::UpstreamBadResponse)
            }
            Ok(resp) => {
                // A translated route interprets the answer (faults, errors, XML → JSON).
                let resp = match &route.translate {
                    Some(t) => t.response(resp)?,
                    None => resp,
                };
                Ok(forward::client_response(route, &parts.method, resp))
            }
            Err(e) => {
                tracing::warn!(request_id = %ctx.request_id, route = %route.id, upstream = %upstream.name, error = %e, "upstream call failed");
                Err(match e {
                    UpstreamError::Timeout => GatewayError::UpstreamTimeout,
                    UpstreamError::Connect(_) => GatewayError::UpstreamUnreachable,
                    UpstreamError::Protocol(_) => GatewayError::UpstreamBadResponse,
                    UpstreamError::Overloaded => GatewayError::Overloaded { retry_after: 1 },
                })
            }
        }
    }

    async fn admin<P: Platform>(
        &self,
        platform: &P,
        method: &Method,
        path: &str,
        headers: &http::HeaderMap,
        client_ip: client_ip::ClientIp,
    ) -> Result<Response<Bytes>, GatewayError> {
        if path == "/_gateway/health" {
            only_get(method)?;
            let body = serde_json::json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "runtime": platform.runtime().as_str(),
            });
            return Ok(json_response(&body));
        }
        // Without an admin token the admin API does not exist.
        let Some(token) = &self.admin_token else { return Err(GatewayError::NotFound) };
        let now = platform.clock().now();
        let failures = &self.auth.failures;
        failures.check(&self.limiter, client_ip, self.ipv6_key_prefix, now)?;
        // A presented token takes a unit of the failed-auth window before it is compared.
        let attempt = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => {
                let digest = auth::failures::credentials_digest(&[&String::from_utf8_lossy(v.as_bytes())]);
                Some(failures.reserve(platform, &self.limiter, client_ip, self.ipv6_key_prefix, digest, now).await?)
            }
        };
        let checked = admin::check_token(token, headers);
        if let Some(attempt) = attempt {
            failures.settle(platform, &self.limiter, attempt, checked.is_ok(), now).await;
        }
        checked?;
        match path {
            "/_gateway/routes" => {
                only_get(method)?;
                Ok(json_response(&admin::routes(self)))
            }
            _ => Err(GatewayError::NotFound),
        }
    }

    fn finish<P: Platform>(
        &self,
        platform: &P,
        mut resp: Response<Bytes>,
        ctx: &Ctx,
        method: &Method,
        path: &str,
    ) -> Response<Bytes> {
        let total = platform.clock().now().since(ctx.started);
        let total_us = u64::try_from(total.as_micros()).unwrap_or(u64::MAX);
        let headers = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(X_REQUEST_ID, v);
        }
        headers.append(SERVER_TIMING, server_timing(total_us, ctx.upstream_micros));
        if let Some(v) = &ctx.limit_headers.policy {
            headers.insert(RATELIMIT_POLICY, v.clone());
        }
        if let Some(v) = &ctx.limit_headers.state {
            headers.insert(RATELIMIT, v.clone());
        }
        if let Some(cors) = &self.cors
            && (resp.status() != StatusCode::NO_CONTENT
                || resp.headers().get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none())
        {
            cors::decorate(cors, ctx.allowed_origin.as_ref(), resp.headers_mut());
        }
        let route = ctx.route.and_then(|r| self.routes.get(r)).map(|r| r.id.clone());
        let status = resp.status().as_u16();
        tracing::info!(
            target: "tollgate::access",
            request_id = %ctx.request_id,
            method = %method,
            path = %path,
            route = route.as_deref().unwrap_or("-"),
            status,
            duration_us = total_us,
            upstream_us = ctx.upstream_micros,
            "request"
        );
        platform.analytics().record(RequestRecord {
            at: ctx.started,
            request_id: ctx.request_id.clone(),
            route,
            consumer: ctx.consumer.clone(),
            method: method.to_string(),
            status,
            duration_micros: total_us,
            upstream_micros: ctx.upstream_micros,
        });
        resp
    }
}
