//! Hostile XML answers through the whole pipeline (issue 9 finding 12): an
//! element with too many attributes, a document with too many elements, too
//! deep or with entities is a 502 `upstream-bad-response` (spec §7
//! "Translated routes"), like every other answer that cannot be read; an
//! answer within the bounds is translated.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, load};

const CONFIG: &str = r#"
version: 1
upstreams:
  weather: { targets: [ { url: "http://10.0.0.4:9004/soap" } ], timeout: 2s }
routes:
  - id: weather.soap
    path: /v1/weather/{city}
    upstream: weather
    translate:
      request:  { soap: { action: GetWeather, body: "<GetWeather><City>{city}</City></GetWeather>" } }
      response: xml_to_json
"#;

/// Attributes per element and nodes per document the gateway reads.
const MAX_ATTRIBUTES: usize = 256;
const MAX_NODES: usize = 200_000;

fn envelope(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap:Body><GetWeatherResponse>{inner}</GetWeatherResponse></soap:Body></soap:Envelope>"
    )
}

fn attributes(n: usize) -> String {
    (0..n).map(|i| format!(" a{i}=\"{i}\"")).collect()
}

fn answer(body: String) -> Response<Bytes> {
    let gateway = load("hostile.yaml", CONFIG, &|_| None).expect("config loads");
    let platform = MemoryPlatform::new(ScriptedUpstream::new(move |_| {
        let resp = Response::builder()
            .status(200)
            .header("content-type", "text/xml; charset=utf-8")
            .body(Bytes::from(body.clone()))
            .expect("response");
        Script::Respond(resp)
    }));
    let request = Request::builder().uri("/v1/weather/Paris").body(Bytes::new()).expect("request");
    let client = ClientInfo { peer_ip: Some("192.0.2.7".parse().expect("ip")), https: false, host: None };
    block_on(gateway.handle(&platform, request, client))
}

fn assert_bad_response(resp: &Response<Bytes>, what: &str) {
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY, "{what}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json", "{what}");
    let problem: serde_json::Value = serde_json::from_slice(resp.body()).expect("problem JSON");
    assert_eq!(problem["type"], "https://tollgate.dev/problems/upstream-bad-response", "{what}");
}

#[test]
fn an_element_with_too_many_attributes_is_a_502() {
    for (what, body) in [
        ("one over the cap", envelope(&format!("<City{}>Paris</City>", attributes(MAX_ATTRIBUTES + 1)))),
        ("10^3", envelope(&format!("<City{}/>", attributes(1_000)))),
        ("10^5", envelope(&format!("<City{}/>", attributes(100_000)))),
        ("on the envelope itself", format!("<soap:Envelope{}/>", attributes(10_000))),
        (
            "namespace declarations",
            envelope(&format!(
                "<City{}/>",
                (0..MAX_ATTRIBUTES + 1).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect::<String>()
            )),
        ),
    ] {
        assert_bad_response(&answer(body), what);
    }
}

#[test]
fn an_element_at_the_attribute_cap_is_translated() {
    let resp = answer(envelope(&format!("<City{}>Paris</City>", attributes(MAX_ATTRIBUTES))));
    assert_eq!(resp.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(resp.body()).expect("JSON");
    let city = json["GetWeatherResponse"]["City"].as_object().expect("object");
    assert_eq!(city.len(), MAX_ATTRIBUTES + 1, "every attribute and #text");
    assert_eq!(city["@a255"], "255");
}

#[test]
fn too_many_elements_deep_nesting_and_entities_are_502s() {
    for (what, body) in [
        ("too many elements", envelope(&"<Day/>".repeat(MAX_NODES))),
        ("too deep", envelope(&format!("{}{}", "<d>".repeat(100), "</d>".repeat(100)))),
        ("an entity from a DTD", "<!DOCTYPE r [<!ENTITY x \"boom\">]><r>&x;</r>".to_owned()),
        ("billion laughs", "<!DOCTYPE r [<!ENTITY a \"aa\"><!ENTITY b \"&a;&a;\">]><r>&b;</r>".to_owned()),
        ("an undeclared entity", envelope("<City>&x;</City>")),
    ] {
        assert_bad_response(&answer(body), what);
    }
    // Many elements within the cap are fine.
    let resp = answer(envelope(&"<Day>x</Day>".repeat(10_000)));
    assert_eq!(resp.status(), StatusCode::OK);
}
