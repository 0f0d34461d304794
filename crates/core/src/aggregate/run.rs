//! Running an aggregation: every leg in the calling task (no spawn), a leg
//! starting as soon as the legs it reads have finished, under one deadline
//! for the whole call and a timeout per leg; then the answers merged into one
//! JSON object. Leg answers are untrusted: only a 2xx JSON body within the
//! size cap counts, and nothing but that body (shaped) reaches the client —
//! no headers, so no `Set-Cookie`.

use super::compile::{Aggregate, Leg};
use super::shape;
use crate::config::OnPartial;
use crate::error::GatewayError;
use crate::identity::Source;
use crate::ids;
use crate::platform::{Clock, Platform, UpstreamBodyLimit, UpstreamError};
use crate::request::RequestCtx;
use crate::template::{Inputs, Landing, scalar_at};
use crate::transform::{Edits, forward};
use crate::upstream::{CallError, Upstream, UpstreamState, call};
use bytes::Bytes;
use futures_util::future::{Either, select};
use futures_util::stream::{FuturesUnordered, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use serde_json::{Map, Value, json};
use std::pin::pin;

/// The largest leg answer read (bytes), or `limits.max_upstream_body` if smaller.
const LEG_MAX_BYTES: u64 = 8 * 1024 * 1024;
const X_GATEWAY_PARTIAL: HeaderName = HeaderName::from_static("x-gateway-partial");

/// The compiled settings an aggregation's legs are sent with.
pub(crate) struct Backends<'a> {
    pub upstreams: &'a [Upstream],
    /// Their run-time state (balancing, breakers, retry budget), by index.
    pub states: &'a [UpstreamState],
    /// The route's edits: its request headers go to every leg, its response
    /// edits apply to the merged answer.
    pub edits: &'a Edits,
    /// The client's verified credential goes on to the legs.
    pub forward_credentials: bool,
    /// `limits.max_upstream_body`.
    pub max_upstream_body: u64,
}

/// How one leg ended.
#[derive(Debug, Clone)]
enum Outcome {
    Value(Value),
    Failed { status: u16, title: String },
}

fn failed(status: u16, title: impl Into<String>) -> Outcome {
    Outcome::Failed { status, title: title.into() }
}

/// The request for one leg, or why it cannot be made.
fn leg_request(
    ctx: &RequestCtx<'_>,
    backends: &Backends<'_>,
    leg: &Leg,
    done: &[(String, Value)],
    traceparent: &str,
) -> Result<Request<Bytes>, Outcome> {
    for template in std::iter::once(&leg.path).chain(leg.query.iter()) {
        for (backend, field) in template.leg_fields() {
            let value = done.iter().find(|(n, _)| n == backend).map(|(_, v)| v);
            if value.and_then(|v| scalar_at(v, field)).is_none() {
                return Err(failed(502, format!("`{backend}.{}` is missing from its answer", field.join("."))));
            }
        }
    }
    let inputs = Inputs::of(ctx, done);
    let path = leg.path.render(&inputs, Landing::Path).ok_or_else(|| failed(400, "a dot segment in the path"))?;
    let path_and_query = match &leg.query {
        Some(q) => format!("{path}?{}", q.render(&inputs, Landing::Query).unwrap_or_default()),
        None => path,
    };
    let upstream = backends.upstreams.get(leg.upstream).ok_or_else(|| failed(502, "no such upstream"))?;
    let uri = crate::upstream::origin_form(&path_and_query).ok_or_else(|| failed(400, "the path cannot be sent"))?;

    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    for name in [header::ACCEPT_LANGUAGE, header::USER_AGENT] {
        if let Some(v) = ctx.headers.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Ok(v) = HeaderValue::from_str(traceparent) {
        headers.insert(HeaderName::from_static("traceparent"), v);
    }
    if let Some(identity) = &ctx.identity {
        if let Some(id) = identity.consumer.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert(HeaderName::from_static("x-consumer-id"), id);
        }
        for (name, value) in &identity.claim_headers {
            headers.insert(name.clone(), value.clone());
        }
        // The client's credential goes on only when the route says so.
        if backends.forward_credentials {
            match &identity.credential {
                Some(Source::Bearer { .. }) => {
                    if let Some(v) = ctx.headers.get(header::AUTHORIZATION) {
                        headers.insert(header::AUTHORIZATION, v.clone());
                    }
                }
                Some(Source::Header(name)) => {
                    if let Some(v) = ctx.headers.get(name) {
                        headers.insert(name.clone(), v.clone());
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(v) = forward::forwarded_for(ctx.headers, ctx.client.peer_ip, ctx.client_ip_mode) {
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    if let Some(ip) = ctx.client_ip.ip()
        && let Ok(v) = HeaderValue::from_str(&ip.to_string())
    {
        headers.insert(HeaderName::from_static("x-real-ip"), v);
    }
    let proto = if ctx.client.https { "https" } else { "http" };
    headers.insert(HeaderName::from_static("x-forwarded-proto"), HeaderValue::from_static(proto));
    for (name, template) in &backends.edits.request_headers.set {
        if let Some(v) = template.render(&inputs, Landing::Header).and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert(name.clone(), v);
        }
    }
    let mut req = Request::new(Bytes::new());
    *req.method_mut() = leg.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    upstream.mark(&mut req);
    req.extensions_mut().insert(crate::upstream::UpstreamPath(path_and_query));
    Ok(req)
}

/// What a leg's answer (or failure) means.
fn classify(leg: &Leg, cap: u64, result: Result<Response<Bytes>, CallError>) -> Outcome {
    let resp = match result {
        Ok(r) => r,
        Err(CallError::Upstream(UpstreamError::Timeout)) => return failed(504, "timed out"),
        Err(CallError::Upstream(UpstreamError::Connect(_))) => return failed(502, "unreachable"),
        Err(CallError::Upstream(UpstreamError::Protocol(_))) => return failed(502, "invalid response"),
        Err(CallError::Upstream(UpstreamError::Overloaded)) => return failed(503, "gateway overloaded"),
        Err(CallError::NoHealthyTarget { .. }) => return failed(503, "no healthy target"),
    };
    let status = resp.status();
    if !status.is_success() {
        return failed(status.as_u16(), format!("answered {}", status.as_u16()));
    }
    if resp.body().len() as u64 > cap {
        return failed(502, "answer too large");
    }
    let Ok(value) = serde_json::from_slice::<Value>(resp.body()) else {
        return failed(502, "answered something other than JSON");
    };
    if let Some(path) = &leg.extract {
        return match shape::get(&value, path) {
            Some(v) => Outcome::Value(v.clone()),
            None => failed(502, format!("`{}` is missing from its answer", path.join("."))),
        };
    }
    match &leg.select {
        Some(fields) => Outcome::Value(shape::select(&value, fields)),
        None => Outcome::Value(value),
    }
}

impl Aggregate {
    /// Runs every leg and answers the merged JSON (or the failure the
    /// `required` / `on_partial` settings ask for).
    pub(crate) async fn run<P: Platform>(
        &self,
        platform: &P,
        ctx: &RequestCtx<'_>,
        backends: &Backends<'_>,
    ) -> Result<Response<Bytes>, GatewayError> {
        let n = self.legs.len();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
        let mut started = vec![false; n];
        // Values later legs may read: an answer, or the fallback of a failed leg.
        let mut done: Vec<(String, Value)> = Vec::with_capacity(n);
        let incoming = ctx.headers.get("traceparent").and_then(|v| v.to_str().ok());
        let (trace, _) = ids::next_traceparent(incoming);
        let mut running = FuturesUnordered::new();
        let mut deadline = pin!(platform.clock().sleep(self.timeout));
        let mut timed_out = false;
        loop {
            // Start (or settle) every leg whose dependencies have finished.
            let mut progress = true;
            while progress {
                progress = false;
                for (i, leg) in self.legs.iter().enumerate() {
                    if started[i] || leg.deps.iter().any(|d| outcomes.get(*d).is_none_or(Option::is_none)) {
                        continue;
                    }
                    started[i] = true;
                    progress = true;
                    let (child, _) = ids::next_traceparent(Some(&trace));
                    match leg_request(ctx, backends, leg, &done, &child) {
                        Ok(mut req) => {
                            let cap = LEG_MAX_BYTES.min(backends.max_upstream_body);
                            req.extensions_mut().insert(UpstreamBodyLimit(cap));
                            let (Some(upstream), Some(state)) =
                                (backends.upstreams.get(leg.upstream), backends.states.get(leg.upstream))
                            else {
                                outcomes[i] = Some(failed(502, "no such upstream"));
                                continue;
                            };
                            let send = call(platform, upstream, state, req, leg.timeout);
                            running.push(async move { (i, classify(leg, cap, send.await)) });
                        }
                        Err(outcome) => {
                            if let Some(fb) = leg.fallback.clone() {
                                done.push((leg.name.clone(), fb));
                            }
                            outcomes[i] = Some(outcome);
                        }
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            match select(running.next(), deadline.as_mut()).await {
                Either::Left((Some((i, outcome)), _)) => {
                    let leg = &self.legs[i];
                    match &outcome {
                        Outcome::Value(v) => done.push((leg.name.clone(), v.clone())),
                        Outcome::Failed { .. } => {
                            if let Some(fb) = leg.fallback.clone() {
                                done.push((leg.name.clone(), fb));
                            }
                            if leg.required {
                                // No point waiting for the rest.
                                outcomes[i] = Some(outcome);
                                break;
                            }
                        }
                    }
                    outcomes[i] = Some(outcome);
                }
                Either::Left((None, _)) => break,
                Either::Right(((), _)) => {
                    timed_out = true;
                    break;
                }
            }
        }
        drop(running);
        self.answer(backends.edits, outcomes, timed_out)
    }

    fn answer(
        &self,
        edits: &Edits,
        outcomes: Vec<Option<Outcome>>,
        timed_out: bool,
    ) -> Result<Response<Bytes>, GatewayError> {
        let outcomes: Vec<Outcome> = outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    if timed_out { failed(504, "timed out") } else { failed(502, "did not run: a leg it reads failed") }
                })
            })
            .collect();
        if let Some((leg, status)) = self.legs.iter().zip(&outcomes).find_map(|(leg, o)| match o {
            Outcome::Failed { status, .. } if leg.required => Some((leg, *status)),
            _ => None,
        }) {
            return Err(GatewayError::BackendFailed { backend: leg.name.clone(), status });
        }
        let mut body = Map::new();
        let mut errors = Map::new();
        let mut unfilled = Vec::new();
        for (leg, outcome) in self.legs.iter().zip(outcomes) {
            match outcome {
                Outcome::Value(v) => {
                    body.insert(leg.name.clone(), v);
                }
                Outcome::Failed { status, title } => {
                    errors.insert(leg.name.clone(), json!({ "status": status, "title": title }));
                    match &leg.fallback {
                        Some(fb) => {
                            body.insert(leg.name.clone(), fb.clone());
                        }
                        None => unfilled.push(leg.name.clone()),
                    }
                }
            }
        }
        if self.on_partial == OnPartial::Fail && !unfilled.is_empty() {
            return Err(GatewayError::PartialAggregate { failed: unfilled });
        }
        let partial = !errors.is_empty();
        if partial {
            body.insert("_errors".into(), Value::Object(errors));
        }
        let mut resp = Response::new(Bytes::from(Value::Object(body).to_string()));
        *resp.status_mut() = StatusCode::OK;
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if partial {
            resp.headers_mut().insert(X_GATEWAY_PARTIAL, HeaderValue::from_static("true"));
        }
        Ok(forward::client_response(edits, &http::Method::GET, resp))
    }
}
