//! What the adapter reads and writes, compared with what it read and wrote
//! before its payloads were typed (recorded from commit f5f780a, where the
//! events were read by `src/event.rs` and the invoke payloads built with
//! `json!` and picked apart as `serde_json::Value` in `src/upstream.rs`).
//!
//! Each case's result is described as text and compared with
//! tests/data/recorded/*.json: the request each platform event converts to
//! (or why it is refused, or why it does not deserialise), the JSON each
//! integration gets for a response, the event each invoked function gets
//! (compared as JSON values: key order aside, byte for byte) and the response
//! each function answer becomes. A deliberate change of behaviour updates the
//! files: `TOLLGATE_RECORD=1 cargo test -p tollgate-lambda --test recorded`.

#[path = "recorded/invoke_cases.rs"]
mod invoke_cases;
#[path = "recorded/platform_cases.rs"]
mod platform_cases;

use bytes::Bytes;
use http::{HeaderMap, Response};
use serde_json::{Map, Value};
use std::path::PathBuf;
use tollgate_core::platform::UpstreamError;
use tollgate_lambda::convert::{Converted, incoming, outgoing};
use tollgate_lambda::invoke::{invoke_event, response_of};
use tollgate_lambda::payload::{Event, Kind};

fn text_or_hex(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("hex:{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

fn describe_headers(headers: &HeaderMap) -> String {
    let lines: Vec<String> = headers.iter().map(|(n, v)| format!("{}: {}", n, text_or_hex(v.as_bytes()))).collect();
    lines.join(" ; ")
}

fn describe_answer(result: &Result<Response<Bytes>, UpstreamError>) -> String {
    match result {
        Ok(resp) => {
            format!("{} | {} | {}", resp.status().as_u16(), describe_headers(resp.headers()), text_or_hex(resp.body()))
        }
        Err(UpstreamError::Protocol(_)) => "protocol error".to_owned(),
        Err(e) => format!("other error: {e:?}"),
    }
}

fn describe_incoming(json: &str) -> String {
    let event: Event = match serde_json::from_str(json) {
        Ok(e) => e,
        Err(e) => return format!("event error: {e}"),
    };
    let inc = incoming(event);
    let host = inc.client.host.as_ref().map(|h| text_or_hex(h.as_bytes()));
    let client = format!("client {:?} https={} host={:?}", inc.client.peer_ip, inc.client.https, host);
    let request = match &inc.request {
        Converted::Request(r) => {
            format!("{} {} | {} | {}", r.method(), r.uri(), describe_headers(r.headers()), text_or_hex(r.body()))
        }
        Converted::Refused { error, headers } => format!("refused {:?} | {}", error, describe_headers(headers)),
    };
    format!("{:?} | {client} | {request}", inc.kind)
}

/// Compares `got` with the recorded file `name` (or records it).
fn check(name: &str, got: Vec<(String, String)>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/recorded/{name}.json"));
    if std::env::var_os("TOLLGATE_RECORD").is_some() {
        let mut map = Map::new();
        for (case, description) in got {
            assert!(map.insert(case.clone(), Value::String(description)).is_none(), "two cases named {case}");
        }
        let text = serde_json::to_string_pretty(&Value::Object(map)).expect("json") + "\n";
        std::fs::write(&path, text).expect("write the recording");
        return;
    }
    let recorded: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the recording")).expect("recorded JSON");
    assert_eq!(recorded.len(), got.len(), "{name}: the case list changed; record again if on purpose");
    let mut differ = Vec::new();
    for (case, description) in &got {
        match recorded.get(case).and_then(Value::as_str) {
            Some(expected) if expected == description => {}
            Some(expected) => differ.push(format!("{case}:\n  recorded: {expected}\n  now:      {description}")),
            None => differ.push(format!("{case}: not recorded")),
        }
    }
    assert!(differ.is_empty(), "{name}: {} of {} cases differ:\n{}", differ.len(), got.len(), differ.join("\n"));
}

#[test]
fn platform_events_convert_as_recorded() {
    let got = platform_cases::platform_events().into_iter().map(|(case, json)| (case, describe_incoming(&json)));
    check("platform_events", got.collect());
}

#[test]
fn responses_are_written_as_recorded() {
    let mut got = Vec::new();
    for (case, response) in platform_cases::platform_responses() {
        for kind in [Kind::V2, Kind::V1, Kind::Alb { multi_value: false }, Kind::Alb { multi_value: true }] {
            let json = serde_json::to_string(&outgoing(response.clone(), kind)).expect("serialises");
            got.push((format!("{case} {kind:?}"), json));
        }
    }
    check("platform_responses", got);
}

#[test]
fn invoke_events_are_written_as_recorded() {
    let got = invoke_cases::invoke_requests().into_iter().map(|(case, request, now)| {
        let json = serde_json::to_value(invoke_event(&request, now)).expect("serialises").to_string();
        (case.to_owned(), json)
    });
    check("invoke_events", got.collect());
}

#[test]
fn function_answers_read_as_recorded() {
    let got = invoke_cases::invoke_answers()
        .into_iter()
        .map(|(case, payload)| (case.to_owned(), describe_answer(&response_of(payload.as_bytes()))));
    check("invoke_answers", got.collect());
}
