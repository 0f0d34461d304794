"""problem+json shape (spec §4 Errors, RFC 9457): exact content type, the five
keys, status matching, request id, no internal address, for every kind of
answer the gateway makes itself."""

import json

import pytest

from conftest import ALLOWED_ORIGIN, MAX_BODY, MAX_HEADER_BLOCK, assert_problem

CASES = [
    ("GET", "/nope", [], None, 404, "not-found"),
    ("DELETE", "/only-get", [], None, 405, "method-not-allowed"),
    ("GET", "/public/a%2Fb", [], None, 400, "bad-request"),
    ("GET", "/public/a;b=c", [], None, 400, "bad-request"),
    ("POST", "/echo/x", [], b"z" * (MAX_BODY + 1), 413, "payload-too-large"),
    ("GET", "/echo/x", [("X-Pad", "q" * (MAX_HEADER_BLOCK + 1))], None, 431, "headers-too-large"),
    ("GET", "/dead", [], None, 502, "upstream-unreachable"),
    ("GET", "/slow?ms=5000", [], None, 504, "upstream-timeout"),
    ("GET", "/nope", [("Origin", ALLOWED_ORIGIN)], None, 404, "not-found"),
]


@pytest.mark.parametrize(
    "method, target, headers, body, status, slug", CASES, ids=[f"{c[4]}-{c[0]} {c[1][:30]}" for c in CASES]
)
def test_gateway_errors_are_problem_json(gw, method, target, headers, body, status, slug):
    r = gw.request(method, target, headers, body, timeout=30)
    problem = assert_problem(r, status, slug)
    assert set(problem) >= {"type", "title", "status", "detail", "request_id"}


def test_problem_body_is_a_single_json_object(gw):
    r = gw.get("/nope")
    assert_problem(r, 404)
    # strict JSON: no trailing data, no comments
    json.loads(r.body.decode("utf-8"))


def test_problem_for_dead_upstream_names_no_address(gw):
    r = gw.get("/dead")
    problem = assert_problem(r, 502)
    text = json.dumps(problem)
    assert "18104" not in text and "127.0.0.1" not in text and "refused" not in text.lower(), text


def test_head_error_has_no_body_but_the_status(gw):
    r = gw.request("HEAD", "/nope")
    assert r.status == 404, r.describe()
    assert r.body == b""
    assert r.header("x-request-id")


def test_upstream_errors_are_not_problems(gw):
    r = gw.get("/echo/e?status=500")
    assert r.status == 500
    assert r.content_type == "application/json"
    assert "type" not in r.json()
