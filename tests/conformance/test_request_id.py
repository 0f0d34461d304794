"""X-Request-Id (spec §4, §7 Request id): a sane client id is kept and sent
both ways, anything else is replaced; every answer carries one, errors
included, equal to the problem body's request_id."""

import pytest

from conftest import ALLOWED_ORIGIN, ANSWER_KINDS, MAX_BODY, REQUEST_ID_RE, assert_problem, echo_header, echo_of


@pytest.mark.parametrize("rid", ["abc-123_x.y:z", "a" * 128, "A", "0123456789abcdef0123456789abcdef", "trace:1.2-3_4"])
def test_sane_request_id_is_kept_both_ways(gw, rid):
    r = gw.get("/echo/rid", [("X-Request-Id", rid)])
    assert r.header("x-request-id") == rid
    assert echo_header(echo_of(r), "x-request-id") == [rid]


@pytest.mark.parametrize(
    "rid",
    ["bad id!", "a" * 129, "", "a/b", "<script>alert(1)</script>", 'a"b', "id\twith-tab", "x" * 1000],
    ids=["space-bang", "129-chars", "empty", "slash", "markup", "quote", "tab", "1000-chars"],
)
def test_bad_request_id_is_replaced(gw, rid):
    r = gw.get("/echo/rid", [("X-Request-Id", rid)])
    got = r.header("x-request-id")
    assert got and REQUEST_ID_RE.fullmatch(got), got
    assert got != rid
    assert echo_header(echo_of(r), "x-request-id") == [got], "the upstream sees the id the client gets"


def test_request_id_is_generated_when_absent_and_unique(gw):
    ids = []
    for _ in range(3):
        r = gw.get("/echo/rid")
        rid = r.header("x-request-id")
        assert rid and REQUEST_ID_RE.fullmatch(rid), rid
        assert echo_header(echo_of(r), "x-request-id") == [rid]
        ids.append(rid)
    assert len(set(ids)) == 3, ids


@pytest.mark.parametrize(
    "method, target, body, status",
    [
        ("GET", "/nope", None, 404),
        ("POST", "/only-get", b"", 405),
        ("GET", "/public/a%2Fb", None, 400),
        ("POST", "/echo/big", b"x" * (MAX_BODY + 1), 413),
        ("GET", "/dead", None, 502),
    ],
)
def test_client_request_id_is_kept_on_errors(gw, method, target, body, status):
    r = gw.request(method, target, [("X-Request-Id", "err-id-42")], body)
    problem = assert_problem(r, status)
    assert r.header("x-request-id") == "err-id-42"
    assert problem["request_id"] == "err-id-42"


def test_generated_request_id_on_errors_matches_the_body(gw):
    r = gw.get("/nope", [("X-Request-Id", "bad id!")])
    problem = assert_problem(r, 404)
    assert REQUEST_ID_RE.fullmatch(problem["request_id"]) and problem["request_id"] != "bad id!"


@pytest.mark.parametrize("kind", ANSWER_KINDS, ids=[k.id for k in ANSWER_KINDS])
def test_every_answer_carries_a_request_id(gw, kind):
    r = kind.send(gw)
    assert r.status == kind.status, r.describe()
    rid = r.header("x-request-id")
    assert rid and REQUEST_ID_RE.fullmatch(rid), r.describe()
    kept = kind.send(gw, [("X-Request-Id", "kind-check-1")])
    assert kept.header("x-request-id") == "kind-check-1", kept.describe()


def test_preflight_carries_a_request_id(gw):
    r = gw.request("OPTIONS", "/echo/pre", [("Origin", ALLOWED_ORIGIN), ("Access-Control-Request-Method", "POST")])
    assert r.status == 204, r.describe()
    rid = r.header("x-request-id")
    assert rid and REQUEST_ID_RE.fullmatch(rid), r.describe()


def test_backend_cannot_replace_the_request_id(gw):
    r = gw.get("/echo/rid?set_header=X-Request-Id:backend-id", [("X-Request-Id", "client-id-1")])
    assert r.status == 200, r.describe()
    assert r.header_all("x-request-id") == ["client-id-1"], r.describe()
