//! Towards the upstream and back (spec §4): the upstream request is built from
//! the normalised path (or the route's rewrite), the edited query and the
//! client's headers minus hop-by-hop and gateway-owned ones, plus request id,
//! trace context and `X-Forwarded-*`. The upstream's answer loses its
//! hop-by-hop headers and gets the route's response edits.

use super::ClientInfo;
use super::headers::strip_hop_by_hop;
use crate::auth::credentials::Source;
use crate::compile::route::Route;
use crate::compile::template::{Inputs, Landing, QUERY_COMPONENT, decode_query_component};
use crate::compile::upstream::Upstream;
use crate::config::ClientIpMode;
use crate::error::GatewayError;
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

/// Headers only the gateway may set towards an upstream: a client's copy is dropped.
pub(crate) const GATEWAY_OWNED: [HeaderName; 6] =
    [X_CONSUMER_ID, X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, header::FORWARDED, X_REAL_IP];

/// What the pipeline knows that forwarding needs.
pub(crate) struct ForwardInput<'a> {
    pub route: &'a Route,
    pub upstream: &'a Upstream,
    pub method: &'a http::Method,
    pub headers: &'a HeaderMap,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub params: &'a [(String, String)],
    pub body: Bytes,
    pub client: &'a ClientInfo,
    pub client_ip_mode: ClientIpMode,
    pub trusted_hops: u32,
    pub request_id: &'a str,
    pub identity: Option<&'a crate::auth::Identity>,
    /// Forwarded-claim header names: only the gateway sets them.
    pub identity_headers: &'a [HeaderName],
}

/// The credential the gateway checked, unless the route forwards it.
pub(crate) fn stripped_credential<'a>(input: &ForwardInput<'a>) -> Option<&'a Source> {
    if input.route.policy.forward_credentials {
        return None;
    }
    input.identity.and_then(|i| i.credential.as_ref())
}

/// The upstream query: the client's (unless `keep_client` is false, for a
/// translated request) with the route's edits.
fn edited_query(
    input: &ForwardInput<'_>,
    inputs: &Inputs<'_>,
    keep_client: bool,
) -> Result<Option<String>, GatewayError> {
    let client_query = if keep_client { input.query } else { None };
    let edits = &input.route.query;
    let credential_param = match stripped_credential(input) {
        Some(Source::Query(q)) | Some(Source::Bearer { also_query: Some(q) }) => Some(q.as_str()),
        _ => None,
    };
    if edits.set.is_empty() && edits.remove.is_empty() && credential_param.is_none() {
        return Ok(client_query.map(str::to_owned));
    }
    let mut pairs: Vec<String> = client_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = decode_query_component(p.split_once('=').map_or(*p, |(k, _)| k));
            !edits.remove.contains(&name)
                && !edits.set.iter().any(|(s, _)| *s == name)
                && credential_param != Some(name.as_str())
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

pub(crate) fn forwarded_for(existing: &HeaderMap, peer: Option<&str>, mode: ClientIpMode) -> Option<HeaderValue> {
    let ip = peer.map(str::to_owned);
    let chain = match mode {
        // The client's own X-Forwarded-For is not trusted: only the peer counts.
        ClientIpMode::Platform => ip?,
        ClientIpMode::XForwardedFor => {
            let prior: Vec<&str> = existing.get_all(&X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok()).collect();
            let mut parts: Vec<String> = prior.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            parts.extend(ip);
            parts.join(", ")
        }
    };
    HeaderValue::from_str(&chain).ok()
}

/// The client IP as the configured mode sees it.
pub(crate) fn client_ip(
    headers: &HeaderMap,
    client: &ClientInfo,
    mode: ClientIpMode,
    trusted_hops: u32,
) -> Option<IpAddr> {
    match mode {
        ClientIpMode::Platform => client.peer_ip,
        ClientIpMode::XForwardedFor => {
            let all: Vec<&str> = headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect();
            let hops = usize::try_from(trusted_hops).unwrap_or(1).max(1);
            all.len().checked_sub(hops).and_then(|i| all.get(i)).and_then(|s| s.parse().ok()).or(client.peer_ip)
        }
    }
}

pub(crate) fn upstream_request(
    input: ForwardInput<'_>,
    traceparent: &str,
    continue_trace: bool,
) -> Result<http::Request<Bytes>, GatewayError> {
    let inputs = Inputs {
        params: input.params,
        query: input.query,
        headers: input.headers,
        identity: input.identity,
        legs: &[],
    };
    let translated = match &input.route.translate {
        Some(t) => t.request(&inputs)?,
        None => None,
    };
    let path = match &input.route.rewrite {
        Some(t) => t
            .render(&inputs, Landing::Path)
            .ok_or_else(|| GatewayError::BadRequest("A value placed in the upstream path is a dot segment.".into()))?,
        // A translated request goes to the target URL, not to the client's path.
        None if translated.is_some() => String::new(),
        None => input.path.to_owned(),
    };
    let query = edited_query(&input, &inputs, translated.is_none())?;
    let path_and_query = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let uri = input
        .upstream
        .uri(&path_and_query)
        .map_err(|_| GatewayError::BadRequest("The request path cannot be forwarded.".into()))?;

    let mut headers = input.headers.clone();
    strip_hop_by_hop(&mut headers);
    for name in [header::HOST, header::CONTENT_LENGTH, header::EXPECT] {
        headers.remove(name);
    }
    for name in GATEWAY_OWNED.iter().chain(input.identity_headers) {
        headers.remove(name);
    }
    match stripped_credential(&input) {
        Some(Source::Bearer { .. }) => {
            headers.remove(header::AUTHORIZATION);
        }
        Some(Source::Header(name)) => {
            headers.remove(name);
        }
        _ => {}
    }
    if let Some(identity) = input.identity {
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
    let peer = input.client.peer_ip.map(|ip| ip.to_string());
    if let Some(v) = forwarded_for(input.headers, peer.as_deref(), input.client_ip_mode) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    let real_ip = match input.client_ip_mode {
        ClientIpMode::Platform => peer.and_then(|p| HeaderValue::from_str(&p).ok()),
        ClientIpMode::XForwardedFor => client_ip(input.headers, input.client, input.client_ip_mode, input.trusted_hops)
            .and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()),
    };
    if let Some(v) = real_ip {
        headers.insert(X_REAL_IP, v);
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if input.client.https { "https" } else { "http" }));
    if let Some(host) = input.headers.get(header::HOST).cloned().or_else(|| input.client.host.clone()) {
        headers.insert(X_FORWARDED_HOST, host);
    }
    if let Ok(v) = HeaderValue::from_str(input.request_id) {
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
        None => (input.method.clone(), input.body),
    };
    for name in &input.route.request_headers.remove {
        headers.remove(name);
    }
    for (name, template) in &input.route.request_headers.set {
        let bad = || GatewayError::BadRequest(format!("The value for header `{name}` is not a valid header value."));
        let text = template.render(&inputs, Landing::Header).ok_or_else(bad)?;
        let value = HeaderValue::from_str(&text).map_err(|_| bad())?;
        headers.insert(name.clone(), value);
    }

    let mut req = http::Request::new(body);
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    input.upstream.mark(&mut req);
    Ok(req)
}

/// Cleans the upstream's answer for the client and applies the route's edits.
pub(crate) fn client_response(
    route: &Route,
    method: &http::Method,
    mut resp: http::Response<Bytes>,
) -> http::Response<Bytes> {
    let headers = resp.headers_mut();
    strip_hop_by_hop(headers);
    if method != http::Method::HEAD {
        // The body is complete in memory; the server writes the true length.
        headers.remove(header::CONTENT_LENGTH);
    }
    for name in &route.response_remove {
        headers.remove(name);
    }
    for (name, value) in &route.response_headers {
        headers.insert(name.clone(), value.clone());
    }
    resp
}
