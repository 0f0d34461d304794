"""Protocol translation (spec §3 `translate`, §7 "Translated routes" and
"XML → JSON"): GET routes of gateway.yaml turned into SOAP 1.1 and GraphQL
POSTs to backends.py's `protocols` service, whose answers come back as JSON,
and whose faults / errors come back as 502 problems. The backend answers 400
to a request of the wrong shape (method, Content-Type, SOAPAction, body), so
every 200 below also proves the shape."""

from conftest import assert_problem


def _json(resp):
    assert resp.status == 200, resp.describe()
    assert resp.content_type == "application/json", resp.describe()
    return resp.json()


def test_soap_answer_becomes_json_with_attributes_and_arrays(gw):
    body = _json(gw.get("/soap/weather/Paris"))
    weather = body["GetWeatherResponse"]
    assert weather["City"] == {"@country": "XX", "#text": "Paris"}
    assert weather["Temperature"] == {"@unit": "C", "#text": "21"}, "values stay strings"
    assert weather["Forecast"]["Day"] == [
        {"@name": "Mon", "#text": "Sunny"},
        {"@name": "Tue", "#text": "Rain"},
    ]
    seen = weather["Seen"]
    assert seen["@action"] == '"GetWeather"'
    assert seen["@contentType"].startswith("text/xml")


def test_soap_request_goes_to_the_target_not_the_client_path_or_query(gw):
    seen = _json(gw.get("/soap/weather/Paris?debug=1&city=Rome"))["GetWeatherResponse"]["Seen"]
    assert seen["@path"] == "/soap"
    assert seen["@query"] == ""


def test_soap_fault_is_a_502_problem_with_the_fault_string(gw):
    body = assert_problem(gw.get("/soap/weather/Atlantis"), 502, "upstream-fault")
    assert "Unknown city: Atlantis" in body["detail"], body


def test_city_is_percent_decoded_then_xml_escaped(gw):
    # The backend parses the envelope and echoes the city it read: any
    # escaping mistake is a 400 from the backend or a different city.
    body = _json(gw.get("/soap/weather/a%3C%26%3E%22%27%5D%5D%3Eb%20c"))
    assert body["GetWeatherResponse"]["City"]["#text"] == "a<&>\"']]>b c"


def test_markup_in_a_city_cannot_inject_elements(gw):
    # (%2F is refused in any path, so no closing tag: an opening one must do)
    body = _json(gw.get("/soap/weather/%3CCity%3EAtlantis%3C!--"))
    assert body["GetWeatherResponse"]["City"]["#text"] == "<City>Atlantis<!--"


def test_graphql_data_is_unwrapped(gw):
    body = _json(gw.get("/graphql/products/p1"))
    product = body["product"]
    assert product["id"] == "p1" and product["name"] == "Product p1" and product["price"] == 9.5
    assert product["seen"]["variables"] == {"id": "p1", "qty": None}


def test_graphql_variables_are_typed_by_the_query(gw):
    seen = _json(gw.get("/graphql/products/42?qty=3"))["product"]["seen"]
    qty = seen["variables"]["qty"]
    assert qty == 3 and isinstance(qty, int) and not isinstance(qty, bool), seen
    assert seen["variables"]["id"] == "42", "an ID stays a string"


def test_graphql_variable_of_the_wrong_type_is_400(gw):
    body = assert_problem(gw.get("/graphql/products/42?qty=lots"), 400, "bad-request")
    assert "qty" in body["detail"], body


def test_graphql_string_values_are_json_escaped(gw):
    # (%5C and control characters are refused in any path)
    seen = _json(gw.get("/graphql/products/a%22b%7D%C3%A9%20c"))["product"]["seen"]
    assert seen["variables"]["id"] == 'a"b}\u00e9 c'


def test_graphql_request_goes_to_the_target_not_the_client_path_or_query(gw):
    seen = _json(gw.get("/graphql/products/p1?qty=1&debug=1"))["product"]["seen"]
    assert seen["path"] == "/graphql"
    assert seen["query"] == ""


def test_graphql_errors_are_a_502_problem_listing_the_messages(gw):
    body = assert_problem(gw.get("/graphql/products/missing"), 502, "upstream-fault")
    assert "product missing not found" in body["detail"], body
    assert "catalog lookup failed" in body["detail"], body


def test_translated_routes_answer_only_their_methods(gw):
    resp = gw.request("POST", "/soap/weather/Paris", body=b"<x/>")
    assert_problem(resp, 405, "method-not-allowed")
