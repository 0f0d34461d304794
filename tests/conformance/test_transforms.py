"""Route rewrite and request/response transforms (spec §3 routes: rewrite,
request.headers/query, response.headers)."""

from urllib.parse import parse_qs

from conftest import assert_problem, echo_header, echo_of


def test_path_is_rewritten(gw):
    echo = echo_of(gw.get("/v1/users/42"))
    assert echo["path"] == "/internal/users/42"


def test_rewrite_uses_the_normalised_param_in_its_encoded_form(gw):
    assert echo_of(gw.get("/v1/users/%61lice"))["path"] == "/internal/users/alice"
    assert echo_of(gw.get("/v1/users/a%20b"))["path"] == "/internal/users/a%20b"
    assert echo_of(gw.get("/v1/./users//7"))["path"] == "/internal/users/7"


def test_query_set_and_remove(gw):
    echo = echo_of(gw.get("/v1/users/42?debug=1&keep=yes&src=client&debug=2"))
    assert parse_qs(echo["query"], keep_blank_values=True) == {"keep": ["yes"], "src": ["gw"]}, echo["query"]


def test_query_set_without_a_client_query(gw):
    echo = echo_of(gw.get("/v1/users/42"))
    assert parse_qs(echo["query"], keep_blank_values=True) == {"src": ["gw"]}, echo["query"]


def test_request_headers_set_and_remove(gw):
    r = gw.get("/v1/users/42", [("Cookie", "session=abc"), ("X-Source", "client"), ("X-Kept", "1")])
    echo = echo_of(r)
    assert echo_header(echo, "x-source") == ["gateway"], "set replaces the client's value"
    assert echo_header(echo, "cookie") == []
    assert echo_header(echo, "x-kept") == ["1"]


def test_response_headers_set_and_remove(gw):
    r = gw.get("/v1/users/42?set_header=x-backend-secret:s3cr3t&set_header=X-Served-By:backend&set_header=X-Other:1")
    assert r.status == 200, r.describe()
    assert r.header_all("x-served-by") == ["tollgate"], "set replaces the backend's value"
    assert not r.has("x-backend-secret"), r.describe()
    assert r.header("x-other") == "1"


def test_transforms_stay_on_their_route(gw):
    r = gw.get("/echo/plain?debug=1", [("Cookie", "a=b")])
    echo = echo_of(r)
    assert echo["path"] == "/echo/plain"
    assert echo["query"] == "debug=1"
    assert echo_header(echo, "cookie") == ["a=b"]
    assert echo_header(echo, "x-source") == []
    assert not r.has("x-served-by")


def test_rewritten_route_keeps_its_methods(gw):
    r = gw.request("POST", "/v1/users/42", body=b"{}")
    assert_problem(r, 405, "method-not-allowed")
    assert sorted(r.list_header("allow")) == ["GET", "HEAD"]
