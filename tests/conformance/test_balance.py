"""Load balancing over an upstream's targets (issue 11; spec §3 upstreams):
`balance` weighted_round_robin (the default; smooth, as nginx), round_robin
(weights ignored), random (weighted) and least_inflight; a weight-0 target is
drained and never chosen; an upstream with no eligible target answers 503
problem+json `no-healthy-target`.

The targets are backends.py's pool members w3, w1 and w0 (gateway.yaml's
`pool-*` upstreams give them weights 300, 100 and 0); each answers 200 naming
itself in `X-Pool-Member`. The hit counters are read before and after, so that
counts are exact whatever else the shared backends process served. Requests go
one after the other, so that every runtime answers from one instance (one
balancer)."""

from collections import Counter

import pytest

from conftest import assert_problem
from poolkit import assert_from, member_of, send

HEAVY, LIGHT, DRAINED = "w3", "w1", "w0"  # weights 300, 100, 0 in the pool-* upstreams


def _members(responses) -> list:
    """The member that answered each response, asserting every one is a 200 of a member."""
    names = []
    for r in responses:
        assert r.status == 200, r.describe()
        name = member_of(r)
        assert name is not None, f"not answered by a pool member:\n{r.describe()}"
        names.append(name)
    return names


def _longest_run(names, member) -> int:
    best = run = 0
    for n in names:
        run = run + 1 if n == member else 0
        best = max(best, run)
    return best


@pytest.mark.parametrize("target", ["/pool/weighted", "/pool/default"], ids=["explicit", "default-balance"])
def test_weighted_round_robin_follows_the_weights(gw, pool, target):
    before = pool.hits()
    names = _members(send(gw, target, 400))
    delta = before.delta(pool.hits())
    seen = Counter(names)
    assert seen[DRAINED] == 0 and delta[DRAINED] == 0, f"the weight-0 target was chosen: {seen}, hits {delta}"
    # within ±10% of 300 / 100 (smooth weighted round robin gives them exactly)
    assert 270 <= seen[HEAVY] <= 330 and 90 <= seen[LIGHT] <= 110, seen
    # every try is visible: the hit counters agree with the answers (no hidden extra requests)
    assert (delta[HEAVY], delta[LIGHT]) == (seen[HEAVY], seen[LIGHT]), (delta, seen)
    # smooth: interleaved, never a block of one target (3:1 allows at most three in a row)
    assert _longest_run(names, HEAVY) <= 3, names[:40]
    assert _longest_run(names, LIGHT) <= 1, names[:40]


def test_random_follows_the_weights(gw, pool):
    before = pool.hits()
    names = _members(send(gw, "/pool/random", 400))
    delta = before.delta(pool.hits())
    seen = Counter(names)
    assert seen[DRAINED] == 0 and delta[DRAINED] == 0, f"the weight-0 target was chosen: {seen}, hits {delta}"
    # binomial(400, 3/4): standard deviation 8.7, so ±40 is more than 4.5 of them
    assert 260 <= seen[HEAVY] <= 340 and seen[HEAVY] + seen[LIGHT] == 400, seen
    assert (delta[HEAVY], delta[LIGHT]) == (seen[HEAVY], seen[LIGHT]), (delta, seen)


def test_least_inflight_never_chooses_a_drained_target(gw, pool):
    # Sequential requests leave nothing in flight, so which of the two it picks
    # is the implementation's tie-break; only the drained target is fixed.
    before = pool.hits()
    names = _members(send(gw, "/pool/least", 40))
    delta = before.delta(pool.hits())
    assert DRAINED not in names and delta[DRAINED] == 0, (Counter(names), delta)
    assert delta[HEAVY] + delta[LIGHT] == 40, delta


def test_round_robin_alternates_and_ignores_the_weights(gw, pool):
    before = pool.hits()
    names = _members(send(gw, "/pool/rr", 20))
    delta = before.delta(pool.hits())
    assert DRAINED not in names and delta[DRAINED] == 0, f"the weight-0 target was chosen: {names}"
    for a, b in zip(names, names[1:]):
        assert a != b, f"round_robin chose {a} twice in a row (weights 300:100 must not matter): {names}"
    assert Counter(names) == {HEAVY: 10, LIGHT: 10}, names
    assert (delta[HEAVY], delta[LIGHT]) == (10, 10), delta


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_all_targets_drained_is_503_no_healthy_target(gw, pool, method):
    before = pool.hits()
    r = gw.request(method, "/pool/drained", body=b"{}" if method == "POST" else None)
    assert_problem(r, 503, "no-healthy-target")
    assert member_of(r) is None, r.describe()
    # every target is drained: no re-admission time is known
    assert not r.has("retry-after"), f"Retry-After with every target drained:\n{r.describe()}"
    assert before.delta(pool.hits())[DRAINED] == 0, "a drained target got the request"


def test_the_pool_members_answer_through_the_gateway(gw, pool):
    """What the other tests rely on: a member's answer passes through with its
    header and body, the path forwarded as matched, and HEAD too."""
    before = pool.hits()
    r = gw.get("/pool/weighted")
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["path"] == "/pool/weighted" and body["method"] == "GET", body
    assert body["member"] in (HEAVY, LIGHT) and r.header("x-pool-member") == body["member"], r.describe()
    h = gw.request("HEAD", "/pool/weighted")
    assert h.status == 200 and h.header("x-pool-member") in (HEAVY, LIGHT) and h.body == b"", h.describe()
    delta = before.delta(pool.hits())
    assert delta[HEAVY] + delta[LIGHT] == 2 and delta[DRAINED] == 0, delta
