"""The example backends themselves, without the gateway: proves the fixtures
do what the gateway tests rely on (so a "stripped" or "not forwarded" check is
never vacuous). Uses ECHO_URL, SLOW_URL, FAIL_URL, DEAD_URL (defaults: ports
18101-18104 on 127.0.0.1)."""

import http.client
import os
import socket
from urllib.parse import urlsplit

import pytest

from conftest import Gateway, echo_header, echo_of


def _backend(var, default):
    url = os.environ.get(var, default)
    u = urlsplit(url)
    try:
        socket.create_connection((u.hostname, u.port), timeout=3).close()
    except OSError as e:
        if var == "DEAD_URL":
            return Gateway(url)
        pytest.skip(f"backend {var}={url} is not running ({e}); start backends.py")  # reported by -rs
    return Gateway(url)


@pytest.fixture(scope="module")
def echo():
    return _backend("ECHO_URL", "http://127.0.0.1:18101")


def test_echo_reports_the_raw_target_and_repeated_headers(echo):
    r = echo.request("PATCH", "/a/../b%2F;x?q=%2e&q=2", [("X-R", "1"), ("X-R", "2")], b"body")
    assert r.status == 200
    e = echo_of(r)
    assert (e["method"], e["path"], e["query"], e["body"]) == ("PATCH", "/a/../b%2F;x", "q=%2e&q=2", "body")
    assert echo_header(e, "x-r") == ["1", "2"]


def test_echo_status_and_response_headers(echo):
    r = echo.get("/x?status=503&set_header=Connection:x-secret&set_header=X-Secret:1&set_header=Keep-Alive:timeout%3D99,%20max%3D777")
    assert r.status == 503
    assert r.header("x-secret") == "1"
    assert "x-secret" in r.header("connection").lower()
    assert "777" in r.header("keep-alive")


def test_echo_chunked_body_and_head(echo):
    r = echo.request("POST", "/c", body=b"z" * 2500, chunked=True)
    assert echo_of(r)["body_length"] == 2500
    h = echo.request("HEAD", "/h")
    assert h.status == 200 and h.body == b"" and h.header("x-echo-backend") == "echo"


def test_slow_sleeps_then_answers():
    slow = _backend("SLOW_URL", "http://127.0.0.1:18102")
    r = slow.get("/slow?ms=50")
    assert r.status == 200 and r.json() == {"slept_ms": 50}


def test_failing_answers_503_and_reset_closes():
    fail = _backend("FAIL_URL", "http://127.0.0.1:18103")
    r = fail.get("/fail")
    assert r.status == 503 and r.content_type.startswith("text/plain")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
        fail.get("/fail/reset")


def test_dead_refuses_connections():
    dead = _backend("DEAD_URL", "http://127.0.0.1:18104")
    with pytest.raises(ConnectionRefusedError):
        dead.get("/", timeout=3)
