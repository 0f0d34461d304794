//! What a client can make `tollgate serve` hold, bounded (issue 9, finding
//! 6), over real sockets: a body that never finishes gets 408 and the
//! connection closed after `limits.body_timeout`; a head that never finishes
//! and an idle keep-alive connection are closed after `header_timeout`; the
//! connection past `max_connections` is refused while the others keep
//! working; a client that stops reading is cut off after `send_timeout`; an
//! upstream answer past `max_upstream_body` is a 502 problem. The deadlines
//! are 1 s in these configs; the assertions allow 15 s, so only "closed
//! with the right answer" is tested, not how fast.

mod support;

use std::io::Write;
use std::time::Duration;
use support::{End, connect, read_response, read_until_closed, serve};

const GENEROUS: Duration = Duration::from_secs(15);

fn config(limits: &str, upstream: &str) -> String {
    format!(
        "version: 1\nlimits: {{ max_body_bytes: 1000, {limits} }}\nupstreams:\n  u: {{ targets: [ {{ url: \"http://{upstream}\" }} ], timeout: 30s }}\nroutes:\n  - {{ id: a, path: \"/{{*rest}}\", upstream: u }}\n"
    )
}

fn text(end: &End) -> String {
    match end {
        End::Closed(b) | End::StillOpen(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn assert_closed_with(end: &End, status: &str) {
    let t = text(end);
    assert!(matches!(end, End::Closed(_)), "the connection must be closed: {t}");
    assert!(t.starts_with(&format!("HTTP/1.1 {status}")), "want {status}: {t}");
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closed() {
    let up = support::upstream();
    let server = serve("body-timeout", &config("body_timeout: 1s", &up));
    // Variants: a declared length never reached; a chunked body never ended;
    // a body trickled one byte at a time (each byte in time, the whole late).
    let mut short = connect(&server.addr);
    short.write_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc").expect("send");
    let mut chunked = connect(&server.addr);
    chunked
        .write_all(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n")
        .expect("send");
    let mut trickle = connect(&server.addr);
    trickle.write_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n").expect("send");
    let trickler = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(100));
            if trickle.write_all(b"z").is_err() {
                break;
            }
        }
        read_until_closed(&mut trickle, GENEROUS)
    });
    for (name, end) in [
        ("short", read_until_closed(&mut short, GENEROUS)),
        ("chunked", read_until_closed(&mut chunked, GENEROUS)),
        ("trickle", trickler.join().expect("trickler")),
    ] {
        assert_closed_with(&end, "408");
        let t = text(&end);
        assert!(t.contains("application/problem+json") && t.contains("request-timeout"), "{name}: {t}");
    }
}

#[test]
fn a_head_that_does_not_arrive_and_an_idle_keep_alive_connection_are_closed() {
    let up = support::upstream();
    let server = serve("header-timeout", &config("header_timeout: 1s", &up));
    let mut slowloris = connect(&server.addr);
    slowloris.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nX-A: ").expect("send");
    assert!(matches!(read_until_closed(&mut slowloris, GENEROUS), End::Closed(_)), "a head never finished");

    let mut idle = connect(&server.addr);
    idle.write_all(b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let (head, _) = read_response(&mut idle);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(read_until_closed(&mut idle, GENEROUS), End::Closed(Vec::new()), "idle keep-alive closed, nothing sent");
}

#[test]
fn the_connection_past_the_cap_is_refused_while_the_others_keep_working() {
    let up = support::upstream();
    let server = serve("max-connections", &config("max_connections: 3", &up));
    let health = b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut open: Vec<_> = (0..3).map(|_| connect(&server.addr)).collect();
    for s in &mut open {
        s.write_all(health).expect("send");
        assert!(read_response(s).0.starts_with("HTTP/1.1 200"));
    }
    for attempt in 0..3 {
        let mut extra = connect(&server.addr);
        let _ = extra.write_all(health);
        let end = read_until_closed(&mut extra, GENEROUS);
        let t = text(&end);
        assert!(matches!(end, End::Closed(_)), "attempt {attempt}: refused and closed: {t}");
        assert!(t.is_empty() || t.starts_with("HTTP/1.1 503"), "attempt {attempt}: a 503 or nothing: {t}");
        assert!(!t.contains("\"status\":\"ok\""), "never served: {t}");
    }
    for s in &mut open {
        s.write_all(health).expect("send");
        assert!(read_response(s).0.starts_with("HTTP/1.1 200"), "the first three keep working");
    }
    // A freed slot is usable again.
    drop(open.pop());
    std::thread::sleep(Duration::from_millis(300));
    let mut again = connect(&server.addr);
    again.write_all(health).expect("send");
    assert!(read_response(&mut again).0.starts_with("HTTP/1.1 200"));
}

#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let up = support::upstream();
    let size: usize = 48 * 1024 * 1024;
    let server = serve("send-timeout", &config(&format!("send_timeout: 1s, max_upstream_body: {size}"), &up));
    let mut reader = connect(&server.addr);
    reader.write_all(format!("GET /big/{size} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).expect("send");
    // Read nothing for a while: the gateway's writes stall, then it gives up.
    std::thread::sleep(Duration::from_secs(6));
    let end = read_until_closed(&mut reader, GENEROUS);
    let got = match &end {
        End::Closed(b) => b.len(),
        End::StillOpen(b) => panic!("still open after {} bytes", b.len()),
    };
    assert!(got < size, "cut off before the whole answer: {got} of {size}");
    // Others are still served.
    let resp = support::raw(&server.addr, b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

#[test]
fn an_upstream_answer_past_the_cap_is_a_502_problem() {
    let up = support::upstream();
    let cap = 1024 * 1024;
    let server = serve("upstream-cap", &config(&format!("max_upstream_body: {cap}"), &up));
    let get = |path: String| {
        support::raw(&server.addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
    };
    for (path, status) in [
        (format!("/big/{cap}"), "200"),
        (format!("/chunked/{cap}"), "200"),
        (format!("/big/{}", cap + 1), "502"),
        (format!("/chunked/{}", cap + 1), "502"),
        (format!("/big/{}", 64 * cap), "502"),
        (format!("/chunked/{}", 64 * cap), "502"),
    ] {
        let resp = get(path.clone());
        assert!(resp.starts_with(&format!("HTTP/1.1 {status}")), "{path}: {}", &resp[..resp.len().min(300)]);
        if status == "502" {
            assert!(resp.contains("application/problem+json"), "{path}: {resp}");
        }
    }
}

#[test]
fn the_default_upstream_cap_is_16_mib() {
    let up = support::upstream();
    let server = serve("upstream-default-cap", &config("max_header_bytes: 16384", &up));
    let resp = support::raw(
        &server.addr,
        format!("GET /big/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 16 * 1024 * 1024 + 1).as_bytes(),
    );
    assert!(resp.starts_with("HTTP/1.1 502"), "{}", &resp[..resp.len().min(300)]);
}

#[test]
fn slow_readers_cannot_hold_more_answer_memory_than_the_budget() {
    let up = support::upstream();
    let size: usize = 4 * 1024 * 1024;
    let budget = 10 * 1024 * 1024;
    let server = serve("response-memory", &config(&format!("send_timeout: 30s, max_response_memory: {budget}"), &up));
    // Two slow readers hold 8 MiB of answers (less what the kernel's buffers took).
    let mut readers: Vec<_> = (0..2)
        .map(|_| {
            let mut r = connect(&server.addr);
            r.write_all(format!("GET /big/{size} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).expect("send");
            r
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    // A third large answer would pass the 10 MiB budget: 503 problem, Retry-After.
    let get = |path: String| {
        support::raw(&server.addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
    };
    let refused = get(format!("/big/{size}"));
    assert!(refused.starts_with("HTTP/1.1 503"), "{}", &refused[..refused.len().min(300)]);
    assert!(
        refused.contains("problems/overloaded") && refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    assert!(refused.to_ascii_lowercase().contains("x-request-id:"), "{refused}");
    // Small answers still fit.
    assert!(get("/big/1000".into()).starts_with("HTTP/1.1 200"));
    // Readers that go away give their memory back.
    for r in &mut readers {
        r.shutdown(std::net::Shutdown::Both).expect("close");
    }
    readers.clear();
    std::thread::sleep(Duration::from_millis(500));
    let again = get(format!("/big/{size}"));
    assert!(again.starts_with("HTTP/1.1 200"), "{}", &again[..again.len().min(300)]);
    assert!(again.len() > size, "the whole answer");
}
