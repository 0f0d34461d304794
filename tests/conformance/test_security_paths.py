"""Double encoding through encoded hex digits (issue 9 finding 3; spec §4 Matching).

`%25%32%65` is `%25` followed by the escapes of the hex digits `2` and `e`:
one decoding gives `%252e`, a second `%2e`, a third `.`. The gateway judges
double encoding on the decoded segment, so every spelling of a double-encoded
dot, `/`, `\\`, NUL, `%` or control character is refused with 400 and never
reaches the upstream, whichever digits arrive encoded and in whichever case.

All three runtimes see these targets unchanged: workerd's WHATWG URL parser
leaves percent-escapes as they are (it only treats `%2e` / `%2E` as a dot in a
dot segment, and none of these segments is one), and the Lambda event carries
the raw path.
"""

import pytest

from conftest import assert_problem, echo_of

DOUBLE_ENCODED = [
    # '.' (%2e) with both, one or the other hex digit encoded, lower/upper case
    "/public/%25%32%65%25%32%65/admin",
    "/public/%25%32%45%25%32%45/admin",
    "/public/%25%32e%25%32e/admin",
    "/public/%252%65%252%65/admin",
    "/public/%25%32E/x",
    "/public/x/%25%32%65",
    # '/' (%2f)
    "/public/a/%25%32%46b",
    "/public/a/%25%32%66b",
    "/public/a/%25%32Fb",
    "/public/a/%252%66b",
    "/public/..%25%32%66..%25%32%66admin",
    # '\\' (%5c)
    "/public/a/%25%35%43b",
    "/public/a/%25%35%63b",
    "/public/a/%255%43b",
    # NUL (%00)
    "/public/a/%25%30%30b",
    "/public/a/%250%30b",
    # '%' (%25): a third decoding would go on
    "/public/a/%25%32%35b",
    # control characters (%0a, %0D, %7f)
    "/public/a/%25%30%41b",
    "/public/a/%25%30%64b",
    "/public/a/%25%37%46b",
    "/public/a/%250ab",
    # triple encoding
    "/public/a/%25%32%35%32%65b",
    "/public/a/%2525%32%65b",
    "/public/a/%25%32%35%32%46b",
]


@pytest.mark.parametrize("target", DOUBLE_ENCODED)
def test_double_encoding_through_encoded_hex_digits_is_400(gw, target):
    r = gw.get(target)
    assert_problem(r, 400, "bad-request")


@pytest.mark.parametrize(
    "sent, forwarded",
    [
        # `%25` before digits that decode to nothing dangerous is kept, and
        # the forwarded path is already normal (sending it again changes nothing).
        ("/echo/100%25", "/echo/100%25"),
        ("/echo/a%25%34%31", "/echo/a%2541"),
        ("/echo/a%2541", "/echo/a%2541"),
        ("/echo/a%25%2e", "/echo/a%25."),
    ],
)
def test_percent_before_harmless_digits_is_forwarded_normalised(gw, sent, forwarded):
    r = gw.get(sent)
    assert r.status == 200, r.describe()
    assert echo_of(r)["path"] == forwarded, f"sent {sent}"
    again = gw.get(forwarded)
    assert again.status == 200, again.describe()
    assert echo_of(again)["path"] == forwarded, f"sent {forwarded} (a forwarded path, again)"
