"""Limit keys a client chooses (issue 9, finding 7): a public route keyed by
`header:x-tenant` counts case and whitespace variants of one value in one
bucket (values are compared with surrounding whitespace trimmed and ASCII
letters folded to lower case), exact and approximate alike, on every runtime.
(A value of only whitespace counting like an absent header is a unit test in
crates/core/tests/limiter_bounds.rs: it needs fresh client IPs.)

Each test uses tenant values of its own (a random suffix), so reruns and
other tests never share a counter."""

import uuid

import pytest

from conftest import assert_problem

EXACT = "/sec/tenant"
APPROX = "/sec/tenant-approx"


def fresh_tenant():
    return "Tenant-" + uuid.uuid4().hex[:12]


def variants(value):
    """Spellings of one value a client could rotate through (after the
    first three admitted requests, each must find the bucket used up)."""
    return [
        value,
        value.upper(),
        value.lower(),
        f" {value} ",
        f"\t{value.swapcase()}",
        f"{value.lower()}\t ",
        "  " + value.upper() + "  ",
    ]


@pytest.mark.parametrize("path", [EXACT, APPROX])
def test_case_and_whitespace_variants_of_one_value_share_the_bucket(gw, path):
    tenant = fresh_tenant()
    spellings = variants(tenant)
    statuses = [gw.get(path, [("X-Tenant", v)]).status for v in spellings]
    assert statuses == [200, 200, 200] + [429] * (len(spellings) - 3), list(zip(spellings, statuses))
    refused = gw.get(path, [("X-Tenant", tenant.swapcase())])
    assert_problem(refused, 429, "rate-limited")
    assert refused.header("retry-after"), refused.describe()


def test_other_values_keep_buckets_of_their_own(gw):
    tenant = fresh_tenant()
    for _ in range(3):
        assert gw.get(EXACT, [("X-Tenant", tenant)]).status == 200
    assert gw.get(EXACT, [("X-Tenant", tenant.upper())]).status == 429
    # A different value (not a spelling of the same one) is another tenant.
    assert gw.get(EXACT, [("X-Tenant", tenant + "-2")]).status == 200
    assert gw.get(EXACT, [("X-Tenant", tenant[:7] + " " + tenant[7:])]).status == 200

