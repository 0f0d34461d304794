"""Path normalisation and path attacks (spec §4 Matching, §7 Paths).

The request target is sent byte for byte. The normalised path is what is
matched and what is forwarded; there is no /admin route, so anything that
resolves to /admin must be refused (404, or 400 for a traversal) and must never
reach the echo backend behind /public."""

import pytest

from conftest import assert_problem, echo_of, skip_on

WHATWG = "workerd parses the request URL with the WHATWG URL parser, which resolves this before the Worker sees it"


@pytest.mark.parametrize("target", ["//admin", "/%61dmin", "/%61%64%6D%69%6E", "///admin/"])
def test_normalised_path_is_matched_not_found(gw, target):
    r = gw.get(target)
    assert_problem(r, 404, "not-found")


@pytest.mark.parametrize(
    "target",
    [
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/public/%2e./admin",
        "/public/x/../../admin",
        "/public/./../admin",
    ],
)
def test_traversal_out_of_public_never_reaches_the_upstream(gw, target):
    r = gw.get(target)
    assert r.status in (400, 404), r.describe()
    assert_problem(r, r.status, "not-found" if r.status == 404 else "bad-request")


@pytest.mark.parametrize(
    "target",
    [
        "/public/a%2Fb",
        "/public/a%2fb",
        "/public/%2e%2e%2fadmin",
        "/public/a%5Cb",
        "/public/a%5cb",
        "/public/a%00b",
        "/public/a;b=c",
        "/public/..;/admin",
        "/public/a;/b",
        "/public/%252e%252e/admin",
        "/public/..%252f..%252fadmin",
        "/public/a%252Fb",
        "/public/a%255Cb",
        "/public/a%2500b",
    ],
)
def test_smuggled_separators_and_double_encoding_are_400(gw, target):
    r = gw.get(target)
    assert_problem(r, 400, "bad-request")


@pytest.mark.parametrize("target", ["/public/a%zzb", "/public/a%2", "/public/a%"])
def test_malformed_percent_escapes_are_400(gw, target):
    # Not decodable, so not normalisable: the router and the upstream could
    # disagree about what it means.
    r = gw.get(target)
    assert_problem(r, 400, "bad-request")


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("/..", marks=skip_on("cloudflare", WHATWG + " (`..` above the root is clamped to `/`)")),
        pytest.param("/public/../..", marks=skip_on("cloudflare", WHATWG + " (`..` above the root is clamped to `/`)")),
        pytest.param("/public/../../admin", marks=skip_on("cloudflare", WHATWG + " (`..` above the root is clamped to `/`)")),
        pytest.param("/%2e%2e/public/x", marks=skip_on("cloudflare", WHATWG + " (`%2e%2e` is a dot segment to it, clamped at the root)")),
    ],
)
def test_escaping_the_root_is_400(gw, target):
    r = gw.get(target)
    assert_problem(r, 400, "bad-request")


@skip_on("cloudflare", WHATWG + " (a raw `\\` becomes `/` in http(s) URLs)")
@pytest.mark.parametrize("target", ["/public/a\\b", "/public/..\\admin"])
def test_raw_backslash_is_400(gw, target):
    r = gw.get(target)
    assert_problem(r, 400, "bad-request")


@pytest.mark.parametrize(
    "sent, forwarded",
    [
        ("/public/./x//y", "/public/x/y"),
        ("/public/a/../b", "/public/b"),
        ("/public/a/%2e%2e/b", "/public/b"),
        ("//public///x", "/public/x"),
        ("/echo/%7Euser", "/echo/~user"),
        ("/echo/%41%62c-%5F.%2D", "/echo/Abc-_.-"),
        ("/%65cho/x", "/echo/x"),
        ("/public/%2e%2e/echo/z", "/echo/z"),
        ("/public/../echo/z", "/echo/z"),
        ("/echo/a%20b", "/echo/a%20b"),
        ("/echo/100%25", "/echo/100%25"),
        ("/echo/caf%C3%A9", "/echo/caf%C3%A9"),
    ],
)
def test_what_is_matched_is_what_is_forwarded(gw, sent, forwarded):
    r = gw.get(sent)
    assert r.status == 200, r.describe()
    echo = echo_of(r)
    assert echo["path"] == forwarded, f"sent {sent}"


def test_query_is_not_normalised(gw):
    r = gw.get("/public/./x?p=../a%2Fb&q=%2e%2e")
    echo = echo_of(r)
    assert echo["path"] == "/public/x"
    assert echo["query"] == "p=../a%2Fb&q=%2e%2e"
