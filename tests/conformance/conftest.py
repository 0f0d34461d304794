"""Shared plumbing for the black-box conformance suite.

The suite talks HTTP/1.1 to a running gateway with nothing but http.client, so
that request targets go out byte for byte as written (no client-side path
normalisation or re-encoding) and headers can be repeated or left empty.

Environment:
  TOLLGATE_URL      base URL of the gateway under test, e.g. http://127.0.0.1:18200
                    (a path prefix is allowed: http://127.0.0.1:9000/lambda-url/tollgate)
  TOLLGATE_RUNTIME  local | cloudflare | lambda  (what /_gateway/health must report,
                    and which platform skips apply)
  ECHO_URL          where the echo backend listens (default http://127.0.0.1:18101);
                    only used to check that the backends run
  JWKS_URL          where backends.py serves its key sets (default http://127.0.0.1:18105)
  PROTO_URL         where backends.py serves its SOAP (/soap) and GraphQL (/graphql)
                    services for the translated routes (default http://127.0.0.1:18107);
                    the gateway's config reads it, the tests do not
  POOL_URL          the control server of backends.py's pool (default http://127.0.0.1:18110;
                    its members listen on the next 16 ports, which gateway.yaml names)
  JWT_SECRET        the HS256 secret the gateway got (default: run.sh's)
  ADMIN_TOKEN       the admin token the gateway got (default: run.sh's)
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union
from urllib.parse import urlsplit

import pytest

RUNTIMES = ("local", "cloudflare", "lambda")

ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
PROBLEM_BASE = "https://tollgate.dev/problems/"
PROBLEM_KEYS = {"type", "title", "status", "detail", "request_id"}
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TRACEPARENT_RE = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
MAX_BODY = 4096  # gateway.yaml limits.max_body_bytes
MAX_HEADER_BLOCK = 8192  # gateway.yaml limits.max_header_bytes
TIMEOUT = 15.0  # per request; generous on purpose (no test measures latency)


def _settings():
    url = os.environ.get("TOLLGATE_URL", "").strip()
    runtime = os.environ.get("TOLLGATE_RUNTIME", "").strip()
    return url, runtime


BASE_URL, RUNTIME = _settings()


def skip_on(runtimes: Union[str, Sequence[str]], reason: str):
    """Skips a test on the named runtime(s); the reason is printed by `pytest -rs`.

    Use only for what the platform itself makes impossible, and say why.
    """
    names = (runtimes,) if isinstance(runtimes, str) else tuple(runtimes)
    for n in names:
        if n not in RUNTIMES:
            raise ValueError(f"skip_on: unknown runtime {n!r}")
    return pytest.mark.skipif(RUNTIME in names, reason=f"[{RUNTIME}] {reason}")


# ---------------------------------------------------------------------------
# HTTP


@dataclass
class Response:
    status: int
    reason: str
    headers: list  # [(name, value)] as received, in order
    body: bytes
    peer_ip: str  # our own address on the connection = the peer the gateway sees
    method: str
    target: str

    def header_all(self, name: str) -> list:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def header(self, name: str) -> Optional[str]:
        """The one value of `name` (None if absent); fails if it was sent twice."""
        values = self.header_all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def has(self, name: str) -> bool:
        return bool(self.header_all(name))

    def list_header(self, name: str) -> list:
        """Comma-separated list header values, all lines joined, trimmed, empties dropped."""
        out = []
        for v in self.header_all(name):
            out.extend(p.strip() for p in v.split(","))
        return [p for p in out if p]

    @property
    def content_type(self) -> Optional[str]:
        return self.header("content-type")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"{self.method} {self.target}: body is not JSON ({e}): {self.body[:300]!r}") from None

    def describe(self) -> str:
        hdrs = "\n".join(f"  {k}: {v}" for k, v in self.headers)
        return f"{self.method} {self.target} -> {self.status} {self.reason}\n{hdrs}\n  body: {self.body[:400]!r}"


class Gateway:
    """A client of the gateway. `source_ip` binds the client side of every
    connection to that local address (e.g. another loopback address, so that
    the gateway sees another client IP); `status_counts` counts the statuses
    of all answers this client got (the failed-authentication limit test reads
    it)."""

    def __init__(self, base_url: str, source_ip: Optional[str] = None):
        self.source_ip = source_ip
        self.status_counts: Counter = Counter()
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"TOLLGATE_URL must be http(s)://host[:port][/prefix], got {base_url!r}")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.prefix = u.path.rstrip("/")
        default_port = (u.scheme == "http" and self.port == 80) or (u.scheme == "https" and self.port == 443)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if default_port else f"{host}:{self.port}"

    def _connection(self, timeout: float):
        src = (self.source_ip, 0) if self.source_ip else None
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context(), source_address=src
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout, source_address=src)

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable = (),
        body: Optional[bytes] = None,
        *,
        chunked: bool = False,
        host: Optional[str] = None,
        timeout: float = TIMEOUT,
    ) -> Response:
        """Sends one request on a fresh connection, the target exactly as given
        (after the base URL's path prefix). `headers` is a list of (name, value)
        pairs or a dict; pairs may repeat a name. `Host` is set unless given."""
        assert target.startswith("/"), target
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        conn = self._connection(timeout)
        try:
            conn.putrequest(method, self.prefix + target, skip_host=True, skip_accept_encoding=True)
            if not any(k.lower() == "host" for k, _ in pairs):
                conn.putheader("Host", host or self.host_header)
            for k, v in pairs:
                conn.putheader(k, v)
            if body is not None and not chunked and not any(k.lower() == "content-length" for k, _ in pairs):
                conn.putheader("Content-Length", str(len(body)))
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            peer_ip = conn.sock.getsockname()[0]
            send_error = None
            if body is not None:
                try:
                    if chunked:
                        step = 1000
                        for i in range(0, len(body), step):
                            piece = body[i : i + step]
                            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                        conn.send(b"0\r\n\r\n")
                    else:
                        conn.send(body)
                except (BrokenPipeError, ConnectionResetError) as e:
                    # The server answered early (413) and closed while we were
                    # still sending: read its answer, as RFC 9112 §9.6 asks of clients.
                    send_error = e
            try:
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                if send_error is not None:
                    raise AssertionError(
                        f"{method} {target}: the connection broke while the body was sent ({send_error!r}) "
                        f"and no answer could be read ({e!r})"
                    ) from e
                raise
            data = resp.read()
            self.status_counts[resp.status] += 1
            return Response(resp.status, resp.reason, list(resp.getheaders()), data, peer_ip, method, target)
        finally:
            conn.close()

    def get(self, target: str, headers: Iterable = (), **kw) -> Response:
        return self.request("GET", target, headers, **kw)


# ---------------------------------------------------------------------------
# Assertions shared by the topic files


def echo_of(resp: Response) -> dict:
    """The echo backend's description of what it received (asserts it is one)."""
    assert resp.header("x-echo-backend") == "echo", f"not answered by the echo backend:\n{resp.describe()}"
    data = resp.json()
    assert {"method", "path", "query", "headers", "body"} <= set(data), data
    return data


def raw_exchange(request: bytes, wait: float = 15.0) -> tuple:
    """Sends `request` as raw bytes on a new connection to the gateway, then
    reads until the server closes or `wait` s pass: (bytes received, closed?)."""
    import socket
    import time

    u = urlsplit(BASE_URL)
    s = socket.create_connection((u.hostname, u.port or 80), timeout=wait)
    try:
        s.sendall(request)
        out = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
        return out, False
    finally:
        s.close()


def concurrent_statuses(send, total: int, threads: int) -> dict:
    """Calls `send()` (one request, returns its status) `total` times from
    `threads` threads at once; returns how many answers had each status."""
    import threading

    statuses, lock, todo = [], threading.Lock(), list(range(total))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            s = send()
            with lock:
                statuses.append(s)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {s: statuses.count(s) for s in set(statuses)}


def other_loopback_client(probe: str = "/echo/other-client-probe") -> Optional["Gateway"]:
    """A client on another, random loopback address, if the gateway tells it
    apart from 127.0.0.1 (None when the platform shows every client as one
    address, or the host has no such address)."""
    import random

    ip = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    other = Gateway(BASE_URL, source_ip=ip)
    try:
        r = other.get(probe)
    except OSError:
        return None
    return other if echo_header(echo_of(r), "x-forwarded-for") == [ip] else None


def echo_header(echo: dict, name: str) -> list:
    """All values the echo backend saw for header `name` (lowercase), as a list."""
    v = echo["headers"].get(name.lower())
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def assert_problem(resp: Response, status: int, slug: Union[str, Sequence[str], None] = None) -> dict:
    """An RFC 9457 answer made by the gateway: exact content type, the five keys,
    status in the body equal to the response's, the request id of the header,
    and no upstream address leaking. Returns the parsed body."""
    assert resp.status == status, f"expected {status}\n{resp.describe()}"
    assert resp.content_type == "application/problem+json", resp.describe()
    assert not resp.has("x-echo-backend"), f"the request reached the echo backend:\n{resp.describe()}"
    body = resp.json()
    assert isinstance(body, dict), body
    missing = PROBLEM_KEYS - set(body)
    assert not missing, f"problem body lacks {sorted(missing)}: {body}"
    assert body["status"] == status and isinstance(body["status"], int), body
    assert isinstance(body["type"], str) and body["type"].startswith(PROBLEM_BASE), body
    if slug is not None:
        slugs = (slug,) if isinstance(slug, str) else tuple(slug)
        assert body["type"] in {PROBLEM_BASE + s for s in slugs}, body
    for key in ("title", "detail"):
        assert isinstance(body[key], str) and body[key].strip(), body
    rid = resp.header("x-request-id")
    assert rid and body["request_id"] == rid, f"request_id {body['request_id']!r} != X-Request-Id {rid!r}"
    text = resp.body.decode("utf-8", errors="replace")
    for leak in ("127.0.0.1:181", "localhost:181", ":18101", ":18102", ":18103", ":18104", "stack backtrace", "panicked at"):
        assert leak not in text, f"problem body leaks {leak!r}: {text}"
    return body


# ---------------------------------------------------------------------------
# Every kind of answer, for the "on every response" checks (request id,
# Server-Timing, CORS). Fields: id, method, target, headers, body, chunked,
# expected status, whether the gateway made the answer itself.

@dataclass(frozen=True)
class Kind:
    id: str
    method: str
    target: str
    status: int
    headers: tuple = ()
    body: Optional[bytes] = None
    chunked: bool = False
    proxied: bool = False

    def send(self, gw: "Gateway", extra_headers=()) -> Response:
        return gw.request(self.method, self.target, list(self.headers) + list(extra_headers), self.body,
                          chunked=self.chunked, timeout=30)


ANSWER_KINDS = [
    Kind("200 proxied", "GET", "/echo/kind", 200, proxied=True),
    Kind("200 HEAD proxied", "HEAD", "/only-get", 200, proxied=True),
    Kind("500 from backend", "GET", "/echo/kind?status=500", 500, proxied=True),
    Kind("503 from backend", "GET", "/fail", 503, proxied=True),
    Kind("400 bad path", "GET", "/public/a%00b", 400),
    Kind("404 no route", "GET", "/nope", 404),
    Kind("405 wrong method", "PUT", "/only-get", 405, body=b""),
    Kind("413 declared length", "POST", "/echo/kind", 413, body=b"y" * (MAX_BODY + 1)),
    # (a chunked body over the limit is covered in test_limits.py only: on
    # wrangler dev it disturbs the next request, see the test there)
    Kind("431 headers", "GET", "/echo/kind", 431, headers=(("X-Pad", "p" * (MAX_HEADER_BLOCK + 100)),)),
    Kind("502 dead upstream", "GET", "/dead", 502),
    Kind("504 slow upstream", "GET", "/slow?ms=5000", 504),
    Kind("200 health", "GET", "/_gateway/health", 200),
    Kind("401 no credential", "GET", "/auth/hs/kind", 401),
    Kind("401 bad token", "GET", "/auth/hs/kind", 401, headers=(("Authorization", "Bearer not.a.token"),)),
    Kind("403 ip denied", "GET", "/auth/ipdeny", 403),
]


# ---------------------------------------------------------------------------
# Fixtures


def pytest_report_header(config):
    return f"tollgate: TOLLGATE_URL={BASE_URL or '(unset)'} TOLLGATE_RUNTIME={RUNTIME or '(unset)'}"


@pytest.fixture(scope="session")
def gw() -> Gateway:
    if not BASE_URL:
        pytest.exit("set TOLLGATE_URL to the gateway's base URL (e.g. http://127.0.0.1:18200); see tests/conformance/README.md", returncode=4)
    if RUNTIME not in RUNTIMES:
        pytest.exit(f"set TOLLGATE_RUNTIME to one of {', '.join(RUNTIMES)} (got {RUNTIME!r})", returncode=4)
    g = Gateway(BASE_URL)
    try:
        health = g.get("/_gateway/health", timeout=30)
    except OSError as e:
        pytest.exit(f"the gateway at {BASE_URL} does not answer: {e}", returncode=3)
    if not health.has("x-request-id"):
        # Not an answer of Tollgate's at all: a wrong URL, or the platform's own
        # error page (e.g. cargo lambda watch's "default function disabled").
        pytest.exit(
            f"{BASE_URL}/_gateway/health is not answered by Tollgate (no X-Request-Id):\n{health.describe()}\n"
            "see tests/conformance/README.md for the base URL of each runtime",
            returncode=3,
        )
    for name, default in (("ECHO_URL", "http://127.0.0.1:18101"), ("JWKS_URL", "http://127.0.0.1:18105")):
        u = urlsplit(os.environ.get(name, default))
        try:
            socket.create_connection((u.hostname, u.port or 80), timeout=3).close()
        except OSError as e:
            pytest.exit(f"the {name} backend at {u.geturl()} does not answer ({e}): start tests/conformance/backends.py",
                        returncode=3)
    return g


@pytest.fixture
def pool():
    """backends.py's pool (poolkit.Pool), every member "ok" before the test and
    again after it, whatever the test did or however it ended."""
    from poolkit import Pool

    p = Pool()
    p.check_running()
    p.recover()
    try:
        yield p
    finally:
        p.recover()
