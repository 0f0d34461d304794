"""Upstreams that are not plain HTTP targets (spec §3 `upstreams`: `binding`,
`lambda`). Each kind exists on one platform only: gateway.yaml declares its
upstream and routes on `#@<runtime> ` lines, which scripts/conformance.sh
switches on for that runtime alone (the others refuse to start with them).

Workers service binding: the upstream `bound` is `binding: BACKEND`, bound in
tests/conformance/wrangler.toml to the small JS Worker in backend-worker/
(run in the same `wrangler dev` as the gateway). It answers
{"worker": "backend", "method", "path", "query", "headers"} and the status of
`?status=NNN`. The gateway treats it as any upstream: the rewrite and query
rules apply, its own headers (request id, trace context, X-Forwarded-*) reach
it, its status and body come back unchanged, and it can be an aggregate leg.

Direct Lambda invoke: the upstream `fn` is `lambda: tollgate-conformance-backend`,
the second binary of crates/lambda (src/bin/conformance-backend.rs), served by
the same `cargo lambda watch` as the gateway; the gateway calls it with the
Lambda Invoke API (AWS_ENDPOINT_URL_LAMBDA points at the watch server), sending
an API Gateway HTTP API (payload 2.0) event. It answers a proxy response whose
JSON body is {"function": "backend", "method", "path", "query", "headers",
"cookies", "body"}: `?status=NNN` sets the status, `?plain=1` answers plain JSON
(no statusCode), `?fail=1` fails (a function error). Routes /fn/{*rest},
/fn-key (API key) and /fn-agg.
"""

import pytest

from conftest import TRACEPARENT_RE, assert_problem, skip_on
from jwtkit import ACME_KEY

# ---------------------------------------------------------------------------
# Workers service binding (`binding: BACKEND`, routes /bind/{*rest} and /bind-agg)

ONLY_ON_WORKERS = "a Workers service binding exists only on Workers"


def _bound(resp) -> dict:
    """The bound Worker's description of the request it got (asserts it is one)."""
    assert resp.header("x-backend-worker") == "backend", f"not answered by the bound Worker:\n{resp.describe()}"
    data = resp.json()
    assert data.get("worker") == "backend" and {"method", "path", "query", "headers"} <= set(data), data
    return data


def _query_pairs(query: str) -> list:
    return sorted(tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&") if p)


@skip_on(("local", "lambda"), ONLY_ON_WORKERS)
def test_the_bound_worker_answers_through_the_gateway(gw):
    r = gw.get("/bind/items/7")
    assert r.status == 200, r.describe()
    assert r.content_type == "application/json"
    seen = _bound(r)
    assert seen["method"] == "GET"
    rid = r.header("x-request-id")
    assert rid, "the gateway's own response headers are added to a bound Worker's answer"
    assert r.has("server-timing")


@skip_on(("local", "lambda"), ONLY_ON_WORKERS)
def test_methods_and_bodies_go_through_the_binding(gw):
    r = gw.request("POST", "/bind/orders", [("Content-Type", "application/json")], b'{"n": 1}')
    assert r.status == 200, r.describe()
    seen = _bound(r)
    assert seen["method"] == "POST"
    assert seen["headers"].get("content-type") == "application/json"


@skip_on(("local", "lambda"), ONLY_ON_WORKERS)
def test_a_status_from_the_bound_worker_passes_through_unchanged(gw):
    r = gw.get("/bind/down?status=503")
    assert r.status == 503, r.describe()
    assert r.content_type == "application/json", "the bound Worker's answer, not a gateway problem"
    seen = _bound(r)
    assert seen["path"] == "/svc/down"
    r = gw.get("/bind/missing?status=404")
    assert r.status == 404, r.describe()
    _bound(r)


@skip_on(("local", "lambda"), ONLY_ON_WORKERS)
def test_a_bound_worker_is_an_aggregate_leg(gw):
    r = gw.get("/bind-agg")
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["bound"] == {"worker": "backend", "path": "/leg", "query": "n=1"}, body
    assert body["echo"] == {"method": "GET", "path": "/leg"}, body
    assert "_errors" not in body and not r.has("x-gateway-partial")


# ---------------------------------------------------------------------------
# Direct Lambda invoke (`lambda: NAME`)
# (`fn: { lambda: tollgate-conformance-backend }`, routes /fn/{*rest}, /fn-key, /fn-agg)

ONLY_ON_LAMBDA = "a direct Lambda invoke exists only on Lambda"


def _invoked(resp) -> dict:
    """The function's description of the event it got (asserts it is one)."""
    data = resp.json()
    assert isinstance(data, dict) and data.get("function") == "backend", f"not answered by the function:\n{resp.describe()}"
    assert {"method", "path", "query", "headers"} <= set(data), data
    return data


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_the_function_answers_through_the_gateway(gw):
    r = gw.get("/fn/items/7")
    assert r.status == 200, r.describe()
    assert r.content_type == "application/json"
    assert r.header("x-backend") == "lambda", "the function's own headers come back"
    assert r.header_all("set-cookie") == ["fn=1; Path=/"], "its cookies become Set-Cookie"
    seen = _invoked(r)
    assert seen["method"] == "GET"
    assert r.header("x-request-id"), "the gateway's own response headers are added to the function's answer"
    assert r.has("server-timing")


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_methods_bodies_and_cookies_reach_the_function(gw):
    r = gw.request(
        "POST", "/fn/orders", [("Content-Type", "application/json"), ("Cookie", "a=1; b=2")], b'{"n": 1}'
    )
    assert r.status == 200, r.describe()
    seen = _invoked(r)
    assert seen["method"] == "POST"
    assert seen["headers"].get("content-type") == "application/json"
    assert seen["body"] == '{"n": 1}' and seen["isBase64Encoded"] is False
    assert seen["cookies"] == ["a=1", "b=2"], "payload 2.0: the Cookie header as `cookies`"


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_the_consumer_reaches_the_function(gw):
    r = gw.get("/fn-key", [("X-Api-Key", ACME_KEY), ("X-Consumer-Id", "forged")])
    assert r.status == 200, r.describe()
    headers = _invoked(r)["headers"]
    assert headers.get("x-consumer-id") == "acme", headers
    assert "x-api-key" not in headers, "the checked key is not forwarded"
    assert_problem(gw.get("/fn-key"), 401)


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_a_status_from_the_function_passes_through_unchanged(gw):
    r = gw.get("/fn/down?status=503")
    assert r.status == 503, r.describe()
    assert r.content_type == "application/json", "the function's answer, not a gateway problem"
    assert _invoked(r)["path"] == "/svc/down"
    r = gw.get("/fn/missing?status=404")
    assert r.status == 404, r.describe()
    _invoked(r)


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_a_plain_json_answer_is_a_200(gw):
    r = gw.get("/fn/p?plain=1")
    assert r.status == 200, r.describe()
    assert r.content_type == "application/json"
    assert not r.has("x-backend"), "no proxy response: no headers of the function's"
    assert _invoked(r)["path"] == "/svc/p"


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_a_function_error_is_a_502(gw):
    body = assert_problem(gw.get("/fn/x?fail=1"), 502)
    assert "asked to fail" not in body["detail"], "the function's error message is not shown to the client"


@skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA)
def test_a_function_is_an_aggregate_leg(gw):
    r = gw.get("/fn-agg")
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["fn"] == {"function": "backend", "path": "/leg", "query": "n=1"}, body
    assert body["echo"] == {"method": "GET", "path": "/leg"}, body
    assert "_errors" not in body and not r.has("x-gateway-partial")


# ---------------------------------------------------------------------------
# What both kinds must do alike: the route's rewrite and query rules, and the
# gateway's own headers towards the upstream.

KINDS = [
    pytest.param("/bind", _bound, marks=skip_on(("local", "lambda"), ONLY_ON_WORKERS), id="binding"),
    pytest.param("/fn", _invoked, marks=skip_on(("local", "cloudflare"), ONLY_ON_LAMBDA), id="lambda"),
]


@pytest.mark.parametrize("base, described", KINDS)
def test_path_and_query_arrive_as_rewritten(gw, base, described):
    r = gw.get(f"{base}/items/7/detail?x=1&debug=yes")
    assert r.status == 200, r.describe()
    seen = described(r)
    assert seen["path"] == "/svc/items/7/detail", "rewrite: /svc/{rest}"
    assert _query_pairs(seen["query"]) == [("src", "gw"), ("x", "1")], "query set src=gw, removed debug"


@pytest.mark.parametrize("base, described", KINDS)
def test_gateway_headers_reach_the_upstream(gw, base, described):
    r = gw.get(
        f"{base}/h",
        [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("X-Forwarded-For", "6.6.6.6")],
    )
    assert r.status == 200, r.describe()
    headers = described(r)["headers"]
    assert headers.get("x-request-id") == r.header("x-request-id"), headers
    m = TRACEPARENT_RE.fullmatch(headers.get("traceparent", ""))
    assert m and m.group(1) == "4bf92f3577b34da6a3ce929d0e0e4736", f"the trace is continued: {headers}"
    assert m.group(2) != "00f067aa0ba902b7", "with a new span id"
    assert headers.get("x-forwarded-for") == r.peer_ip, "the client's X-Forwarded-For is not trusted"
    assert headers.get("x-forwarded-proto") == gw.scheme
    assert headers.get("x-forwarded-host") == gw.host_header
