"""Routing: route hit, 404, 405 with Allow, HEAD on GET routes, every method on
a route without `methods` (spec §4 Matching, §7 Methods)."""

import pytest

from conftest import assert_problem, echo_of


def test_route_hit_is_forwarded_to_its_upstream(gw):
    r = gw.get("/echo/hello?x=1")
    assert r.status == 200, r.describe()
    assert r.content_type == "application/json"  # the backend's own answer
    echo = echo_of(r)
    assert echo["method"] == "GET"
    assert echo["path"] == "/echo/hello"
    assert echo["query"] == "x=1"


def test_query_is_forwarded_as_sent(gw):
    r = gw.get("/echo/q?a=1&b=%20x&a=2&c&d=%2F..%2F")
    echo = echo_of(r)
    assert echo["path"] == "/echo/q"
    assert echo["query"] == "a=1&b=%20x&a=2&c&d=%2F..%2F"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_route_without_methods_accepts_every_method(gw, method):
    body = b'{"n": 1}' if method in ("POST", "PUT", "PATCH") else None
    headers = [("Content-Type", "application/json")] if body else []
    r = gw.request(method, "/echo/m", headers, body)
    assert r.status == 200, r.describe()
    echo = echo_of(r)
    assert echo["method"] == method
    assert echo["path"] == "/echo/m"
    if body:
        assert echo["body"] == body.decode()


def test_head_on_catch_all_route(gw):
    r = gw.request("HEAD", "/echo/h")
    assert r.status == 200, r.describe()
    assert r.body == b""
    assert r.header("x-echo-backend") == "echo"
    assert r.header("x-request-id")


@pytest.mark.parametrize("target", ["/nope", "/", "/only-get/extra", "/v1/users", "/v1/users/1/2", "/ECHO/x", "/admin"])
def test_no_route_is_404_problem(gw, target):
    r = gw.get(target)
    assert_problem(r, 404, "not-found")


def test_wrong_method_is_405_with_allow(gw):
    r = gw.request("POST", "/only-get", body=b"")
    assert_problem(r, 405, "method-not-allowed")
    assert sorted(r.list_header("allow")) == ["GET", "HEAD"], r.describe()


def test_allow_lists_the_methods_of_every_route_on_the_path(gw):
    r = gw.request("DELETE", "/items")
    assert_problem(r, 405, "method-not-allowed")
    allow = r.list_header("allow")
    assert len(allow) == len(set(allow)), f"duplicates in Allow: {allow}"
    assert sorted(allow) == ["GET", "HEAD", "POST", "PUT"], r.describe()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_routes_sharing_a_path_each_answer_their_methods(gw, method):
    r = gw.request(method, "/items", body=b"{}" if method != "GET" else None)
    assert r.status == 200, r.describe()
    assert echo_of(r)["method"] == method


def test_get_route_answers_get(gw):
    r = gw.get("/only-get")
    assert r.status == 200, r.describe()
    assert echo_of(r)["path"] == "/only-get"


def test_head_is_implied_by_get(gw):
    r = gw.request("HEAD", "/only-get")
    assert r.status == 200, r.describe()
    assert r.body == b""
    assert r.header("x-echo-backend") == "echo", "HEAD is forwarded to the GET route's upstream"
    assert r.header("x-request-id")
