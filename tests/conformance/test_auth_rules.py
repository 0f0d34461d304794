"""What a route asks beyond a valid credential (spec §3 routes: scopes, ip,
bind; §4 "Authentication"), where the token may come from, and the 401
answer itself (§7): the same body for every cause.

Routes: /auth/scoped (jwt:hs, scopes users:read + users:write),
/auth/users/{id} (bind id = claims.sub), /auth/ipdeny (deny 127.0.0.0/8),
/auth/ipallow-other (allow only 10/8 and 192.0.2/24), /auth/ipallow-loopback
(allow 127/8, api key), /auth/query (the token in ?access_token=).
"""

import pytest

import jwtkit as k
from conftest import ALLOWED_ORIGIN, assert_problem, echo_header, echo_of, skip_on
from jwtkit import ACME_KEY, assert_401, bearer, claims, mint

FIRST_VALUE_ONLY = (
    "cargo lambda watch keeps only the first line of a repeated header in its event (see test_headers.py), "
    "so the gateway cannot see the second Authorization line"
)


def _hs(sub="alice", **extra):
    return mint("hs", {"sub": sub, "exp": k.now() + 600, **extra})


def _assert_403(r):
    # the problem type of a missing scope / denied IP is the gateway's call
    assert_problem(r, 403)


# ---------------------------------------------------------------------------
# Scopes


@pytest.mark.parametrize(
    "extra",
    [{"scope": "users:read users:write"}, {"scope": "admin users:write  users:read"}, {"scp": ["users:read", "users:write"]},
     {"scp": ["x", "users:write", "users:read"]}],
    ids=["scope", "scope-more-and-spaces", "scp", "scp-more"],
)
def test_all_scopes_present(gw, extra):
    r = gw.get("/auth/scoped", bearer(_hs(**extra)))
    assert r.status == 200, r.describe()
    echo_of(r)


@pytest.mark.parametrize(
    "extra",
    [{}, {"scope": "users:read"}, {"scope": ""}, {"scp": ["users:read"]}, {"scope": "users:read,users:write"},
     {"scope": "users:read users:writer"}, {"scope": "users:read Users:Write"}, {"scope": "users:*"},
     {"scp": "users:read"}, {"scope": ["users:read"]}],
    ids=["none", "one-of-two", "empty", "scp-one-of-two", "comma-separated", "prefix-lookalike", "other-case",
         "wildcard", "scp-string-one", "scope-array-one"],
)
def test_missing_scope_is_403(gw, extra):
    _assert_403(gw.get("/auth/scoped", bearer(_hs(**extra))))


def test_invalid_token_on_a_scoped_route_is_401_not_403(gw):
    assert_401(gw.get("/auth/scoped"), presented=False)
    bad = mint("hs", {"sub": "alice", "exp": k.now() - 3600, "scope": "users:read users:write"})
    assert_401(gw.get("/auth/scoped", bearer(bad)))


# ---------------------------------------------------------------------------
# Binding a path parameter to a claim


def test_bind_matching_subject(gw):
    r = gw.get("/auth/users/alice", bearer(_hs("alice")))
    echo = echo_of(r)
    assert echo["path"] == "/auth/users/alice"


def test_bind_compares_the_normalised_parameter(gw):
    # %61 is "a": the normalised path (what is matched and forwarded) is /auth/users/alice
    r = gw.get("/auth/users/%61lice", bearer(_hs("alice")))
    assert echo_of(r)["path"] == "/auth/users/alice"


@pytest.mark.parametrize("target", ["/auth/users/bob", "/auth/users/Alice", "/auth/users/alice2", "/auth/users/alic"])
def test_bind_mismatch_is_403(gw, target):
    _assert_403(gw.get(target, bearer(_hs("alice"))))


def test_bind_without_the_claim_is_refused(gw):
    r = gw.get("/auth/users/alice", bearer(mint("hs", {"exp": k.now() + 600})))
    assert r.status in (401, 403), r.describe()
    assert_problem(r, r.status)


# ---------------------------------------------------------------------------
# IP rules (every test client is on 127.0.0.0/8)


def test_ip_inside_deny_is_403(gw):
    _assert_403(gw.get("/auth/ipdeny"))


def test_ip_outside_allow_is_403(gw):
    _assert_403(gw.get("/auth/ipallow-other"))


CF_CONNECTING_IP_FROM_CLIENT = (
    "wrangler dev passes a client's CF-Connecting-IP through to the Worker, where it is the platform's "
    "client address (on Cloudflare the edge always replaces it)"
)


@pytest.mark.parametrize(
    "spoof",
    [("X-Forwarded-For", "10.1.2.3"), ("Forwarded", "for=10.1.2.3"), ("X-Real-IP", "10.1.2.3"),
     pytest.param(("CF-Connecting-IP", "10.1.2.3"), marks=skip_on("cloudflare", CF_CONNECTING_IP_FROM_CLIENT)),
     ("True-Client-IP", "10.1.2.3")],
    ids=["x-forwarded-for", "forwarded", "x-real-ip", "cf-connecting-ip", "true-client-ip"],
)
def test_ip_rules_ignore_client_supplied_forwarding_headers(gw, spoof):
    # client_ip: platform: a client's forwarding headers never change the verdict
    _assert_403(gw.get("/auth/ipallow-other", [spoof]))
    _assert_403(gw.get("/auth/ipdeny", [spoof]))


def test_ip_inside_allow_still_needs_the_credential(gw):
    assert_401(gw.get("/auth/ipallow-loopback"), presented=False)
    r = gw.get("/auth/ipallow-loopback", [("X-Api-Key", ACME_KEY), ("X-Forwarded-For", "10.0.0.1")])
    assert echo_header(echo_of(r), "x-consumer-id") == ["acme"]


# ---------------------------------------------------------------------------
# Where the token comes from


def test_token_in_query_when_configured(gw):
    r = gw.get(f"/auth/query?access_token={_hs()}")
    assert r.status == 200, r.describe()
    echo_of(r)


def test_token_in_header_and_query_is_400(gw):
    # RFC 6750 §2: one method per request; both is invalid_request
    token = _hs()
    r = gw.get(f"/auth/query?access_token={token}", bearer(token))
    assert_problem(r, 400)


def test_two_tokens_in_query_are_refused(gw):
    r = gw.get(f"/auth/query?access_token={_hs()}&access_token={_hs('bob')}")
    assert r.status in (400, 401), r.describe()
    assert_problem(r, r.status)


@pytest.mark.parametrize("path", ["/auth/hs/x", "/auth/jwt/x"])
def test_token_in_query_when_not_enabled_is_ignored(gw, path):
    token = _hs() if path.startswith("/auth/hs") else mint("rsa")
    for name in ("access_token", "token", "jwt", "authorization"):
        assert_401(gw.get(f"{path}?{name}={token}"), presented=False)


@skip_on("lambda", FIRST_VALUE_ONLY)
@pytest.mark.parametrize("second", ["valid", "garbage", "same"])
def test_two_authorization_headers_are_400(gw, second):
    first = _hs()
    other = {"valid": _hs("bob"), "garbage": "x.y.z", "same": first}[second]
    r = gw.get("/auth/hs/x", [("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {other}")])
    assert_problem(r, 400)


# ---------------------------------------------------------------------------
# Preflight and 401 bodies


def test_preflight_to_an_authenticated_route_needs_no_credential(gw):
    # browsers send preflights without credentials (Fetch standard, CORS-preflight request)
    r = gw.request("OPTIONS", "/auth/hs/x", [("Origin", ALLOWED_ORIGIN), ("Access-Control-Request-Method", "GET"),
                                               ("Access-Control-Request-Headers", "authorization")])
    assert r.status == 204, r.describe()
    assert r.header("access-control-allow-origin") == ALLOWED_ORIGIN


def _normalised(r):
    rid = r.header("x-request-id")
    assert rid and rid.encode() in r.body, r.describe()
    return r.body.replace(rid.encode(), b"<request-id>")


def test_every_401_body_is_the_same(gw):
    t = k.now()
    causes = {
        "no credential": gw.get("/auth/hs/x"),
        "no credential (jwks route)": gw.get("/auth/jwt/x"),
        "no api key": gw.get("/auth/key/x"),
        "no query token": gw.get("/auth/query"),
        "garbage": gw.get("/auth/hs/x", bearer("garbage")),
        "bad signature": gw.get("/auth/hs/x", bearer(mint("hs", {"sub": "a", "exp": t + 60})[:-4] + "AAAA")),
        "expired": gw.get("/auth/hs/x", bearer(mint("hs", {"sub": "a", "exp": t - 3600}))),
        "not yet valid": gw.get("/auth/jwt/x", bearer(mint("rsa", claims(nbf=t + 3600)))),
        "wrong audience": gw.get("/auth/jwt/x", bearer(mint("rsa", claims(aud="web")))),
        "wrong issuer": gw.get("/auth/jwt/x", bearer(mint("rsa", claims(iss="https://evil.test/")))),
        "alg none": gw.get("/auth/jwt/x", bearer(k.raw({"alg": "none"}, claims()))),
        "unknown kid": gw.get("/auth/jwt/x", bearer(mint("rsa", kid="no-such-kid"))),
        "wrong api key": gw.get("/auth/key/x", [("X-Api-Key", "wrong")]),
        "wrong query key": gw.get("/auth/qkey/x?api_key=wrong"),
        "crlf claim": gw.get("/auth/hs/x", bearer(mint("hs", {"sub": "a\r\nb", "exp": t + 60}))),
    }
    bodies = {}
    for cause, r in causes.items():
        assert r.status == 401, f"{cause}:\n{r.describe()}"
        bodies.setdefault(_normalised(r), []).append(cause)
    assert len(bodies) == 1, "401 bodies differ by cause (apart from request_id):\n" + "\n".join(
        f"  {causes!r}: {body!r}" for body, causes in bodies.items()
    )
