//! `translate.request.soap`: a SOAP 1.1 envelope around the route's body
//! template (values XML-escaped where they land), sent as POST with
//! `Content-Type: text/xml; charset=utf-8` and `SOAPAction: "<action>"`.

use super::Outgoing;
use crate::config::SoapConfig;
use crate::error::GatewayError;
use crate::template::{Inputs, Landing, Template};
use bytes::Bytes;
use http::HeaderValue;
use quick_xml::Reader;
use quick_xml::events::Event;

const ENVELOPE_START: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>";
const ENVELOPE_END: &str = "</soap:Body></soap:Envelope>";

#[derive(Debug, Clone)]
pub(crate) struct SoapRequest {
    action: HeaderValue,
    body: Template,
}

impl SoapRequest {
    pub(crate) fn needs_identity(&self) -> bool {
        self.body.needs_identity()
    }
}

/// A stand-in for every placeholder when the body template is checked: text
/// that is fine in XML text and attribute values, and breaks a tag or
/// attribute name (so a placeholder there is reported).
const PROBE: &str = "x y&<\"";

/// Whether `xml` (a Body's content) is well-formed: balanced tags, valid
/// attributes, known entities, no DOCTYPE.
fn well_formed(xml: &str) -> Result<(), String> {
    let wrapped = format!("<body>{xml}</body>");
    let mut reader = Reader::from_str(&wrapped);
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) => {
                for attr in e.attributes() {
                    attr.map_err(|e| e.to_string())?;
                }
            }
            Event::GeneralRef(r) => {
                let name: &str = &r;
                if !r.is_char_ref() && quick_xml::escape::resolve_xml_entity(name).is_none() {
                    return Err(format!("unknown entity `&{name};`"));
                }
                r.resolve_char_ref().map_err(|e| e.to_string())?;
            }
            Event::DocType(_) => return Err("a DOCTYPE is not allowed".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}

/// The template with every `{placeholder}` replaced by the escaped probe.
fn probe_render(template: &str) -> String {
    let probe = quick_xml::escape::escape(PROBE);
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str(&probe);
        rest = rest[open..].find('}').map_or("", |close| &rest[open + close + 1..]);
    }
    out.push_str(rest);
    out
}

pub(crate) fn compile(cfg: &SoapConfig, params: &[String]) -> Result<SoapRequest, Vec<String>> {
    let mut errors = Vec::new();
    let action = HeaderValue::from_str(&format!("\"{}\"", cfg.action))
        .ok()
        .filter(|_| !cfg.action.contains('"'))
        .ok_or_else(|| errors.push(format!("soap.action `{}` cannot be a SOAPAction header value", cfg.action)));
    let body = Template::parse(&cfg.body, params).map_err(|e| errors.push(format!("soap.body: {e}")));
    if body.is_ok()
        && let Err(e) = well_formed(&probe_render(&cfg.body))
    {
        errors.push(format!("soap.body is not well-formed XML (placeholders only in text and attribute values): {e}"));
    }
    match (action, body) {
        (Ok(action), Ok(body)) if errors.is_empty() => Ok(SoapRequest { action, body }),
        _ => Err(errors),
    }
}

/// Whether `c` may appear in an XML 1.0 document at all (escaped or not).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl SoapRequest {
    pub(crate) fn build(&self, inputs: &Inputs<'_>) -> Result<Outgoing, GatewayError> {
        let body = self
            .body
            .render(inputs, Landing::Xml)
            .ok_or_else(|| GatewayError::BadRequest("A value could not be placed in the SOAP request.".into()))?;
        if !body.chars().all(xml_char) {
            return Err(GatewayError::BadRequest("A value holds a character that XML cannot carry.".into()));
        }
        Ok(Outgoing {
            body: Bytes::from(format!("{ENVELOPE_START}{body}{ENVELOPE_END}")),
            content_type: HeaderValue::from_static("text/xml; charset=utf-8"),
            accept: HeaderValue::from_static("text/xml, application/soap+xml"),
            soap_action: Some(self.action.clone()),
        })
    }
}
