"""HTTP/1.1 framing (issue 9, finding 11; RFC 9112 §3.2, §5, §6, §7.1): every
ambiguity of the request-smuggling family is refused before a route runs.

On the local server the gateway owns the socket: each case gets 400 and the
connection is closed (hyper refuses some, `tollgate serve` the rest; see
crates/cli/src/serve/framing.rs). On Workers and Lambda the platform parses
HTTP before the gateway sees anything (workerd; the cargo-lambda emulator in
front of the function, API Gateway / a function URL in production): what they
do is recorded in docs/runtimes.md, and the cases skip there with that reason.

Everywhere, `Upgrade` and `HTTP2-Settings` never reach the upstream, with or
without a `Connection` header naming them (workerd consumes `Connection`)."""

from urllib.parse import urlsplit

import pytest

from conftest import BASE_URL, echo_header, echo_of, raw_exchange, skip_on

PLATFORM_PARSES = ("the platform parses HTTP/1.1 before the gateway sees the request: workerd and the "
                   "cargo-lambda emulator answer or normalise these themselves (docs/runtimes.md, "
                   "'HTTP/1.1 framing')")

CASES = [
    ("no-host", b"GET {p}/echo/f HTTP/1.1\r\n\r\n"),
    ("two-host-lines", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nHost: {h}\r\n\r\n"),
    ("two-different-hosts", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nHost: evil.example\r\n\r\n"),
    ("host-list", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}, evil.example\r\n\r\n"),
    ("chunked-twice-one-line",
     b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
    ("chunked-twice-two-lines",
     b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"2\r\nab\r\n0\r\n\r\n"),
    ("gzip-chunked", b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("te-not-chunked", b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: identity\r\n\r\n"),
    ("te-on-http10", b"POST {p}/echo/f HTTP/1.0\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two-lengths", b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    ("length-list", b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nContent-Length: 2, 2\r\n\r\nab"),
    ("bad-chunk-size", b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
    ("chunk-size-overflow",
     b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000002\r\nab\r\n0\r\n\r\n"),
    ("obs-fold", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nX-A: 1\r\n 2\r\n\r\n"),
    ("space-before-colon", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nContent-Length : 0\r\n\r\n"),
    ("bare-cr", b"GET {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nX-A: 1\rX-B: 2\r\n\r\n"),
]


def _status_lines(out: bytes) -> int:
    return sum(1 for line in out.split(b"\r\n") if line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")))


def _request(gw, template: bytes) -> bytes:
    prefix = urlsplit(BASE_URL).path.rstrip("/").encode()
    return template.replace(b"{p}", prefix).replace(b"{h}", gw.host_header.encode())


@skip_on(("cloudflare", "lambda"), PLATFORM_PARSES)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_ambiguous_framing_is_refused_with_400_and_closed(gw, case):
    template = dict(CASES)[case]
    out, closed = raw_exchange(_request(gw, template))
    assert out.startswith((b"HTTP/1.1 400 ", b"HTTP/1.0 400 ")), f"{case}: {out[:300]!r}"
    assert closed, f"{case}: the connection must be closed after the 400: {out[:300]!r}"
    assert _status_lines(out) == 1, f"{case}: one answer only: {out!r}"
    assert b"x-echo-backend" not in out.lower(), f"{case}: reached the echo backend: {out!r}"


@skip_on(("cloudflare", "lambda"), PLATFORM_PARSES)
def test_length_beside_chunked_smuggles_nothing(gw):
    # Transfer-Encoding wins, the length is dropped and the connection closes
    # after the answer (RFC 9112 §6.3): the bytes the length covered are never
    # read as a second request.
    smuggled = _request(gw, b"GET {p}/echo/smuggled HTTP/1.1\r\nHost: {h}\r\n\r\n")
    body = b"0\r\n\r\n" + smuggled
    req = _request(gw, b"POST {p}/echo/f HTTP/1.1\r\nHost: {h}\r\nContent-Length: %d\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n" % len(body)) + body
    out, closed = raw_exchange(req)
    assert closed and _status_lines(out) == 1, out
    assert b"/echo/smuggled" not in out, out


@pytest.mark.parametrize("headers", [
    [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")],
    [("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")],
    [("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")],
    [("Upgrade", "websocket")],
], ids=["named-in-connection", "without-connection", "settings-alone", "websocket"])
def test_upgrade_and_http2_settings_never_reach_the_upstream(gw, headers):
    r = gw.get("/echo/upgrade", headers)
    echo = echo_of(r)
    assert r.status == 200, r.describe()
    for name in ("upgrade", "http2-settings"):
        assert echo_header(echo, name) == [], f"{name} reached the upstream: {echo['headers']}"
