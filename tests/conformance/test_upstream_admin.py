"""GET /_gateway/upstreams/{name} (spec §5): an upstream's targets, weights
and health as the answering instance sees them, and its policies; behind the
admin token like the rest of the admin API."""

from conftest import assert_problem
from jwtkit import ADMIN_TOKEN, bearer


def test_an_upstream_with_its_targets_weights_and_health(gw):
    r = gw.get("/_gateway/upstreams/pool-weighted", bearer(ADMIN_TOKEN))
    assert r.status == 200, r.describe()
    assert (r.content_type or "").split(";")[0].strip() == "application/json", r.describe()
    body = r.json()
    assert body["name"] == "pool-weighted"
    assert body["balance"] == "weighted_round_robin"
    assert [t["weight"] for t in body["targets"]] == [300, 100, 0], body
    assert [t["url"] for t in body["targets"]] == [
        "http://127.0.0.1:18111", "http://127.0.0.1:18112", "http://127.0.0.1:18113"], body
    assert body["targets"][2]["health"] == "drained", body
    assert all(t["health"] in ("healthy", "ejected", "probing", "drained") for t in body["targets"]), body


def test_policies_are_listed(gw):
    body = gw.get("/_gateway/upstreams/pool-retry", bearer(ADMIN_TOKEN)).json()
    assert body["retries"]["attempts"] == 2 and body["retries"]["backoff_ms"] == 10, body
    assert gw.get("/_gateway/upstreams/echo", bearer(ADMIN_TOKEN)).json()["retries"] is None


def test_an_unknown_upstream_is_404(gw):
    r = gw.get("/_gateway/upstreams/no-such-upstream", bearer(ADMIN_TOKEN))
    assert_problem(r, 404, "not-found")


def test_upstreams_need_the_admin_token(gw):
    assert gw.get("/_gateway/upstreams/pool-weighted").status == 401
    assert gw.get("/_gateway/upstreams/pool-weighted", bearer("wrong-token")).status == 401


def test_only_get_and_head(gw):
    r = gw.request("POST", "/_gateway/upstreams/pool-weighted", bearer(ADMIN_TOKEN), b"{}")
    assert_problem(r, 405, "method-not-allowed")
