//! Authentication and policy through the whole pipeline, with in-memory
//! ports: API keys and consumers (config and key-value store), credential
//! hygiene towards the upstream, IP rules, the failed-authentication limit,
//! and the admin token.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use tollgate_core::platform::KeyValueStore;
use tollgate_core::platform::memory::{MemoryPlatform, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, api_key_stored_form, load};

fn config() -> String {
    format!(
        r#"
version: 1
admin: {{ token: "admin-secret-token" }}
auth_failures: {{ per_ip: 3, per: 1m }}
auth:
  api_key:
    keys: {{ header: x-api-key }}
    qkeys: {{ query: api_key }}
consumers:
  - {{ id: acme, api_keys: ["{acme}"] }}
  - {{ id: globex, api_keys: ["{globex}"] }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: keyed, path: "/keyed/{{*rest}}", upstream: echo, auth: ["api_key:keys"] }}
  - {{ id: either, path: "/either", upstream: echo, auth: ["api_key:keys", "api_key:qkeys"] }}
  - {{ id: fwd, path: "/fwd", upstream: echo, auth: ["api_key:keys"], forward_credentials: true }}
  - {{ id: tagged, path: "/tagged", upstream: echo, auth: ["api_key:keys"], request: {{ headers: {{ set: {{ x-who: "{{consumer.id}}" }} }} }} }}
  - {{ id: local-only, path: "/local", upstream: echo, ip: {{ allow: ["192.0.2.0/24"], deny: ["192.0.2.99"] }} }}
  - {{ id: public, path: "/public", upstream: echo }}
"#,
        acme = api_key_stored_form("acme-key"),
        globex = api_key_stored_form("globex-key"),
    )
}

fn gateway() -> Gateway {
    load("auth.yaml", &config(), &|_| None).expect("config loads")
}

fn call(gw: &Gateway, p: &MemoryPlatform, ip: &str, r: http::request::Builder) -> Response<Bytes> {
    let client = ClientInfo { peer_ip: Some(ip.parse().expect("ip")), https: true, host: None };
    block_on(gw.handle(p, r.body(Bytes::new()).expect("request"), client))
}

fn get(uri: &str) -> http::request::Builder {
    Request::builder().method("GET").uri(uri).header("host", "gw")
}

#[test]
fn a_valid_key_reaches_the_upstream_as_its_consumer_without_the_key() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let resp =
        call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-api-key", "acme-key").header("x-consumer-id", "globex"));
    assert_eq!(resp.status(), StatusCode::OK);
    let sent = &p.upstream.requests()[0];
    assert_eq!(sent.headers()["x-consumer-id"], "acme", "set by the gateway, the client's copy dropped");
    assert!(!sent.headers().contains_key("x-api-key"), "the checked key is not forwarded");
}

#[test]
fn missing_and_wrong_keys_get_the_same_401_body() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let missing = call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-request-id", "same"));
    let wrong = call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-api-key", "nope").header("x-request-id", "same"));
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    assert_eq!(missing.body(), wrong.body());
    assert!(p.upstream.requests().is_empty());
}

#[test]
fn keys_count_only_where_configured_and_never_twice() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(call(&gw, &p, "192.0.2.1", get("/keyed/x?x-api-key=acme-key")).status(), StatusCode::UNAUTHORIZED);
    let twice =
        call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-api-key", "acme-key").header("x-api-key", "acme-key"));
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    let by_query = call(&gw, &p, "192.0.2.1", get("/either?api_key=globex-key&x=1"));
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(p.upstream.requests()[0].uri().query(), Some("x=1"), "the key parameter is not forwarded");
}

#[test]
fn a_connection_header_naming_the_key_does_not_hide_it_from_authentication() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let resp =
        call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-api-key", "acme-key").header("connection", "x-api-key"));
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!p.upstream.requests()[0].headers().contains_key("x-api-key"));
}

#[test]
fn forward_credentials_keeps_the_key_and_templates_see_the_consumer() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    call(&gw, &p, "192.0.2.1", get("/fwd").header("x-api-key", "acme-key"));
    call(&gw, &p, "192.0.2.1", get("/tagged").header("x-api-key", "globex-key"));
    let sent = p.upstream.requests();
    assert_eq!(sent[0].headers()["x-api-key"], "acme-key");
    assert_eq!(sent[1].headers()["x-who"], "globex");
}

#[test]
fn consumers_issued_in_the_key_value_store_are_found_without_a_redeploy() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let digest = api_key_stored_form("issued-later");
    let key = format!("apikey:{}", digest.trim_start_matches("sha256:"));
    block_on(p.kv.put(&key, Bytes::from_static(br#"{"id":"initech"}"#), None)).expect("store");
    let resp = call(&gw, &p, "192.0.2.1", get("/keyed/x").header("x-api-key", "issued-later"));
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(p.upstream.requests()[0].headers()["x-consumer-id"], "initech");
}

#[test]
fn ip_rules_allow_and_deny() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(call(&gw, &p, "192.0.2.1", get("/local")).status(), StatusCode::OK);
    assert_eq!(call(&gw, &p, "192.0.2.99", get("/local")).status(), StatusCode::FORBIDDEN);
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/local")).status(), StatusCode::FORBIDDEN);
    assert_eq!(p.upstream.requests().len(), 1);
}

#[test]
fn repeated_failures_from_one_ip_are_limited_there_only() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for _ in 0..3 {
        assert_eq!(
            call(&gw, &p, "203.0.113.5", get("/keyed/x").header("x-api-key", "guess")).status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // No more than 3 guesses are evaluated: the fourth is refused unevaluated,
    // and so is anything else from that IP on authenticated routes, even a good key.
    assert_eq!(
        call(&gw, &p, "203.0.113.5", get("/keyed/x").header("x-api-key", "guess")).status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let blocked = call(&gw, &p, "203.0.113.5", get("/keyed/x").header("x-api-key", "acme-key"));
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = blocked.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(call(&gw, &p, "203.0.113.5", get("/public")).status(), StatusCode::OK, "public routes unaffected");
    assert_eq!(
        call(&gw, &p, "203.0.113.6", get("/keyed/x").header("x-api-key", "acme-key")).status(),
        StatusCode::OK,
        "other IPs unaffected"
    );
    p.clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        call(&gw, &p, "203.0.113.5", get("/keyed/x").header("x-api-key", "acme-key")).status(),
        StatusCode::OK,
        "the window ends"
    );
}

#[test]
fn the_admin_api_needs_the_admin_token() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(call(&gw, &p, "192.0.2.1", get("/_gateway/health")).status(), StatusCode::OK);
    let none = call(&gw, &p, "192.0.2.1", get("/_gateway/routes"));
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong =
        call(&gw, &p, "192.0.2.1", get("/_gateway/routes").header("authorization", "Bearer admin-secret-tokex"));
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    let ok = call(&gw, &p, "192.0.2.1", get("/_gateway/routes").header("authorization", "Bearer admin-secret-token"));
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(ok.body()).expect("json");
    assert_eq!(body["routes"][0]["id"], "keyed");
    assert_eq!(body["routes"][0]["auth"][0], "api_key:keys");
}

#[test]
fn without_an_admin_token_the_admin_api_does_not_exist() {
    let cfg = config().replace("admin: { token: \"admin-secret-token\" }\n", "");
    let gw = load("auth.yaml", &cfg, &|_| None).expect("config loads");
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let resp = call(&gw, &p, "192.0.2.1", get("/_gateway/routes").header("authorization", "Bearer anything"));
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[test]
fn auth_config_problems_are_located() {
    let bad = r#"
version: 1
auth:
  api_key:
    k: {}
consumers:
  - { id: a, api_keys: ["plaintext-key"] }
upstreams:
  u: { targets: [ { url: "http://127.0.0.1:1" } ] }
routes:
  - { id: r1, path: /a, upstream: u, auth: ["api_key:nope"] }
  - { id: r2, path: /b, upstream: u, scopes: [x] }
  - { id: r3, path: "/c/{id}", upstream: u, auth: ["basic:x"], bind: { other: claims.sub } }
  - { id: r4, path: /d, upstream: u, ip: { allow: ["10.0.0.0/99"] } }
  - { id: r5, path: /e, upstream: u, rewrite: "/x/{claims.sub}" }
"#;
    let errs: Vec<String> = match load("bad.yaml", bad, &|_| None) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    };
    for want in [
        "bad.yaml:5:8: auth.api_key.k: name the `header` or the `query` parameter",
        "bad.yaml:7:24: consumer `a`: an API key must be stored hashed",
        "route `r1`: `api_key:nope` is not defined under `auth`",
        "route `r2`: `scopes` need `auth` on the route",
        "route `r3`: `basic:x` is not `jwt:NAME` or `api_key:NAME`",
        "route `r3`: bind: `other` is not a parameter of the route path",
        "route `r4`: ip: `10.0.0.0/99` is not an IP address or CIDR block",
        "route `r5`: `{claims.*}` and `{consumer.id}` need `auth` on the route",
    ] {
        assert!(errs.iter().any(|e| e.contains(want)), "wanted {want:?} in {errs:#?}");
    }
}
