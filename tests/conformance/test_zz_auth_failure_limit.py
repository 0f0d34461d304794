"""Failed-authentication limit (spec §4 "Repeated failures from one client IP
are themselves rate limited", §7 "Failed authentication"): more than per_ip
failures per minute from one client IP → 429 for that IP on authenticated
routes until the minute ends; public routes and other IPs are unaffected.

gateway.yaml sets `auth_failures: { per_ip: N, per: 1m }` with N well above
the failures the rest of the suite causes (all of it from 127.0.0.1).

How the flood stays away from the other tests:
- where the platform passes the client's address on (the local server, wrangler
  dev: checked at run time through the echo backend's X-Forwarded-For), the
  flood comes from a random other loopback address (127.x.y.z), whose budget
  is its own: the first N failures must be 401, the N+2nd at the latest 429;
- where it does not (cargo lambda watch puts sourceIp 127.0.0.1 into every
  event), the flood shares 127.0.0.1 with the whole suite. This file is named
  to be collected last, so the block cannot disturb another test, and the
  bounds take the failures the suite already caused into account (the
  session client counts every 400/401 it got).
A run against the same gateway within a minute of a previous run starts with
that run's failures already counted (for 127.0.0.1): restart the gateway.
"""

import os
import random
import re
import time

import pytest

import jwtkit as k
from conftest import BASE_URL, RUNTIME, Gateway, assert_problem, echo_header, echo_of, skip_on
from jwtkit import ACME_KEY, assert_401, bearer

SHARED_SOURCE_IP = (
    "cargo lambda watch puts sourceIp 127.0.0.1 into every event whatever the client's address, so no "
    "other client IP can be shown to the gateway (on AWS sourceIp is the real client's)"
)


def _per_ip() -> int:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway.yaml")) as f:
        m = re.search(r"^auth_failures:\s*\{\s*per_ip:\s*(\d+),\s*per:\s*1m\s*\}", f.read(), re.M)
    assert m, "gateway.yaml: auth_failures: { per_ip: N, per: 1m } expected"
    return int(m.group(1))


PER_IP = _per_ip()
BAD = bearer("not-a-valid-token")


def _valid():
    return bearer(k.mint("hs", {"sub": "alice", "exp": k.now() + 600}))


def _fresh_client(gw):
    """A client on another loopback address, if the gateway sees it as such."""
    for _ in range(5):
        ip = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        other = Gateway(BASE_URL, source_ip=ip)
        try:
            r = other.get("/echo/failure-limit-probe")
        except OSError:
            return None  # no such loopback address on this host
        seen = echo_header(echo_of(r), "x-forwarded-for")
        if seen == [ip]:
            return other
        if seen == [gw.get("/echo/failure-limit-probe").peer_ip]:
            return None  # the platform shows every client as the same address
        pytest.fail(f"the gateway saw {seen} for a client on {ip}")
    return None


def _avoid_minute_boundary(client, n_requests):
    """Fixed windows aligned to the wall-clock minute must not roll over in the
    middle of the flood: if it would not fit into this minute, start it at the
    beginning of the next one. The pace is measured with requests like the
    flood's (a failure is counted in the limiter store, which a cheap request
    would not show). Returns how many of those pace failures count in the
    window the flood runs in (none when it waited for the next minute)."""
    t0 = time.time()
    for _ in range(5):
        assert_401(client.get("/auth/hs/flood-pace", BAD))
    needed = n_requests * (time.time() - t0) / 5 * 1.5 + 1
    if needed >= 58:
        pytest.fail(f"the flood would take about {needed:.0f} s, longer than the one-minute window: lower per_ip")
    into_minute = time.time() % 60
    if into_minute + needed > 59:
        time.sleep(60 - into_minute + 0.3)
        return 0
    return 5


@pytest.fixture(scope="module")
def flood(gw):
    """Sends bad tokens until the first 429 (at most PER_IP + 2); returns
    (client, statuses, prior failures, isolated, the last answer)."""
    client = _fresh_client(gw)
    isolated = client is not None
    if not isolated:
        client = gw
    before = 0 if isolated else gw.status_counts[401] + gw.status_counts[400]
    if not isolated and before >= PER_IP:
        pytest.fail(f"the suite itself caused {before} failures from 127.0.0.1, not below per_ip {PER_IP}: raise per_ip")
    paced = _avoid_minute_boundary(client, PER_IP + 2 - before)
    # the pace requests are failures too, from this IP
    prior = paced if isolated else gw.status_counts[401] + gw.status_counts[400]
    statuses, last = [], None
    for _ in range(PER_IP + 2):
        last = client.get("/auth/hs/flood", BAD)
        statuses.append(last.status)
        if last.status == 429:
            break
        assert_401(last)
    return client, statuses, prior, isolated, last


def test_too_many_failures_from_one_ip_get_429(flood):
    client, statuses, prior, isolated, last = flood
    assert statuses[-1] == 429, f"no 429 after {len(statuses)} failed authentications (per_ip {PER_IP})"
    failures = len(statuses) - 1
    if isolated:
        # exactly per_ip failures are answered 401 (the pace ones included); the next one or the one after is 429
        assert prior + failures in (PER_IP, PER_IP + 1), (
            f"429 after {failures} failures (+{prior} pacing) from a fresh IP, per_ip {PER_IP}"
        )
    else:
        assert prior + failures >= PER_IP, (
            f"429 after {failures} failures here and at most {prior} before in the suite: below per_ip {PER_IP}"
        )
        assert failures <= PER_IP + 1, f"429 only after {failures} failures, per_ip {PER_IP}"
    body = assert_problem(last, 429)
    retry = last.header("retry-after")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 60, f"Retry-After {retry!r}:\n{last.describe()}"
    assert body


def test_the_blocked_ip_gets_429_even_with_valid_credentials(flood):
    client = flood[0]
    for path, headers in (("/auth/hs/x", _valid()), ("/auth/key/x", [("X-Api-Key", ACME_KEY)]),
                          ("/auth/jwt/x", bearer(k.mint("rsa")))):
        r = client.get(path, headers)
        assert_problem(r, 429)
        assert r.header("retry-after"), r.describe()


def test_the_blocked_ip_still_reaches_public_routes(flood):
    client = flood[0]
    r = client.get("/echo/after-block")
    assert r.status == 200, r.describe()
    echo_of(r)
    assert client.get("/_gateway/health").status == 200


@skip_on("lambda", SHARED_SOURCE_IP)
def test_other_ips_are_unaffected(gw, flood):
    client, _, _, isolated, _ = flood
    assert isolated, f"[{RUNTIME}] the gateway did not see the flood's own loopback address"
    r = gw.get("/auth/hs/x", _valid())
    assert r.status == 200, r.describe()
    assert echo_header(echo_of(r), "x-user-id") == ["alice"]
