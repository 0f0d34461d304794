//! Targets replaced at run time through the admin API (issue 11): validated,
//! versioned, conditional on `If-Match`, shared through the key-value port
//! and picked up by every instance within the refresh interval.

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::future::join;
use http::{Request, Response, StatusCode};
use std::time::Duration;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, load};

const CONFIG: &str = r#"
version: 1
admin: { token: t0ken-for-tests }
upstreams:
  svc:
    targets: [ { url: "http://old.test" } ]
  bound: { binding: SVC }
routes:
  - { id: svc, path: /svc, upstream: svc }
"#;

fn gateway() -> Gateway {
    load("discovery.yaml", CONFIG, &|_| None).unwrap_or_else(|e| panic!("config: {e}"))
}

fn platform() -> MemoryPlatform {
    MemoryPlatform::new(ScriptedUpstream::new(|req| {
        Script::Respond(Response::new(Bytes::from(req.uri().host().unwrap_or("").to_owned())))
    }))
}

fn admin(
    gw: &Gateway,
    p: &MemoryPlatform,
    method: &str,
    path: &str,
    body: &str,
    if_match: Option<&str>,
) -> Response<Bytes> {
    let mut req = Request::builder().method(method).uri(path).header("authorization", "Bearer t0ken-for-tests");
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    block_on(gw.handle(p, req.body(Bytes::from(body.to_owned())).expect("request"), ClientInfo::default()))
}

fn served_by(gw: &Gateway, p: &MemoryPlatform) -> String {
    let req = Request::get("/svc").body(Bytes::new()).expect("request");
    let resp = block_on(gw.handle(p, req, ClientInfo::default()));
    assert_eq!(resp.status(), StatusCode::OK);
    String::from_utf8_lossy(resp.body()).into_owned()
}

fn json(resp: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(resp.body()).unwrap_or_else(|e| panic!("json: {e}: {:?}", resp.body()))
}

const NEW: &str = r#"{"targets": [{"url": "http://new.test", "weight": 100}]}"#;

#[test]
fn a_put_replaces_the_targets_at_once_and_versions_them() {
    let (gw, p) = (gateway(), platform());
    assert_eq!(served_by(&gw, &p), "old.test");
    let resp = admin(&gw, &p, "PUT", "/_gateway/upstreams/svc/targets", NEW, None);
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.body());
    assert_eq!(resp.headers()["etag"], "\"1\"");
    let body = json(&resp);
    assert_eq!((body["version"].as_u64(), body["source"].as_str()), (Some(1), Some("run-time")));
    assert_eq!(body["targets"][0]["url"], "http://new.test");
    assert_eq!(served_by(&gw, &p), "new.test");
    let read = admin(&gw, &p, "GET", "/_gateway/upstreams/svc", "", None);
    assert_eq!(read.headers()["etag"], "\"1\"");
    // DELETE goes back to the config's list, as a new version.
    let back = admin(&gw, &p, "DELETE", "/_gateway/upstreams/svc/targets", "", Some("\"1\""));
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(json(&back)["version"], 2);
    assert_eq!(json(&back)["source"], "config");
    assert_eq!(served_by(&gw, &p), "old.test");
}

#[test]
fn a_bad_list_is_400_naming_every_problem_and_changes_nothing() {
    let (gw, p) = (gateway(), platform());
    let bad = r#"{"targets": [
        {"url": "ftp://a.test"}, {"url": "http://user:pw@b.test"}, {"url": "http://c.test", "weight": 1001},
        {"url": "http://d.test"}, {"url": "http://d.test"}, {"url": "http://e.test?x=1"}]}"#;
    let resp = admin(&gw, &p, "PUT", "/_gateway/upstreams/svc/targets", bad, None);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let detail = json(&resp)["detail"].as_str().unwrap_or("").to_owned();
    for part in
        ["targets[0]", "targets[1]", "targets[2]", "targets[4]: the same URL as targets[3]", "targets[5]", "1001"]
    {
        assert!(detail.contains(part), "{part} missing from {detail}");
    }
    assert!(!detail.contains(".test"), "no target address in an answer: {detail}");
    for body in ["", "{}", r#"{"targets": []}"#, r#"{"targets": [{"url": "http://a.test", "extra": 1}]}"#, "[1]"] {
        let resp = admin(&gw, &p, "PUT", "/_gateway/upstreams/svc/targets", body, None);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let many: Vec<String> = (0..65).map(|i| format!(r#"{{"url": "http://h{i}.test"}}"#)).collect();
    let resp = admin(
        &gw,
        &p,
        "PUT",
        "/_gateway/upstreams/svc/targets",
        &format!(r#"{{"targets": [{}]}}"#, many.join(",")),
        None,
    );
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(&admin(&gw, &p, "GET", "/_gateway/upstreams/svc", "", None))["version"], 0);
    assert_eq!(served_by(&gw, &p), "old.test");
    let bound = admin(&gw, &p, "PUT", "/_gateway/upstreams/bound/targets", NEW, None);
    assert_eq!(bound.status(), StatusCode::BAD_REQUEST);
    let nope = admin(&gw, &p, "PUT", "/_gateway/upstreams/nope/targets", NEW, None);
    assert_eq!(nope.status(), StatusCode::NOT_FOUND);
    let post = admin(&gw, &p, "POST", "/_gateway/upstreams/svc/targets", NEW, None);
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn if_match_on_another_version_is_412_and_of_two_racing_writers_one_wins() {
    let (gw, p) = (gateway(), platform());
    let stale = admin(&gw, &p, "PUT", "/_gateway/upstreams/svc/targets", NEW, Some("\"7\""));
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.headers()["etag"], "\"0\"");
    let put = |body: &'static str| {
        let req = Request::put("/_gateway/upstreams/svc/targets")
            .header("authorization", "Bearer t0ken-for-tests")
            .header("if-match", "\"0\"")
            .body(Bytes::from_static(body.as_bytes()))
            .expect("request");
        gw.handle(&p, req, ClientInfo::default())
    };
    let (a, b) = block_on(join(
        put(r#"{"targets": [{"url": "http://a.test"}]}"#),
        put(r#"{"targets": [{"url": "http://b.test"}]}"#),
    ));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "exactly one writer of version 1");
    let winner = if a.status() == StatusCode::OK { "a.test" } else { "b.test" };
    assert_eq!(served_by(&gw, &p), winner);
}

#[test]
fn another_instance_picks_the_change_up_within_the_refresh_interval() {
    let p = platform();
    let (one, two) = (gateway(), gateway());
    assert_eq!(served_by(&two, &p), "old.test");
    assert_eq!(admin(&one, &p, "PUT", "/_gateway/upstreams/svc/targets", NEW, None).status(), StatusCode::OK);
    assert_eq!(served_by(&two, &p), "old.test", "read less than 15 s ago");
    p.clock.advance(Duration::from_secs(15));
    assert_eq!(served_by(&two, &p), "new.test");
}

#[test]
fn a_corrupt_or_hostile_record_in_the_store_is_not_used() {
    use tollgate_core::platform::KeyValueStore;
    let (gw, p) = (gateway(), platform());
    assert_eq!(served_by(&gw, &p), "old.test");
    for record in [
        &b"not json"[..],
        br#"{"version": 9, "targets": [{"url": "ftp://evil.test"}]}"#,
        br#"{"version": 9, "targets": [{"url": "http://evil.test", "weight": 99999}]}"#,
        br#"{"version": 9, "targets": []}"#,
        br#"{"version": 9, "targets": [{"url": "http://a:b@evil.test"}], "extra": 1}"#,
    ] {
        block_on(p.kv.put("upstream-targets:svc", Bytes::from_static(record), None)).expect("put");
        p.clock.advance(Duration::from_secs(15));
        assert_eq!(served_by(&gw, &p), "old.test", "{}", String::from_utf8_lossy(record));
    }
    // A valid record written straight into the store is taken up.
    let good = br#"{"version": 10, "targets": [{"url": "http://new.test"}]}"#;
    block_on(p.kv.put("upstream-targets:svc", Bytes::from_static(good), None)).expect("put");
    p.clock.advance(Duration::from_secs(15));
    assert_eq!(served_by(&gw, &p), "new.test");
}
