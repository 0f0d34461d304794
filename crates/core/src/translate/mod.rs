//! Protocol translation (`translate`, spec §3 and §7): the request rebuilt as
//! a SOAP 1.1 or GraphQL POST from templates, and the upstream's answer
//! interpreted (XML → JSON, GraphQL `data`) instead of passed through. A SOAP
//! Fault or GraphQL `errors` becomes `UpstreamFault` (502), garbage
//! `UpstreamBadResponse` (502).

mod graphql;
mod soap;
mod xml_json;

use crate::config::{TranslateConfig, TranslateResponse};
use crate::error::GatewayError;
use crate::template::Inputs;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

/// Answers larger than this are not interpreted (a 2xx one is a 502).
pub(crate) const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Fault strings and error lists are cut to this many characters.
const MAX_DETAIL_CHARS: usize = 1024;

/// What the upstream's answer means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Json(serde_json::Value),
    /// A SOAP Fault or GraphQL `errors`: the text for the client.
    Fault(String),
}

/// Why an answer could not be interpreted (logged, never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

/// `text` cut to [`MAX_DETAIL_CHARS`] characters.
pub(crate) fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The translated request's body and representation headers.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub body: Bytes,
    pub content_type: HeaderValue,
    pub accept: HeaderValue,
    /// `SOAPAction` (quoted), for SOAP.
    pub soap_action: Option<HeaderValue>,
}

impl Outgoing {
    /// Replaces the client's representation headers (`Content-*`, `Accept`,
    /// `Accept-Encoding`, `SOAPAction`) with the translated request's; the answer is asked for
    /// unencoded, so that the gateway can read it.
    pub(crate) fn apply(&self, headers: &mut http::HeaderMap) {
        let stale: Vec<header::HeaderName> = headers
            .keys()
            .filter(|k| {
                k.as_str().starts_with("content-") || [header::ACCEPT, header::ACCEPT_ENCODING, SOAP_ACTION].contains(k)
            })
            .cloned()
            .collect();
        for name in stale {
            headers.remove(name);
        }
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::ACCEPT, self.accept.clone());
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        if let Some(action) = &self.soap_action {
            headers.insert(SOAP_ACTION, action.clone());
        }
    }
}

const SOAP_ACTION: header::HeaderName = header::HeaderName::from_static("soapaction");

#[derive(Debug, Clone)]
enum RequestKind {
    Soap(soap::SoapRequest),
    Graphql(graphql::GraphqlRequest),
}

/// A route's compiled `translate`.
#[derive(Debug, Clone)]
pub(crate) struct Translate {
    request: Option<RequestKind>,
    response: Option<TranslateResponse>,
}

/// Compiles `translate`; `params` are the route's path parameters.
pub(crate) fn compile(cfg: &TranslateConfig, params: &[String]) -> Result<Translate, Vec<String>> {
    let mut errors = Vec::new();
    let request = match &cfg.request {
        None => None,
        Some(r) => match (&r.soap, &r.graphql) {
            (Some(s), None) => soap::compile(s, params).map(RequestKind::Soap).map_err(|e| errors.extend(e)).ok(),
            (None, Some(g)) => graphql::compile(g, params).map(RequestKind::Graphql).map_err(|e| errors.extend(e)).ok(),
            (Some(_), Some(_)) => {
                errors.push("`request` takes one of `soap` and `graphql`, not both".into());
                None
            }
            (None, None) => {
                errors.push("`request` needs `soap` or `graphql`".into());
                None
            }
        },
    };
    match (&cfg.request, cfg.response) {
        (None, None) => errors.push("needs a `request` or a `response`".into()),
        (Some(r), Some(TranslateResponse::GraphqlData)) if r.soap.is_some() && r.graphql.is_none() => {
            errors.push("a SOAP request answers XML: use `response: xml_to_json`".into())
        }
        (Some(r), Some(TranslateResponse::XmlToJson)) if r.graphql.is_some() && r.soap.is_none() => {
            errors.push("a GraphQL request answers JSON: use `response: graphql_data`".into())
        }
        _ => {}
    }
    if errors.is_empty() { Ok(Translate { request, response: cfg.response }) } else { Err(errors) }
}

impl Translate {
    /// Whether its templates read `{claims.*}` or `{consumer.id}` (the route
    /// then needs `auth`).
    pub(crate) fn needs_identity(&self) -> bool {
        match &self.request {
            None => false,
            Some(RequestKind::Soap(s)) => s.needs_identity(),
            Some(RequestKind::Graphql(g)) => g.needs_identity(),
        }
    }

    /// The translated request's body and headers; `None` when the route only
    /// translates the answer (the request is forwarded as usual).
    pub(crate) fn request(&self, inputs: &Inputs<'_>) -> Result<Option<Outgoing>, GatewayError> {
        match &self.request {
            None => Ok(None),
            Some(RequestKind::Soap(s)) => s.build(inputs).map(Some),
            Some(RequestKind::Graphql(g)) => g.build(inputs).map(Some),
        }
    }

    /// Interprets the upstream's answer. A fault or `errors` (whatever the
    /// status) → `UpstreamFault`; a 2xx → 200 with the JSON, or
    /// `UpstreamBadResponse` when it cannot be read; another status passes
    /// through, with its body translated when it can be, else as it came.
    pub(crate) fn response(&self, resp: Response<Bytes>) -> Result<Response<Bytes>, GatewayError> {
        let Some(kind) = self.response else { return Ok(resp) };
        let success = resp.status().is_success();
        let answer = if resp.body().len() > MAX_ANSWER_BYTES {
            Err(Malformed(format!("larger than {MAX_ANSWER_BYTES} bytes")))
        } else {
            match kind {
                TranslateResponse::XmlToJson => std::str::from_utf8(resp.body())
                    .map_err(|_| Malformed("not UTF-8".into()))
                    .and_then(xml_json::interpret),
                TranslateResponse::GraphqlData => graphql::interpret(resp.body()),
            }
        };
        match answer {
            Ok(Answer::Fault(detail)) => Err(GatewayError::UpstreamFault { detail }),
            Ok(Answer::Json(value)) => {
                let status = if success { StatusCode::OK } else { resp.status() };
                Ok(json_answer(resp, status, &value))
            }
            Err(_) if !success => Ok(resp),
            Err(Malformed(why)) => {
                tracing::warn!(reason = %why, "a translated upstream answered something that cannot be read");
                Err(GatewayError::UpstreamBadResponse)
            }
        }
    }
}

/// The upstream's answer with `value` as its JSON body: its headers kept but
/// those describing the old representation.
fn json_answer(resp: Response<Bytes>, status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let (mut parts, _) = resp.into_parts();
    let stale: Vec<header::HeaderName> = parts
        .headers
        .keys()
        .filter(|k| {
            k.as_str().starts_with("content-")
                || [header::ETAG, header::LAST_MODIFIED, header::ACCEPT_RANGES].contains(k)
        })
        .cloned()
        .collect();
    for name in stale {
        parts.headers.remove(name);
    }
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.status = status;
    Response::from_parts(parts, Bytes::from(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GraphqlConfig, SoapConfig, TranslateRequestConfig};
    use serde_json::json;

    fn soap_cfg(body: &str) -> TranslateConfig {
        TranslateConfig {
            request: Some(TranslateRequestConfig {
                soap: Some(SoapConfig { action: "GetWeather".into(), body: body.into() }),
                graphql: None,
            }),
            response: Some(TranslateResponse::XmlToJson),
        }
    }

    fn graphql_cfg() -> TranslateConfig {
        TranslateConfig {
            request: Some(TranslateRequestConfig {
                soap: None,
                graphql: Some(GraphqlConfig { query: "{ x }".into(), variables: Default::default() }),
            }),
            response: Some(TranslateResponse::GraphqlData),
        }
    }

    fn soap_body(t: &Translate, params: &[(String, String)], headers: &http::HeaderMap) -> String {
        let inputs = Inputs { params, query: Some("q=%3Cq%3E"), headers, identity: None, legs: &[] };
        let out = t.request(&inputs).expect("renders").expect("a request");
        assert_eq!(out.content_type, "text/xml; charset=utf-8");
        assert_eq!(out.soap_action.as_ref().expect("SOAPAction"), "\"GetWeather\"");
        String::from_utf8(out.body.to_vec()).expect("UTF-8")
    }

    #[test]
    fn soap_values_are_xml_escaped_where_they_land() {
        let t = compile(
            &soap_cfg(
                "<GetWeather><City code=\"{city}\">{city}</City><Q>{query.q}</Q><H>{header.x-h}</H></GetWeather>",
            ),
            &["city".into()],
        )
        .expect("compiles");
        let params = vec![("city".to_owned(), "%3C%26%3E%22'%5D%5D%3E".to_owned())];
        let mut headers = http::HeaderMap::new();
        headers.insert("x-h", HeaderValue::from_static("a]]>b&c"));
        let body = soap_body(&t, &params, &headers);
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <soap:Body><GetWeather><City code=\"&lt;&amp;&gt;&quot;&apos;]]&gt;\">&lt;&amp;&gt;&quot;&apos;]]&gt;</City>\
             <Q>&lt;q&gt;</Q><H>a]]&gt;b&amp;c</H></GetWeather></soap:Body></soap:Envelope>"
        );
        assert!(xml_json::parse(&body).is_ok(), "the envelope is well-formed");
        let ctl = vec![("city".to_owned(), "a%01b".to_owned())];
        let inputs = Inputs { params: &ctl, query: None, headers: &headers, identity: None, legs: &[] };
        assert!(matches!(t.request(&inputs), Err(GatewayError::BadRequest(_))));
    }

    #[test]
    fn compile_errors_name_the_problem() {
        let cases: &[(TranslateConfig, &str)] = &[
            (soap_cfg("<GetWeather><City>{town}</City></GetWeather>"), "{town}"),
            (soap_cfg("<GetWeather><City>{city}</GetWeather>"), "well-formed"),
            (soap_cfg("<GetWeather>&nbsp;</GetWeather>"), "well-formed"),
            (soap_cfg("<!DOCTYPE x><x/>"), "well-formed"),
            (soap_cfg("<{city}/>"), "well-formed"),
            (soap_cfg("<a {city}=\"1\"/>"), "well-formed"),
            (TranslateConfig { request: Some(TranslateRequestConfig::default()), response: None }, "needs `soap`"),
            (TranslateConfig::default(), "needs a `request`"),
            (
                TranslateConfig {
                    request: Some(TranslateRequestConfig {
                        soap: Some(SoapConfig { action: "A".into(), body: "<a/>".into() }),
                        graphql: Some(GraphqlConfig { query: "{ x }".into(), variables: Default::default() }),
                    }),
                    response: None,
                },
                "not both",
            ),
            (TranslateConfig { response: Some(TranslateResponse::GraphqlData), ..soap_cfg("<a/>") }, "xml_to_json"),
            (TranslateConfig { response: Some(TranslateResponse::XmlToJson), ..graphql_cfg() }, "graphql_data"),
        ];
        for (cfg, want) in cases {
            let errors = compile(cfg, &["city".into()]).expect_err(want);
            assert!(errors.iter().any(|e| e.contains(want)), "{want}: {errors:?}");
        }
        let bad_action = TranslateConfig {
            request: Some(TranslateRequestConfig {
                soap: Some(SoapConfig { action: "a\"b".into(), body: "<a/>".into() }),
                graphql: None,
            }),
            response: None,
        };
        assert!(compile(&bad_action, &[]).is_err());
        assert!(compile(&soap_cfg("<a x=\"{city}\">{city}<![CDATA[x]]>&amp;&#65;</a><b/>"), &["city".into()]).is_ok());
        assert!(compile(&TranslateConfig { request: None, response: Some(TranslateResponse::XmlToJson) }, &[]).is_ok());
    }

    fn answer(status: u16, body: &str) -> Response<Bytes> {
        Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .header("content-length", body.len())
            .header("etag", "\"1\"")
            .header("x-backend", "b")
            .body(Bytes::from(body.to_owned()))
            .expect("response")
    }

    #[test]
    fn answers_by_status() {
        let t = compile(&soap_cfg("<a/>"), &[]).expect("compiles");
        let ok = t.response(answer(202, "<r><v>1</v></r>")).expect("translated");
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["content-type"], "application/json");
        assert!(!ok.headers().contains_key("etag") && !ok.headers().contains_key("content-length"));
        assert_eq!(ok.headers()["x-backend"], "b");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(ok.body()).expect("json"), json!({"r": {"v": "1"}}));
        let fault =
            "<s:Envelope xmlns:s='u'><s:Body><s:Fault><faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>";
        for status in [200, 500] {
            let err = t.response(answer(status, fault)).expect_err("fault");
            assert_eq!(err, GatewayError::UpstreamFault { detail: "boom".into() });
        }
        let not_found = t.response(answer(404, "<e>missing</e>")).expect("passes");
        assert_eq!((not_found.status().as_u16(), &not_found.body()[..]), (404, &b"{\"e\":\"missing\"}"[..]));
        let html = t.response(answer(503, "<html>down")).expect("passes");
        assert_eq!((html.status().as_u16(), &html.body()[..]), (503, &b"<html>down"[..]));
        assert_eq!(t.response(answer(200, "<html>oops")).err(), Some(GatewayError::UpstreamBadResponse));
        let huge = format!("<a>{}</a>", "x".repeat(MAX_ANSWER_BYTES));
        assert_eq!(t.response(answer(200, &huge)).err(), Some(GatewayError::UpstreamBadResponse));
        let latin1 = Response::builder().body(Bytes::from_static(b"<a>\xe9</a>")).expect("response");
        assert_eq!(t.response(latin1).err(), Some(GatewayError::UpstreamBadResponse));
    }

    #[test]
    fn graphql_answers() {
        let t = compile(&graphql_cfg(), &[]).expect("compiles");
        let ok = t.response(answer(200, r#"{"data": {"product": {"id": "p1"}}}"#)).expect("data");
        assert_eq!(&ok.body()[..], br#"{"product":{"id":"p1"}}"#);
        let err = t.response(answer(200, r#"{"data": null, "errors": [{"message": "no such product"}]}"#)).err();
        assert_eq!(err, Some(GatewayError::UpstreamFault { detail: "GraphQL errors: no such product".into() }));
        assert_eq!(t.response(answer(200, "nope")).err(), Some(GatewayError::UpstreamBadResponse));
    }

    #[test]
    fn details_are_bounded() {
        assert_eq!(bounded("short"), "short");
        let long = "é".repeat(MAX_DETAIL_CHARS + 5);
        assert_eq!(bounded(&long).chars().count(), MAX_DETAIL_CHARS + 1);
    }
}
