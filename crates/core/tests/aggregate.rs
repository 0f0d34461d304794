//! Aggregation through the whole pipeline with a scripted upstream: merging
//! by name, chaining (`{profile.id}`), select / extract, required and
//! optional failures (fallback, `_errors`, `x-gateway-partial`, on_partial),
//! timeouts, untrusted leg answers (non-JSON, Set-Cookie), the headers each
//! leg gets, config errors, and a property test of the merge.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, api_key_stored_form, load};

fn config(extra_backends: &str, on_partial: &str) -> String {
    format!(
        r#"
version: 1
auth:
  api_key:
    keys: {{ header: x-api-key }}
consumers:
  - {{ id: acme, api_keys: ["{acme}"] }}
upstreams:
  users: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
  orders: {{ targets: [ {{ url: "http://10.0.0.2:9002/api" }} ] }}
routes:
  - id: dash
    path: /dash/{{id}}
    auth: ["api_key:keys"]
    aggregate:
      timeout: 2s
      on_partial: {on_partial}
      backends:
        - {{ name: profile, upstream: users, path: "/users/{{id}}", select: [id, name, address.city], required: true }}
        - {{ name: orders, upstream: orders, path: "/orders?user={{profile.id}}&who={{consumer.id}}", extract: items }}
        - {{ name: recs, upstream: users, path: "/recs/{{profile.id}}", fallback: [] }}
{extra_backends}
"#,
        acme = api_key_stored_form("acme-key")
    )
}

fn json_resp(status: u16, body: Value) -> Script {
    Script::Respond(
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("set-cookie", "session=leg-secret")
            .body(Bytes::from(body.to_string()))
            .expect("response"),
    )
}

/// A backend world: what each path answers.
fn world(req: &Request<Bytes>) -> Script {
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    match path {
        "/users/7" => {
            json_resp(200, json!({"id": 7, "name": "Ada", "secret": "s", "address": {"city": "Paris", "zip": "1"}}))
        }
        "/users/404" => json_resp(404, json!({"error": "no such user"})),
        "/users/503" => json_resp(503, json!({})),
        "/users/hang" => Script::Hang,
        "/users/missing-id" => json_resp(200, json!({"name": "No Id"})),
        "/api/orders" if query.contains("user=7") => json_resp(200, json!({"items": [1, 2], "total": 2})),
        "/api/orders" => json_resp(500, json!({})),
        "/recs/7" => {
            Script::Respond(Response::builder().status(200).body(Bytes::from_static(b"<html>")).expect("resp"))
        }
        _ => json_resp(404, json!({})),
    }
}

fn gateway(extra: &str, on_partial: &str) -> Gateway {
    load("agg.yaml", &config(extra, on_partial), &|_| None).expect("config loads")
}

fn get(gw: &Gateway, p: &MemoryPlatform, uri: &str) -> Response<Bytes> {
    let req = Request::builder()
        .uri(uri)
        .header("host", "gw")
        .header("x-api-key", "acme-key")
        .header("authorization", "Bearer client-token")
        .header("cookie", "client=1")
        .body(Bytes::new())
        .expect("request");
    let client = ClientInfo { peer_ip: Some("192.0.2.1".parse().expect("ip")), https: true, host: None };
    block_on(gw.handle(p, req, client))
}

fn body(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body()).expect("json body")
}

#[test]
fn legs_are_merged_by_name_chained_and_shaped() {
    let gw = gateway("", "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let resp = get(&gw, &p, "/dash/7");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let b = body(&resp);
    assert_eq!(b["profile"], json!({"id": 7, "name": "Ada", "address": {"city": "Paris"}}), "select is an allowlist");
    assert_eq!(b["orders"], json!([1, 2]), "extract takes one field");
    // recs answered HTML: it failed, took its fallback and is reported.
    assert_eq!(b["recs"], json!([]));
    assert_eq!(b["_errors"]["recs"]["status"], 502);
    assert_eq!(resp.headers()["x-gateway-partial"], "true");
    assert!(resp.headers().get("set-cookie").is_none(), "a leg's Set-Cookie never reaches the client");
    // the chained legs were called with profile's id.
    let seen: Vec<String> = p.upstream.requests().iter().map(|r| r.uri().to_string()).collect();
    assert!(seen.contains(&"http://10.0.0.2:9002/api/orders?user=7&who=acme".to_owned()), "{seen:?}");
    assert!(seen.contains(&"http://10.0.0.1:9001/recs/7".to_owned()), "{seen:?}");
}

#[test]
fn each_leg_gets_the_request_id_a_child_span_and_the_consumer_but_not_the_credentials() {
    let gw = gateway("", "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let req = Request::builder()
        .uri("/dash/7")
        .header("host", "gw")
        .header("x-api-key", "acme-key")
        .header("x-request-id", "agg-req-1")
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .header("cookie", "client=1")
        .body(Bytes::new())
        .expect("request");
    let client = ClientInfo { peer_ip: Some("192.0.2.1".parse().expect("ip")), https: true, host: None };
    let resp = block_on(gw.handle(&p, req, client));
    assert_eq!(resp.status(), StatusCode::OK);
    let legs = p.upstream.requests();
    assert_eq!(legs.len(), 3);
    let mut spans = Vec::new();
    for leg in &legs {
        let h = leg.headers();
        assert_eq!(h["x-request-id"], "agg-req-1");
        assert_eq!(h["x-consumer-id"], "acme");
        let tp = h["traceparent"].to_str().expect("ascii");
        assert!(tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-"), "same trace: {tp}");
        spans.push(tp[36..52].to_owned());
        for gone in ["x-api-key", "authorization", "cookie"] {
            assert!(!h.contains_key(gone), "{gone} reached a leg");
        }
    }
    spans.sort();
    spans.dedup();
    assert_eq!(spans.len(), 3, "a span of its own per leg");
}

#[test]
fn a_required_legs_4xx_passes_through_naming_the_backend() {
    let gw = gateway("", "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let resp = get(&gw, &p, "/dash/404");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let b = body(&resp);
    assert_eq!(b["backend"], "profile");
    assert_eq!(b["status"], 404);
    assert_eq!(b["type"], "https://tollgate.dev/problems/backend-failed");
    let resp = get(&gw, &p, "/dash/503");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(body(&resp)["backend"], "profile");
}

#[test]
fn a_required_leg_that_times_out_is_504() {
    let gw = gateway("", "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let resp = get(&gw, &p, "/dash/hang");
    assert_eq!(resp.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body(&resp)["backend"], "profile");
}

#[test]
fn optional_failures_are_reported_left_out_or_fail_the_call_under_on_partial_fail() {
    let extra = "        - { name: extra, upstream: users, path: /missing }";
    let gw = gateway(extra, "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let b = body(&get(&gw, &p, "/dash/7"));
    assert!(b.get("extra").is_none(), "a failed leg without fallback is left out");
    assert_eq!(b["_errors"]["extra"], json!({"status": 404, "title": "answered 404"}));
    let strict = gateway(extra, "fail");
    let resp = get(&strict, &p, "/dash/7");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(body(&resp)["type"], "https://tollgate.dev/problems/aggregate-partial");
}

#[test]
fn a_chained_leg_whose_field_is_missing_fails_cleanly() {
    let gw = gateway("", "allow");
    let p = MemoryPlatform::new(ScriptedUpstream::new(world));
    let b = body(&get(&gw, &p, "/dash/missing-id"));
    assert_eq!(b["profile"], json!({"name": "No Id"}));
    assert_eq!(b["_errors"]["orders"]["status"], 502);
    assert_eq!(b["recs"], json!([]), "fallback");
    assert_eq!(p.upstream.requests().len(), 1, "legs that cannot be built are not sent");
}

#[test]
fn config_mistakes_are_located_errors() {
    let base =
        "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - id: r\n    path: /r\n";
    let cases = [
        ("    aggregate: { backends: [] }\n", "`backends` is empty"),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: u, path: \"/a/{b.x}\" }\n        - { name: b, upstream: u, path: \"/b/{a.y}\" }\n",
            "backends wait for each other in a cycle: a, b",
        ),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: u, path: \"/a/{zz.x}\" }\n",
            "`{zz.x}` is not a parameter",
        ),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: nope, path: /a }\n",
            "unknown upstream `nope`",
        ),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: u, path: /a, select: [x], extract: y }\n",
            "`select` and `extract` exclude each other",
        ),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: u, path: /a }\n        - { name: a, upstream: u, path: /b }\n",
            "backend name `a` is used twice",
        ),
        (
            "    aggregate:\n      backends:\n        - { name: _errors, upstream: u, path: /a }\n",
            "`_errors` is reserved",
        ),
        (
            "    upstream: u\n    aggregate:\n      backends:\n        - { name: a, upstream: u, path: /a }\n",
            "exclude each other",
        ),
        ("    methods: [GET]\n", "needs an `upstream` (or an `aggregate`)"),
        (
            "    aggregate:\n      backends:\n        - { name: a, upstream: u, path: \"/a/{claims.sub}\" }\n",
            "need `auth` on the route",
        ),
    ];
    for (tail, want) in cases {
        let yaml = format!("{base}{tail}");
        let errs = match load("agg.yaml", &yaml, &|_| None) {
            Ok(_) => panic!("{tail}: loaded"),
            Err(e) => e.to_string(),
        };
        assert!(errs.contains(want), "{tail}: wanted {want:?} in {errs}");
        assert!(errs.contains("agg.yaml:"), "located: {errs}");
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-d]{1,2}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn keys_within(v: &Value, allowed: &[&str]) -> bool {
    match v {
        Value::Object(m) => m.keys().all(|k| allowed.contains(&k.as_str())),
        Value::Array(items) => items.iter().all(|i| keys_within(i, allowed)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever JSON (or bytes) the legs answer: no panic, an answer, and the
    /// selected leg holds no top-level field outside its allowlist.
    #[test]
    fn arbitrary_legs_never_break_the_merge(first in arb_json(), second in arb_json(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let yaml = "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - id: r\n    path: /r\n    aggregate:\n      backends:\n        - { name: a, upstream: u, path: /a, select: [a, b.c] }\n        - { name: b, upstream: u, path: /b, extract: a.b }\n        - { name: c, upstream: u, path: /c }\n        - { name: d, upstream: u, path: \"/d/{a.a}\" }\n";
        let gw = load("p.yaml", yaml, &|_| None).expect("config");
        let (f, s, r) = (first.clone(), second.clone(), raw.clone());
        let p = MemoryPlatform::new(ScriptedUpstream::new(move |req| {
            let body = match req.uri().path() {
                "/a" => Bytes::from(f.to_string()),
                "/b" => Bytes::from(s.to_string()),
                _ => Bytes::from(r.clone()),
            };
            Script::Respond(Response::builder().status(200).body(body).expect("resp"))
        }));
        let req = Request::builder().uri("/r").header("host", "gw").body(Bytes::new()).expect("request");
        let resp = block_on(gw.handle(&p, req, ClientInfo::default()));
        prop_assert_eq!(resp.status(), StatusCode::OK);
        let b: Value = serde_json::from_slice(resp.body()).expect("json");
        prop_assert!(keys_within(&b["a"], &["a", "b"]), "allowlist violated: {}", b["a"]);
        if let Some(inner) = b["a"].get("b") {
            prop_assert!(keys_within(inner, &["c"]), "nested allowlist violated: {}", inner);
        }
    }
}
