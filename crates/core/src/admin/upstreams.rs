//! The admin API's upstream endpoints (spec §5): `GET
//! /_gateway/upstreams/{name}` (targets, weights, health, policies, and the
//! run-time version as an `ETag`), and `PUT` / `DELETE …/targets` to replace
//! an upstream's targets at run time or go back to the config's (see
//! `upstream::discovery`). `If-Match` makes a replacement conditional.

use super::{json_response, only_get};
use crate::compiled::CompiledConfig;
use crate::error::GatewayError;
use crate::platform::{Clock, Platform};
use crate::request::RequestCtx;
use crate::state::GatewayState;
use crate::upstream::{MAX_TARGETS, ReplaceError, TargetsBody, UpstreamState, replace, validate};
use bytes::Bytes;
use http::{HeaderValue, Method, Response, header};

/// Answers `/_gateway/upstreams/{rest}`.
pub(super) async fn answer<P: Platform>(
    config: &CompiledConfig,
    state: &GatewayState,
    platform: &P,
    ctx: &RequestCtx<'_>,
    rest: &str,
    body: &Bytes,
) -> Result<Response<Bytes>, GatewayError> {
    let (name, targets) = match rest.strip_suffix("/targets") {
        Some(name) => (name, true),
        None => (rest, false),
    };
    let index = config.upstreams.iter().position(|u| u.name == name).ok_or(GatewayError::NotFound)?;
    let (Some(upstream), Some(live)) = (config.upstreams.get(index), state.upstreams.get(index)) else {
        return Err(GatewayError::NotFound);
    };
    let method = ctx.method;
    if !targets || *method == Method::GET || *method == Method::HEAD {
        if targets {
            only_get_put_delete(method)?;
        } else {
            only_get(method)?;
        }
        crate::upstream::refresh(platform, upstream, live, platform.clock().now()).await;
        return Ok(view(config, state, index, platform.clock().now()));
    }
    only_get_put_delete(method)?;
    if upstream.special.is_some() {
        return Err(GatewayError::BadRequest(format!(
            "Upstream `{name}` is a binding or a Lambda function: it has no targets to replace."
        )));
    }
    let if_match =
        match ctx.headers.get(header::IF_MATCH) {
            None => None,
            Some(v) => Some(parse_etag(v).ok_or_else(|| {
                GatewayError::BadRequest("If-Match must be the version as an ETag, e.g. \"3\".".into())
            })?),
        };
    let list = if *method == Method::PUT {
        let parsed: TargetsBody = serde_json::from_slice(body).map_err(|e| {
            GatewayError::BadRequest(format!(
                "The body must be {{\"targets\": [{{\"url\": \"…\", \"weight\": 1}}]}} (at most {MAX_TARGETS}): {e}."
            ))
        })?;
        validate(&parsed.targets).map_err(|problems| GatewayError::BadRequest(format!("{}.", problems.join("; "))))?;
        Some(parsed.targets)
    } else {
        None
    };
    match replace(platform, upstream, live, list, if_match).await {
        Ok(_) => Ok(view(config, state, index, platform.clock().now())),
        Err(ReplaceError::Conflict { current }) => Err(GatewayError::PreconditionFailed { current }),
        Err(ReplaceError::Store(e)) => {
            tracing::warn!(upstream = %name, error = %e, "run-time targets not written");
            Err(GatewayError::StoreUnavailable { retry_after: 1 })
        }
    }
}

fn only_get_put_delete(method: &Method) -> Result<(), GatewayError> {
    match *method {
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE => Ok(()),
        _ => Err(GatewayError::MethodNotAllowed { allow: HeaderValue::from_static("DELETE, GET, HEAD, PUT") }),
    }
}

/// `"3"`, `W/"3"` or `3` → 3.
fn parse_etag(value: &HeaderValue) -> Option<u64> {
    let text = value.to_str().ok()?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().ok()
}

/// The upstream as this instance sees it: its targets (run-time ones when
/// set), their weights and health, the policies; the version as an `ETag`.
fn view(config: &CompiledConfig, state: &GatewayState, index: usize, now: crate::time::Timestamp) -> Response<Bytes> {
    let Some(u) = config.upstreams.get(index) else { return json_response(&serde_json::Value::Null) };
    let live = state.upstreams.get(index);
    let (targets, version) = live.map_or_else(|| (u.targets.clone().into(), 0), |s| s.targets(u));
    let balance = match u.balance {
        crate::config::Balance::RoundRobin => "round_robin",
        crate::config::Balance::WeightedRoundRobin => "weighted_round_robin",
        crate::config::Balance::Random => "random",
        crate::config::Balance::LeastInflight => "least_inflight",
    };
    let body = serde_json::json!({
        "name": u.name,
        "version": version,
        "source": if live.is_some_and(UpstreamState::is_run_time) { "run-time" } else { "config" },
        "balance": balance,
        "timeout_ms": u64::try_from(u.timeout.as_millis()).unwrap_or(u64::MAX),
        "targets": targets.iter().enumerate().map(|(i, t)| serde_json::json!({
            "url": format!("{}://{}{}", t.scheme, t.authority, t.base_path),
            "weight": t.weight,
            "health": live.map_or("healthy", |s| s.health(u, i, now)),
        })).collect::<Vec<_>>(),
        "retries": u.retry.as_ref().map(|r| serde_json::json!({
            "attempts": r.attempts,
            "backoff_ms": u64::try_from(r.backoff.as_millis()).unwrap_or(u64::MAX),
        })),
        "circuit_breaker": u.breaker.as_ref().map(|b| serde_json::json!({
            "failures": b.failures,
            "open_for_ms": u64::try_from(b.open_for.as_millis()).unwrap_or(u64::MAX),
            "max_ejected_percent": b.max_ejected_percent,
        })),
    });
    let mut resp = json_response(&body);
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    resp
}
