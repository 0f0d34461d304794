//! Entry points for the fuzz targets under `fuzz/` (cargo feature `fuzzing`,
//! off in every build that ships; not API). Each is a thin wrapper that
//! reaches one of the crate's internals with plain types, so that when an
//! internal signature changes the edit is one line here and the targets stay
//! as they are. Futures are driven with `now_or_never`: every port of
//! `MemoryPlatform` answers at once, so `None` means the code under test
//! waited on something that can never come (the targets treat it as a bug).

use crate::auth::jwt::{JwksCache, JwtIssuer};
use crate::config::{ClientIpMode, JwtConfig, TranslateConfig, TranslateResponse};
use crate::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use crate::platform::{Clock, UpstreamError};
use crate::{ClientInfo, Gateway, GatewayError};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Request, Response};
use std::net::IpAddr;

/// The HS256 secret of the fixed issuer [`verify_hs256`] checks against.
pub const JWT_SECRET: &str = "fuzzing-secret-of-at-least-32-bytes!";
/// The `issuer` (`iss`) and `audience` (`aud`) both fixed issuers require.
pub const JWT_ISSUER: &str = "https://issuer.fuzz/";
pub const JWT_AUDIENCE: &str = "api";
/// The leeway both issuers allow on `exp`, `nbf` and `iat` (the default).
pub const JWT_LEEWAY_SECS: f64 = 30.0;

/// The time `MemoryPlatform` starts at, in seconds since the epoch.
pub fn platform_now_secs() -> f64 {
    let platform = MemoryPlatform::new(ScriptedUpstream::new(|_| Script::Hang));
    platform.clock.now().as_micros() as f64 / 1e6
}

fn issuer(config: serde_json::Value) -> JwtIssuer {
    let config: JwtConfig = serde_json::from_value(config).unwrap_or_else(|e| panic!("fuzzing issuer config: {e}"));
    JwtIssuer::compile("fuzz", &config).unwrap_or_else(|e| panic!("fuzzing issuer compiles: {e:?}"))
}

/// Verifies `token` (compact JWS) against the fixed HS256 issuer: the
/// verified claims, or why not (the `JwtError`'s debug text).
pub fn verify_hs256(token: &str) -> Option<Result<serde_json::Map<String, serde_json::Value>, String>> {
    let hs = issuer(serde_json::json!({
        "algorithms": ["HS256"], "secret": JWT_SECRET, "issuer": JWT_ISSUER, "audience": JWT_AUDIENCE,
    }));
    let platform = MemoryPlatform::new(ScriptedUpstream::new(|_| {
        Script::Fail(UpstreamError::Connect("a static-key issuer fetches nothing".into()))
    }));
    hs.verify(&platform, &JwksCache::default(), token).now_or_never().map(|r| r.map_err(|e| format!("{e:?}")))
}

/// Verifies `token` twice against an issuer whose JWKS endpoint answers
/// `jwks` (200, `application/json`) to every fetch: the first verification
/// fetches and parses the document, the second one runs on the cache (or the
/// refresh an unknown `kid` triggers).
pub fn verify_with_jwks(token: &str, jwks: &[u8]) -> Option<[Result<(), String>; 2]> {
    let jw = issuer(serde_json::json!({
        "algorithms": ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"],
        "jwks_url": "https://issuer.fuzz/.well-known/jwks.json",
        "issuer": JWT_ISSUER,
        "audience": JWT_AUDIENCE,
    }));
    let body = Bytes::copy_from_slice(jwks);
    let platform = MemoryPlatform::new(ScriptedUpstream::new(move |_| {
        let mut resp = Response::new(body.clone());
        resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Script::Respond(resp)
    }));
    let cache = JwksCache::default();
    let once = || jw.verify(&platform, &cache, token).now_or_never().map(|r| r.map(drop).map_err(|e| format!("{e:?}")));
    Some([once()?, once()?])
}

/// The client address in `client_ip: x-forwarded-for` mode: `headers` as
/// the client (and the proxies in front) sent them, `peer` the socket peer.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted_hops: u32) -> Option<IpAddr> {
    crate::client_ip::resolve(headers, peer, ClientIpMode::XForwardedFor, trusted_hops).ip()
}

/// The `X-Forwarded-For` value sent upstream (`xff_mode`: `client_ip:
/// x-forwarded-for`, else `platform`).
pub fn forwarded_for(headers: &HeaderMap, peer: Option<IpAddr>, xff_mode: bool) -> Option<HeaderValue> {
    let mode = if xff_mode { ClientIpMode::XForwardedFor } else { ClientIpMode::Platform };
    crate::transform::forward::forwarded_for(headers, peer, mode)
}

const ROUTE_CONFIG: &str = "version: 1
upstreams:
  u: { targets: [ { url: \"http://10.0.0.1:9001\" } ] }
  a: { targets: [ { url: \"http://10.0.0.2:9002\" } ] }
  b: { targets: [ { url: \"http://10.0.0.3:9003\" } ] }
  c: { targets: [ { url: \"http://10.0.0.4:9004\" } ] }
routes:
  - { id: plain, path: /plain, upstream: u }
  - id: dash
    path: /dash
    aggregate:
      backends:
        - { name: a, upstream: a, path: /a, select: [id, name, address.city, items.0], required: true }
        - { name: b, upstream: b, path: /b, extract: data.items }
        - { name: c, upstream: c, path: /c }
";

thread_local! {
    static GATEWAY: Gateway = crate::load("fuzzing.yaml", ROUTE_CONFIG, &|_| None)
        .unwrap_or_else(|e| panic!("fuzzing config: {e}"));
}

/// The headers a client receives from an upstream answer that carried
/// `headers` on a plain route (no response edits): hop-by-hop headers and
/// those `Connection` names are gone.
pub fn client_response_headers(headers: HeaderMap) -> HeaderMap {
    GATEWAY.with(|gw| {
        let mut resp = Response::new(Bytes::new());
        *resp.headers_mut() = headers;
        let route = gw.config().routes.iter().find(|r| r.id == "plain").unwrap_or_else(|| panic!("route `plain`"));
        crate::transform::forward::client_response(&route.edits, &http::Method::GET, resp).into_parts().0.headers
    })
}

/// `GET /dash` on an aggregate route whose legs answer 200 with these bodies:
/// `a` selects `[id, name, address.city, items.0]` (required), `b` extracts
/// `data.items`, `c` is kept whole. The client's status and body.
pub fn aggregate(a: &[u8], b: &[u8], c: &[u8]) -> Option<(u16, Bytes)> {
    let bodies = [Bytes::copy_from_slice(a), Bytes::copy_from_slice(b), Bytes::copy_from_slice(c)];
    let platform = MemoryPlatform::new(
        ScriptedUpstream::new(move |req| {
            let body = match req.uri().path() {
                "/a" => bodies[0].clone(),
                "/b" => bodies[1].clone(),
                "/c" => bodies[2].clone(),
                _ => return Script::Fail(UpstreamError::Connect("no such leg".into())),
            };
            let mut resp = Response::new(body);
            resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Script::Respond(resp)
        })
        .without_recording(),
    );
    let request = Request::get("http://gateway.fuzz/dash").body(Bytes::new()).ok()?;
    let client = ClientInfo { peer_ip: "192.0.2.1".parse().ok(), https: false, host: None };
    GATEWAY.with(|gw| {
        let resp = gw.handle(&platform, request, client).now_or_never()?;
        Some((resp.status().as_u16(), resp.into_body()))
    })
}

/// A `translate.response: xml_to_json` route's reading of a 200 answer with
/// `body`: the client's answer, or the error it becomes.
pub fn xml_to_json(body: &[u8]) -> Result<Response<Bytes>, GatewayError> {
    let cfg = TranslateConfig { request: None, response: Some(TranslateResponse::XmlToJson) };
    let translate = crate::translate::compile(&cfg, &[]).unwrap_or_else(|e| panic!("fuzzing translate: {e:?}"));
    translate.response(Response::new(Bytes::copy_from_slice(body)))
}
