//! Protocol translation through the whole pipeline (spec §3 `translate`, §7
//! "Translated routes"): the request a SOAP or GraphQL upstream receives
//! (method, path, headers, exact body) and what the client gets back.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, load};

const CONFIG: &str = r#"
version: 1
upstreams:
  weather: { targets: [ { url: "http://10.0.0.4:9004/soap" } ], timeout: 2s }
  catalog: { targets: [ { url: "http://10.0.0.5:9005/graphql" } ], timeout: 2s }
  bare: { targets: [ { url: "http://10.0.0.6:9006" } ], timeout: 2s }
routes:
  - id: weather.soap
    path: /v1/weather/{city}
    methods: [GET]
    upstream: weather
    translate:
      request:  { soap: { action: GetWeather, body: "<GetWeather xmlns=\"urn:weather\"><City>{city}</City><Unit>{query.unit}</Unit></GetWeather>" } }
      response: xml_to_json
  - id: weather.rewrite
    path: /v2/weather/{city}
    upstream: weather
    rewrite: /v2/{city}
    request: { query: { set: { api: "2" } } }
    translate:
      request:  { soap: { action: "urn:weather#Get", body: "<Get><City>{city}</City></Get>" } }
      response: xml_to_json
  - id: product.graphql
    path: /v1/products/{id}
    methods: [GET]
    upstream: catalog
    translate:
      request: { graphql: { query: "query($id: ID!, $qty: Int) { product(id: $id) { id name price } }", variables: { id: "{id}", qty: "{query.qty}" } } }
      response: graphql_data
  - id: bare.soap
    path: /bare
    upstream: bare
    translate:
      request:  { soap: { action: "", body: "<Ping/>" } }
      response: xml_to_json
"#;

const ENVELOPE_START: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>";
const ENVELOPE_END: &str = "</soap:Body></soap:Envelope>";

fn gateway() -> Gateway {
    load("translate.yaml", CONFIG, &|_| None).expect("config loads")
}

fn client() -> ClientInfo {
    ClientInfo { peer_ip: Some("192.0.2.7".parse().expect("ip")), https: false, host: None }
}

fn get(gw: &Gateway, p: &MemoryPlatform, uri: &str) -> Response<Bytes> {
    let r = Request::builder()
        .method("GET")
        .uri(uri)
        .header("host", "gw.example.com")
        .header("accept", "text/html")
        .header("accept-encoding", "gzip")
        .header("content-type", "text/plain")
        .header("soapaction", "\"Evil\"")
        .header("x-client", "kept")
        .body(Bytes::new())
        .expect("request");
    block_on(gw.handle(p, r, client()))
}

fn answering(status: u16, content_type: &'static str, body: &'static str) -> MemoryPlatform {
    MemoryPlatform::new(ScriptedUpstream::new(move |_| {
        let resp = Response::builder()
            .status(status)
            .header("content-type", content_type)
            .header("x-upstream", "yes")
            .body(Bytes::from_static(body.as_bytes()))
            .expect("response");
        Script::Respond(resp)
    }))
}

fn json(resp: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(resp.body()).expect("JSON body")
}

fn problem(resp: &Response<Bytes>) -> serde_json::Value {
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    json(resp)
}

const WEATHER: &str = "<?xml version=\"1.0\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
<soap:Body><w:GetWeatherResponse xmlns:w=\"urn:weather\"><w:City country=\"FR\">Paris</w:City>\
<w:Forecast><w:Day name=\"Mon\">Sunny</w:Day><w:Day name=\"Tue\">Rain</w:Day></w:Forecast>\
</w:GetWeatherResponse></soap:Body></soap:Envelope>";

#[test]
fn soap_request_is_a_post_to_the_target_with_an_escaped_envelope() {
    let gw = gateway();
    let p = answering(200, "text/xml; charset=utf-8", WEATHER);
    let resp = get(&gw, &p, "/v1/weather/Paris%20%3C%26%3E?unit=%22C%22&other=1");
    assert_eq!(resp.status(), StatusCode::OK);
    let sent = p.upstream.requests();
    assert_eq!(sent.len(), 1);
    let up = &sent[0];
    assert_eq!(up.method(), "POST");
    assert_eq!(up.uri().to_string(), "http://10.0.0.4:9004/soap", "target URL, no client path or query");
    let h = up.headers();
    assert_eq!(h["content-type"], "text/xml; charset=utf-8");
    assert_eq!(h["soapaction"], "\"GetWeather\"");
    assert_eq!(h["accept-encoding"], "identity");
    assert_ne!(h["accept"], "text/html");
    assert_eq!(h["x-client"], "kept");
    assert!(h.contains_key("x-request-id") && h.contains_key("traceparent"));
    let body = std::str::from_utf8(up.body()).expect("UTF-8");
    assert_eq!(
        body,
        format!(
            "{ENVELOPE_START}<GetWeather xmlns=\"urn:weather\"><City>Paris &lt;&amp;&gt;</City>\
             <Unit>&quot;C&quot;</Unit></GetWeather>{ENVELOPE_END}"
        )
    );
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["x-upstream"], "yes");
    assert_eq!(
        json(&resp),
        serde_json::json!({"GetWeatherResponse": {
            "City": {"@country": "FR", "#text": "Paris"},
            "Forecast": {"Day": [{"@name": "Mon", "#text": "Sunny"}, {"@name": "Tue", "#text": "Rain"}]},
        }})
    );
}

#[test]
fn rewrite_is_appended_to_the_target_and_route_query_edits_stay() {
    let gw = gateway();
    let p = answering(200, "text/xml", "<r>ok</r>");
    let resp = get(&gw, &p, "/v2/weather/Rome?client=1");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(&resp), serde_json::json!({"r": "ok"}));
    let up = &p.upstream.requests()[0];
    assert_eq!(up.uri().to_string(), "http://10.0.0.4:9004/soap/v2/Rome?api=2");
    assert_eq!(up.headers()["soapaction"], "\"urn:weather#Get\"");
}

#[test]
fn a_target_without_a_path_gets_slash() {
    let gw = gateway();
    let p = answering(200, "text/xml", "<Pong/>");
    let resp = get(&gw, &p, "/bare?x=1");
    assert_eq!(resp.status(), StatusCode::OK);
    let up = &p.upstream.requests()[0];
    assert_eq!(up.uri().to_string(), "http://10.0.0.6:9006/");
    assert_eq!(up.headers()["soapaction"], "\"\"");
    assert_eq!(json(&resp), serde_json::json!({"Pong": ""}));
}

#[test]
fn soap_faults_are_502_problems_whatever_the_status() {
    let fault = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
        <soap:Fault><faultcode>soap:Client</faultcode><faultstring>Unknown city: Atlantis</faultstring></soap:Fault>\
        </soap:Body></soap:Envelope>";
    for status in [500, 200] {
        let gw = gateway();
        let p = answering(status, "text/xml", fault);
        let resp = get(&gw, &p, "/v1/weather/Atlantis");
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        let body = problem(&resp);
        assert_eq!(body["type"], "https://tollgate.dev/problems/upstream-fault");
        assert_eq!(body["detail"], "Unknown city: Atlantis");
        assert!(resp.headers().contains_key("x-request-id"));
    }
}

#[test]
fn garbage_from_a_translated_upstream_is_a_clean_502() {
    for (status, body) in [
        (200, "<html><body>oops"),
        (200, "<!DOCTYPE r [<!ENTITY x \"boom\">]><r>&x;</r>"),
        (200, ""),
        (200, "\u{0}\u{1}binary"),
    ] {
        let gw = gateway();
        let p = answering(status, "text/xml", body);
        let resp = get(&gw, &p, "/v1/weather/Paris");
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY, "{body:?}");
        assert_eq!(problem(&resp)["type"], "https://tollgate.dev/problems/upstream-bad-response");
    }
}

#[test]
fn other_statuses_pass_through_translated_when_readable() {
    let gw = gateway();
    let p = answering(404, "text/xml", "<Error><Code>NoSuchCity</Code></Error>");
    let resp = get(&gw, &p, "/v1/weather/Nowhere");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(json(&resp), serde_json::json!({"Error": {"Code": "NoSuchCity"}}));
    let p = answering(503, "text/plain", "maintenance");
    let resp = get(&gw, &p, "/v1/weather/Paris");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(&resp.body()[..], b"maintenance");
}

#[test]
fn graphql_request_carries_typed_variables_and_data_is_unwrapped() {
    let gw = gateway();
    let p = answering(200, "application/json", r#"{"data": {"product": {"id": "p1", "name": "Lamp", "price": 25.5}}}"#);
    let resp = get(&gw, &p, "/v1/products/p%221?qty=3");
    assert_eq!(resp.status(), StatusCode::OK);
    let up = &p.upstream.requests()[0];
    assert_eq!(up.method(), "POST");
    assert_eq!(up.uri().to_string(), "http://10.0.0.5:9005/graphql");
    assert_eq!(up.headers()["content-type"], "application/json");
    assert!(!up.headers().contains_key("soapaction"));
    assert_eq!(
        std::str::from_utf8(up.body()).expect("UTF-8"),
        r#"{"query":"query($id: ID!, $qty: Int) { product(id: $id) { id name price } }","variables":{"id":"p\"1","qty":3}}"#
    );
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(json(&resp), serde_json::json!({"product": {"id": "p1", "name": "Lamp", "price": 25.5}}));
}

#[test]
fn graphql_errors_are_502_problems_listing_the_messages() {
    let gw = gateway();
    let p = answering(
        200,
        "application/json",
        r#"{"data": {"product": null}, "errors": [{"message": "product missing not found"}, {"message": "second"}]}"#,
    );
    let resp = get(&gw, &p, "/v1/products/missing");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let body = problem(&resp);
    assert_eq!(body["type"], "https://tollgate.dev/problems/upstream-fault");
    assert_eq!(body["detail"], "GraphQL errors: product missing not found; second");
}

#[test]
fn a_variable_that_does_not_fit_its_type_is_400_and_never_sent() {
    let gw = gateway();
    let p = answering(200, "application/json", r#"{"data": {}}"#);
    let resp = get(&gw, &p, "/v1/products/p1?qty=many");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(problem(&resp)["detail"].as_str().is_some_and(|d| d.contains("qty")));
    assert!(p.upstream.requests().is_empty());
}

#[test]
fn bad_translate_configs_are_reported_at_the_translate_key() {
    let cfg = r#"
version: 1
upstreams:
  u: { targets: [ { url: "http://10.0.0.1:1" } ] }
routes:
  - id: bad
    path: /x/{id}
    upstream: u
    translate:
      request: { soap: { action: A, body: "<A>{nope}</B>" } }
      response: xml_to_json
"#;
    let err = match load("bad.yaml", cfg, &|_| None) {
        Ok(_) => panic!("a bad translate must be refused"),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"),
    };
    assert!(err.contains("route `bad`: translate:") && err.contains("{nope}"), "{err}");
    assert!(err.contains("bad.yaml:10:"), "points at the translate key: {err}");
}
