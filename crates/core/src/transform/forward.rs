//! Towards the upstream and back (spec §4): the upstream request is built from
//! the normalised path (or the route's rewrite), the edited query and the
//! client's headers minus hop-by-hop and gateway-owned ones, plus request id,
//! trace context and `X-Forwarded-*`. The upstream's answer loses its
//! hop-by-hop headers and gets the route's response edits.

use super::Edits;
use super::headers::strip_hop_by_hop;
use crate::auth::{Auth, RoutePolicy, Source};
use crate::client_ip;
use crate::config::ClientIpMode;
use crate::error::GatewayError;
use crate::request::RequestCtx;
use crate::template::{Inputs, Landing};
use crate::translate::Translate;
use crate::upstream::Upstream;
use crate::uri::{QUERY_COMPONENT, decode_query_component};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use percent_encoding::utf8_percent_encode;
use std::net::IpAddr;

const X_CONSUMER_ID: HeaderName = HeaderName::from_static("x-consumer-id");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Headers only the gateway may set towards an upstream, or that tell an
/// upstream who the client is: a client's copy is dropped, in any spelling
/// (see [`fold`]). The gateway sets the first five itself.
pub(crate) const GATEWAY_OWNED: [&str; 18] = [
    "x-consumer-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "forwarded",
    "x-forwarded",
    "forwarded-for",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "cf-connecting-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "fastly-client-ip",
];

/// Headers that make some frameworks serve another method than the request's.
pub(crate) const METHOD_OVERRIDE: [&str; 3] = ["x-http-method-override", "x-method-override", "x-http-method"];

/// Headers that make some frameworks (IIS, Symfony, Zend) route by another
/// path than the one the gateway matched.
pub(crate) const PATH_OVERRIDE: [&str; 4] = ["x-original-url", "x-rewrite-url", "x-original-uri", "x-forwarded-uri"];

/// A header name as CGI, WSGI and Rack see it: `X_User_Id` and `x-user-id`
/// are one variable there, so they are one name here (names are lowercase).
fn fold(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains('_') { std::borrow::Cow::Owned(name.replace('_', "-")) } else { std::borrow::Cow::Borrowed(name) }
}

/// Where and how a route forwards: the compiled settings forwarding reads.
pub(crate) struct Forwarding<'a> {
    pub auth: &'a Auth,
    pub policy: &'a RoutePolicy,
    pub edits: &'a Edits,
    pub translate: Option<&'a Translate>,
    pub upstream: &'a Upstream,
}

/// Where the route's schemes read credentials, and whether that one goes on
/// to the upstream: only the credential that verified, and only when the
/// route says `forward_credentials: true`. Every other presented credential
/// — one that failed, one of a scheme not tried — is removed.
fn credential_sources<'a>(route: &Forwarding<'a>, ctx: &RequestCtx<'_>) -> Vec<(&'a Source, bool)> {
    let verified = ctx.identity.as_ref().and_then(|i| i.credential.as_ref());
    route
        .policy
        .schemes
        .iter()
        .filter_map(|s| route.auth.source(*s))
        .map(|source| (source, route.policy.forward_credentials && verified == Some(source)))
        .collect()
}

/// Query parameter names the upstream must not get from the client:
/// credential parameters that are not forwarded.
fn stripped_params<'a>(sources: &[(&'a Source, bool)]) -> Vec<&'a str> {
    sources
        .iter()
        .filter(|(_, keep)| !keep)
        .filter_map(|(s, _)| match s {
            Source::Query(q) | Source::Bearer { also_query: Some(q) } => Some(q.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether two query parameter names are one name to a backend: compared
/// after percent-decoding, ASCII case-insensitively.
fn same_param(decoded: &str, name: &str) -> bool {
    decoded.eq_ignore_ascii_case(name)
}

/// The upstream query: the client's (unless `keep_client` is false, for a
/// translated request) with the route's edits.
fn edited_query(
    route: &Forwarding<'_>,
    inputs: &Inputs<'_>,
    keep_client: bool,
    stripped: &[&str],
) -> Result<Option<String>, GatewayError> {
    let client_query = if keep_client { inputs.query } else { None };
    let edits = &route.edits.query;
    if edits.set.is_empty() && edits.remove.is_empty() && stripped.is_empty() {
        return Ok(client_query.map(str::to_owned));
    }
    let mut pairs: Vec<String> = client_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = decode_query_component(p.split_once('=').map_or(*p, |(k, _)| k));
            !edits.remove.iter().any(|r| same_param(&name, r))
                && !edits.set.iter().any(|(s, _)| same_param(&name, s))
                && !stripped.iter().any(|c| same_param(&name, c))
        })
        .map(str::to_owned)
        .collect();
    for (name, template) in &edits.set {
        let value = template
            .render(inputs, Landing::Query)
            .ok_or_else(|| GatewayError::BadRequest("A query value could not be built.".into()))?;
        pairs.push(format!("{}={value}", utf8_percent_encode(name, QUERY_COMPONENT)));
    }
    Ok((!pairs.is_empty()).then(|| pairs.join("&")))
}

/// The `X-Forwarded-For` to send: the peer alone (`platform`: a client's
/// chain is not trusted), or the chain as it came, every line in order and
/// byte for byte, plus the peer.
pub(crate) fn forwarded_for(existing: &HeaderMap, peer: Option<IpAddr>, mode: ClientIpMode) -> Option<HeaderValue> {
    let peer = peer.map(|ip| client_ip::canonical(ip).to_string());
    match mode {
        ClientIpMode::Platform => peer.and_then(|p| HeaderValue::from_str(&p).ok()),
        ClientIpMode::XForwardedFor => {
            let mut chain: Vec<u8> = Vec::new();
            for element in client_ip::forwarded_elements(existing).into_iter().chain(peer.as_deref().map(str::as_bytes))
            {
                if !chain.is_empty() {
                    chain.extend_from_slice(b", ");
                }
                chain.extend_from_slice(element);
            }
            HeaderValue::from_bytes(&chain).ok()
        }
    }
}

/// Removes every client header an upstream must not get from the client:
/// gateway-owned and forwarded-claim headers, method and path overrides
/// (unless the route allows method override), credentials that do not go
/// on — each in every spelling a backend may read as the same name.
fn strip_client_headers(headers: &mut HeaderMap, route: &Forwarding<'_>, sources: &[(&Source, bool)]) {
    let mut kept: Option<&str> = None;
    let mut dropped: Vec<&str> = Vec::new();
    for (source, keep) in sources {
        let name = match source {
            Source::Bearer { .. } => header::AUTHORIZATION.as_str(),
            Source::Header(h) => h.as_str(),
            Source::Query(_) => continue,
        };
        if *keep {
            kept = Some(name);
        } else {
            dropped.push(name);
        }
    }
    let owned = |folded: &str| {
        GATEWAY_OWNED.contains(&folded)
            || PATH_OVERRIDE.contains(&folded)
            || (!route.edits.allow_method_override && METHOD_OVERRIDE.contains(&folded))
            || route.auth.identity_headers.iter().any(|h| fold(h.as_str()) == folded)
            || dropped.iter().any(|d| fold(d) == folded)
            || kept.is_some_and(|k| fold(k) == folded)
    };
    let remove: Vec<HeaderName> =
        headers.keys().filter(|name| Some(name.as_str()) != kept && owned(&fold(name.as_str()))).cloned().collect();
    for name in remove {
        headers.remove(name);
    }
}

pub(crate) fn upstream_request(
    ctx: &RequestCtx<'_>,
    body: Bytes,
    route: &Forwarding<'_>,
    traceparent: &str,
    continue_trace: bool,
) -> Result<http::Request<Bytes>, GatewayError> {
    let inputs = Inputs::of(ctx, &[]);
    let translated = match route.translate {
        Some(t) => t.request(&inputs)?,
        None => None,
    };
    let path = match &route.edits.rewrite {
        Some(t) => t
            .render(&inputs, Landing::Path)
            .ok_or_else(|| GatewayError::BadRequest("A value placed in the upstream path is a dot segment.".into()))?,
        // A translated request goes to the target URL, not to the client's path.
        None if translated.is_some() => String::new(),
        None => ctx.path.clone(),
    };
    let sources = credential_sources(route, ctx);
    let stripped = stripped_params(&sources);
    let query = edited_query(route, &inputs, translated.is_none(), &stripped)?;
    let path_and_query = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    // The call puts the chosen target in front of the path (`""` for a
    // translated request: the target URL as it is).
    let uri = crate::upstream::origin_form(&path_and_query)
        .ok_or_else(|| GatewayError::BadRequest("The request path cannot be forwarded.".into()))?;

    let mut headers = ctx.headers.clone();
    strip_hop_by_hop(&mut headers);
    for name in [header::HOST, header::CONTENT_LENGTH, header::EXPECT] {
        headers.remove(name);
    }
    strip_client_headers(&mut headers, route, &sources);
    if let Some(identity) = &ctx.identity {
        if let Some(id) = identity.consumer.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert(X_CONSUMER_ID, id);
        }
        for (name, value) in &identity.claim_headers {
            headers.insert(name.clone(), value.clone());
        }
    }
    if !continue_trace {
        headers.remove(&TRACESTATE);
    }
    if let Some(v) = forwarded_for(ctx.headers, ctx.client.peer_ip, ctx.client_ip_mode) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    if let Some(v) = ctx.client_ip.ip().and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        headers.insert(X_REAL_IP, v);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if ctx.client.https { "https" } else { "http" }));
    if let Some(host) = ctx.headers.get(header::HOST).cloned().or_else(|| ctx.client.host.clone()) {
        headers.insert(X_FORWARDED_HOST, host);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        headers.insert(X_REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(traceparent) {
        headers.insert(TRACEPARENT, v);
    }
    let (method, body) = match translated {
        Some(out) => {
            out.apply(&mut headers);
            (http::Method::POST, out.body)
        }
        None => (ctx.method.clone(), body),
    };
    for name in &route.edits.request_headers.remove {
        headers.remove(name);
    }
    for (name, template) in &route.edits.request_headers.set {
        let bad = || GatewayError::BadRequest(format!("The value for header `{name}` is not a valid header value."));
        let text = template.render(&inputs, Landing::Header).ok_or_else(bad)?;
        let value = HeaderValue::from_str(&text).map_err(|_| bad())?;
        headers.insert(name.clone(), value);
    }

    let mut req = http::Request::new(body);
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    route.upstream.mark(&mut req);
    req.extensions_mut().insert(crate::upstream::UpstreamPath(path_and_query));
    Ok(req)
}

/// Cleans the upstream's answer for the client and applies the route's edits.
pub(crate) fn client_response(
    edits: &Edits,
    method: &http::Method,
    mut resp: http::Response<Bytes>,
) -> http::Response<Bytes> {
    let headers = resp.headers_mut();
    strip_hop_by_hop(headers);
    if method != http::Method::HEAD {
        // The body is complete in memory; the server writes the true length.
        headers.remove(header::CONTENT_LENGTH);
    }
    for name in &edits.response_remove {
        headers.remove(name);
    }
    for (name, value) in &edits.response_headers {
        headers.insert(name.clone(), value.clone());
    }
    resp
}
