"""Rate limits, plans and quotas (spec §3 `rate_limit`, `plans`,
`consumers.plan`; §4 "Rate-limit headers"; §6 where the counters live; §7
RateLimit policy names).

On every runtime: the RateLimit-Policy / RateLimit structured-field headers
on the answers of limited routes (and only there), limit+1 → 429 problem+json
with Retry-After ≥ t, Retry-After honoured, key isolation (header values,
IPs, routes, consumers), a spoofed X-Forwarded-For not changing the IP key,
plans (route + plan + quota items, a refused request consuming nothing), the
approximate mode, and the race: 200 concurrent requests on one key with limit
100 admit exactly 100 — on memory (local), the Durable Object (wrangler dev)
and DynamoDB (the emulator), several times over.

The store-down cases are in test_zzz_store_down.py.

Header values are parsed as RFC 9651 lists by the small parser below (no
third-party structured-field library in the harness), strictly: a value it
cannot parse fails the test.
"""

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BASE_URL, RUNTIME, assert_problem, echo_header, echo_of, other_loopback_client

GAMMA_KEY = "conformance-gamma-key-5e81c2"  # consumer gamma, plan metered (quota 4/day)
ACME_KEY = "conformance-acme-key-7f3a91"
STORE_DOWN = os.environ.get("TOLLGATE_STORE_DOWN") == "1"

ITEM = re.compile(r'"((?:[^"\\]|\\["\\])*)"((?:;[a-z*][a-z0-9_.*-]*=-?\d{1,15})*)')


def sf_list(value):
    """Parses an sf-list of string items with integer parameters:
    [(name, {param: int})]. Fails on anything else."""
    out, rest = [], value.strip()
    while rest:
        m = ITEM.match(rest)
        assert m, f"not a structured-field list of strings with integer parameters: {value!r}"
        params = {}
        for p in filter(None, m.group(2).split(";")):
            k, v = p.split("=", 1)
            assert k not in params, f"parameter {k} twice in {value!r}"
            params[k] = int(v)
        out.append((m.group(1).replace('\\"', '"').replace("\\\\", "\\"), params))
        rest = rest[m.end():].lstrip(" \t")
        if rest:
            assert rest.startswith(","), f"items must be comma-separated: {value!r}"
            rest = rest[1:].lstrip(" \t")
            assert rest, f"trailing comma: {value!r}"
    return out


def policy(resp):
    v = resp.header("ratelimit-policy")
    assert v is not None, f"no RateLimit-Policy:\n{resp.describe()}"
    return dict(sf_list(v))


def state(resp):
    v = resp.header("ratelimit")
    assert v is not None, f"no RateLimit:\n{resp.describe()}"
    return dict(sf_list(v))


def retry_after(resp):
    v = resp.header("retry-after")
    assert v is not None and v.isdigit(), f"Retry-After must be whole seconds:\n{resp.describe()}"
    return int(v)


def fresh_key():
    return uuid.uuid4().hex


def assert_429(resp, name):
    body = assert_problem(resp, 429, "rate-limited")
    items = state(resp)
    assert items[name]["r"] == 0, resp.describe()
    wait = retry_after(resp)
    assert wait >= 1 and wait >= items[name]["t"], f"Retry-After {wait} < t {items[name]['t']}"
    return body


def other_client(gw):
    """A client on another loopback address, if the gateway tells it apart."""
    return other_loopback_client("/echo/rl-probe")


pytestmark = pytest.mark.skipif(STORE_DOWN, reason="the store-down phase runs only the store-down tests")


def test_headers_only_on_limited_routes_and_as_structured_fields(gw):
    key = fresh_key()
    r = gw.get("/rl/boundary", [("X-Test-Key", key)])
    assert r.status == 200 and r.has("x-echo-backend"), r.describe()
    assert policy(r) == {"route": {"q": 5, "w": 3600}}
    s = state(r)
    assert list(s) == ["route"] and s["route"]["r"] == 4, r.describe()
    assert 0 < s["route"]["t"] <= 3600
    plain = gw.get("/echo/no-limit")
    assert not plain.has("ratelimit") and not plain.has("ratelimit-policy"), plain.describe()


def test_limit_plus_one_is_429_and_r_never_increases(gw):
    key = fresh_key()
    seen = []
    for _ in range(5):
        r = gw.get("/rl/boundary", [("X-Test-Key", key)])
        assert r.status == 200, r.describe()
        seen.append(state(r)["route"]["r"])
    assert seen == [4, 3, 2, 1, 0], seen
    last = gw.get("/rl/boundary", [("X-Test-Key", key)])
    assert_429(last, "route")
    assert policy(last) == {"route": {"q": 5, "w": 3600}}
    # one unit comes back every 720 s: Retry-After says about that, never less than t.
    assert 700 <= retry_after(last) <= 720, last.describe()
    again = gw.get("/rl/boundary", [("X-Test-Key", key)])
    assert again.status == 429 and state(again)["route"]["r"] == 0


def test_retry_after_is_honoured(gw):
    key = fresh_key()
    statuses = []
    for _ in range(10):
        r = gw.get("/rl/small", [("X-Test-Key", key)])
        statuses.append(r.status)
        if r.status == 429:
            break
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429, statuses
    wait = retry_after(r)
    assert 1 <= wait <= 3, r.describe()
    time.sleep(wait)
    ok = gw.get("/rl/small", [("X-Test-Key", key)])
    assert ok.status == 200, ok.describe()


def test_header_values_and_routes_do_not_share_counters(gw):
    a, b = fresh_key(), fresh_key()
    for _ in range(5):
        assert gw.get("/rl/boundary", [("X-Test-Key", a)]).status == 200
    assert gw.get("/rl/boundary", [("X-Test-Key", a)]).status == 429
    other = gw.get("/rl/boundary", [("X-Test-Key", b)])
    assert other.status == 200 and state(other)["route"]["r"] == 4
    # the same key value on another route has its own counter.
    small = gw.get("/rl/small", [("X-Test-Key", a)])
    assert small.status == 200 and state(small)["route"]["r"] == 2


def test_a_spoofed_x_forwarded_for_does_not_change_the_ip_key(gw):
    client = other_client(gw) or gw
    statuses = [client.get("/rl/ip-other", [("X-Forwarded-For", f"198.51.100.{n}")]).status for n in range(1, 4)]
    assert statuses == [200, 200, 429], statuses


def test_two_ips_do_not_share_counters(gw):
    first, second = other_client(gw), other_client(gw)
    if first is None or second is None:
        pytest.skip(
            f"[{RUNTIME}] the platform shows every client as one address (cargo lambda watch puts sourceIp "
            "127.0.0.1 into every event), so two client IPs cannot be shown to the gateway"
        )
    assert [first.get("/rl/ip").status for _ in range(3)] == [200, 200, 429]
    r = second.get("/rl/ip")
    assert r.status == 200 and state(r)["route"]["r"] == 1, r.describe()


def test_plans_add_their_items_and_a_refused_request_consumes_nothing(gw):
    gamma = [("X-Api-Key", GAMMA_KEY)]
    first = gw.get("/rl/consumer", gamma)
    assert first.status == 200, first.describe()
    assert policy(first) == {
        "route": {"q": 2, "w": 3600},
        "plan": {"q": 1000, "w": 1},
        "quota": {"q": 4, "w": 86400},
    }
    assert list(state(first)) == ["route", "plan", "quota"]
    assert state(first)["quota"]["r"] == 3
    assert gw.get("/rl/consumer", gamma).status == 200
    for _ in range(3):  # refused by the route limit: the quota must not move
        assert_429(gw.get("/rl/consumer", gamma), "route")
    third = gw.get("/rl/plan", gamma)
    assert third.status == 200, third.describe()
    assert state(third)["quota"]["r"] == 1, "2 of 4 used by /rl/consumer, refusals refunded, 1 now"
    assert list(policy(third)) == ["plan", "quota"]
    assert gw.get("/rl/plan", gamma).status == 200
    over = gw.get("/rl/plan", gamma)
    assert_429(over, "quota")
    assert retry_after(over) <= 86400
    # another consumer (no plan) has its own route counter and no plan items.
    acme = gw.get("/rl/consumer", [("X-Api-Key", ACME_KEY)])
    assert acme.status == 200 and list(state(acme)) == ["route"] and state(acme)["route"]["r"] == 1


def test_approximate_mode_counts_on_one_instance(gw):
    key = fresh_key()
    statuses = [gw.get("/rl/approx", [("X-Test-Key", key)]).status for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3, statuses


@pytest.mark.parametrize("run", range(5))
def test_race_200_concurrent_on_limit_100_admits_exactly_100(gw, run):
    key = f"race-{run}-{fresh_key()}"

    def one(_):
        try:
            return gw.get("/rl/race", [("X-Race-Key", key)], timeout=60).status
        except OSError as e:
            return f"error {e!r}"

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(one, range(200)))
    counts = {s: statuses.count(s) for s in set(statuses)}
    print(f"race run {run} on {RUNTIME}: {counts}")
    assert counts == {200: 100, 429: 100}, counts
    after = gw.get("/rl/race", [("X-Race-Key", key)])
    assert after.status == 429 and state(after)["route"]["r"] == 0
