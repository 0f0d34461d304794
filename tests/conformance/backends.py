#!/usr/bin/env python3
"""Example backends for the Tollgate conformance suite (standard library only).

One process, one host (default 127.0.0.1), these ports:

  echo    18101  answers 200 with a JSON description of the request it got:
                 {"method", "path", "query", "headers", "body"}
                 - path / query: the raw request target as received (no decoding)
                 - headers: lowercased name -> value, or a list of values when
                   the header came more than once
                 - body: the request body decoded as UTF-8 (invalid bytes
                   replaced), plus "body_length" (bytes)
                 ?status=NNN             answer with that status (same JSON body)
                 ?raw=TEXT               answer TEXT as text/html instead of the JSON
                 ?set_header=name:value  add a response header (repeatable), e.g.
                                         set_header=Connection:x-secret&set_header=X-Secret:1
                 ?bytes=N                answer N bytes of "x" (text/plain, Content-Length)
                 ?chunked_bytes=N        the same, chunked (64 KiB chunks, no length)
                 every answer also carries `X-Echo-Backend: echo`
  slow    18102  sleeps ?ms= milliseconds (default 3000), then answers 200 JSON;
                 ?dribble=N&every_ms=M: answers 200 at once, then N chunks of 1 KiB,
                 one every M ms (default 100), chunked
  failing 18103  answers 503 text/plain with its own body and headers;
                 a path ending in /reset closes the connection without answering
  dead    18104  nothing listens there (only checked at start-up)
  jwks    18105  JSON Web Key Sets built from keys/public.jwks.json (public halves
                 of the suite's fixed test keys), one per key set:
                   GET /jwks.json        set "main": rsa-1 (RS256), ec-1 (ES256), ed-1 (EdDSA)
                   GET /rot/jwks.json    set "rot":  rot-1 (RS256, the rsa key); for rotation
                   GET /down/jwks.json   set "down": down-1 (ES256, the ec key); for outages
                 answered with Cache-Control: max-age=60 ("down": max-age=1)
                 control (?set=main|rot|down, default main):
                   POST /control/rotate  body: one public JWK with a new "kid"; added to
                                         the set, the old keys stay (409 for a known kid)
                   POST /control/down    the set's jwks.json answers 503 from now on
                   POST /control/up      ... and normally again
                   GET  /control/hits    {"hits": N, "kids": [...], "down": bool}; N counts
                                         every GET of the set's jwks.json, 503s included
                 GET /slow/jwks.json (set "slow": slow-1, ES256) and /slowdown/jwks.json
                 (set "slowdown": down from the start) answer after 1 s, max-age=3600:
                 concurrent requests find a fetch in flight (test_security_jwks.py)
  protocols 18107  a SOAP 1.1 and a GraphQL service, for the translated routes;
                 each checks the request's shape first and answers 400
                 text/plain naming what is wrong:
                   POST /soap     needs Content-Type text/xml, SOAPAction "GetWeather" and
                                  a well-formed SOAP 1.1 Envelope/Body/GetWeather/City;
                                  answers 200 text/xml, a SOAP envelope with
                                  GetWeatherResponse: City (country="XX" attribute, the
                                  city as parsed), Temperature (unit="C"), Forecast with
                                  two Day elements (name="Mon"/"Tue"), and Seen (path,
                                  query, action and content type as received, attributes);
                                  the city `Atlantis`: 500 with a SOAP Fault whose
                                  faultstring is "Unknown city: Atlantis"
                   POST /graphql  needs Content-Type application/json and a JSON object
                                  {"query": non-empty string, "variables": object with
                                  a string "id"}; answers 200 application/json
                                  {"data": {"product": {"id", "name", "price": 9.5,
                                  "seen": {"path", "query", "variables"}}}}; the id
                                  `missing`: {"data": {"product": null}, "errors":
                                  [{"message": "product missing not found"},
                                   {"message": "catalog lookup failed"}]}
                   POST /soap/hostile/{attrs|xmlns|elements}/{N}  a 200 SOAP answer whose
                                  GetWeatherResponse holds one element with N attributes /
                                  N namespace declarations, or N sibling elements
  pool    18110  control of the pool members below (tests only; the gateway never
                 routes here):
                   GET  /control/hits    {"<member>": N, ...}: every request a member got
                                         (200s, 503s and closed connections alike)
                   GET  /control/modes   {"<member>": "ok" | "503" | "close", ...}
                   POST /control/set?member=NAME&mode=ok|503|close
                                         one member's behaviour from now on (404 for an
                                         unknown member, 400 for an unknown mode)
                   POST /control/recover every member "ok" again (hits are kept)
                 each answers the state after it (/control/set and /recover: the modes)
  pool members 18111-18126, one server per port (test_balance.py, test_retries.py,
                 test_breaker.py; gateway.yaml's pool-* upstreams), by name:
                   18111 w3  18112 w1  18113 w0      (balancing; w0 is only ever a
                                                      weight-0 target and must get nothing)
                   18114 bad  18115 good             (retries)
                   18116 flap-503  18117 flap-close  18118 flap-again  18119 steady
                                                     (circuit breakers)
                   18120 sink-a  18121 sink-b        (retry budget)
                   18122 cap-a  18123 cap-b  18124 cap-c  18125 cap-d  18126 solo
                                                     (ejection limits)
                 mode ok (the start): 200 application/json {"member", "method", "path"}
                 (path: the raw request target's path) and `X-Pool-Member: <name>`;
                 503: 503 application/json {"member", "method", "path", "error"} with the
                 same header (the backend's own answer); close: reads the request, then
                 closes the connection without answering. The hit is counted before the
                 answer.

Every method is handled (GET HEAD POST PUT PATCH DELETE OPTIONS and any other
token). Prints "ready" on stdout once all servers listen; runs until killed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

FAILING_BODY = b"failing backend: service unavailable\n"
FAILING_CONTENT_TYPE = "text/plain; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real backend
    server_version = "conformance-backend"
    sys_version = ""
    verbose = False

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if self.verbose:
            sys.stderr.write("[%s] %s\n" % (self.server.name, format % args))

    # Any method name reaches handle_any (BaseHTTPRequestHandler looks up do_<METHOD>).
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    def split_target(self):
        path, sep, query = self.path.partition("?")
        return path, query if sep else ""

    def read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until an empty line
                    while True:
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after the chunk
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        return b""

    def send(self, status: int, body: bytes, content_type: str, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        if status not in (204, 304) and not 100 <= status < 200:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(body)

    def handle_any(self):
        try:
            self.server.respond(self)
        except (BrokenPipeError, ConnectionResetError):
            # the gateway gave up (timeout) and closed the connection
            self.close_connection = True


def echo_description(h: _Handler, body: bytes) -> dict:
    path, query = h.split_target()
    headers: dict = {}
    for name, value in h.headers.items():
        key = name.lower()
        if key in headers:
            prev = headers[key]
            headers[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            headers[key] = value
    return {
        "method": h.command,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body.decode("utf-8", errors="replace"),
        "body_length": len(body),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    name = "backend"

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a peer that went away is not the backend's problem
        super().handle_error(request, client_address)

    def respond(self, h: _Handler) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class EchoServer(_Server):
    name = "echo"

    def respond(self, h):
        body = h.read_body()
        _, query = h.split_target()
        status = 200
        extra = [("X-Echo-Backend", "echo")]
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == "status" and value.isdigit() and 100 <= int(value) <= 599:
                status = int(value)
            elif key == "set_header" and ":" in value:
                name, _, v = value.partition(":")
                extra.append((name.strip(), v.strip()))
            elif key == "raw":
                # answer this text instead of the JSON description (a non-JSON backend)
                h.send(status, value.encode(), "text/html; charset=utf-8", extra)
                return
            elif key == "bytes" and value.isdigit():
                h.send(status, b"x" * int(value), "text/plain", extra)
                return
            elif key == "chunked_bytes" and value.isdigit():
                send_chunked(h, status, int(value), 64 * 1024, 0, extra)
                return
        payload = json.dumps(echo_description(h, body)).encode()
        h.send(status, payload, "application/json", extra)


def send_chunked(h: _Handler, status: int, total: int, size: int, every_ms: int, extra=()) -> None:
    """Answers `total` bytes of "x" chunked, `size` bytes per chunk, one chunk
    every `every_ms` milliseconds (the connection is closed afterwards)."""
    h.send_response(status)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Transfer-Encoding", "chunked")
    for name, value in extra:
        h.send_header(name, value)
    h.end_headers()
    h.close_connection = True
    left = total
    while left > 0:
        n = min(size, left)
        h.wfile.write(b"%x\r\n%s\r\n" % (n, b"x" * n))
        h.wfile.flush()
        left -= n
        if every_ms:
            time.sleep(every_ms / 1000)
    h.wfile.write(b"0\r\n\r\n")


class SlowServer(_Server):
    name = "slow"

    def respond(self, h):
        h.read_body()
        _, query = h.split_target()
        ms = 3000
        params = dict(parse_qsl(query))
        if params.get("dribble", "").isdigit():
            every = params.get("every_ms", "100")
            send_chunked(h, 200, int(params["dribble"]) * 1024, 1024, int(every) if every.isdigit() else 100)
            return
        for key, value in parse_qsl(query):
            if key == "ms" and value.isdigit():
                ms = int(value)
        time.sleep(ms / 1000)
        h.send(200, json.dumps({"slept_ms": ms}).encode(), "application/json", [("X-Echo-Backend", "slow")])


def close_unanswered(h: _Handler) -> None:
    """Closes the connection without sending a byte (a backend that resets)."""
    h.close_connection = True
    try:
        h.request.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FailingServer(_Server):
    name = "failing"

    def respond(self, h):
        path, _ = h.split_target()
        if path.rstrip("/").endswith("/reset"):
            # No answer at all: close the connection before any byte is sent.
            return close_unanswered(h)
        h.read_body()
        h.send(503, FAILING_BODY, FAILING_CONTENT_TYPE, [("Retry-After", "7"), ("X-Failing-Backend", "yes")])


KEYS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys")
# set name -> (path, Cache-Control max-age, [(key file name, kid, alg)])
JWKS_SETS = {
    "main": ("/jwks.json", 60, [("rsa", "rsa-1", "RS256"), ("ec", "ec-1", "ES256"), ("ed25519", "ed-1", "EdDSA")]),
    "rot": ("/rot/jwks.json", 60, [("rsa", "rot-1", "RS256")]),
    "down": ("/down/jwks.json", 1, [("ec", "down-1", "ES256")]),
    # test_security_jwks.py: slow answers, so that concurrent requests find a fetch in flight
    "slow": ("/slow/jwks.json", 3600, [("ec", "slow-1", "ES256")]),
    "slowdown": ("/slowdown/jwks.json", 3600, [("ec", "slowdown-1", "ES256")]),
}
# set name -> seconds every fetch of it waits before answering; sets down from the start
JWKS_DELAY = {"slow": 1.0, "slowdown": 1.0}
JWKS_DOWN_AT_START = {"slowdown"}


class JwksServer(_Server):
    """Serves the key sets of JWKS_SETS and lets the tests rotate keys and take
    a set down. State is in memory: shared by every runtime that the same
    backends process serves, so tests rotate in fresh keys and compare hit
    counts before/after instead of expecting absolute values."""

    name = "jwks"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        with open(os.path.join(KEYS_DIR, "public.jwks.json")) as f:
            public = json.load(f)
        self.lock = threading.Lock()
        self.sets = {}
        for set_name, (path, max_age, entries) in JWKS_SETS.items():
            keys = []
            for file_name, kid, alg in entries:
                jwk = copy.deepcopy(public[file_name])
                jwk.update({"kid": kid, "alg": alg, "use": "sig"})
                keys.append(jwk)
            self.sets[set_name] = {"path": path, "max_age": max_age, "keys": keys,
                                   "down": set_name in JWKS_DOWN_AT_START, "hits": 0}

    def respond(self, h):
        body = h.read_body()
        path, query = h.split_target()
        params = dict(parse_qsl(query))
        answer = (404, b"no such key set\n", "text/plain", [])
        delay = 0.0
        with self.lock:
            if path.startswith("/control/"):
                return self.control(h, path, params.get("set", "main"), body)
            for set_name, st in self.sets.items():
                if path == st["path"]:
                    if h.command not in ("GET", "HEAD"):
                        return h.send(405, b"", "text/plain", [("Allow", "GET, HEAD")])
                    st["hits"] += 1
                    delay = JWKS_DELAY.get(set_name, 0.0)
                    if st["down"]:
                        answer = (503, b"jwks backend down\n", "text/plain", [])
                    else:
                        payload = json.dumps({"keys": st["keys"]}).encode()
                        answer = (200, payload, "application/json", [("Cache-Control", f"max-age={st['max_age']}")])
                    break
        time.sleep(delay)  # outside the lock: concurrent fetches overlap
        h.send(*answer)

    def control(self, h, path, set_name, body):
        st = self.sets.get(set_name)
        if st is None:
            return h.send(404, b"no such key set\n", "text/plain")
        action = path[len("/control/"):]
        if action == "hits" and h.command == "GET":
            pass
        elif action in ("down", "up") and h.command == "POST":
            st["down"] = action == "down"
        elif action == "rotate" and h.command == "POST":
            try:
                jwk = json.loads(body)
                assert isinstance(jwk, dict) and isinstance(jwk.get("kid"), str) and jwk.get("kty")
            except (ValueError, AssertionError):
                return h.send(400, b"body: one public JWK with a kid\n", "text/plain")
            if any(k["kid"] == jwk["kid"] for k in st["keys"]):
                return h.send(409, b"kid already in the set\n", "text/plain")
            if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
                return h.send(400, b"a public JWK only\n", "text/plain")
            st["keys"].append(jwk)
        else:
            return h.send(404, b"unknown control\n", "text/plain")
        state = {"set": set_name, "hits": st["hits"], "kids": [k["kid"] for k in st["keys"]], "down": st["down"]}
        h.send(200, json.dumps(state).encode(), "application/json")


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WEATHER_NS = "urn:conformance:weather"
ET.register_namespace("soap", SOAP_ENV)
ET.register_namespace("w", WEATHER_NS)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, name: str):
    return next((c for c in el if _local(c.tag) == name), None) if el is not None else None


class ProtocolsServer(_Server):
    """A SOAP 1.1 service at /soap and a GraphQL service at /graphql; both
    refuse (400) a request of the wrong shape, so that a test sees that 400
    passed through if the gateway sends one."""

    name = "protocols"

    def respond(self, h):
        body = h.read_body()
        path, query = h.split_target()
        if h.command != "POST":
            return h.send(405, b"POST only\n", "text/plain", [("Allow", "POST")])
        if path == "/soap":
            return self.soap(h, path, query, body)
        if path == "/graphql":
            return self.graphql(h, path, query, body)
        if path.startswith("/soap/hostile/"):
            return self.hostile(h, path)
        h.send(404, b"no such service\n", "text/plain")

    def hostile(self, h, path):
        """A 200 SOAP answer built to cost a parser: /soap/hostile/attrs/N (one
        element with N attributes), /xmlns/N (N namespace declarations),
        /elements/N (N sibling elements); N at most 400000."""
        kind, _, n = path[len("/soap/hostile/"):].partition("/")
        if not n.isdigit() or int(n) > 400_000 or kind not in ("attrs", "xmlns", "elements"):
            return h.send(404, b"/soap/hostile/{attrs|xmlns|elements}/{N <= 400000}\n", "text/plain")
        n = int(n)
        if kind == "attrs":
            inner = "<City" + "".join(f' a{i}="{i}"' for i in range(n)) + ">Paris</City>"
        elif kind == "xmlns":
            inner = "<City" + "".join(f' xmlns:p{i}="urn:{i}"' for i in range(n)) + ">Paris</City>"
        else:
            inner = "<Day/>" * n
        doc = (f'<?xml version="1.0"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
               f"<GetWeatherResponse>{inner}</GetWeatherResponse></soap:Body></soap:Envelope>")
        h.send(200, doc.encode(), "text/xml; charset=utf-8")

    def soap(self, h, path, query, body):
        content_type = h.headers.get("Content-Type") or ""
        action = h.headers.get("SOAPAction")
        if not content_type.startswith("text/xml"):
            return h.send(400, b"Content-Type must be text/xml\n", "text/plain")
        if action != '"GetWeather"':
            return h.send(400, b'SOAPAction must be "GetWeather"\n', "text/plain")
        if b"<!DOCTYPE" in body:
            return h.send(400, b"no DOCTYPE in SOAP\n", "text/plain")
        try:
            envelope = ET.fromstring(body)
        except ET.ParseError as e:
            return h.send(400, f"not well-formed XML: {e}\n".encode(), "text/plain")
        city = _child(_child(_child(envelope, "Body"), "GetWeather"), "City")
        if envelope.tag != f"{{{SOAP_ENV}}}Envelope" or city is None:
            return h.send(400, b"expected a SOAP 1.1 Envelope/Body/GetWeather/City\n", "text/plain")
        name = city.text or ""
        out = ET.Element(f"{{{SOAP_ENV}}}Envelope")
        out_body = ET.SubElement(out, f"{{{SOAP_ENV}}}Body")
        if name == "Atlantis":
            fault = ET.SubElement(out_body, f"{{{SOAP_ENV}}}Fault")
            ET.SubElement(fault, "faultcode").text = "soap:Client"
            ET.SubElement(fault, "faultstring").text = "Unknown city: Atlantis"
            return h.send(500, ET.tostring(out, encoding="utf-8", xml_declaration=True), "text/xml; charset=utf-8")
        resp = ET.SubElement(out_body, f"{{{WEATHER_NS}}}GetWeatherResponse")
        ET.SubElement(resp, f"{{{WEATHER_NS}}}City", {"country": "XX"}).text = name
        ET.SubElement(resp, f"{{{WEATHER_NS}}}Temperature", {"unit": "C"}).text = "21"
        forecast = ET.SubElement(resp, f"{{{WEATHER_NS}}}Forecast")
        ET.SubElement(forecast, f"{{{WEATHER_NS}}}Day", {"name": "Mon"}).text = "Sunny"
        ET.SubElement(forecast, f"{{{WEATHER_NS}}}Day", {"name": "Tue"}).text = "Rain"
        ET.SubElement(resp, f"{{{WEATHER_NS}}}Seen",
                      {"path": path, "query": query, "action": action, "contentType": content_type})
        h.send(200, ET.tostring(out, encoding="utf-8", xml_declaration=True), "text/xml; charset=utf-8")

    def graphql(self, h, path, query, body):
        content_type = h.headers.get("Content-Type") or ""
        if not content_type.startswith("application/json"):
            return h.send(400, b"Content-Type must be application/json\n", "text/plain")
        try:
            request = json.loads(body)
        except ValueError as e:
            return h.send(400, f"not JSON: {e}\n".encode(), "text/plain")
        if not (isinstance(request, dict) and isinstance(request.get("query"), str) and request["query"].strip()
                and isinstance(request.get("variables"), dict) and isinstance(request["variables"].get("id"), str)):
            return h.send(400, b'expected {"query": "...", "variables": {"id": "..."}}\n', "text/plain")
        variables = request["variables"]
        if variables["id"] == "missing":
            answer = {"data": {"product": None}, "errors": [
                {"message": "product missing not found", "path": ["product"]},
                {"message": "catalog lookup failed"},
            ]}
        else:
            answer = {"data": {"product": {
                "id": variables["id"], "name": f"Product {variables['id']}", "price": 9.5,
                "seen": {"path": path, "query": query, "variables": variables},
            }}}
        h.send(200, json.dumps(answer).encode(), "application/json")


# The pool (test_balance.py, test_retries.py, test_breaker.py): member name -> port
# offset from --pool-port (the control server's port).
POOL_MEMBERS = (
    ("w3", 1), ("w1", 2), ("w0", 3),
    ("bad", 4), ("good", 5),
    ("flap-503", 6), ("flap-close", 7), ("flap-again", 8), ("steady", 9),
    ("sink-a", 10), ("sink-b", 11),
    ("cap-a", 12), ("cap-b", 13), ("cap-c", 14), ("cap-d", 15), ("solo", 16),
)
POOL_MODES = ("ok", "503", "close")
POOL_PORT = 18110  # gateway.yaml's pool-* upstreams name the members' ports, 18111-18126


class PoolState:
    """Modes and hit counters of every pool member, shared by the member servers
    and the control server. Lives as long as the backends process, which the
    runtimes share: tests compare hits before/after and recover members at the end."""

    def __init__(self, names):
        self.lock = threading.Lock()
        self.modes = {n: "ok" for n in names}
        self.hits = {n: 0 for n in names}

    def hit(self, name: str) -> str:
        """Counts one request for `name`; its mode at that moment."""
        with self.lock:
            self.hits[name] += 1
            return self.modes[name]


class _PoolHandler(_Handler):
    # The answer leaves in two writes (headers, then body): with Nagle's algorithm
    # the second waits for the peer's delayed ACK of the first, ~40 ms on every
    # request of a kept-alive connection. The pool serves thousands of requests.
    disable_nagle_algorithm = True


class PoolMemberServer(_Server):
    """One member of the pool: 200 JSON naming itself, or 503, or a closed
    connection, as the control server last set it."""

    name = "pool"
    member = ""
    state: PoolState = None  # set per instance in main()

    def respond(self, h):
        h.read_body()
        path, _ = h.split_target()
        mode = self.state.hit(self.member)
        if mode == "close":
            return close_unanswered(h)
        answer = {"member": self.member, "method": h.command, "path": path}
        status = 200
        if mode == "503":
            status = 503
            answer["error"] = "told to fail"
        h.send(status, json.dumps(answer).encode(), "application/json", [("X-Pool-Member", self.member)])


class PoolControlServer(_Server):
    name = "pool-control"
    state: PoolState = None

    def respond(self, h):
        h.read_body()
        path, query = h.split_target()
        params = dict(parse_qsl(query))
        st = self.state
        with st.lock:
            if path == "/control/hits" and h.command == "GET":
                out = dict(st.hits)
            elif path == "/control/modes" and h.command == "GET":
                out = dict(st.modes)
            elif path == "/control/set" and h.command == "POST":
                member, mode = params.get("member", ""), params.get("mode", "")
                if member not in st.modes:
                    return h.send(404, f"no pool member {member!r}\n".encode(), "text/plain")
                if mode not in POOL_MODES:
                    return h.send(400, f"mode must be one of {', '.join(POOL_MODES)}\n".encode(), "text/plain")
                st.modes[member] = mode
                out = dict(st.modes)
            elif path == "/control/recover" and h.command == "POST":
                for member in st.modes:
                    st.modes[member] = "ok"
                out = dict(st.modes)
            else:
                return h.send(404, b"unknown control\n", "text/plain")
        h.send(200, json.dumps(out).encode(), "application/json")


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--echo-port", type=int, default=18101)
    p.add_argument("--slow-port", type=int, default=18102)
    p.add_argument("--fail-port", type=int, default=18103)
    p.add_argument("--dead-port", type=int, default=18104, help="must have nothing listening (checked, never bound)")
    p.add_argument("--jwks-port", type=int, default=18105)
    p.add_argument("--proto-port", type=int, default=18107)
    p.add_argument("--pool-port", type=int, default=POOL_PORT,
                   help="the pool's control port; its members listen on the next 16 ports")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    _Handler.verbose = args.verbose

    if port_is_open(args.host, args.dead_port):
        print(f"backends: something listens on the 'dead' port {args.host}:{args.dead_port}; the 502 tests need it closed",
              file=sys.stderr)
        return 2

    pool = PoolState([name for name, _ in POOL_MEMBERS])
    plan = [(EchoServer, args.echo_port, {}), (SlowServer, args.slow_port, {}), (FailingServer, args.fail_port, {}),
            (JwksServer, args.jwks_port, {}), (ProtocolsServer, args.proto_port, {}),
            (PoolControlServer, args.pool_port, {"state": pool})]
    plan += [(PoolMemberServer, args.pool_port + offset, {"state": pool, "member": member, "name": f"pool:{member}"})
             for member, offset in POOL_MEMBERS]
    servers = []
    for cls, port, attrs in plan:
        if ":" in args.host:
            cls.address_family = socket.AF_INET6
        try:
            srv = cls((args.host, port), _PoolHandler if issubclass(cls, (PoolMemberServer, PoolControlServer)) else _Handler)
        except OSError as e:
            print(f"backends: cannot listen on {args.host}:{port} ({attrs.get('name', cls.name)}): {e}", file=sys.stderr)
            for s in servers:
                s.server_close()
            return 2
        for key, value in attrs.items():
            setattr(srv, key, value)
        servers.append(srv)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, name=srv.name, daemon=True).start()
    print("ready", flush=True)
    print(
        f"backends: echo http://{args.host}:{args.echo_port}  slow http://{args.host}:{args.slow_port}  "
        f"failing http://{args.host}:{args.fail_port}  dead http://{args.host}:{args.dead_port}  "
        f"jwks http://{args.host}:{args.jwks_port}  protocols http://{args.host}:{args.proto_port}  "
        f"pool control http://{args.host}:{args.pool_port}, members :{args.pool_port + 1}-:{args.pool_port + len(POOL_MEMBERS)}",
        file=sys.stderr,
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
