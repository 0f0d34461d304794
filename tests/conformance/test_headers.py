"""Header hygiene in both directions (spec §4 "Towards the upstream" and
"Towards the client"): hop-by-hop and Connection-named headers, the headers
only the gateway may set, trace context, Server-Timing."""

import re

import pytest

from conftest import ANSWER_KINDS, TRACEPARENT_RE, echo_header, echo_of, skip_on

FIRST_VALUE_ONLY = (
    "cargo lambda watch builds its API Gateway v2 event with aws_lambda_events' serialize_headers, "
    "which keeps only the first line of a repeated header (real API Gateway joins them with commas)"
)

CONNECTION_CONSUMED = (
    "wrangler's dev proxy and workerd consume the Connection header before the Worker runs, "
    "so the Worker cannot tell which headers it named"
)


def _no_connection_naming(values, name):
    for v in values:
        assert name.lower() not in [t.strip().lower() for t in v.split(",")], f"Connection still names {name}: {values}"


@skip_on("cloudflare", CONNECTION_CONSUMED)
def test_headers_named_in_connection_are_not_forwarded(gw):
    r = gw.get(
        "/echo/conn",
        [("Connection", "keep-alive, X-Secret , x-other"), ("X-Secret", "1"), ("X-Other", "2"), ("X-Kept", "3")],
    )
    echo = echo_of(r)
    assert echo_header(echo, "x-secret") == []
    assert echo_header(echo, "x-other") == []
    assert echo_header(echo, "x-kept") == ["3"]
    _no_connection_naming(echo_header(echo, "connection"), "x-secret")


@skip_on("cloudflare", CONNECTION_CONSUMED)
@skip_on("lambda", FIRST_VALUE_ONLY)
def test_every_connection_header_line_counts(gw):
    r = gw.get("/echo/conn2", [("Connection", "X-A"), ("Connection", "X-B"), ("X-A", "1"), ("X-B", "2"), ("X-C", "3")])
    echo = echo_of(r)
    assert echo_header(echo, "x-a") == []
    assert echo_header(echo, "x-b") == []
    assert echo_header(echo, "x-c") == ["3"]


@pytest.mark.parametrize(
    "name, value",
    [
        ("Keep-Alive", "timeout=5, max=100"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Proxy-Connection", "keep-alive"),
        ("Proxy-Authorization", "Basic c2VjcmV0OnNlY3JldA=="),
        ("Upgrade", "example/1"),
    ],
)
def test_hop_by_hop_headers_are_not_forwarded(gw, name, value):
    r = gw.get("/echo/hop", [(name, value), ("X-Kept", "1")])
    echo = echo_of(r)
    assert echo_header(echo, name) == [], f"{name} reached the upstream"
    assert echo_header(echo, "x-kept") == ["1"]


def test_ordinary_headers_pass_through(gw):
    r = gw.get("/echo/ord", [("X-Custom", "a b, c"), ("Accept", "application/json"), ("Authorization", "Bearer t")])
    echo = echo_of(r)
    assert echo_header(echo, "x-custom") == ["a b, c"]
    assert echo_header(echo, "accept") == ["application/json"]
    assert echo_header(echo, "authorization") == ["Bearer t"], "no auth configured: credentials pass"


@skip_on("lambda", FIRST_VALUE_ONLY)
def test_repeated_headers_pass_through(gw):
    r = gw.get("/echo/rep", [("X-Multi", "a"), ("X-Multi", "b")])
    values = echo_header(echo_of(r), "x-multi")
    # repeated lines may arrive as lines or joined by commas (RFC 9110 §5.3)
    assert [p.strip() for v in values for p in v.split(",")] == ["a", "b"], values


PROTO_FROM_EVENT_HEADER = (
    "on AWS the platform (function URL, API Gateway, ALB) sets X-Forwarded-Proto in the event, replacing "
    "the client's, and that header is the adapter's only source for the scheme; cargo lambda watch "
    "copies the client's header into the event unreplaced"
)


def test_forwarded_for_and_host_are_set(gw):
    r = gw.get("/echo/xf")
    echo = echo_of(r)
    assert echo_header(echo, "x-forwarded-for") == [r.peer_ip]
    assert echo_header(echo, "x-forwarded-host") == [gw.host_header]


def test_forwarded_proto_is_the_clients_scheme(gw):
    r = gw.get("/echo/xf")
    assert echo_header(echo_of(r), "x-forwarded-proto") == [gw.scheme]


@pytest.mark.parametrize(
    "spoof",
    [
        [("X-Forwarded-For", "6.6.6.6")],
        [("X-Forwarded-For", "6.6.6.6, 10.0.0.1"), ("X-Forwarded-For", "7.7.7.7")],
        [("X-Forwarded-Host", "evil.example")],
        [("Forwarded", "for=6.6.6.6;proto=https;host=evil.example")],
        [("X-Real-IP", "6.6.6.6")],
        [("X-Consumer-Id", "admin")],
    ],
    ids=["xff", "xff-repeated", "xfhost", "forwarded", "x-real-ip", "x-consumer-id"],
)
def test_client_copies_of_gateway_owned_headers_are_dropped(gw, spoof):
    r = gw.get("/echo/spoof", spoof)
    echo = echo_of(r)
    # what the gateway sets itself
    assert echo_header(echo, "x-forwarded-for") == [r.peer_ip], "the client's X-Forwarded-For is not trusted (client_ip: platform)"
    assert echo_header(echo, "x-forwarded-host") == [gw.host_header]
    # what it drops
    assert echo_header(echo, "forwarded") == []
    assert echo_header(echo, "x-consumer-id") == [], "no consumer was authenticated"
    assert echo_header(echo, "x-real-ip") in ([], [r.peer_ip])
    seen = sum((echo_header(echo, h) for h in ("x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded", "x-consumer-id")), [])
    for _, value in spoof:
        assert all(value not in v for v in seen), f"{value!r} reached the upstream: {seen}"


@skip_on("lambda", PROTO_FROM_EVENT_HEADER)
def test_client_x_forwarded_proto_is_dropped(gw):
    r = gw.get("/echo/spoof", [("X-Forwarded-Proto", "https" if gw.scheme == "http" else "http")])
    assert echo_header(echo_of(r), "x-forwarded-proto") == [gw.scheme]


VALID_TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_is_continued_with_a_new_span(gw):
    r = gw.get("/echo/trace", [("traceparent", VALID_TP), ("tracestate", "vendor=abc")])
    echo = echo_of(r)
    (tp,) = echo_header(echo, "traceparent")
    m = TRACEPARENT_RE.fullmatch(tp)
    assert m, tp
    assert m.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736", "same trace id"
    assert m.group(2) != "00f067aa0ba902b7" and m.group(2) != "0" * 16, "a new span id"
    assert m.group(3) == "01", "flags kept"
    assert echo_header(echo, "tracestate") == ["vendor=abc"], "tracestate travels with a continued trace"


def test_traceparent_is_started_when_absent(gw):
    a = echo_header(echo_of(gw.get("/echo/trace")), "traceparent")
    b = echo_header(echo_of(gw.get("/echo/trace")), "traceparent")
    for tp in (a, b):
        assert len(tp) == 1 and TRACEPARENT_RE.fullmatch(tp[0]), tp
        assert tp[0].split("-")[1] != "0" * 32 and tp[0].split("-")[2] != "0" * 16
    assert a[0].split("-")[1] != b[0].split("-")[1], "each request starts its own trace"


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ],
)
def test_invalid_traceparent_is_replaced(gw, bad):
    r = gw.get("/echo/trace", [("traceparent", bad), ("tracestate", "vendor=abc")])
    echo = echo_of(r)
    tp = echo_header(echo, "traceparent")
    assert len(tp) == 1 and TRACEPARENT_RE.fullmatch(tp[0]), tp
    trace = tp[0].split("-")[1]
    assert trace != "0" * 32
    assert trace.lower() not in bad.lower(), "a new trace, not the invalid one"
    assert echo_header(echo, "tracestate") == [], "tracestate belongs to the dropped trace"


def test_backend_hop_by_hop_response_headers_are_stripped(gw):
    r = gw.get(
        "/echo/resp?set_header=Connection:x-secret&set_header=X-Secret:1"
        "&set_header=Keep-Alive:timeout%3D99,%20max%3D777&set_header=Proxy-Connection:x-pc"
        "&set_header=X-Visible:yes"
    )
    assert r.status == 200, r.describe()
    assert r.header("x-visible") == "yes", "ordinary backend headers pass"
    assert not r.has("x-secret"), r.describe()
    _no_connection_naming(r.header_all("connection"), "x-secret")
    assert all("777" not in v for v in r.header_all("keep-alive")), r.describe()
    assert all("x-pc" not in v for v in r.header_all("proxy-connection")), r.describe()


# -- Server-Timing -----------------------------------------------------------

METRIC_RE = re.compile(r"([A-Za-z0-9_-]+)\s*;\s*dur=(\d+(?:\.\d+)?)")


def server_timing(resp) -> dict:
    metrics = {}
    for value in resp.header_all("server-timing"):
        for item in value.split(","):
            item = item.strip()
            m = METRIC_RE.fullmatch(item)
            assert m, f"malformed Server-Timing entry {item!r} in {value!r}"
            metrics[m.group(1)] = float(m.group(2))
    return metrics


@pytest.mark.parametrize("kind", ANSWER_KINDS, ids=[k.id for k in ANSWER_KINDS])
def test_server_timing_on_every_answer(gw, kind):
    r = kind.send(gw)
    assert r.status == kind.status, r.describe()
    st = server_timing(r)
    assert "gateway" in st, r.describe()
    if kind.proxied:
        assert "upstream" in st, r.describe()


def test_server_timing_on_a_rewritten_route(gw):
    st = server_timing(gw.get("/v1/users/7"))
    assert "gateway" in st and "upstream" in st


def test_server_timing_on_a_preflight(gw):
    r = gw.request("OPTIONS", "/echo/pre", [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")])
    assert r.status == 204, r.describe()
    assert "gateway" in server_timing(r), r.describe()


def test_backend_server_timing_does_not_hide_the_gateways(gw):
    r = gw.get("/echo/st?set_header=Server-Timing:db%3Bdur%3D3")
    assert r.status == 200, r.describe()
    st = server_timing(r)
    assert "gateway" in st and "upstream" in st, r.describe()
