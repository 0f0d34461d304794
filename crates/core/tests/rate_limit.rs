//! Rate limits, plans and quotas through the whole pipeline with in-memory
//! ports and a manual clock: the RateLimit headers (parsed back as structured
//! fields), 429 with Retry-After, key isolation, multi-policy refunds, the
//! "blocked until" fast path and store failures (closed / open).

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use sfv::{BareItem, ListEntry, Parser};
use std::time::Duration;
use tollgate_core::platform::KeyValueStore;
use tollgate_core::platform::memory::{MemoryPlatform, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, api_key_stored_form, load};

fn config() -> String {
    format!(
        r#"
version: 1
client_ip: x-forwarded-for
auth:
  api_key:
    keys: {{ header: x-api-key }}
consumers:
  - {{ id: acme, plan: small, api_keys: ["{acme}"] }}
  - {{ id: globex, plan: small, api_keys: ["{globex}"] }}
  - {{ id: planless, api_keys: ["{planless}"] }}
plans:
  small: {{ rate_limit: {{ requests: 100, per: 1s }}, quota: {{ requests: 5, per: day }} }}
  monthly: {{ quota: {{ requests: 1000, per: month }} }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: by-ip, path: /ip, upstream: echo, rate_limit: {{ requests: 3, per: 1m, key: ip }} }}
  - {{ id: by-ip-2, path: /ip2, upstream: echo, rate_limit: {{ requests: 3, per: 1m, key: ip }} }}
  - {{ id: by-consumer, path: /c, upstream: echo, auth: ["api_key:keys"], rate_limit: {{ requests: 2, per: 1m }} }}
  - {{ id: by-header, path: /h, upstream: echo, rate_limit: {{ requests: 1, per: 1h, key: "header:x-tenant" }} }}
  - {{ id: whole-route, path: /all, upstream: echo, rate_limit: {{ requests: 2, per: 1h, key: route }} }}
  - {{ id: open, path: /open, upstream: echo, rate_limit: {{ requests: 2, per: 1h, key: ip, on_store_error: open }} }}
  - {{ id: approx, path: /approx, upstream: echo, rate_limit: {{ requests: 2, per: 1h, key: ip, consistency: approximate }} }}
  - {{ id: plan-only, path: /p, upstream: echo, auth: ["api_key:keys"] }}
  - {{ id: free, path: /free, upstream: echo }}
"#,
        acme = api_key_stored_form("acme-key"),
        globex = api_key_stored_form("globex-key"),
        planless = api_key_stored_form("planless-key"),
    )
}

fn gateway() -> Gateway {
    load("limits.yaml", &config(), &|_| None).expect("config loads")
}

fn call(gw: &Gateway, p: &MemoryPlatform, ip: &str, r: http::request::Builder) -> Response<Bytes> {
    let client = ClientInfo { peer_ip: Some("203.0.113.250".parse().expect("ip")), https: true, host: None };
    let r = r.header("x-forwarded-for", ip);
    block_on(gw.handle(p, r.body(Bytes::new()).expect("request"), client))
}

fn get(uri: &str) -> http::request::Builder {
    Request::builder().method("GET").uri(uri).header("host", "gw")
}

/// A structured-field list header: (name, [(param, value)]) per item.
fn items(resp: &Response<Bytes>, header: &str) -> Vec<(String, Vec<(String, i64)>)> {
    let Some(v) = resp.headers().get(header) else { return Vec::new() };
    let list: sfv::List = Parser::new(v.to_str().expect("ascii")).parse().expect("a structured-field list");
    list.into_iter()
        .map(|e| match e {
            ListEntry::Item(item) => {
                let BareItem::String(name) = item.bare_item else { panic!("string names") };
                let params = item
                    .params
                    .iter()
                    .map(|(k, v)| match v {
                        BareItem::Integer(i) => (k.as_str().to_owned(), i64::from(*i)),
                        other => panic!("integer params, got {other:?}"),
                    })
                    .collect();
                (name.as_str().to_owned(), params)
            }
            ListEntry::InnerList(_) => panic!("no inner lists"),
        })
        .collect()
}

fn param(resp: &Response<Bytes>, header: &str, name: &str, key: &str) -> Option<i64> {
    items(resp, header).into_iter().find(|(n, _)| n == name)?.1.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn retry_after(resp: &Response<Bytes>) -> u64 {
    resp.headers()["retry-after"].to_str().expect("ascii").parse().expect("whole seconds")
}

#[test]
fn limit_plus_one_requests_the_last_is_429_with_headers_and_retry_after_works() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let mut last_r = i64::MAX;
    for n in 0..3 {
        let resp = call(&gw, &p, "198.51.100.1", get("/ip"));
        assert_eq!(resp.status(), StatusCode::OK, "request {n}");
        assert_eq!(items(&resp, "ratelimit-policy"), vec![("route".into(), vec![("q".into(), 3), ("w".into(), 60)])]);
        let r = param(&resp, "ratelimit", "route", "r").expect("r");
        assert_eq!(r, 2 - n);
        assert!(r < last_r, "r never increases within the window");
        last_r = r;
    }
    let denied = call(&gw, &p, "198.51.100.1", get("/ip"));
    assert_eq!(denied.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(denied.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_slice(denied.body()).expect("json");
    assert_eq!(body["status"], 429);
    assert_eq!(body["type"], "https://tollgate.dev/problems/rate-limited");
    assert_eq!(param(&denied, "ratelimit", "route", "r"), Some(0));
    let t = param(&denied, "ratelimit", "route", "t").expect("t");
    let wait = retry_after(&denied);
    assert!(wait >= t as u64 && wait >= 1, "Retry-After {wait} < t {t}");
    assert_eq!(wait, 20, "3 per minute: one unit comes back every 20 s");
    // one second early: still refused; after Retry-After: admitted.
    p.clock.advance(Duration::from_secs(wait - 1));
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::TOO_MANY_REQUESTS);
    p.clock.advance(Duration::from_secs(1));
    let again = call(&gw, &p, "198.51.100.1", get("/ip"));
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(param(&again, "ratelimit", "route", "r"), Some(0));
}

#[test]
fn ips_routes_consumers_and_header_values_do_not_share_counters() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for _ in 0..3 {
        assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::OK);
    }
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::TOO_MANY_REQUESTS);
    // another IP, and the same IP on another route, start full.
    assert_eq!(param(&call(&gw, &p, "198.51.100.2", get("/ip")), "ratelimit", "route", "r"), Some(2));
    assert_eq!(param(&call(&gw, &p, "198.51.100.1", get("/ip2")), "ratelimit", "route", "r"), Some(2));
    // consumers
    for _ in 0..2 {
        assert_eq!(call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "acme-key")).status(), StatusCode::OK);
    }
    let acme = call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "acme-key"));
    assert_eq!(acme.status(), StatusCode::TOO_MANY_REQUESTS);
    let globex = call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "globex-key"));
    assert_eq!(globex.status(), StatusCode::OK);
    // header values
    assert_eq!(call(&gw, &p, "198.51.100.9", get("/h").header("x-tenant", "a")).status(), StatusCode::OK);
    assert_eq!(
        call(&gw, &p, "198.51.100.9", get("/h").header("x-tenant", "a")).status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(call(&gw, &p, "198.51.100.9", get("/h").header("x-tenant", "b")).status(), StatusCode::OK);
    // key: route is one counter whoever calls.
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/all")).status(), StatusCode::OK);
    assert_eq!(call(&gw, &p, "198.51.100.2", get("/all")).status(), StatusCode::OK);
    assert_eq!(call(&gw, &p, "198.51.100.3", get("/all")).status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn the_ip_key_follows_client_ip_mode_not_a_spoofed_header() {
    // With client_ip: platform, X-Forwarded-For is ignored for the key.
    let yaml = "version: 1\nupstreams:\n  echo: { targets: [ { url: \"http://10.0.0.1:9001\" } ] }\nroutes:\n  - { id: r, path: /r, upstream: echo, rate_limit: { requests: 1, per: 1h, key: ip } }\n";
    let gw = load("ip.yaml", yaml, &|_| None).expect("config loads");
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/r")).status(), StatusCode::OK);
    assert_eq!(call(&gw, &p, "198.51.100.2", get("/r")).status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn plans_apply_rate_and_quota_and_a_refused_request_consumes_nothing() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    // route limit 2/min + plan rate 100/s + quota 5/day on /c.
    let first = call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "acme-key"));
    assert_eq!(first.status(), StatusCode::OK);
    let names: Vec<String> = items(&first, "ratelimit-policy").into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["route", "plan", "quota"]);
    assert_eq!(param(&first, "ratelimit-policy", "quota", "w"), Some(86_400));
    assert_eq!(param(&first, "ratelimit-policy", "plan", "q"), Some(100));
    assert_eq!(param(&first, "ratelimit", "quota", "r"), Some(4));
    assert_eq!(call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "acme-key")).status(), StatusCode::OK);
    // the route limit refuses the next three: the quota must not move.
    for _ in 0..3 {
        let refused = call(&gw, &p, "198.51.100.9", get("/c").header("x-api-key", "acme-key"));
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let plan_only = call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "acme-key"));
    assert_eq!(plan_only.status(), StatusCode::OK);
    assert_eq!(param(&plan_only, "ratelimit", "quota", "r"), Some(2), "5 - 3 admitted, refusals refunded");
    for _ in 0..2 {
        assert_eq!(call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "acme-key")).status(), StatusCode::OK);
    }
    let over = call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "acme-key"));
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(param(&over, "ratelimit", "quota", "r"), Some(0));
    // the quota resets at the next UTC midnight, and Retry-After says so.
    let wait = retry_after(&over);
    assert!(wait > 0 && wait <= 86_400);
    p.clock.advance(Duration::from_secs(wait));
    assert_eq!(call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "acme-key")).status(), StatusCode::OK);
    // a consumer without a plan gets no plan headers.
    let planless = call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "planless-key"));
    assert_eq!(planless.status(), StatusCode::OK);
    assert!(planless.headers().get("ratelimit").is_none());
}

#[test]
fn plan_usage_reports_what_is_left_without_consuming_it() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for _ in 0..2 {
        assert_eq!(call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "acme-key")).status(), StatusCode::OK);
    }
    let usage = block_on(gw.plan_usage(&p, "acme", None)).expect("memory store");
    let quota = usage.iter().find(|u| u.policy == "quota").expect("a quota");
    assert_eq!((quota.plan.as_str(), quota.limit, quota.remaining), ("small", 5, 3));
    assert!(quota.reset_secs > 0 && quota.reset_secs <= 86_400);
    let again = block_on(gw.plan_usage(&p, "acme", None)).expect("memory store");
    assert_eq!(again, usage, "reading consumes nothing");
    assert!(block_on(gw.plan_usage(&p, "planless", None)).expect("store").is_empty());
    let other = block_on(gw.plan_usage(&p, "someone", Some("monthly"))).expect("store");
    assert_eq!(other.len(), 1);
    assert_eq!((other[0].limit, other[0].remaining), (1000, 1000));
}

#[test]
fn a_run_time_consumer_record_can_name_its_plan() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let digest = api_key_stored_form("issued-key");
    let hex = digest.trim_start_matches("sha256:");
    block_on(p.kv.put(&format!("apikey:{hex}"), Bytes::from(r#"{"id":"issued","plan":"monthly"}"#), None))
        .expect("put");
    let resp = call(&gw, &p, "198.51.100.9", get("/p").header("x-api-key", "issued-key"));
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(param(&resp, "ratelimit", "quota", "r"), Some(999));
    let w = param(&resp, "ratelimit-policy", "quota", "w").expect("w");
    assert!([28, 29, 30, 31].contains(&(w / 86_400)) && w % 86_400 == 0, "a calendar month: {w}");
}

#[test]
fn a_used_up_key_is_refused_without_asking_the_store_until_it_is_due() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for _ in 0..3 {
        call(&gw, &p, "198.51.100.1", get("/ip"));
    }
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::TOO_MANY_REQUESTS);
    let calls = p.limiter.calls();
    for _ in 0..10 {
        let resp = call(&gw, &p, "198.51.100.1", get("/ip"));
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after(&resp) >= 1);
        assert_eq!(param(&resp, "ratelimit", "route", "r"), Some(0));
    }
    assert_eq!(p.limiter.calls(), calls, "no store round trip while blocked");
    p.clock.advance(Duration::from_secs(20));
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::OK);
    assert_eq!(p.limiter.calls(), calls + 1);
}

#[test]
fn an_unreachable_store_is_503_when_closed_and_admits_when_open() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    p.limiter.set_failing(true);
    let closed = call(&gw, &p, "198.51.100.1", get("/ip"));
    assert_eq!(closed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(closed.headers()["content-type"], "application/problem+json");
    assert!(retry_after(&closed) >= 1);
    let body: serde_json::Value = serde_json::from_slice(closed.body()).expect("json");
    assert_eq!(body["type"], "https://tollgate.dev/problems/rate-limit-store-unavailable");
    for _ in 0..5 {
        assert_eq!(call(&gw, &p, "198.51.100.1", get("/open")).status(), StatusCode::OK);
    }
    // unlimited routes do not touch the store at all.
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/free")).status(), StatusCode::OK);
    p.limiter.set_failing(false);
    assert_eq!(call(&gw, &p, "198.51.100.1", get("/ip")).status(), StatusCode::OK);
}

#[test]
fn approximate_limits_count_without_the_exact_store() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    p.limiter.set_failing(true);
    let statuses: Vec<u16> = (0..3).map(|_| call(&gw, &p, "198.51.100.1", get("/approx")).status().as_u16()).collect();
    assert_eq!(statuses, vec![200, 200, 429]);
}
