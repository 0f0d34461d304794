"""JWT authentication (spec §4 "Authentication", §7 "401s", "JWKS", "Sizes"):
the accepted token forms, then the attack table, one test per attack.

Routes (gateway.yaml): /auth/jwt/… (JWKS: RS256 rsa-1, ES256 ec-1, EdDSA ed-1;
issuer and audience required), /auth/hs/… (HS256 shared secret, no iss/aud),
/auth/pem/… (RS256 with a configured public key; the key-confusion target).
Every token is minted by PyJWT / `cryptography` (jwtkit.py), never by the
gateway's code. An attack must get the 401 of spec §7 and never reach the
upstream; nothing the attacker names (jku, x5u) may be contacted.
"""

import hashlib
import socket
import threading
import time

import pytest

import jwtkit as k
from conftest import assert_problem, echo_header, echo_of
from jwtkit import assert_401, assert_not_accepted, bearer, claims, mint, raw, sign

JWT = "/auth/jwt/x"
HS = "/auth/hs/x"
PEM = "/auth/pem/x"


# ---------------------------------------------------------------------------
# The canary: what jku / x5u point at. A plain TCP listener that records every
# connection; the gateway must never open one.


class Canary:
    def __init__(self, port: int):
        self.connections = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="canary", daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.5)
            try:
                first = conn.recv(200)
            except OSError:
                first = b""
            self.connections.append((peer, first))
            conn.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def canary():
    try:
        c = Canary(k.CANARY_PORT)
    except OSError as e:
        pytest.fail(f"cannot listen on the canary port 127.0.0.1:{k.CANARY_PORT}: {e}")
    yield c
    c.stop()


# ---------------------------------------------------------------------------
# Accepted


@pytest.mark.parametrize("key", ["rsa", "ec", "ed"], ids=["RS256", "ES256", "EdDSA"])
def test_jwks_token_is_accepted_and_its_claims_forwarded(gw, key):
    r = gw.get(JWT, bearer(mint(key, claims(sub="alice", tenant="t-1"))))
    echo = echo_of(r)
    assert r.status == 200
    assert echo_header(echo, "x-user-id") == ["alice"]
    assert echo_header(echo, "x-tenant") == ["t-1"]
    assert echo_header(echo, "authorization") == [], "the checked bearer token is not forwarded"


def test_hs256_token_is_accepted(gw):
    r = gw.get(HS, bearer(mint("hs", {"sub": "alice", "exp": k.now() + 600})))
    echo = echo_of(r)
    assert echo_header(echo, "x-user-id") == ["alice"]
    assert echo_header(echo, "authorization") == []


def test_configured_public_key_token_is_accepted(gw):
    r = gw.get(PEM, bearer(mint("rsa", claims(), kid=None)))
    assert r.status == 200, r.describe()
    echo_of(r)


def test_bearer_scheme_is_case_insensitive(gw):
    # RFC 9110 §11.1: the auth-scheme is matched case-insensitively
    r = gw.get(HS, [("Authorization", "bearer " + mint("hs", {"sub": "alice", "exp": k.now() + 600}))])
    assert r.status == 200, r.describe()


@pytest.mark.parametrize("aud", ["api", ["web", "api"], ["api"]], ids=["string", "array-containing-ours", "array-of-ours"])
def test_audience_forms_are_accepted(gw, aud):
    r = gw.get(JWT, bearer(mint("rsa", claims(aud=aud))))
    assert r.status == 200, r.describe()


def test_exp_inside_the_leeway_is_accepted(gw):
    r = gw.get(JWT, bearer(mint("rsa", claims(exp=k.now() - 10))))
    assert r.status == 200, f"exp 10 s ago, leeway 30 s:\n{r.describe()}"


def test_nbf_inside_the_leeway_is_accepted(gw):
    r = gw.get(JWT, bearer(mint("rsa", claims(nbf=k.now() + 10))))
    assert r.status == 200, f"nbf in 10 s, leeway 30 s:\n{r.describe()}"


def test_issuer_and_audience_are_optional_when_not_configured(gw):
    r = gw.get(HS, bearer(mint("hs", {"sub": "alice", "exp": k.now() + 600})))
    assert r.status == 200, r.describe()


# ---------------------------------------------------------------------------
# No credential


@pytest.mark.parametrize("path", [JWT, HS, PEM])
def test_no_token_is_401_without_error(gw, path):
    assert_401(gw.get(path), presented=False)


# ---------------------------------------------------------------------------
# The attack table


def _valid_header(key="rsa"):
    return {"alg": k.ALG[key], "typ": "JWT", "kid": k.KID[key]}


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("path", [JWT, HS, PEM])
def test_alg_none(gw, path, alg):
    for sig in (b"", sign("RS256", k.RSA, b"whatever")):
        token = raw({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims(), sig)
        assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize("path", [JWT, PEM])
@pytest.mark.parametrize(
    "secret",
    [k.RSA_PUBLIC_PEM, k.RSA_PUBLIC_PEM.rstrip(b"\n"), k.RSA_PUBLIC_PEM.replace(b"\n", b"\r\n")],
    ids=["pem", "pem-no-final-newline", "pem-crlf"],
)
def test_rs256_to_hs256_key_confusion(gw, path, secret):
    for alg in ("HS256", "HS384", "HS512"):
        token = raw({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims(), lambda si: sign(alg, secret, si))
        assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize(
    "signature",
    [bytes(64), bytes.fromhex("3006020100020100"), b""],
    ids=["raw-all-zero", "der-zero", "empty"],
)
def test_es256_zero_signature(gw, signature):
    # CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify
    token = raw(_valid_header("ec"), claims(), signature)
    assert_401(gw.get(JWT, bearer(token)))


@pytest.mark.parametrize("path", [JWT, PEM])
@pytest.mark.parametrize("with_kid", [True, False], ids=["kid-of-ours", "no-kid"])
def test_embedded_jwk_header_is_ignored(gw, path, with_kid):
    header = {"alg": "RS256", "typ": "JWT", "jwk": k.public_jwk(k.ATTACKER, "RS256", "attacker-1")}
    if with_kid:
        header["kid"] = "rsa-1"
    token = raw(header, claims(), lambda si: sign("RS256", k.ATTACKER, si))
    assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize("field", ["jku", "x5u"])
def test_jku_and_x5u_are_never_fetched(gw, canary, field):
    url = f"http://127.0.0.1:{k.CANARY_PORT}/jwks.json"
    for kid in ("attacker-1", "rsa-1"):
        header = {"alg": "RS256", "typ": "JWT", "kid": kid, field: url}
        token = raw(header, claims(), lambda si: sign("RS256", k.ATTACKER, si))
        assert_401(gw.get(JWT, bearer(token)))
    time.sleep(0.5)  # a fetch made in the background would show by now
    assert canary.connections == [], f"the gateway connected to the {field} URL: {canary.connections}"


def test_attacker_signed_token_with_our_kid(gw):
    token = mint("attacker", claims(), kid="rsa-1")
    assert_401(gw.get(JWT, bearer(token)))


@pytest.mark.parametrize("kid", ["../../../../etc/passwd", "/dev/null", "' OR 1=1--"])
def test_kid_traversal_and_injection(gw, kid):
    # JWKS issuer: our own key, but a kid that names no key in the set
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(), kid=kid))))
    # shared-secret issuer: the classic "kid names a file, sign with its contents"
    for secret in (b"", b"\n", b"root:x:0:0:root:/root:/bin/bash\n", b"1"):
        token = raw({"alg": "HS256", "typ": "JWT", "kid": kid}, {"sub": "alice", "exp": k.now() + 600},
                    lambda si: sign("HS256", secret, si))
        assert_401(gw.get(HS, bearer(token)))


@pytest.mark.parametrize(
    "alg, key, kid",
    [("ES256", "ec", "rsa-1"), ("RS256", "rsa", "ec-1"), ("EdDSA", "ed", "rsa-1"), ("ES256", "ec", "ed-1"),
     ("EdDSA", "ed", "ec-1")],
    ids=["ES256-on-rsa-kid", "RS256-on-ec-kid", "EdDSA-on-rsa-kid", "ES256-on-ed-kid", "EdDSA-on-ec-kid"],
)
def test_alg_must_agree_with_the_key_type(gw, alg, key, kid):
    # the key is chosen by kid; the token's alg never decides the key type
    token = raw({"alg": alg, "typ": "JWT", "kid": kid}, claims(), lambda si: sign(alg, k.KEY[key], si))
    assert_401(gw.get(JWT, bearer(token)))


@pytest.mark.parametrize(
    "path, alg, key",
    [(JWT, "PS256", "rsa"), (JWT, "RS512", "rsa"), (JWT, "RS384", "rsa"), (HS, "HS384", "hs"), (HS, "HS512", "hs"),
     (HS, "RS256", "rsa"), (PEM, "PS256", "rsa"), (PEM, "RS512", "rsa")],
)
def test_alg_outside_the_allowlist(gw, path, alg, key):
    secret = k.JWT_SECRET.encode() if key == "hs" else k.KEY[key]
    header = {"alg": alg, "typ": "JWT"}
    if path == JWT:
        header["kid"] = "rsa-1"
    payload = claims() if path != HS else {"sub": "alice", "exp": k.now() + 600}
    token = raw(header, payload, lambda si: sign(alg, secret, si))
    assert_401(gw.get(path, bearer(token)))


def test_tampered_payload(gw):
    h, _, s = mint("rsa", claims(sub="alice")).split(".")
    forged = h + "." + k.b64u(k._json(claims(sub="admin"))) + "." + s
    assert_401(gw.get(JWT, bearer(forged)))


def test_stripped_signature(gw):
    h, p, _ = mint("rsa").split(".")
    assert_401(gw.get(JWT, bearer(f"{h}.{p}.")))
    assert_401(gw.get(JWT, bearer(f"{h}.{p}")))


@pytest.mark.parametrize("path, key", [(JWT, "rsa"), (HS, "hs"), (PEM, "rsa")])
def test_expired(gw, path, key):
    t = k.now()
    for exp in (t - 3600, t - 120):
        assert_401(gw.get(path, bearer(mint(key, claims(exp=exp, iat=t - 7200), kid=None if path == PEM else "default"))))


def test_nbf_in_the_future(gw):
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(nbf=k.now() + 3600)))))
    assert_401(gw.get(HS, bearer(mint("hs", {"sub": "alice", "exp": k.now() + 7200, "nbf": k.now() + 3600}))))


def test_iat_in_the_future(gw):
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(iat=k.now() + 3600, exp=k.now() + 7200)))))
    assert_401(gw.get(HS, bearer(mint("hs", {"sub": "alice", "iat": k.now() + 3600, "exp": k.now() + 7200}))))


def test_missing_exp(gw):
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(exp=k.DROP)))))
    assert_401(gw.get(HS, bearer(mint("hs", {"sub": "alice"}))))
    assert_401(gw.get(PEM, bearer(mint("rsa", claims(exp=k.DROP), kid=None))))


@pytest.mark.parametrize("exp", ["9999999999", None, True, [9999999999], {"t": 9999999999}],
                         ids=["string", "null", "bool", "array", "object"])
def test_exp_of_the_wrong_type(gw, exp):
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(exp=exp)))))


@pytest.mark.parametrize("path", [JWT, PEM])
@pytest.mark.parametrize(
    "iss",
    [k.DROP, "https://evil.test/", "https://issuer.test", "https://issuer.test/x", "HTTPS://ISSUER.TEST/", "", None],
    ids=["missing", "other", "no-trailing-slash", "longer", "other-case", "empty", "null"],
)
def test_issuer_missing_or_wrong(gw, path, iss):
    header = {"alg": "RS256", "typ": "JWT"} if path == PEM else _valid_header("rsa")
    token = raw(header, claims(iss=iss), lambda si: sign("RS256", k.RSA, si))  # PyJWT refuses a null iss
    assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize(
    "aud",
    [k.DROP, "web", ["web", "mobile"], [], "", "API", "ap", None],
    ids=["missing", "other", "array-without-ours", "empty-array", "empty", "other-case", "prefix", "null"],
)
def test_audience_missing_or_wrong(gw, aud):
    assert_401(gw.get(JWT, bearer(mint("rsa", claims(aud=aud)))))


@pytest.mark.parametrize("path", [JWT, HS])
def test_unknown_crit_header(gw, path):
    key = "rsa" if path == JWT else "hs"
    payload = claims() if path == JWT else {"sub": "alice", "exp": k.now() + 600}
    token = mint(key, payload, headers={"crit": ["x-must-understand"], "x-must-understand": True})
    assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize(
    "payload",
    [[claims()], [], "alice", 42, None, True],
    ids=["array-of-claims", "empty-array", "string", "number", "null", "bool"],
)
@pytest.mark.parametrize("path", [JWT, HS])
def test_claims_not_a_json_object(gw, path, payload):
    token = mint("rsa" if path == JWT else "hs", payload)
    assert_401(gw.get(path, bearer(token)))


@pytest.mark.parametrize(
    "header",
    [["RS256"], "RS256", None, {"typ": "JWT", "kid": "rsa-1"}, {"alg": ["RS256"], "kid": "rsa-1"}],
    ids=["array", "string", "null", "no-alg", "alg-array"],
)
def test_header_not_a_valid_object(gw, header):
    token = raw(header, claims(), lambda si: sign("RS256", k.RSA, si))
    assert_401(gw.get(JWT, bearer(token)))


def _malformed():
    h, p, s = mint("rsa").split(".")
    return {
        "bad-char-in-header": ("*" + h[1:], p, s),
        "bad-char-in-payload": (h, p[:-1] + "!", s),
        "bad-char-in-signature": (h, p, s[:10] + "%" + s[11:]),
        "standard-base64-alphabet": (h, p, s.replace("-", "+").replace("_", "/") + "+/"),
        "space-inside": (h, p[:5] + " " + p[5:], s),
        "header-not-json": (k.b64u(b"{not json"), p, s),
        "payload-not-json": (h, k.b64u(b"{\"sub\": "), s),
        "payload-not-utf8": (h, k.b64u(b"\xff\xfe{}"), s),
        "empty-header": ("", p, s),
        "empty-payload": (h, "", s),
    }


@pytest.mark.parametrize("case", list(_malformed()), ids=list(_malformed()))
def test_malformed_base64_and_json(gw, case):
    token = ".".join(_malformed()[case])
    assert_401(gw.get(JWT, bearer(token)))


@pytest.mark.parametrize("token", [".", "..", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e", "x" * 40])
def test_not_a_jwt(gw, token):
    assert_401(gw.get(JWT, bearer(token)))


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Basic YWxpY2U6c2VjcmV0", "Token x.y.z", "Bearerx.y.z"])
def test_not_a_bearer_credential(gw, value):
    # 401 with the Bearer challenge; whether a value that is no bearer token
    # at all counts as "presented" (error="invalid_token") is left open
    r = gw.get(JWT, [("Authorization", value)])
    assert_problem(r, 401)
    scheme, _ = k.www_authenticate(r)
    assert scheme.lower() == "bearer", r.describe()


def test_64_kib_token(gw):
    payload = claims(pad="x" * (64 * 1024))
    token = mint("rsa", payload)
    r = gw.get(JWT, bearer(token), timeout=30)
    # the header block limit (8 KiB in gateway.yaml) may trigger first: 431
    assert_not_accepted(r, 401, 431)


def test_validly_signed_token_over_8_kib_is_refused(gw):
    # the 8 KiB limit is on the token itself (§7 "Sizes"); through the query
    # the header block limit does not get in the way
    token = mint("hs", {"sub": "alice", "exp": k.now() + 600, "pad": "x" * (9 * 1024)})
    assert len(token) > 8 * 1024
    r = gw.get("/auth/query?access_token=" + token, timeout=30)
    assert_not_accepted(r, 401, 414, 431)


def test_duplicate_claim_names(gw):
    # RFC 7519 §4: reject, or use the lexically last member; never the first
    t = k.now()
    body = ('{"iss":"https://issuer.test/","aud":"api","sub":"admin","iat":%d,"exp":%d,"sub":"alice"}' % (t, t + 600)).encode()
    token = raw(_valid_header("rsa"), body, lambda si: sign("RS256", k.RSA, si))
    r = gw.get(JWT, bearer(token))
    if r.status == 401:
        assert_401(r)
    else:
        assert echo_header(echo_of(r), "x-user-id") == ["alice"], r.describe()


@pytest.mark.parametrize(
    "sub",
    ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rX-Injected: 1", "a\x00b", "a\r\n\r\nGET / HTTP/1.1"],
    ids=["crlf", "lf", "cr", "nul", "crlf-request"],
)
@pytest.mark.parametrize("path, key", [(JWT, "rsa"), (HS, "hs")])
def test_control_characters_in_a_forwarded_claim(gw, path, key, sub):
    payload = claims(sub=sub) if path == JWT else {"sub": sub, "exp": k.now() + 600}
    r = gw.get(path, bearer(mint(key, payload)))
    assert_401(r)
    assert not r.has("x-injected"), r.describe()


def test_crlf_in_another_forwarded_claim(gw):
    r = gw.get(JWT, bearer(mint("rsa", claims(tenant="t\r\nX-Injected: 1"))))
    assert_401(r)
    assert not r.has("x-injected"), r.describe()


def test_token_signed_for_another_issuer_config(gw):
    # a valid HS256 token of the hs issuer is no good on the JWKS / PEM routes
    token = mint("hs", claims())
    assert_401(gw.get(JWT, bearer(token)))
    assert_401(gw.get(PEM, bearer(token)))
    # and an RS256 token of ours is no good where only HS256 is allowed
    assert_401(gw.get(HS, bearer(mint("rsa", claims()))))


def test_hash_of_token_is_not_a_credential(gw):
    # nothing derived from a valid token works in its place
    token = mint("rsa")
    assert_401(gw.get(JWT, bearer(hashlib.sha256(token.encode()).hexdigest())))


def test_canary_saw_nothing(canary):
    # last in this module: no jku / x5u fetch happened late either
    time.sleep(0.2)
    assert canary.connections == [], canary.connections
