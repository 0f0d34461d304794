"""A limiter store that cannot be reached (spec §4: "A limiter store that
cannot be reached: the policy's `on_store_error` (default `closed` → 503)").

These run only in scripts/conformance.sh's last phase for Lambda, after it
stopped the DynamoDB emulator (TOLLGATE_STORE_DOWN=1): `closed` → 503
problem+json with Retry-After, `open` → admitted, with the policy announced
but no state to report. The local server's memory store cannot fail and a
Durable Object under wrangler dev cannot be stopped on its own; for those the
core's tests inject the failure (crates/core/tests/rate_limit.rs).
"""

import os
import uuid

import pytest

from conftest import RUNTIME, assert_problem
from test_rate_limit import policy, retry_after

pytestmark = pytest.mark.skipif(
    os.environ.get("TOLLGATE_STORE_DOWN") != "1",
    reason=f"[{RUNTIME}] runs in the store-down phase only (scripts/conformance.sh stops the DynamoDB emulator)",
)


def test_store_down_closed_is_503(gw):
    r = gw.get("/rl/small", [("X-Test-Key", uuid.uuid4().hex)])
    assert_problem(r, 503, "rate-limit-store-unavailable")
    assert retry_after(r) >= 1


def test_store_down_open_admits(gw):
    r = gw.get("/rl/open", [("X-Test-Key", uuid.uuid4().hex)])
    assert r.status == 200 and r.has("x-echo-backend"), r.describe()
    assert policy(r) == {"route": {"q": 1000, "w": 3600}}
    assert not r.has("ratelimit"), "no state to report when the store did not answer"
