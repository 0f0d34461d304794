"""The pool of small backends (backends.py, control :18110, members :18111-18126)
behind gateway.yaml's `pool-*` upstreams: load balancing, retries and circuit
breakers (test_balance.py, test_retries.py, test_breaker.py).

Tests get a `Pool` from the `pool` fixture (conftest.py), which sets every
member back to "ok" before and after the test, even when it fails. The
backends process is shared by every runtime and lives across runs, so tests
read hit counters before and after (`pool.hits()`, `Hits.delta`) and never
expect absolute values. Every request to the gateway is sent on its own
connection, one after the other: on `cargo lambda watch` overlapping requests
could reach a second container, whose balancer and breakers are its own.

Environment: POOL_URL, the control server (default http://127.0.0.1:18110).
"""

from __future__ import annotations

import os
import time
from typing import Iterable, Optional

import pytest

from conftest import Gateway, Response

POOL_URL = os.environ.get("POOL_URL", "http://127.0.0.1:18110").rstrip("/")
MEMBER_HEADER = "x-pool-member"


class Hits(dict):
    """Hit counters of every member at one moment."""

    def delta(self, later: "Hits") -> dict:
        """Requests each member got between this reading and `later`."""
        return {name: later[name] - self.get(name, 0) for name in later}


class Pool:
    def __init__(self, url: str = POOL_URL):
        self.url = url
        self.http = Gateway(url)

    def _control(self, method: str, target: str) -> dict:
        r = self.http.request(method, target, body=b"" if method == "POST" else None, timeout=10)
        assert r.status == 200, f"pool control {method} {target}:\n{r.describe()}"
        return r.json()

    def hits(self) -> Hits:
        return Hits(self._control("GET", "/control/hits"))

    def modes(self) -> dict:
        return self._control("GET", "/control/modes")

    def set(self, member: str, mode: str) -> None:
        """mode: ok | 503 | close."""
        modes = self._control("POST", f"/control/set?member={member}&mode={mode}")
        assert modes[member] == mode, modes

    def recover(self) -> None:
        modes = self._control("POST", "/control/recover")
        assert set(modes.values()) == {"ok"}, modes

    def check_running(self) -> None:
        try:
            self.modes()
        except OSError as e:
            pytest.fail(f"the pool's control server at {self.url} does not answer ({e}): "
                        "start tests/conformance/backends.py (a version with the pool)", pytrace=False)


def member_of(resp: Response) -> Optional[str]:
    """The pool member that answered (None if none did: a gateway-made answer).
    A member's JSON body, when there is one, must name the same member."""
    name = resp.header(MEMBER_HEADER)
    if name is not None and resp.method != "HEAD":
        body = resp.json()
        assert body.get("member") == name, f"{MEMBER_HEADER} {name!r} but the body says {body!r}"
    return name


def assert_from(resp: Response, member: str, status: int = 200) -> None:
    """`resp` is member `member`'s own answer with `status`."""
    assert resp.status == status and member_of(resp) == member, \
        f"expected {status} from pool member {member!r}:\n{resp.describe()}"
    if resp.method != "HEAD":
        assert (resp.content_type or "").startswith("application/json"), resp.describe()


def send(gw: Gateway, target: str, n: int, method: str = "GET", headers: Iterable = (),
         body: Optional[bytes] = None) -> list:
    """`n` requests, one after the other (never overlapping), each on a new connection."""
    return [gw.request(method, target, list(headers), body) for _ in range(n)]


def sleep_until(deadline: float) -> None:
    """Sleeps until time.monotonic() reaches `deadline`."""
    left = deadline - time.monotonic()
    if left > 0:
        time.sleep(left)
