"""PUT / DELETE /_gateway/upstreams/{name}/targets (spec §5, issue 11): an
upstream's targets replaced at run time, validated (a bad list is a 400 that
changes nothing), versioned (`ETag`; `If-Match` on another version is 412),
kept in the platform's key-value store (memory, Workers KV, DynamoDB) and
taken up by every instance within 15 s; DELETE goes back to the config's list.

The stores outlive a run (Workers KV, the DynamoDB emulator), so the test
reads the version first instead of expecting 0."""

import json
import time

from conftest import assert_problem
from jwtkit import ADMIN_TOKEN, bearer
from poolkit import member_of

UPSTREAM = "/_gateway/upstreams/pool-discovery"
W3 = "http://127.0.0.1:18111"
W1 = "http://127.0.0.1:18112"
PICKUP_S = 20  # 15 s refresh, plus slack for a second Lambda container


def version(gw) -> int:
    r = gw.get(UPSTREAM, bearer(ADMIN_TOKEN))
    assert r.status == 200, r.describe()
    etag = r.header("etag")
    assert etag == f'"{r.json()["version"]}"', r.describe()
    return r.json()["version"]


def put(gw, targets, tag=None):
    headers = bearer(ADMIN_TOKEN) + [("Content-Type", "application/json")]
    if tag is not None:
        headers.append(("If-Match", f'"{tag}"'))
    return gw.request("PUT", UPSTREAM + "/targets", headers, json.dumps({"targets": targets}).encode())


def served_by(gw, member, within=PICKUP_S):
    deadline = time.time() + within
    seen = None
    while time.time() < deadline:
        seen = member_of(gw.get("/pool/discovery"))
        if seen == member:
            return
        time.sleep(0.5)
    raise AssertionError(f"/pool/discovery still served by {seen}, not {member}, after {within} s")


def test_targets_replaced_at_run_time_and_restored(gw):
    v = version(gw)
    r = put(gw, [{"url": W3, "weight": 100}], v)
    assert r.status == 200, r.describe()
    assert r.json()["version"] == v + 1 and r.header("etag") == f'"{v + 1}"', r.describe()
    assert [t["url"] for t in r.json()["targets"]] == [W3], r.describe()
    served_by(gw, "w3")
    r = gw.request("DELETE", UPSTREAM + "/targets", bearer(ADMIN_TOKEN) + [("If-Match", f'"{v + 1}"')])
    assert r.status == 200, r.describe()
    assert [t["url"] for t in r.json()["targets"]] == [W1] and r.json()["source"] == "config", r.describe()
    served_by(gw, "w1")


def test_a_bad_list_is_400_and_changes_nothing(gw):
    v = version(gw)
    r = put(gw, [{"url": "ftp://127.0.0.1:1"}, {"url": W3, "weight": 5000}, {"url": W3}])
    p = assert_problem(r, 400, "bad-request")
    for part in ("targets[0]", "targets[1]", "targets[2]: the same URL as targets[1]"):
        assert part in p["detail"], p
    assert version(gw) == v
    served_by(gw, "w1", within=1)


def test_if_match_on_another_version_is_412(gw):
    v = version(gw)
    r = put(gw, [{"url": W3}], v + 5)
    assert_problem(r, 412, "precondition-failed")
    assert r.header("etag") == f'"{v}"', r.describe()
    assert version(gw) == v


def test_targets_need_the_admin_token(gw):
    r = gw.request("PUT", UPSTREAM + "/targets", [("Content-Type", "application/json")],
                   json.dumps({"targets": [{"url": W3}]}).encode())
    assert r.status == 401, r.describe()
