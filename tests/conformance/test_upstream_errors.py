"""Upstream failures (spec §4 502/504, §7 Upstream statuses): the gateway's own
502/504 are problem+json; what a backend answers passes through unchanged."""

import pytest

from conftest import assert_problem, echo_of

FAILING_BODY = b"failing backend: service unavailable\n"  # backends.py
FAILING_CONTENT_TYPE = "text/plain; charset=utf-8"


def test_dead_upstream_is_502(gw):
    r = gw.get("/dead")
    assert_problem(r, 502, "upstream-unreachable")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_dead_upstream_is_502_for_any_method(gw, method):
    r = gw.request(method, "/dead", body=b"{}" if method == "POST" else None)
    assert_problem(r, 502, "upstream-unreachable")


def test_slow_upstream_is_504(gw):
    # the route's timeout is 500ms; the backend would answer 200 after 5s
    r = gw.get("/slow?ms=5000", timeout=30)
    assert_problem(r, 504, "upstream-timeout")


def test_connection_closed_without_an_answer_is_502(gw):
    r = gw.get("/fail/reset")
    assert_problem(r, 502, ("upstream-unreachable", "upstream-bad-response"))


def test_backend_503_passes_through_unchanged(gw):
    r = gw.get("/fail")
    assert r.status == 503, r.describe()
    assert r.content_type == FAILING_CONTENT_TYPE
    assert r.body == FAILING_BODY
    assert r.header("retry-after") == "7"
    assert r.header("x-failing-backend") == "yes"
    assert r.header("x-request-id"), "the gateway's own headers are still added"


def test_backend_503_passes_through_on_a_catch_all_path(gw):
    r = gw.request("POST", "/fail/anything", body=b"x")
    assert r.status == 503, r.describe()
    assert r.content_type == FAILING_CONTENT_TYPE
    assert r.body == FAILING_BODY


@pytest.mark.parametrize("status", [201, 404, 409, 500, 502, 503, 504])
def test_backend_status_passes_through_with_its_body(gw, status):
    r = gw.get(f"/echo/st?status={status}")
    assert r.status == status, r.describe()
    assert r.content_type == "application/json", "not turned into a problem"
    echo = echo_of(r)
    assert echo["path"] == "/echo/st"


def test_backend_204_passes_through(gw):
    r = gw.request("DELETE", "/echo/x?status=204")
    assert r.status == 204, r.describe()
    assert r.body == b""
