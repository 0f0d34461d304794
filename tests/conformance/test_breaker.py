"""Circuit breakers per target (issue 11; spec §3 upstreams `circuit_breaker`):
after `failures` consecutive failures (a 5xx answer, a connection error, a
timeout) a target is ejected for `open_for` × n (n = consecutive ejections, at
most 10); afterwards one probe request goes to it: success re-admits it,
failure ejects it again. At most `max_ejected_percent` (default 50) of an
upstream's targets are ejected at once, and one target always stays eligible.

Upstreams (gateway.yaml), none with retries, so that every request is exactly
one try: pool-breaker-503 / -close / -again = [flap-*, steady] with failures: 3,
open_for: 2s; pool-eject-cap = [cap-a … cap-d] with failures: 1, open_for: 10s;
pool-solo = [solo], failures: 1, max_ejected_percent: 100. Each flappy member
serves one upstream only. Failures are counted as the gateway saw them (the
answers that are not steady's 200), and "never reached" by the member's hit
counter. The `pool` fixture makes every member healthy again after each test.

Breaker state lives in the gateway instance for its lifetime (and open_for
is 2 s or 10 s), so each scenario runs once per gateway, on its own upstream;
requests go one after the other so that every runtime answers from one instance."""

import time

import pytest

from conftest import assert_problem
from poolkit import assert_from, member_of, send, sleep_until

STEADY = "steady"
OPEN_FOR = 2.0  # gateway.yaml: circuit_breaker.open_for of the pool-breaker-* upstreams
FAILURES = 3


def _is_failure(r, flappy: str, mode: str) -> bool:
    """Whether `r` is a failure of `flappy` (as opposed to steady's 200)."""
    if r.status == 200:
        assert_from(r, STEADY)
        return False
    if mode == "503":
        assert_from(r, flappy, 503)  # the backend's own 503, passed through
    else:
        assert_problem(r, 502)  # a closed connection: the gateway's 502
    return True


def _fail_until_ejected(gw, target: str, flappy: str, mode: str, limit: int = 20) -> float:
    """Requests until the gateway has seen FAILURES failures of `flappy`; the
    moment of the last one (when the ejection starts)."""
    seen = sent = 0
    while seen < FAILURES:
        assert sent < limit, f"{flappy} failed only {seen} times in {sent} requests (weights 1:1)"
        r = gw.get(target)
        sent += 1
        if _is_failure(r, flappy, mode):
            seen += 1
    return time.monotonic()


def _never_reaches(gw, pool, target: str, flappy: str, n: int, until: float) -> None:
    """`n` requests, all answered by steady, none reaching `flappy`; all before `until`."""
    before = pool.hits()
    for r in send(gw, target, n):
        assert_from(r, STEADY)
    delta = before.delta(pool.hits())
    assert delta[flappy] == 0, f"the ejected {flappy} got {delta[flappy]} of {n} requests"
    assert delta[STEADY] == n, delta
    assert time.monotonic() < until, "too slow to tell: the requests outlasted the ejection (inconclusive)"


def _until_answered_by(gw, pool, target: str, flappy: str, status: int, limit: int = 6) -> float:
    """Requests until `flappy` answers one with `status` (the probe): the others
    are steady's 200; the moment of the probe's answer."""
    before = pool.hits()
    for i in range(limit):
        r = gw.get(target)
        if member_of(r) == flappy:
            assert_from(r, flappy, status)
            assert before.delta(pool.hits())[flappy] == 1, "more than one request reached the probed target"
            return time.monotonic()
        assert_from(r, STEADY)
    pytest.fail(f"{flappy} was not chosen again in {limit} requests after its ejection ended")


@pytest.mark.parametrize("mode", ["503", "close"])
def test_a_failing_target_is_ejected_then_readmitted(gw, pool, mode):
    target, flappy = f"/pool/breaker-{mode}", f"flap-{mode}"
    pool.set(flappy, mode)
    before = pool.hits()
    ejected_at = _fail_until_ejected(gw, target, flappy, mode)
    assert before.delta(pool.hits())[flappy] == FAILURES, "no retries configured: one try per request"
    # ejected for open_for: the next requests all go to steady
    _never_reaches(gw, pool, target, flappy, 10, ejected_at + OPEN_FOR)
    # healthy again, and the ejection over: the probe goes to it, succeeds ...
    pool.set(flappy, "ok")
    sleep_until(ejected_at + OPEN_FOR + 0.2)
    _until_answered_by(gw, pool, target, flappy, 200)
    # ... and re-admits it: it takes its share again (weights 1:1)
    before = pool.hits()
    names = [member_of(r) for r in send(gw, target, 20)]
    delta = before.delta(pool.hits())
    assert 7 <= names.count(flappy) <= 13 and delta[flappy] == names.count(flappy), (names, delta)


def test_a_failed_probe_ejects_again_for_twice_as_long(gw, pool):
    target, flappy = "/pool/breaker-again", "flap-again"
    pool.set(flappy, "503")
    ejected_at = _fail_until_ejected(gw, target, flappy, "503")
    _never_reaches(gw, pool, target, flappy, 5, ejected_at + OPEN_FOR)
    sleep_until(ejected_at + OPEN_FOR + 0.2)
    # still failing: the probe fails (the client gets its 503) ...
    probed_at = _until_answered_by(gw, pool, target, flappy, 503)
    # ... and ejects it again, the second time in a row: for 2 × open_for
    _never_reaches(gw, pool, target, flappy, 5, probed_at + OPEN_FOR)
    sleep_until(probed_at + 1.5 * OPEN_FOR)  # past one open_for, inside two
    _never_reaches(gw, pool, target, flappy, 5, probed_at + 2 * OPEN_FOR)
    # healthy, and the second ejection over: the probe succeeds
    pool.set(flappy, "ok")
    sleep_until(probed_at + 2 * OPEN_FOR + 0.2)
    _until_answered_by(gw, pool, target, flappy, 200)


def test_at_most_half_of_the_targets_are_ejected(gw, pool):
    caps = ("cap-a", "cap-b", "cap-c", "cap-d")
    for cap in caps:
        pool.set(cap, "503")
    before = pool.hits()
    answers = send(gw, "/pool/eject-cap", 20)
    for r in answers:
        # always a member's own 503: two targets stay eligible, never "no healthy target"
        assert r.status == 503 and member_of(r) in caps, r.describe()
    delta = before.delta(pool.hits())
    hits = sorted(delta[c] for c in caps)
    # failures: 1: the first two to fail are ejected (for 10 s, longer than the
    # test) after one try each; the other two stay, as max_ejected_percent 50 allows
    assert hits[:2] == [1, 1] and hits[2] >= 1 and sum(hits) == 20, delta
    last = {member_of(r) for r in answers[-10:]}
    assert len(last) == 2, f"the last 10 requests went to {sorted(last)}, not the two targets left"


def test_the_only_target_is_never_ejected(gw, pool):
    pool.set("solo", "503")
    before = pool.hits()
    for r in send(gw, "/pool/solo", 6):
        assert_from(r, "solo", 503)
    assert before.delta(pool.hits())["solo"] == 6
