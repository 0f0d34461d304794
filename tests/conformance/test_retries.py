"""Retries (issue 11; spec §3 upstreams `retries`, §4 and §7 Retries): only for
GET, HEAD, OPTIONS, PUT, DELETE, TRACE, or any method with an
`Idempotency-Key`; a retry goes to another eligible target when there is one;
the client sees only the last answer, and an upstream status that is not
retried passes through unchanged; `attempts` retries after the first try at
most; a retry budget per upstream (20% of the requests of the last 10 s plus
3 per 10 s) caps the extra load.

Upstreams (gateway.yaml): pool-retry = [bad (weight 300), good (100)],
pool-retry-methods, pool-idempotency = [bad, good] (1:1), retries on 503, each
with a budget of its own; pool-retry-502 = [bad, good], retries on 502 only;
pool-retry-connect = [the dead port, good]; pool-attempts and pool-budget =
[sink-a, sink-b].
Members are told to fail through backends.py's pool control; the `pool` fixture
makes them healthy again after each test, however it ends.

The tests that need many retries first send healthy requests to the same
upstream (`_fill_budget`): the budget counts the requests of the last 10 s, so
those leave room for every retry the test needs, whatever the order in which
the balancer picks the targets."""

import time
import uuid

import pytest

from poolkit import assert_from, member_of, send

BAD, GOOD = "bad", "good"
SINKS = ("sink-a", "sink-b")


def _fill_budget(gw, target, n=40):
    """`n` requests while every member is healthy: all answered 200 by a member."""
    for r in send(gw, target, n):
        assert r.status == 200 and member_of(r) in (BAD, GOOD), r.describe()


def test_a_retry_lands_on_the_healthy_target(gw, pool):
    _fill_budget(gw, "/pool/retry")
    pool.set(BAD, "503")
    before = pool.hits()
    for r in send(gw, "/pool/retry", 8):
        assert_from(r, GOOD)  # the client sees only the last answer
        assert r.json()["path"] == "/pool/retry"
    delta = before.delta(pool.hits())
    assert delta[GOOD] == 8, f"every GET ends on good exactly once: {delta}"
    # non-vacuous: the balancer sent first tries to bad (3 of 4, by the weights) ...
    assert delta[BAD] >= 1, f"no GET was tried on bad first, nothing was retried: {delta}"
    # ... and each retry went to the other target, never back to bad (which
    # weighs 3:1, so the balancer alone would often choose it again)
    assert delta[BAD] <= 8, f"bad was tried more than once for a request: {delta}"


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
def test_idempotent_methods_are_retried(gw, pool, method):
    _fill_budget(gw, "/pool/retry-methods", 10)
    pool.set(BAD, "503")
    body = b"x" if method == "PUT" else None
    before = pool.hits()
    sent = 0
    while sent < 4:  # until a first try went to bad (every other one, by the weights)
        r = gw.request(method, "/pool/retry-methods", body=body)
        sent += 1
        assert_from(r, GOOD)
        if method != "HEAD":
            assert r.json()["method"] == method, r.describe()
        if before.delta(pool.hits())[BAD] > 0:
            break
    delta = before.delta(pool.hits())
    assert delta[BAD] >= 1, f"no {method} was tried on bad first in {sent} requests: {delta}"
    # each request ended on good exactly once, and tried bad at most once
    assert delta[GOOD] == sent and delta[BAD] <= sent, f"{sent} requests: {delta}"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_non_idempotent_request_is_never_retried(gw, pool, method):
    _fill_budget(gw, "/pool/idempotency")
    pool.set(BAD, "503")
    before = pool.hits()
    answers = send(gw, "/pool/idempotency", 10, method, [("Content-Type", "application/json")], b'{"n": 1}')
    failed = 0
    for r in answers:
        if r.status == 503:
            # bad's own 503, unchanged: not a problem+json of the gateway's
            assert_from(r, BAD, 503)
            assert r.json()["error"] == "told to fail", r.describe()
            failed += 1
        else:
            assert_from(r, GOOD)
    delta = before.delta(pool.hits())
    assert failed >= 1, f"no {method} went to bad first (weights 1:1), nothing to see: {delta}"
    # bad got exactly the requests whose 503 the client saw: none was tried twice
    assert delta[BAD] == failed and delta[GOOD] == 10 - failed, f"{failed} 503s seen, hits {delta}"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_idempotency_key_makes_any_method_retried(gw, pool, method):
    _fill_budget(gw, "/pool/idempotency")
    pool.set(BAD, "503")
    before = pool.hits()
    for _ in range(8):
        r = gw.request(method, "/pool/idempotency",
                       [("Content-Type", "application/json"), ("Idempotency-Key", str(uuid.uuid4()))], b'{"n": 1}')
        assert_from(r, GOOD)
    delta = before.delta(pool.hits())
    assert delta[GOOD] == 8, delta
    assert 1 <= delta[BAD] <= 8, f"no keyed {method} was tried on bad first, or bad was tried twice: {delta}"


def test_a_connection_failure_is_retried_on_another_target(gw, pool):
    # pool-retry-connect: [the dead port (weight 100), good (weight 300)],
    # `on` left to its default (connect, timeout, 502, 503, 504)
    before = pool.hits()
    for r in send(gw, "/pool/retry-connect", 8):
        assert_from(r, GOOD)
    assert before.delta(pool.hits())[GOOD] == 8


def test_attempts_bounds_the_tries_of_one_request(gw, pool):
    # pool-attempts: attempts 2 → at most 3 tries. The first request of a
    # quiet upstream: the budget's floor (3 per 10 s) has room for both retries.
    for sink in SINKS:
        pool.set(sink, "503")
    before = pool.hits()
    r = gw.get("/pool/attempts")
    assert r.status == 503 and member_of(r) in SINKS, f"the last try's answer, a sink's own 503:\n{r.describe()}"
    delta = before.delta(pool.hits())
    assert sum(delta[s] for s in SINKS) == 3, f"attempts: 2 means 3 tries: {delta}"
    # the retries went to the other target where there was one: both were tried
    assert all(delta[s] >= 1 for s in SINKS), delta


def test_the_budget_caps_retry_amplification(gw, pool):
    for sink in SINKS:
        pool.set(sink, "503")
    requests = 250
    before = pool.hits()
    start = time.monotonic()
    for r in send(gw, "/pool/budget", requests):
        # every answer is the last try's: a sink's own 503, never a gateway-made one
        assert r.status == 503 and member_of(r) in SINKS, r.describe()
    elapsed = time.monotonic() - start
    delta = before.delta(pool.hits())
    tries = sum(delta[s] for s in SINKS)
    retries = tries - requests
    # 20% of the requests of the last 10 s plus 3 per 10 s
    assert tries / requests <= 1.25, f"{tries} tries for {requests} requests in {elapsed:.1f} s: over the budget"
    # and the budget is used: without it every request would be tried 3 times,
    # with none at all no request would be retried
    assert retries >= 3, f"only {retries} retries for {requests} failed requests in {elapsed:.1f} s"


def test_a_status_not_in_on_is_not_retried(gw, pool):
    """pool-retry-502 retries on 502 only: bad's 503 reaches the client as it is."""
    pool.set(BAD, "503")
    before = pool.hits()
    failed = 0
    for r in send(gw, "/pool/retry-502", 10):
        if r.status == 503:
            assert_from(r, BAD, 503)
            failed += 1
        else:
            assert_from(r, GOOD)
    delta = before.delta(pool.hits())
    assert failed >= 1, f"no GET went to bad first (weights 1:1): {delta}"
    assert delta[BAD] == failed and delta[GOOD] == 10 - failed, f"{failed} 503s seen, hits {delta}"
