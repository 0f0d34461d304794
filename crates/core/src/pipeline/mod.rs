//! The request pipeline: the order of the stages, and nothing else. Normalise
//! the path and check the sizes → admin endpoints → match a route → CORS
//! preflight → security policy and authentication → rate limits → the
//! aggregation or the upstream. Each stage lives in its feature and returns
//! a `GatewayError` on failure; [`finish`] puts the per-request headers
//! (request id, limits, CORS, Server-Timing) on every answer, errors
//! included, and logs it.

mod proxy;

use crate::compiled::CompiledConfig;
use crate::error::GatewayError;
use crate::platform::{Clock, Platform};
use crate::request::{ClientInfo, RequestCtx};
use crate::routing::Match;
use crate::state::GatewayState;
use crate::time::Timestamp;
use crate::transform::headers;
use crate::{aggregate, auth, client_ip, cors, ids, ratelimit, uri};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};

const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");
const SERVER_TIMING: http::HeaderName = http::HeaderName::from_static("server-timing");
const RATELIMIT_POLICY: http::HeaderName = http::HeaderName::from_static("ratelimit-policy");
const RATELIMIT: http::HeaderName = http::HeaderName::from_static("ratelimit");

fn server_timing(total_us: u64, upstream_us: Option<u64>) -> HeaderValue {
    let ms = |us: u64| format!("{}.{:03}", us / 1000, us % 1000);
    let text = match upstream_us {
        Some(u) => format!("gateway;dur={}, upstream;dur={}", ms(total_us), ms(u)),
        None => format!("gateway;dur={}", ms(total_us)),
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("gateway"))
}

/// Microseconds from `since` to now on the platform's clock.
fn micros_since<P: Platform>(platform: &P, since: Timestamp) -> u64 {
    platform.clock().now().since(since).as_micros().try_into().unwrap_or(u64::MAX)
}

/// The context before any stage ran: the request id (the client's when it is
/// sane) and the CORS origin to answer.
fn context<'a>(
    config: &CompiledConfig,
    method: &'a Method,
    headers: &'a HeaderMap,
    raw_path: &'a str,
    query: Option<&'a str>,
    client: &'a ClientInfo,
    started: Timestamp,
) -> RequestCtx<'a> {
    let incoming_id = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| ids::is_sane_request_id(v));
    let allowed_origin = match (&config.cors, headers.get(header::ORIGIN)) {
        (Some(cors), Some(origin)) => cors.allow_origin(origin),
        _ => None,
    };
    RequestCtx {
        method,
        headers,
        raw_path,
        query,
        client,
        request_id: incoming_id.map_or_else(ids::new_request_id, str::to_owned),
        started,
        client_ip: client_ip::ClientIp::Unknown(client_ip::Unknown::NoPeer),
        client_ip_mode: config.client_ip.mode,
        v6_prefix: config.client_ip.v6_prefix,
        path: String::new(),
        route: None,
        params: Vec::new(),
        identity: None,
        allowed_origin,
        upstream_micros: None,
        limit_headers: Default::default(),
    }
}

/// Handles one request end to end. Never panics on client or upstream
/// input; every failure is answered as problem+json.
pub(crate) async fn handle<P: Platform>(
    config: &CompiledConfig,
    state: &GatewayState,
    platform: &P,
    request: Request<Bytes>,
    client: ClientInfo,
) -> Response<Bytes> {
    let started = platform.clock().now();
    let (parts, body) = request.into_parts();
    let mut ctx = context(config, &parts.method, &parts.headers, parts.uri.path(), parts.uri.query(), &client, started);
    let response = match route_request(config, state, platform, &mut ctx, body).await {
        Ok(resp) => resp,
        Err(err) => {
            tracing::debug!(request_id = %ctx.request_id, error = ?err, "request refused");
            err.to_response(&ctx.request_id)
        }
    };
    finish(config, platform, response, &ctx)
}

/// An answer the adapter must give before the core sees the request (a body
/// over the limit while reading it, a request it cannot convert), with the
/// same headers as any other gateway answer (request id, CORS, Server-Timing
/// from `started`), logged like any other request.
pub(crate) fn reject<P: Platform>(
    config: &CompiledConfig,
    platform: &P,
    started: Timestamp,
    error: GatewayError,
    request_headers: &HeaderMap,
) -> Response<Bytes> {
    let method = Method::from_bytes(b"-").unwrap_or_default();
    let client = ClientInfo::default();
    let ctx = context(config, &method, request_headers, "-", None, &client, started);
    tracing::debug!(request_id = %ctx.request_id, error = ?error, "request refused by the adapter");
    let resp = error.to_response(&ctx.request_id);
    finish(config, platform, resp, &ctx)
}

async fn route_request<P: Platform>(
    config: &CompiledConfig,
    state: &GatewayState,
    platform: &P,
    ctx: &mut RequestCtx<'_>,
    body: Bytes,
) -> Result<Response<Bytes>, GatewayError> {
    ctx.path = uri::normalize::normalize(ctx.raw_path).map_err(|e| GatewayError::BadRequest(e.describe().into()))?;
    if headers::block_size(ctx.headers) > config.max_header_bytes {
        return Err(GatewayError::HeadersTooLarge { limit: config.max_header_bytes });
    }
    let declared = crate::body::declared_length(ctx.headers);
    if declared.is_some_and(|n| n > config.max_body_bytes) || body.len() as u64 > config.max_body_bytes {
        return Err(GatewayError::PayloadTooLarge { limit: config.max_body_bytes });
    }
    let ip = &config.client_ip;
    ctx.client_ip = client_ip::resolve(ctx.headers, ctx.client.peer_ip, ip.mode, ip.trusted_hops);
    if let client_ip::ClientIp::Unknown(why) = ctx.client_ip {
        tracing::info!(request_id = %ctx.request_id, reason = why.describe(), "no trusted client address: IP rules deny, IP limits count it as `ip:unknown`");
    }
    if ctx.path == "/_gateway" || ctx.path.starts_with("/_gateway/") {
        return crate::admin::answer(config, state, platform, ctx, &body).await;
    }
    let preflight = cors::is_preflight(ctx.method, ctx.headers);
    let (route_idx, params) = match config.table.lookup(&config.routes, &ctx.path, ctx.method) {
        Match::Found { route, params } => (route, params),
        Match::MethodNotAllowed(allow) => {
            if let (Some(policy), true) = (&config.cors, preflight) {
                return Ok(cors::preflight(policy, ctx.allowed_origin.as_ref()));
            }
            return Err(GatewayError::MethodNotAllowed { allow });
        }
        Match::NotFound => return Err(GatewayError::NotFound),
    };
    ctx.route = Some(route_idx);
    ctx.params = params;
    let route = config.routes.get(route_idx).ok_or(GatewayError::Internal)?;
    if let (Some(policy), true) = (&config.cors, preflight)
        && !route.methods.as_ref().is_some_and(|m| m.contains(&Method::OPTIONS))
    {
        return Ok(cors::preflight(policy, ctx.allowed_origin.as_ref()));
    }
    auth::check_request(&config.auth, &state.auth, platform, &route.policy, ctx).await?;
    ratelimit::enforce(&config.plans, &state.limits, platform, route.rate_limit.as_ref(), ctx).await?;
    if let Some(aggregate) = &route.aggregate {
        let backends = aggregate::Backends {
            upstreams: &config.upstreams,
            states: &state.upstreams,
            edits: &route.edits,
            forward_credentials: route.policy.forward_credentials,
            max_upstream_body: config.bounds.max_upstream_body,
        };
        let started = platform.clock().now();
        let result = aggregate.run(platform, ctx, &backends).await;
        ctx.upstream_micros = Some(micros_since(platform, started));
        return result;
    }
    proxy::forward(config, state, platform, route, ctx, body).await
}

/// Puts the per-request headers on the answer and logs the request.
fn finish<P: Platform>(
    config: &CompiledConfig,
    platform: &P,
    mut resp: Response<Bytes>,
    ctx: &RequestCtx<'_>,
) -> Response<Bytes> {
    let total_us = micros_since(platform, ctx.started);
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
    if let Some(policy) = &config.cors
        && (resp.status() != StatusCode::NO_CONTENT
            || resp.headers().get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none())
    {
        cors::decorate(policy, ctx.allowed_origin.as_ref(), resp.headers_mut());
    }
    let route = ctx.route.and_then(|r| config.routes.get(r)).map(|r| r.id.as_str());
    tracing::info!(
        target: "tollgate::access",
        request_id = %ctx.request_id,
        method = %ctx.method,
        path = %ctx.raw_path,
        route = route.unwrap_or("-"),
        status = resp.status().as_u16(),
        duration_us = total_us,
        upstream_us = ctx.upstream_micros,
        "request"
    );
    resp
}
