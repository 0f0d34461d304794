//! XML → JSON (spec §7 "XML → JSON") for `translate.response: xml_to_json`:
//! an untrusted upstream answer parsed with quick-xml into a small tree
//! (depth, attributes per element and nodes per document capped, no DOCTYPE,
//! only the five predefined entities and character references), SOAP `Envelope`/`Body` unwrapped, a SOAP 1.1 or 1.2 `Fault`
//! reported with its fault string, anything else converted to JSON.

use super::{Answer, Malformed, bounded};
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use serde_json::{Map, Value};

/// Elements nested deeper than this make the document garbage.
pub(crate) const MAX_DEPTH: usize = 64;
/// Attributes of one element (namespace declarations included): more make
/// the document garbage. See docs/decisions.md (issue 9, finding 12).
pub(crate) const MAX_ATTRIBUTES: usize = 256;
/// Elements and attributes of one document: more make it garbage. Bounds
/// the memory a hostile answer makes the tree and its JSON take.
pub(crate) const MAX_NODES: usize = 200_000;

/// One parsed element: its local name, attributes (local names, namespace
/// declarations left out), child elements and all its own text.
#[derive(Debug, Default)]
pub(crate) struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn malformed(why: impl std::fmt::Display) -> Malformed {
    Malformed(why.to_string())
}

fn element(start: &BytesStart<'_>) -> Result<Element, Malformed> {
    let mut attrs = Vec::new();
    for (n, attr) in start.attributes().enumerate() {
        // Checked before quick-xml reads the next one (and compares its name
        // with those before it): the rest of a hostile tag is never parsed.
        if n >= MAX_ATTRIBUTES {
            return Err(malformed(format!("an element with more than {MAX_ATTRIBUTES} attributes")));
        }
        let attr = attr.map_err(malformed)?;
        let key = attr.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attr.normalized_value(XmlVersion::Implicit1_0).map_err(malformed)?;
        attrs.push((attr.key.local_name().as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element { name: start.local_name().as_ref().to_owned(), attrs, ..Element::default() })
}

/// The text of `&name;`: a character reference or one of the five predefined
/// entities. Anything else (an entity a DTD would define) is refused.
fn reference(r: &BytesRef<'_>) -> Result<String, Malformed> {
    if r.is_char_ref() {
        return match r.resolve_char_ref().map_err(malformed)? {
            Some(c) => Ok(c.to_string()),
            None => Err(malformed("a bad character reference")),
        };
    }
    let name: &str = r;
    resolve_xml_entity(name).map(str::to_owned).ok_or_else(|| malformed(format!("unknown entity `&{name};`")))
}

/// Appends text to the open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(open) => {
            open.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(malformed("text outside the root element")),
    }
}

fn close(done: Element, stack: &mut [Element], root: &mut Option<Element>) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err(malformed("more than one root element")),
    }
    Ok(())
}

/// Adds an element and its attributes to the document's count of nodes.
fn counted(el: Element, nodes: &mut usize) -> Result<Element, Malformed> {
    *nodes = nodes.saturating_add(1 + el.attrs.len());
    if *nodes > MAX_NODES {
        return Err(malformed(format!("more than {MAX_NODES} elements and attributes")));
    }
    Ok(el)
}

/// Parses a whole document into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, Malformed> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(start) => {
                if stack.is_empty() && root.is_some() {
                    return Err(malformed("more than one root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                stack.push(counted(element(&start)?, &mut nodes)?);
            }
            Event::Empty(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                close(counted(element(&start)?, &mut nodes)?, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| malformed("an end tag without a start tag"))?;
                close(done, &mut stack, &mut root)?;
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(malformed("CDATA outside the root element"));
                }
                push_text(&mut stack, &c.xml10_content())?;
            }
            Event::GeneralRef(r) => {
                let text = reference(&r)?;
                if stack.is_empty() {
                    return Err(malformed("a reference outside the root element"));
                }
                push_text(&mut stack, &text)?;
            }
            Event::DocType(_) => return Err(malformed("a DOCTYPE is not accepted")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("an element is not closed"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

/// Adds `value` under `key`; a repeated key becomes an array (values of
/// elements are never arrays themselves, so an array means repetition).
fn insert(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// An element's JSON: its text when it has neither attributes nor children,
/// else an object of `@attributes`, children by local name and `#text`.
fn value(el: &Element) -> Value {
    if el.attrs.is_empty() && el.children.is_empty() {
        return Value::String(el.text.clone());
    }
    let mut map = Map::new();
    for (name, v) in &el.attrs {
        map.entry(format!("@{name}")).or_insert_with(|| Value::String(v.clone()));
    }
    for child in &el.children {
        insert(&mut map, &child.name, value(child));
    }
    let text = if el.children.is_empty() { el.text.as_str() } else { el.text.trim() };
    if !text.trim().is_empty() {
        map.insert("#text".into(), Value::String(text.to_owned()));
    }
    Value::Object(map)
}

/// The fault string of a SOAP 1.1 (`faultstring`) or 1.2 (`Reason/Text`) Fault.
fn fault_string(fault: &Element) -> String {
    let text = fault
        .child("faultstring")
        .or_else(|| fault.child("Reason").and_then(|r| r.child("Text")))
        .map(|e| e.text.trim())
        .filter(|t| !t.is_empty());
    match text {
        Some(t) => bounded(t),
        None => "The upstream answered a SOAP Fault without a reason.".into(),
    }
}

/// Interprets an XML answer: a SOAP Fault, or the JSON of the Body's content
/// (of the root element when the document is not a SOAP Envelope).
pub(crate) fn interpret(text: &str) -> Result<Answer, Malformed> {
    let root = parse(text)?;
    if root.name != "Envelope" {
        let mut map = Map::new();
        map.insert(root.name.clone(), value(&root));
        return Ok(Answer::Json(Value::Object(map)));
    }
    let body = root.child("Body").ok_or_else(|| malformed("a SOAP Envelope without a Body"))?;
    if let Some(fault) = body.child("Fault") {
        return Ok(Answer::Fault(fault_string(fault)));
    }
    let mut map = Map::new();
    for child in &body.children {
        insert(&mut map, &child.name, value(child));
    }
    Ok(Answer::Json(Value::Object(map)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_of(xml: &str) -> Value {
        match interpret(xml) {
            Ok(Answer::Json(v)) => v,
            other => panic!("expected JSON for {xml}: {other:?}"),
        }
    }

    fn fault_of(xml: &str) -> String {
        match interpret(xml) {
            Ok(Answer::Fault(f)) => f,
            other => panic!("expected a fault for {xml}: {other:?}"),
        }
    }

    const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";

    #[test]
    fn conversion_table() {
        let table: &[(&str, Value)] = &[
            ("<a>x</a>", json!({"a": "x"})),
            ("<a/>", json!({"a": ""})),
            ("<a></a>", json!({"a": ""})),
            ("<?xml version=\"1.0\"?><a> x </a>", json!({"a": " x "})),
            ("<a><b>1</b><c>2</c></a>", json!({"a": {"b": "1", "c": "2"}})),
            ("<a><b>1</b><b>2</b><b>3</b></a>", json!({"a": {"b": ["1", "2", "3"]}})),
            ("<a><b>1</b><c/><b>2</b></a>", json!({"a": {"b": ["1", "2"], "c": ""}})),
            ("<a id=\"7\" lang='en'>t</a>", json!({"a": {"@id": "7", "@lang": "en", "#text": "t"}})),
            ("<a id=\"7\"/>", json!({"a": {"@id": "7"}})),
            ("<a id=\"7\">  </a>", json!({"a": {"@id": "7"}})),
            ("<a>\n  <b>1</b>\n</a>", json!({"a": {"b": "1"}})),
            ("<a>hello <b>1</b> world</a>", json!({"a": {"b": "1", "#text": "hello  world"}})),
            ("<p:a xmlns:p=\"urn:x\" p:id=\"1\"><p:b>2</p:b></p:a>", json!({"a": {"@id": "1", "b": "2"}})),
            ("<a xmlns=\"urn:x\"><b>2</b></a>", json!({"a": {"b": "2"}})),
            ("<a><x:b xmlns:x=\"u1\">1</x:b><y:b xmlns:y=\"u2\">2</y:b></a>", json!({"a": {"b": ["1", "2"]}})),
            ("<a><![CDATA[<not> & markup]]></a>", json!({"a": "<not> & markup"})),
            ("<a>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;</a>", json!({"a": "<>&'\"AB"})),
            ("<a v=\"&lt;&amp;&#x43;\"/>", json!({"a": {"@v": "<&C"}})),
            ("<a>1<!-- note -->2</a>", json!({"a": "12"})),
            ("\u{feff}<a>bom</a>", json!({"a": "bom"})),
            ("<a>42</a>", json!({"a": "42"})),
        ];
        for (xml, want) in table {
            assert_eq!(&json_of(xml), want, "{xml}");
        }
    }

    #[test]
    fn soap_envelope_and_body_are_unwrapped() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soap:Envelope xmlns:soap=\"{SOAP11}\">\
             <soap:Header><t:Trace xmlns:t=\"urn:t\">1</t:Trace></soap:Header>\
             <soap:Body><w:GetWeatherResponse xmlns:w=\"urn:weather\">\
             <w:City country=\"FR\">Paris</w:City><w:Day>Mon</w:Day><w:Day>Tue</w:Day>\
             </w:GetWeatherResponse></soap:Body></soap:Envelope>"
        );
        let want = json!({"GetWeatherResponse": {
            "City": {"@country": "FR", "#text": "Paris"},
            "Day": ["Mon", "Tue"],
        }});
        assert_eq!(json_of(&xml), want);
        let empty = format!("<s:Envelope xmlns:s=\"{SOAP11}\"><s:Body/></s:Envelope>");
        assert_eq!(json_of(&empty), json!({}));
        let no_body = format!("<s:Envelope xmlns:s=\"{SOAP11}\"><s:Header/></s:Envelope>");
        assert!(interpret(&no_body).is_err());
    }

    #[test]
    fn soap_faults_give_their_fault_string() {
        let v11 = format!(
            "<soap:Envelope xmlns:soap=\"{SOAP11}\"><soap:Body><soap:Fault>\
             <faultcode>soap:Client</faultcode><faultstring>Unknown city: Atlantis</faultstring>\
             <detail><e>x</e></detail></soap:Fault></soap:Body></soap:Envelope>"
        );
        assert_eq!(fault_of(&v11), "Unknown city: Atlantis");
        let v12 = "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><env:Fault>\
             <env:Code><env:Value>env:Sender</env:Value></env:Code>\
             <env:Reason><env:Text xml:lang=\"en\">Bad &amp; wrong</env:Text><env:Text xml:lang=\"fr\">Faux</env:Text></env:Reason>\
             </env:Fault></env:Body></env:Envelope>";
        assert_eq!(fault_of(v12), "Bad & wrong");
        let bare = format!("<s:Envelope xmlns:s=\"{SOAP11}\"><s:Body><s:Fault/></s:Body></s:Envelope>");
        assert!(fault_of(&bare).contains("without a reason"));
    }

    fn attrs(n: usize, prefix: &str) -> String {
        (0..n).map(|i| format!(" {prefix}{i}=\"v\"")).collect()
    }

    #[test]
    fn attributes_per_element_are_capped() {
        let at_cap = json_of(&format!("<r{}/>", attrs(MAX_ATTRIBUTES, "a")));
        assert_eq!(at_cap["r"].as_object().map(Map::len), Some(MAX_ATTRIBUTES), "all kept at the cap");
        let nested_at_cap = format!("<r><c{}>x</c><c{}/></r>", attrs(MAX_ATTRIBUTES, "a"), attrs(MAX_ATTRIBUTES, "b"));
        assert!(interpret(&nested_at_cap).is_ok());
        let over = MAX_ATTRIBUTES + 1;
        let envelope = |inner: String| {
            format!("<s:Envelope xmlns:s=\"{SOAP11}\"><s:Body><Answer>{inner}</Answer></s:Body></s:Envelope>")
        };
        for bad in [
            format!("<r{}/>", attrs(over, "a")),
            format!("<r{}>x</r>", attrs(over, "a")),
            format!("<r><c{}/></r>", attrs(over, "a")),
            format!("<r{}/>", attrs(over, "xmlns:p")),
            format!("<r{}{}/>", attrs(MAX_ATTRIBUTES, "a"), attrs(1, "xmlns:p")),
            format!("<r{}/>", attrs(100_000, "a")),
            envelope(format!("<Item{}/>", attrs(over, "a"))),
            envelope(format!("<Item{}>1</Item>", attrs(10_000, "p:a"))),
        ] {
            assert!(interpret(&bad).is_err(), "must be refused: {}…", &bad[..80.min(bad.len())]);
        }
    }

    #[test]
    fn nodes_per_document_are_capped() {
        // The root plus MAX_NODES - 1 children: at the cap.
        let at_cap = format!("<r>{}</r>", "<a/>".repeat(MAX_NODES - 1));
        assert!(interpret(&at_cap).is_ok());
        let over = format!("<r>{}</r>", "<a/>".repeat(MAX_NODES));
        assert!(interpret(&over).is_err());
        // Attributes count too: the root and (MAX_NODES - 1) / 2 children of one attribute each.
        let half = (MAX_NODES - 1) / 2;
        let with_attrs = format!("<r>{}</r>", "<a x=\"1\"/>".repeat(half));
        assert!(interpret(&with_attrs).is_ok());
        let with_attrs_over = format!("<r z=\"1\" y=\"2\">{}</r>", "<a x=\"1\"/>".repeat(half));
        assert!(interpret(&with_attrs_over).is_err());
        // Text, comments and references are not nodes.
        let texty = format!("<r>{}</r>", "t&amp;<!--c-->".repeat(MAX_NODES));
        assert!(interpret(&texty).is_ok());
    }

    #[test]
    fn garbage_is_refused() {
        let deep_ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(interpret(&deep_ok).is_ok());
        let too_deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        let empty_too_deep = format!("{}<a/>{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        for bad in [
            "",
            "   ",
            "not xml",
            "{\"json\": true}",
            "<a>",
            "<a></b>",
            "</a>",
            "<a/><b/>",
            "<a/>trailing",
            "<a>&unknown;</a>",
            "<a>&#0;</a>",
            "<a x=\"&foo;\"/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>& b</a>",
            "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>",
            "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a>x</a>",
            "<html><body>502 Bad Gateway</body>",
            too_deep.as_str(),
            empty_too_deep.as_str(),
        ] {
            assert!(interpret(bad).is_err(), "must be refused: {bad:?}");
        }
    }

    proptest! {
        #[test]
        fn no_input_panics(s in "\\PC{0,200}") {
            let _ = interpret(&s);
        }

        #[test]
        fn no_markup_soup_panics(parts in proptest::collection::vec(prop_oneof![
            Just("<a>"), Just("</a>"), Just("<b x='1'>"), Just("</b>"), Just("<c/>"), Just("&amp;"),
            Just("&#x41;"), Just("<![CDATA[x]]>"), Just("<!--c-->"), Just("<!DOCTYPE a>"), Just("text"),
            Just("<s:Envelope xmlns:s='u'>"), Just("<s:Body>"), Just("<s:Fault>"), Just("&"), Just("<"),
        ], 0..40)) {
            let _ = interpret(&parts.concat());
        }
    }
}
