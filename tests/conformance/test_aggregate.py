"""Aggregation (spec §3 `aggregate`, §7 "Aggregation"): one request, several
backends, one JSON object keyed by backend name.

Over the example backends: legs run concurrently (3 legs of 200 ms each
answer in well under 600 ms: asserted < 450 ms), a leg reading
`{first.path}` waits for `first`, select / extract shape the answers, a
required leg's 4xx passes through as problem+json naming the backend (5xx →
502), an optional failure takes its fallback or is left out and is listed in
`_errors` with `x-gateway-partial: true` (a timed-out leg reports 504),
`on_partial: fail` → 502, the whole-call deadline, a leg's `Set-Cookie`
never reaching the client, and the headers each leg gets.
"""

import json
import time

from conftest import assert_problem, echo_header

ACME_KEY = "conformance-acme-key-7f3a91"


def _best_of(gw, target, n=3):
    best = None
    for _ in range(n):
        t0 = time.monotonic()
        r = gw.get(target)
        elapsed = time.monotonic() - t0
        assert r.status == 200, r.describe()
        best = elapsed if best is None else min(best, elapsed)
    return best, r


def test_three_legs_of_200_ms_run_concurrently(gw):
    gw.get("/agg/parallel")  # warm connections and (on Lambda) the function
    single, _ = _best_of(gw, "/agg/single")
    best, r = _best_of(gw, "/agg/parallel")
    assert r.json() == {"a": {"slept_ms": 200}, "b": {"slept_ms": 200}, "c": {"slept_ms": 200}}
    print(f"fan-out: 3 parallel legs of 200 ms = {best * 1000:.0f} ms, the slowest leg alone = {single * 1000:.0f} ms "
          f"(ratio {best / single:.2f})")
    assert best < 0.45, f"3 legs of 200 ms took {best:.3f} s: not concurrent"


def test_a_leg_waits_for_the_leg_it_reads_and_shapes_apply(gw):
    r = gw.get("/agg/chain/42")
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["first"] == {"path": "/first/42", "method": "GET"}, "select keeps only the named fields"
    assert body["second"] == "from=/first/42", "the value read from `first` lands in the query"
    assert "_errors" not in body and not r.has("x-gateway-partial")


def test_a_required_legs_4xx_passes_through_naming_the_backend(gw):
    r = gw.get("/agg/required/404")
    body = assert_problem(r, 404, "backend-failed")
    assert body["backend"] == "profile", body
    r = gw.get("/agg/required/503")
    body = assert_problem(r, 502, "backend-failed")
    assert body["backend"] == "profile", body


def test_optional_failures_take_their_fallback_or_are_left_out_and_are_reported(gw):
    r = gw.get("/agg/optional")
    assert r.status == 200, r.describe()
    assert r.header("x-gateway-partial") == "true"
    assert not r.has("set-cookie"), "a leg's Set-Cookie must not reach the client"
    body = r.json()
    assert body["ok"] == {"method": "GET"}
    assert body["down"] == {"items": []}, "the fallback stands in"
    assert not {"gone", "late", "html"} & set(body), "failed legs without fallback are left out"
    errors = body["_errors"]
    assert set(errors) == {"down", "gone", "late", "html"}, errors
    assert errors["html"]["status"] == 502, "a 200 that is not JSON fails the leg cleanly"
    assert errors["down"]["status"] == 503, "the backend's 503 is reported, the leg used its fallback"
    assert errors["gone"]["status"] == 502
    assert errors["late"]["status"] == 504, "a timed-out leg reports 504"
    assert all(isinstance(e["title"], str) and e["title"] for e in errors.values())


def test_on_partial_fail_answers_502(gw):
    assert_problem(gw.get("/agg/strict"), 502, "aggregate-partial")


def test_the_whole_call_has_one_deadline(gw):
    t0 = time.monotonic()
    r = gw.get("/agg/deadline")
    elapsed = time.monotonic() - t0
    assert r.status == 200, r.describe()
    body = r.json()
    assert body["fast"] == {"method": "GET"}
    assert body["_errors"]["late"]["status"] == 504
    assert elapsed < 2.5, f"the 500 ms deadline did not cut the 3 s leg ({elapsed:.2f} s)"


def test_legs_get_the_request_id_a_trace_and_the_consumer_not_the_credentials(gw):
    trace = "0af7651916cd43dd8448eb211c80319c"
    r = gw.get(
        "/agg/headers",
        [("X-Api-Key", ACME_KEY), ("X-Request-Id", "agg-conformance-1"), ("Cookie", "c=1"),
         ("traceparent", f"00-{trace}-b7ad6b7169203331-01")],
    )
    assert r.status == 200, r.describe()
    seen = r.json()["seen"]
    assert seen["x-request-id"] == "agg-conformance-1"
    assert seen["x-consumer-id"] == "acme"
    assert seen["traceparent"].startswith(f"00-{trace}-") and "b7ad6b7169203331" not in seen["traceparent"]
    for gone in ("x-api-key", "cookie", "authorization"):
        assert gone not in seen, f"{gone} reached a leg: {json.dumps(seen)}"
