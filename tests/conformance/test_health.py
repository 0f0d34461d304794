"""/_gateway/health (spec §5): public, reports status, version and runtime."""

from conftest import RUNTIME, assert_problem


def test_health(gw):
    r = gw.get("/_gateway/health")
    assert r.status == 200, r.describe()
    assert (r.content_type or "").split(";")[0].strip() == "application/json"
    body = r.json()
    assert body.get("status") == "ok", body
    assert isinstance(body.get("version"), str) and body["version"], body
    assert body.get("runtime") == RUNTIME, body
    assert r.header("x-request-id")


def test_health_needs_no_admin_token_and_ignores_a_wrong_one(gw):
    r = gw.get("/_gateway/health", [("Authorization", "Bearer wrong")])
    assert r.status == 200, r.describe()
    assert r.json().get("status") == "ok"


def test_health_head(gw):
    r = gw.request("HEAD", "/_gateway/health")
    assert r.status == 200, r.describe()
    assert r.body == b""
    assert r.header("x-request-id"), r.describe()


def test_health_is_not_proxied_after_normalisation(gw):
    r = gw.get("/public/../_gateway/health")
    assert r.status == 200, r.describe()
    assert r.json().get("runtime") == RUNTIME


def test_health_rejects_other_methods(gw):
    r = gw.request("POST", "/_gateway/health", body=b"")
    assert_problem(r, 405, "method-not-allowed")
    assert sorted(r.list_header("allow")) == ["GET", "HEAD"]
