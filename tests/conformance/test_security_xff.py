"""`client_ip: x-forwarded-for` (issue 9, findings 1 and 5b), against a
gateway running tests/conformance/gateway-xff.yaml (scripts/conformance.sh
starts one on every runtime (server, Workers bundle, function) after the main suite, with
TOLLGATE_XFF=1; the main suite skips this file). The suite's client plays
the trusted proxy: its connection comes from loopback, and the header lines
it sends are what the proxy would pass on.

- an `X-Forwarded-For` whose trusted hop is absent or unreadable gives the
  request no client address: never the proxy's (loopback is allowlisted);
- the chain is every line in order, read as bytes;
- requests without an address share one limited `ip:unknown` key;
- IPv6 clients are one identity per /64 for the failed-auth limit, and
  `::ffff:a.b.c.d` is `a.b.c.d`.
"""

import os
import random

import pytest

from conftest import BASE_URL, RUNTIME, Gateway, concurrent_statuses, echo_header, echo_of

pytestmark = pytest.mark.skipif(
    os.environ.get("TOLLGATE_XFF") != "1", reason="needs the gateway-xff.yaml gateway (scripts/conformance.sh, TOLLGATE_XFF=1)"
)

HOSTILE = [
    [],
    [b"\xff"],
    [b"1.2.3.4\xff"],
    [b"unknown"],
    [b"1.2.3.4, \xff"],
    [b"1.2.3.4", b"\xfe\xff"],
    [b" , "],
    [b"999.0.0.1"],
]


ASCII_HOSTILE = [h for h in HOSTILE if all(b < 0x80 for line in h for b in line)]


def chain(lines):
    return [("X-Forwarded-For", line) for line in lines]


def refused_before_the_function(r, lines) -> bool:
    """cargo lambda watch cannot put a non-UTF-8 header value into its JSON
    event and answers its own plain-text 500 before the function runs (API
    Gateway and function URLs refuse such values too): the hostile bytes
    never reach the gateway there."""
    obs_text = any(b >= 0x80 for line in lines for b in line)
    return RUNTIME == "lambda" and obs_text and r.status == 500 and "problem+json" not in (r.content_type or "")


# cargo lambda watch builds its event keeping only the first line of a repeated
# header (docs/runtimes.md; API Gateway joins them with commas): there a chain
# of several lines is not what the gateway gets.
ONE_LINE_ONLY = RUNTIME == "lambda"


@pytest.fixture(scope="module")
def gw():
    return Gateway(BASE_URL)


@pytest.mark.parametrize("lines", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_an_unknown_client_is_never_the_proxy(gw, lines):
    r = gw.get("/xff/internal", chain(lines))
    if refused_before_the_function(r, lines):
        return
    assert r.status == 403, f"[{RUNTIME}] the proxy's loopback address passed the allowlist:\n{r.describe()}"


@pytest.mark.parametrize("lines", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_an_unknown_client_does_not_dodge_a_deny_list(gw, lines):
    if ONE_LINE_ONLY and len(lines) > 1:
        pytest.skip("cargo lambda watch passes only the first line of a repeated header")
    r = gw.get("/xff/open/x", chain(lines))
    if refused_before_the_function(r, lines):
        return
    assert r.status == 403, r.describe()


def test_the_trusted_hop_of_the_whole_chain(gw):
    for junk in [b"\xff", b"not-an-ip", b"1.2.3.4 5.6.7.8"]:
        lines = [junk + b", 198.51.100.7"]
        r = gw.get("/xff/open/a", chain(lines))
        if refused_before_the_function(r, lines):
            continue
        assert echo_header(echo_of(r), "x-real-ip") == ["198.51.100.7"], f"{junk!r} shifted the trusted hop"
    if not ONE_LINE_ONLY:
        r = gw.get("/xff/open/b", chain([b"6.6.6.6", b"198.51.100.8"]))
        assert echo_header(echo_of(r), "x-real-ip") == ["198.51.100.8"], "two lines are one chain, in order"
    assert gw.get("/xff/open/c", chain([b"192.0.2.5"])).status == 403, "the trusted hop is what the deny list sees"
    assert gw.get("/xff/internal", chain([b"127.0.0.9"])).status == 200


def test_unknown_clients_share_one_limited_key(gw):
    statuses = [gw.get("/xff/limited", chain(lines)).status for lines in ASCII_HOSTILE[:4]]
    assert statuses == [200, 200, 429, 429], statuses
    ip = f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"
    assert gw.get("/xff/limited", chain([ip.encode()])).status == 200, "clients with an address are unaffected"


def _guesses(gw, addresses):
    return [gw.get("/xff/keyed/x", chain([a.encode()]) + [("X-Api-Key", "guess")]).status for a in addresses]


def test_ipv6_clients_are_one_identity_per_64(gw):
    net = f"2001:db8:{random.randint(1, 0xffff):x}:{random.randint(1, 0xffff):x}"
    statuses = _guesses(gw, [f"{net}::{n:x}" for n in range(1, 6)])
    assert statuses == [401, 401, 401, 429, 429], statuses
    other = f"2001:db8:{random.randint(1, 0xffff):x}:{random.randint(1, 0xffff):x}::1"
    assert _guesses(gw, [other]) == [401], "another /64 is another client"


def test_ipv4_mapped_ipv6_is_the_ipv4_address(gw):
    v4 = f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"
    a, b, c, d = (int(x) for x in v4.split("."))
    statuses = _guesses(gw, [v4, f"::ffff:{v4}", f"::ffff:{a * 256 + b:x}:{c * 256 + d:x}", v4])
    assert statuses == [401, 401, 401, 429], statuses


def test_a_concurrent_burst_from_one_client_gets_per_ip_guesses(gw):
    """Finding 5a where every connection comes from one address (cargo lambda
    watch reports 127.0.0.1 for all): the client is told apart by its hop."""
    import time

    if time.time() % 60 > 45:  # the failed-auth window is the wall-clock minute
        time.sleep(60 - time.time() % 60 + 0.5)
    client = f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}".encode()
    counts = concurrent_statuses(
        lambda: gw.get("/xff/keyed/burst", chain([client]) + [("X-Api-Key", f"guess-{random.random()}")]).status,
        40,
        threads=16,
    )
    assert counts == {401: 3, 429: 37}, f"[{RUNTIME}] per_ip 3, 40 concurrent guesses: {counts}"
