"""The example backends themselves, without the gateway: proves the fixtures
do what the gateway tests rely on (so a "stripped" or "not forwarded" check is
never vacuous), and that the auth fixtures agree with gateway.yaml. Uses
ECHO_URL, SLOW_URL, FAIL_URL, DEAD_URL, JWKS_URL, PROTO_URL, POOL_URL (defaults:
ports 18101-18105, 18107 and 18110 on 127.0.0.1; 18106 is the jku canary)."""

import http.client
import json
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


def test_jwks_serves_the_key_sets_and_control_works():
    import jwt

    import jwtkit as k

    jwks = _backend("JWKS_URL", "http://127.0.0.1:18105")
    r = jwks.get("/jwks.json")
    assert r.status == 200 and r.header("cache-control") == "max-age=60", r.describe()
    keys = {key["kid"]: key for key in r.json()["keys"]}
    assert {kid: key["alg"] for kid, key in keys.items()} == {"rsa-1": "RS256", "ec-1": "ES256", "ed-1": "EdDSA"}
    # the served public keys verify what jwtkit signs with the committed private keys
    for name in ("rsa", "ec", "ed"):
        public = jwt.PyJWK(keys[k.KID[name]]).key
        assert jwt.decode(k.mint(name), public, algorithms=[k.ALG[name]], audience=k.AUDIENCE)["sub"] == "alice"
    assert [key["kid"] for key in jwks.get("/rot/jwks.json").json()["keys"]][0] == "rot-1"
    assert jwks.get("/down/jwks.json").header("cache-control") == "max-age=1"
    before = jwks.get("/control/hits?set=down").json()["hits"]
    assert jwks.request("POST", "/control/down?set=down", body=b"").json()["down"] is True
    try:
        assert jwks.get("/down/jwks.json").status == 503
    finally:
        assert jwks.request("POST", "/control/up?set=down", body=b"").json()["down"] is False
    assert jwks.get("/down/jwks.json").status == 200
    assert jwks.get("/control/hits?set=down").json()["hits"] >= before + 2
    dup = jwks.request("POST", "/control/rotate?set=rot", body=json.dumps(keys["rsa-1"] | {"kid": "rot-1"}).encode())
    assert dup.status == 409
    private = jwks.request("POST", "/control/rotate?set=rot", body=b'{"kid": "x", "kty": "oct", "k": "c2VjcmV0"}')
    assert private.status == 400


def test_gateway_yaml_agrees_with_the_auth_fixtures():
    import jwtkit as k

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway.yaml")) as f:
        config = f.read()
    indented = [line.strip() for line in config.splitlines()]
    for line in k.RSA_PUBLIC_PEM.decode().strip().splitlines():
        assert line in indented, f"gateway.yaml's public_key_pem is not keys/rsa.pub.pem ({line})"
    for key in (k.ACME_KEY, k.BETA_KEY):
        assert k.stored_form(key) in config, f"gateway.yaml lacks the stored form of {key}"
    assert 'issuer: https://issuer.test/' in config and "audience: [api]" in config


SOAP_REQUEST = (
    b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap:Body><GetWeather><City>Oslo</City></GetWeather></soap:Body></soap:Envelope>"
)


def test_protocols_backend_checks_the_request_shape():
    """test_translate's 200s prove the translated request's shape only if the
    backend refuses every other shape."""
    proto = _backend("PROTO_URL", "http://127.0.0.1:18107")
    xml = [("Content-Type", "text/xml; charset=utf-8"), ("SOAPAction", '"GetWeather"')]
    ok = proto.request("POST", "/soap", xml, body=SOAP_REQUEST)
    assert ok.status == 200 and b"Oslo" in ok.body, ok.describe()
    assert proto.request("POST", "/soap", xml[:1], body=SOAP_REQUEST).status == 400
    assert proto.request("POST", "/soap", [("Content-Type", "text/plain"), xml[1]], body=SOAP_REQUEST).status == 400
    assert proto.request("POST", "/soap", xml, body=SOAP_REQUEST.replace(b"</City>", b"")).status == 400
    assert proto.request("GET", "/soap").status == 405
    fault = proto.request("POST", "/soap", xml, body=SOAP_REQUEST.replace(b"Oslo", b"Atlantis"))
    assert fault.status == 500 and b"Unknown city: Atlantis" in fault.body, fault.describe()
    js = [("Content-Type", "application/json")]
    good = json.dumps({"query": "{ x }", "variables": {"id": "p1", "qty": 2}}).encode()
    answer = proto.request("POST", "/graphql", js, body=good)
    assert answer.status == 200 and answer.json()["data"]["product"]["seen"]["variables"]["qty"] == 2
    assert proto.request("POST", "/graphql", [("Content-Type", "text/plain")], body=good).status == 400
    assert proto.request("POST", "/graphql", js, body=b"{not json").status == 400
    assert proto.request("POST", "/graphql", js, body=b'{"query": "", "variables": {"id": "1"}}').status == 400
    missing = proto.request("POST", "/graphql", js, body=good.replace(b"p1", b"missing")).json()
    assert [e["message"] for e in missing["errors"]] == ["product missing not found", "catalog lookup failed"]


def test_pool_members_and_their_control():
    """backends.py's pool (test_balance.py, test_retries.py, test_breaker.py):
    members name themselves, fail and close as told, and every request counts."""
    from backends import POOL_MEMBERS
    from poolkit import POOL_URL, Pool, member_of

    pool = Pool()
    u = urlsplit(POOL_URL)
    _backend("POOL_URL", POOL_URL)
    w1 = Gateway(f"http://{u.hostname}:{u.port + dict(POOL_MEMBERS)['w1']}")
    before = pool.hits()
    try:
        ok = w1.request("PATCH", "/some/path?q=1", body=b"x")
        assert ok.status == 200 and member_of(ok) == "w1", ok.describe()
        assert ok.json() == {"member": "w1", "method": "PATCH", "path": "/some/path"}
        pool.set("w1", "503")
        failed = w1.get("/f")
        assert failed.status == 503 and member_of(failed) == "w1", failed.describe()
        assert failed.content_type == "application/json" and failed.json()["error"] == "told to fail"
        pool.set("w1", "close")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            w1.get("/c")
        assert pool.modes()["w1"] == "close"
    finally:
        pool.recover()
    assert w1.request("HEAD", "/h").header("x-pool-member") == "w1"
    delta = before.delta(pool.hits())
    assert delta["w1"] == 4 and set(delta) == {name for name, _ in POOL_MEMBERS}, delta
    assert pool.http.request("POST", "/control/set?member=nobody&mode=ok", body=b"").status == 404
    assert pool.http.request("POST", "/control/set?member=w1&mode=slow", body=b"").status == 400


def test_gateway_yaml_pool_targets_are_pool_members():
    """Every pool-* upstream targets pool members (or the dead port), and a
    member that a test makes fail serves one upstream only."""
    import yaml

    from backends import POOL_MEMBERS, POOL_PORT

    names = {f"http://127.0.0.1:{POOL_PORT + offset}": name for name, offset in POOL_MEMBERS}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway.yaml")) as f:
        upstreams = yaml.safe_load(f)["upstreams"]
    served = {}
    for up, cfg in upstreams.items():
        if not up.startswith("pool-"):
            continue
        for t in cfg["targets"]:
            if t["url"] == "${DEAD_URL}":
                continue
            assert t["url"] in names, f"{up}: {t['url']} is not a pool member"
            served.setdefault(names[t["url"]], set()).add(up)
    for member in ("flap-503", "flap-close", "flap-again", "cap-a", "cap-b", "cap-c", "cap-d", "solo"):
        assert len(served.get(member, ())) == 1, f"{member} serves {sorted(served.get(member, ()))}"
    assert served["w0"] >= {"pool-weighted", "pool-drained"}, served["w0"]
