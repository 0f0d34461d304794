"""CORS (spec §3 cors, §4 CORS, §7 CORS): headers on every answer to an allowed
origin, errors included; none for another origin; preflights answered 204
with Vary: Origin. gateway.yaml allows https://app.example.com, methods GET and
POST, headers authorization and content-type, exposes x-request-id, max_age 10m."""

import pytest

from conftest import ALLOWED_ORIGIN, ANSWER_KINDS, OTHER_ORIGIN

CORS_HEADERS = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
]


def _has_token(values, token):
    return token.lower() in [p.strip().lower() for v in values for p in v.split(",")]


@pytest.mark.parametrize("kind", ANSWER_KINDS, ids=[k.id for k in ANSWER_KINDS])
def test_allowed_origin_gets_cors_headers_on_every_answer(gw, kind):
    r = kind.send(gw, [("Origin", ALLOWED_ORIGIN)])
    assert r.status == kind.status, r.describe()
    assert r.header_all("access-control-allow-origin") == [ALLOWED_ORIGIN], r.describe()
    assert [h.lower() for h in r.list_header("access-control-expose-headers")] == ["x-request-id"], r.describe()
    assert not r.has("access-control-allow-credentials"), "allow_credentials is false"
    assert _has_token(r.header_all("vary"), "origin"), "the answer depends on Origin"


@pytest.mark.parametrize("kind", ANSWER_KINDS, ids=[k.id for k in ANSWER_KINDS])
def test_disallowed_origin_gets_no_cors_headers(gw, kind):
    r = kind.send(gw, [("Origin", OTHER_ORIGIN)])
    assert r.status == kind.status, r.describe()
    for h in CORS_HEADERS:
        assert not r.has(h), f"{h} sent to a disallowed origin:\n{r.describe()}"


def test_no_origin_no_cors_headers(gw):
    r = gw.get("/echo/c")
    assert r.status == 200
    assert not r.has("access-control-allow-origin")


def test_origin_match_is_exact(gw):
    for origin in ("https://app.example.com.evil.net", "http://app.example.com", "https://app.example.com:8443", "null"):
        r = gw.get("/echo/c", [("Origin", origin)])
        assert not r.has("access-control-allow-origin"), f"{origin}:\n{r.describe()}"


def test_backend_cors_headers_do_not_leak_to_a_disallowed_origin(gw):
    r = gw.get(
        "/echo/c?set_header=Access-Control-Allow-Origin:*&set_header=Access-Control-Allow-Credentials:true",
        [("Origin", OTHER_ORIGIN)],
    )
    assert r.status == 200
    assert not r.has("access-control-allow-origin"), r.describe()
    assert not r.has("access-control-allow-credentials"), r.describe()


def test_gateway_cors_replaces_the_backends(gw):
    r = gw.get(
        "/echo/c?set_header=Access-Control-Allow-Origin:*&set_header=Access-Control-Allow-Credentials:true",
        [("Origin", ALLOWED_ORIGIN)],
    )
    assert r.header_all("access-control-allow-origin") == [ALLOWED_ORIGIN], r.describe()
    assert not r.has("access-control-allow-credentials"), r.describe()


def _preflight(gw, target, origin=ALLOWED_ORIGIN, method="POST", req_headers="content-type"):
    headers = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if req_headers:
        headers.append(("Access-Control-Request-Headers", req_headers))
    return gw.request("OPTIONS", target, headers)


@pytest.mark.parametrize("target, method", [("/echo/c", "POST"), ("/only-get", "GET"), ("/v1/users/1", "GET"), ("/items", "POST")])
def test_preflight_from_allowed_origin(gw, target, method):
    r = _preflight(gw, target, method=method)
    assert r.status == 204, r.describe()
    assert r.body == b""
    assert not r.has("x-echo-backend"), "the gateway answers preflights itself"
    assert r.header_all("access-control-allow-origin") == [ALLOWED_ORIGIN]
    assert sorted(m.upper() for m in r.list_header("access-control-allow-methods")) == ["GET", "POST"]
    assert sorted(h.lower() for h in r.list_header("access-control-allow-headers")) == ["authorization", "content-type"]
    assert r.header("access-control-max-age") == "600"
    assert _has_token(r.header_all("vary"), "origin"), r.describe()
    assert not r.has("access-control-allow-credentials")
    assert r.header("x-request-id")


def test_preflight_from_disallowed_origin_gets_no_cors_headers(gw):
    r = _preflight(gw, "/echo/c", origin=OTHER_ORIGIN)
    for h in CORS_HEADERS:
        assert not r.has(h), f"{h} sent to a disallowed origin:\n{r.describe()}"


def test_plain_options_is_forwarded(gw):
    # without Origin + Access-Control-Request-Method it is not a preflight
    r = gw.request("OPTIONS", "/echo/opt")
    assert r.status == 200, r.describe()
    assert r.header("x-echo-backend") == "echo"
