"""JWKS fetch stampede (issue 9 finding 10; spec §4 "Authentication", §7 "JWKS").

While an issuer's key cache is cold (first use, or an endpoint that has never
answered), a burst of requests must cost one JWKS fetch per gateway instance,
not one per request: the first request fetches, the others wait for its
answer (at most the 2 s fetch deadline). A fetch that fails is shared the same
way, and the next attempt waits for a back-off (5 s, doubling up to once a
minute).

The issuers `jwt:slow` and `jwt:slowdown` of gateway.yaml are used by no
other test, and their endpoints in backends.py answer after 1 s, so the whole
burst arrives while the first fetch is in flight; `slowdown` answers 503.
The backends outlive a gateway, so fetch counts are compared before/after.

Per instance, honestly: `tollgate serve` is one instance, and `wrangler dev`
runs one isolate. `cargo lambda watch` runs one function instance by default
(`--concurrency 1`) and hands it the burst one request at a time, so on
Lambda the count shows one fetch per cold instance without two requests ever
overlapping inside it; on AWS, concurrent requests go to separate containers,
each of which fetches once when cold (docs/runtimes.md).
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwtkit as k
from jwtkit import assert_401, bearer
from test_auth_jwks import control

BURST = 20


def _token(kid):
    t = k.now()
    return k.jwt.encode({"sub": "burst-user", "iat": t, "exp": t + 600}, k.EC, algorithm="ES256",
                        headers={"kid": kid})


def _burst(gw, target, token):
    """BURST requests released together, each on its own connection."""
    start = threading.Barrier(BURST)

    def one(_):
        start.wait()
        return gw.get(target, bearer(token))

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_a_burst_on_a_cold_key_cache_fetches_the_jwks_once(gw):
    before = control("hits", "slow")["hits"]
    responses = _burst(gw, "/auth/slow", _token("slow-1"))
    fetched = control("hits", "slow")["hits"] - before
    assert [r.status for r in responses] == [200] * BURST, [r.describe() for r in responses if r.status != 200][:2]
    assert fetched != 0, "the gateway already held jwt:slow's keys: run the suite once per gateway start"
    assert fetched == 1, f"{fetched} JWKS fetches for a burst of {BURST} requests on a cold cache"
    # Warm now: more requests fetch nothing.
    assert all(r.status == 200 for r in _burst(gw, "/auth/slow", _token("slow-1")))
    assert control("hits", "slow")["hits"] - before == 1


def test_a_burst_during_an_outage_on_a_cold_cache_fetches_once_then_backs_off(gw):
    assert control("hits", "slowdown")["down"] is True, "backends.py starts the slowdown set down"
    before = control("hits", "slowdown")["hits"]
    started = time.monotonic()
    responses = _burst(gw, "/auth/slowdown", _token("slowdown-1"))
    for r in responses:
        assert_401(r)
    fetched = control("hits", "slowdown")["hits"] - before
    assert fetched == 1, f"{fetched} JWKS fetches for a burst of {BURST} requests while the endpoint fails"
    # Within the back-off (5 s after the failure) nobody tries again.
    for r in _burst(gw, "/auth/slowdown", _token("slowdown-1")):
        assert_401(r)
    assert time.monotonic() - started < 5, "the second burst came too late to test the back-off"
    assert control("hits", "slowdown")["hits"] - before == 1
