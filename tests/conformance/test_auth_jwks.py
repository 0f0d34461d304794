"""JWKS key sets (spec §4 "Authentication", §6 "JWKS", §7 "JWKS"): an unknown
kid triggers a refresh (at most one per minute; the first fetch does not
count), and an endpoint that fails keeps the last good keys.

Each test has an issuer of its own (gateway.yaml jwt:rot → /rot/jwks.json,
jwt:down → /down/jwks.json on backends.py's JWKS port), so the once-a-minute
refresh budget it spends is not touched by any other test (the attack table
sends unknown kids to jwt:main). The backends outlive a gateway (one backends
process serves all three runtimes in scripts/conformance.sh), so rotated keys
are fresh per run and hit counts are compared before/after.
"""

import http.client
import json
import secrets
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, rsa

import jwtkit as k
from conftest import echo_of
from jwtkit import assert_401, bearer


def control(action, set_name, body=None):
    """Talks to backends.py's JWKS control endpoints; returns its JSON state."""
    u = urlsplit(k.JWKS_URL)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
    try:
        conn.request("GET" if action == "hits" else "POST", f"{u.path}/control/{action}?set={set_name}", body=body)
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200, f"JWKS backend control {action}: {r.status} {data!r}"
        return json.loads(data)
    finally:
        conn.close()


def rotate_in(set_name, jwk):
    return control("rotate", set_name, json.dumps(jwk).encode())


def _rot_token(key, kid):
    t = k.now()
    return k.jwt.encode({"sub": "rot-user", "iat": t, "exp": t + 600}, key, algorithm="RS256", headers={"kid": kid})


def test_rotation_unknown_kid_refreshes_once_per_minute(gw):
    # 1. the initial key works (this may be the issuer's first fetch: free)
    r = gw.get("/auth/rot", bearer(_rot_token(k.RSA, "rot-1")))
    assert r.status == 200, r.describe()
    echo_of(r)

    # 2. the issuer publishes a new key (the old one stays); a token with its
    #    kid makes the gateway refresh once, and is accepted
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_kid = "rot-" + secrets.token_hex(6)
    before = control("hits", "rot")["hits"]
    rotate_in("rot", k.public_jwk(new_key, "RS256", new_kid))
    r = gw.get("/auth/rot", bearer(_rot_token(new_key, new_kid)))
    assert r.status == 200, f"a token with the rotated-in kid {new_kid} after rotation:\n{r.describe()}"
    after = control("hits", "rot")["hits"]
    assert after - before == 1, f"one refresh for one unknown kid, got {after - before} JWKS fetches"

    # the old key still verifies, from the cache (max-age=60)
    r = gw.get("/auth/rot", bearer(_rot_token(k.RSA, "rot-1")))
    assert r.status == 200, r.describe()
    assert control("hits", "rot")["hits"] == after, "known kids are verified from the cached set"

    # 3. another new key within the same minute: no second refresh, so its
    #    kid is still unknown (401), and unknown kids in a loop cost no fetches
    newer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    newer_kid = "rot-" + secrets.token_hex(6)
    rotate_in("rot", k.public_jwk(newer_key, "RS256", newer_kid))
    before = control("hits", "rot")["hits"]
    for _ in range(5):
        assert_401(gw.get("/auth/rot", bearer(_rot_token(newer_key, newer_kid))))
        assert_401(gw.get("/auth/rot", bearer(_rot_token(newer_key, "rot-" + secrets.token_hex(6)))))
    assert control("hits", "rot")["hits"] == before, "at most one JWKS refresh per minute"
    # the keys known so far keep working
    assert gw.get("/auth/rot", bearer(_rot_token(new_key, new_kid))).status == 200


def test_failing_jwks_endpoint_keeps_the_last_good_keys(gw):
    def token(kid="down-1", key=None):
        t = k.now()
        return k.jwt.encode({"sub": "down-user", "iat": t, "exp": t + 600}, key or k.EC, algorithm="ES256",
                            headers={"kid": kid})

    # the gateway holds the set's keys (fetched now or earlier)
    r = gw.get("/auth/down", bearer(token()))
    assert r.status == 200, r.describe()
    before = control("hits", "down")["hits"]
    control("down", "down")
    try:
        # the set is served with max-age=1: let the cached copy go stale
        time.sleep(1.5)
        r = gw.get("/auth/down", bearer(token()))
        assert r.status == 200, f"stale keys after a failed refresh must still verify:\n{r.describe()}"
        # an unknown kid makes the gateway try the endpoint (this issuer's first
        # unknown-kid refresh), which fails: still 401 for it ...
        other = ec.generate_private_key(ec.SECP256R1())
        assert_401(gw.get("/auth/down", bearer(token("down-" + secrets.token_hex(6), other))))
        tried = control("hits", "down")["hits"] - before
        assert tried >= 1, "the gateway did not try the (failing) JWKS endpoint at all"
        # ... and the last good keys are kept
        r = gw.get("/auth/down", bearer(token()))
        assert r.status == 200, f"after a failed JWKS refresh:\n{r.describe()}"
        echo_of(r)
    finally:
        control("up", "down")
    r = gw.get("/auth/down", bearer(token()))
    assert r.status == 200, r.describe()
