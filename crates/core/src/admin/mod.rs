//! The admin API under `/_gateway/` (spec §5): `health` (public), and the
//! endpoints behind `admin.token` — a bearer token compared in constant time
//! under the failed-authentication limit. Without a token configured, only
//! `health` exists.

mod upstreams;

use crate::compiled::CompiledConfig;
use crate::error::GatewayError;
use crate::platform::{Clock, Platform};
use crate::request::RequestCtx;
use crate::state::GatewayState;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Compares the presented bearer token with the configured one in constant
/// time (both hashed first, so that their lengths do not leak either).
fn check_token(expected: &str, headers: &HeaderMap) -> Result<(), GatewayError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        let presented = headers.contains_key(header::AUTHORIZATION);
        return Err(GatewayError::Unauthorized { invalid_token: presented });
    };
    let presented = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
    });
    let Some(presented) = presented else { return Err(GatewayError::Unauthorized { invalid_token: false }) };
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    if bool::from(a.as_slice().ct_eq(b.as_slice())) {
        Ok(())
    } else {
        Err(GatewayError::Unauthorized { invalid_token: true })
    }
}

/// `GET /_gateway/routes`: the compiled route table.
fn routes(gateway: &CompiledConfig, state: &GatewayState, now: crate::time::Timestamp) -> serde_json::Value {
    let routes: Vec<serde_json::Value> = gateway
        .routes
        .iter()
        .map(|r| {
            let upstream = r.upstream.and_then(|u| gateway.upstreams.get(u));
            let upstream_state = r.upstream.and_then(|u| state.upstreams.get(u));
            serde_json::json!({
                "id": r.id,
                "path": r.pattern,
                "methods": r.methods.as_ref().map(|ms| ms.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
                "upstream": upstream.map(|u| u.name.clone()),
                "targets": upstream.map(|u| u.targets.iter().enumerate().map(|(i, t)| serde_json::json!({
                    "url": format!("{}://{}{}", t.scheme, t.authority, t.base_path),
                    "weight": t.weight,
                    "health": upstream_state.map_or("healthy", |s| s.health(u, i, now)),
                })).collect::<Vec<_>>()),
                "auth": r.policy.schemes.iter().map(|s| match s {
                    crate::auth::Scheme::Jwt(i) => gateway.auth.jwt.get(*i).map(|j| format!("jwt:{}", j.issuer.name)),
                    crate::auth::Scheme::ApiKey(i) => gateway.auth.api_keys.get(*i).map(|k| format!("api_key:{}", k.name)),
                }).collect::<Vec<_>>(),
                "scopes": r.policy.scopes,
            })
        })
        .collect();
    serde_json::json!({ "routes": routes })
}

pub(super) fn only_get(method: &Method) -> Result<(), GatewayError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(GatewayError::MethodNotAllowed { allow: HeaderValue::from_static("GET, HEAD") })
    }
}

pub(super) fn json_response(body: &serde_json::Value) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::from(body.to_string()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Answers a request under `/_gateway` (`ctx.path`).
pub(crate) async fn answer<P: Platform>(
    config: &CompiledConfig,
    state: &GatewayState,
    platform: &P,
    ctx: &RequestCtx<'_>,
    body: &Bytes,
) -> Result<Response<Bytes>, GatewayError> {
    if ctx.path == "/_gateway/health" {
        only_get(ctx.method)?;
        let body = serde_json::json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "runtime": platform.runtime().as_str(),
        });
        return Ok(json_response(&body));
    }
    // Without an admin token the admin API does not exist.
    let Some(token) = &config.admin_token else { return Err(GatewayError::NotFound) };
    let presented = ctx.headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    crate::auth::guard(&config.auth, &state.auth, platform, ctx, presented, || check_token(token, ctx.headers)).await?;
    match ctx.path.as_str() {
        "/_gateway/routes" => {
            only_get(ctx.method)?;
            Ok(json_response(&routes(config, state, platform.clock().now())))
        }
        path => match path.strip_prefix("/_gateway/upstreams/") {
            Some(rest) => upstreams::answer(config, state, platform, ctx, rest, body).await,
            None => Err(GatewayError::NotFound),
        },
    }
}
