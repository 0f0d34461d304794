//! The last stage of a route with an `upstream`: build the upstream request
//! (edits, translation, forwarding rules), call it under the route's
//! timeout with the answer cap, and turn the answer (or the failure) into
//! the client's.

use crate::compiled::CompiledConfig;
use crate::error::GatewayError;
use crate::ids;
use crate::platform::{Clock, Platform, UpstreamBodyLimit};
use crate::request::RequestCtx;
use crate::routing::Route;
use crate::state::GatewayState;
use crate::transform::forward::{self, Forwarding};
use crate::upstream::{call, refusal};
use bytes::Bytes;
use http::Response;

pub(super) async fn forward<P: Platform>(
    config: &CompiledConfig,
    state: &GatewayState,
    platform: &P,
    route: &Route,
    ctx: &mut RequestCtx<'_>,
    body: Bytes,
) -> Result<Response<Bytes>, GatewayError> {
    let upstream = route.upstream.and_then(|u| config.upstreams.get(u)).ok_or(GatewayError::Internal)?;
    let upstream_state = route.upstream.and_then(|u| state.upstreams.get(u)).ok_or(GatewayError::Internal)?;
    let incoming_trace = ctx.headers.get("traceparent").and_then(|v| v.to_str().ok());
    let (traceparent, continued) = ids::next_traceparent(incoming_trace);
    let forwarding = Forwarding {
        auth: &config.auth,
        policy: &route.policy,
        edits: &route.edits,
        translate: route.translate.as_ref(),
        upstream,
    };
    let mut upstream_req = forward::upstream_request(ctx, body, &forwarding, &traceparent, continued)?;
    // The adapter stops reading the answer at this cap (and so does the core).
    let answer_limit = route.answer_limit(config.bounds.max_upstream_body);
    upstream_req.extensions_mut().insert(UpstreamBodyLimit(answer_limit));
    let sent_at = platform.clock().now();
    let outcome = call(platform, upstream, upstream_state, upstream_req, route.timeout).await;
    ctx.upstream_micros = Some(super::micros_since(platform, sent_at));
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
            Ok(forward::client_response(&route.edits, ctx.method, resp))
        }
        Err(e) => {
            tracing::warn!(request_id = %ctx.request_id, route = %route.id, upstream = %upstream.name, error = %e, "upstream call failed");
            Err(refusal(&e))
        }
    }
}
