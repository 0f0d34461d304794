"""The admin API's authentication (spec §5): everything under /_gateway/
except health needs `Authorization: Bearer <admin.token>`; health is public.
/_gateway/routes lists the compiled route table."""

import pytest

import jwtkit as k
from conftest import assert_problem
from jwtkit import ADMIN_TOKEN, bearer


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, v in value.items():
            yield key
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_routes_with_the_admin_token(gw):
    r = gw.get("/_gateway/routes", bearer(ADMIN_TOKEN))
    assert r.status == 200, r.describe()
    assert (r.content_type or "").split(";")[0].strip() == "application/json", r.describe()
    listed = set(_strings(r.json()))
    for route_id in ("echo.any", "users.get", "auth.jwt", "auth.key", "auth.scoped", "fail.rest"):
        assert route_id in listed, f"{route_id} missing from /_gateway/routes: {r.body[:600]!r}"


def test_routes_listing_holds_no_secret(gw):
    r = gw.get("/_gateway/routes", bearer(ADMIN_TOKEN))
    assert r.status == 200, r.describe()
    text = r.body.decode("utf-8", errors="replace")
    for secret in (ADMIN_TOKEN, k.JWT_SECRET, k.ACME_KEY, k.BETA_KEY):
        assert secret not in text, f"/_gateway/routes shows a secret ({secret[:12]}…)"


@pytest.mark.parametrize(
    "headers",
    [[], [("Authorization", "Bearer wrong")], [("Authorization", f"Bearer {ADMIN_TOKEN}x")],
     [("Authorization", f"Bearer {ADMIN_TOKEN[:-1]}")], [("Authorization", f"Basic {ADMIN_TOKEN}")],
     [("Authorization", ADMIN_TOKEN)], [("X-Admin-Token", ADMIN_TOKEN)], [("Authorization", "Bearer ")]],
    ids=["none", "wrong", "longer", "shorter", "basic-scheme", "no-scheme", "other-header", "empty"],
)
def test_routes_without_the_admin_token_is_401(gw, headers):
    r = gw.get("/_gateway/routes", headers)
    assert_problem(r, 401)
    scheme, _ = k.www_authenticate(r)
    assert scheme.lower() == "bearer", r.describe()
    assert b"auth.jwt" not in r.body


def test_admin_token_in_the_query_is_ignored(gw):
    assert_problem(gw.get(f"/_gateway/routes?token={ADMIN_TOKEN}&access_token={ADMIN_TOKEN}"), 401)


def test_a_valid_jwt_is_not_an_admin_token(gw):
    token = k.mint("hs", {"sub": "admin", "exp": k.now() + 600, "scope": "admin"})
    assert_problem(gw.get("/_gateway/routes", bearer(token)), 401)


def test_the_admin_token_is_not_a_route_credential(gw):
    k.assert_401(gw.get("/auth/hs/x", bearer(ADMIN_TOKEN)))
    k.assert_401(gw.get("/auth/key/x", [("X-Api-Key", ADMIN_TOKEN)]))


def test_health_stays_public(gw):
    for headers in ([], [("Authorization", "Bearer wrong")], bearer(ADMIN_TOKEN)):
        r = gw.get("/_gateway/health", headers)
        assert r.status == 200, r.describe()
        assert r.json().get("status") == "ok"
