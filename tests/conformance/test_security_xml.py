"""Hostile XML from a SOAP upstream (issue 9 finding 12; spec §7 "Translated
routes", "XML → JSON").

The `protocols` backend answers `/soap/hostile/{kind}/{n}` with a 200 SOAP
document built to cost a parser: one element with N attributes, N namespace
declarations, or N sibling elements. The gateway reads at most 256 attributes
per element and 200,000 elements and attributes per document; beyond that the
answer cannot be read, and a 2xx that cannot be read is a 502
`upstream-bad-response`, like any other malformed answer. Within the bounds
the answer is translated.
"""

import pytest

from conftest import assert_problem


@pytest.mark.parametrize(
    "target",
    [
        "/soap/hostile/attrs/257",
        "/soap/hostile/attrs/1000",
        "/soap/hostile/attrs/10000",
        "/soap/hostile/attrs/100000",
        "/soap/hostile/xmlns/257",
        "/soap/hostile/xmlns/100000",
        "/soap/hostile/elements/200000",
        "/soap/hostile/elements/400000",
    ],
)
def test_an_answer_past_the_parser_bounds_is_a_502(gw, target):
    assert_problem(gw.get(target, timeout=60), 502, "upstream-bad-response")


def test_an_element_at_the_attribute_cap_is_translated(gw):
    r = gw.get("/soap/hostile/attrs/256")
    assert r.status == 200, r.describe()
    city = r.json()["GetWeatherResponse"]["City"]
    assert len(city) == 257 and city["#text"] == "Paris"
    assert city["@a0"] == "0" and city["@a255"] == "255"


def test_many_elements_within_the_bound_are_translated(gw):
    r = gw.get("/soap/hostile/elements/10000")
    assert r.status == 200, r.describe()
    assert len(r.json()["GetWeatherResponse"]["Day"]) == 10000
