//! The authentication stage, between route matching and the limits: the
//! route's IP rules, then its schemes under the failed-authentication limit
//! (a presented credential reserves a unit before it is verified and gives
//! it back when it verifies), then scopes and claim binding. The admin token
//! is checked under the same limit ([`guard`]).

use super::failures::credentials_digest;
use super::{Auth, AuthState, RoutePolicy, policy};
use crate::error::GatewayError;
use crate::platform::{Clock, Platform};
use crate::request::RequestCtx;

/// Checks the request against the route's security policy; on success the
/// identity (if the route authenticates) is left in `ctx.identity`.
pub(crate) async fn check_request<P: Platform>(
    auth: &Auth,
    state: &AuthState,
    platform: &P,
    route: &RoutePolicy,
    ctx: &mut RequestCtx<'_>,
) -> Result<(), GatewayError> {
    if let Some(ip_policy) = &route.ip {
        ip_policy.check(ctx.client_ip.ip())?;
    }
    if route.schemes.is_empty() {
        return Ok(());
    }
    let now = platform.clock().now();
    let failures = &auth.failures;
    failures.check(&state.failures, ctx.client_ip, ctx.v6_prefix, now)?;
    let presented = auth.presented(&route.schemes, ctx.headers, ctx.query)?;
    // Every presented credential takes a unit of the failed-auth window
    // before it is verified (given back when it verifies).
    let attempt = if presented.is_empty() {
        None
    } else {
        let refs: Vec<&str> = presented.iter().map(String::as_str).collect();
        let digest = credentials_digest(&refs);
        Some(failures.reserve(platform, &state.failures, ctx.client_ip, ctx.v6_prefix, digest, now).await?)
    };
    let outcome = auth.authenticate(state, platform, &route.schemes, ctx.headers, ctx.query, &ctx.request_id).await;
    if let Some(attempt) = attempt {
        failures.settle(platform, &state.failures, attempt, outcome.is_ok(), now).await;
    }
    let identity = outcome?;
    policy::check_scopes(&route.scopes, &identity)?;
    policy::check_binding(&route.bind, &ctx.params, &identity)?;
    ctx.identity = Some(identity);
    Ok(())
}

/// Runs `verify` on a credential outside the route schemes (the admin token,
/// `presented` as sent) under the failed-authentication limit.
pub(crate) async fn guard<P: Platform>(
    auth: &Auth,
    state: &AuthState,
    platform: &P,
    ctx: &RequestCtx<'_>,
    presented: Option<&[u8]>,
    verify: impl FnOnce() -> Result<(), GatewayError>,
) -> Result<(), GatewayError> {
    let now = platform.clock().now();
    let failures = &auth.failures;
    failures.check(&state.failures, ctx.client_ip, ctx.v6_prefix, now)?;
    // A presented credential takes a unit of the failed-auth window before it is compared.
    let attempt = match presented {
        None => None,
        Some(v) => {
            let digest = credentials_digest(&[&String::from_utf8_lossy(v)]);
            Some(failures.reserve(platform, &state.failures, ctx.client_ip, ctx.v6_prefix, digest, now).await?)
        }
    };
    let checked = verify();
    if let Some(attempt) = attempt {
        failures.settle(platform, &state.failures, attempt, checked.is_ok(), now).await;
    }
    checked
}
