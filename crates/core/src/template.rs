//! Placeholder templates (`/internal/users/{id}`, `{query.lang}`,
//! `{header.x-tenant}`), parsed once at compile time and rendered per request
//! with the escaping of the place the value lands in.

use crate::uri::{QUERY_COMPONENT, SEGMENT, query_value};
use http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(String),
    Param(String),
    Query(String),
    Header(http::HeaderName),
    Claim(String),
    ConsumerId,
    /// `{BACKEND.FIELD.…}`: a field of another aggregation leg's answer.
    Leg {
        backend: String,
        field: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// Where a rendered value lands; decides its escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landing {
    /// A path: route params stay in their (already valid) encoded form; other
    /// values are percent-encoded as one segment.
    Path,
    /// A query value: percent-encoded as a query component.
    Query,
    /// A header value: decoded text; the caller rejects control characters.
    Header,
    /// XML text or an attribute value: decoded text, XML-escaped.
    Xml,
    /// A JSON string value: decoded text (the caller JSON-encodes it).
    Json,
}

/// What a template can read from the request.
pub(crate) struct Inputs<'a> {
    pub params: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub identity: Option<&'a crate::identity::Identity>,
    /// Answers of the aggregation legs done so far (name → JSON).
    pub legs: &'a [(String, serde_json::Value)],
}

impl<'a> Inputs<'a> {
    /// What the request in `ctx` offers, with the aggregation legs done so far.
    pub(crate) fn of(ctx: &'a crate::request::RequestCtx<'_>, legs: &'a [(String, serde_json::Value)]) -> Self {
        Inputs { params: &ctx.params, query: ctx.query, headers: ctx.headers, identity: ctx.identity.as_ref(), legs }
    }
}

impl Template {
    /// Parses `text`; `params` are the route's path parameters. Errors name
    /// the bad placeholder.
    pub(crate) fn parse(text: &str, params: &[String]) -> Result<Template, String> {
        Self::parse_with_legs(text, params, &[])
    }

    /// Like [`Template::parse`], also accepting `{BACKEND.FIELD}` for the
    /// aggregation legs named in `legs`.
    pub(crate) fn parse_with_legs(text: &str, params: &[String], legs: &[String]) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| format!("unclosed `{{` in `{text}`"))?;
            let name = &after[..close];
            let name = name.strip_prefix('*').unwrap_or(name);
            parts.push(if let Some(q) = name.strip_prefix("query.") {
                if q.is_empty() {
                    return Err(format!("empty query parameter name in `{{{name}}}`"));
                }
                Part::Query(q.to_owned())
            } else if let Some(h) = name.strip_prefix("header.") {
                let header = http::HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| format!("`{h}` in `{{{name}}}` is not a valid header name"))?;
                Part::Header(header)
            } else if let Some(claim) = name.strip_prefix("claims.") {
                if claim.is_empty() {
                    return Err(format!("empty claim name in `{{{name}}}`"));
                }
                Part::Claim(claim.to_owned())
            } else if name == "consumer.id" {
                Part::ConsumerId
            } else if name.starts_with("consumer.") {
                return Err(format!("`{{{name}}}`: only `{{consumer.id}}` is known"));
            } else if params.iter().any(|p| p == name) {
                Part::Param(name.to_owned())
            } else if let Some((backend, field)) = name.split_once('.').filter(|(b, _)| legs.iter().any(|l| l == b)) {
                let field: Vec<String> = field.split('.').map(str::to_owned).collect();
                if field.iter().any(String::is_empty) {
                    return Err(format!("`{{{name}}}`: an empty field name"));
                }
                Part::Leg { backend: backend.to_owned(), field }
            } else {
                let known = if params.is_empty() { "the route path has none".to_owned() } else { params.join(", ") };
                return Err(format!("`{{{name}}}` is not a parameter of the route path ({known})"));
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("unmatched `}}` in `{text}`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// Whether the template reads `{claims.*}` or `{consumer.id}` (needs `auth`).
    pub(crate) fn needs_identity(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Claim(_) | Part::ConsumerId))
    }

    /// The aggregation legs this template reads.
    pub(crate) fn legs(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Leg { backend, .. } => Some(backend.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The `(backend, field)` pairs this template reads.
    pub(crate) fn leg_fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.parts.iter().filter_map(|p| match p {
            Part::Leg { backend, field } => Some((backend.as_str(), field.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The rendered text; `None` when a value would land in a path as a dot
    /// segment (`.` or `..`), which could climb out of the rewritten prefix.
    pub(crate) fn render(&self, inputs: &Inputs<'_>, landing: Landing) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Param(name) => {
                    let raw = inputs.params.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
                    match landing {
                        Landing::Path => out.push_str(raw),
                        Landing::Query => out.extend(utf8_percent_encode(&decode(raw), QUERY_COMPONENT)),
                        Landing::Header | Landing::Json => out.push_str(&decode(raw)),
                        Landing::Xml => out.push_str(&quick_xml::escape::escape(decode(raw).as_str())),
                    }
                }
                Part::Query(name) => {
                    let value = query_value(inputs.query, name).unwrap_or_default();
                    push_escaped(&mut out, &value, landing)?;
                }
                Part::Header(name) => {
                    let value = inputs.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
                    push_escaped(&mut out, value, landing)?;
                }
                Part::Claim(name) => {
                    let value = inputs.identity.and_then(|i| i.claim_str(name)).unwrap_or_default();
                    push_escaped(&mut out, &value, landing)?;
                }
                Part::ConsumerId => {
                    let value = inputs.identity.and_then(|i| i.consumer.as_deref()).unwrap_or("");
                    push_escaped(&mut out, value, landing)?;
                }
                Part::Leg { backend, field } => {
                    let value = inputs
                        .legs
                        .iter()
                        .find(|(name, _)| name == backend)
                        .and_then(|(_, v)| scalar_at(v, field))
                        .unwrap_or_default();
                    push_escaped(&mut out, &value, landing)?;
                }
            }
        }
        Some(out)
    }
}

fn push_escaped(out: &mut String, value: &str, landing: Landing) -> Option<()> {
    match landing {
        Landing::Path if value == "." || value == ".." => return None,
        Landing::Path => out.extend(utf8_percent_encode(value, SEGMENT)),
        Landing::Query => out.extend(utf8_percent_encode(value, QUERY_COMPONENT)),
        Landing::Header | Landing::Json => out.push_str(value),
        Landing::Xml => out.push_str(&quick_xml::escape::escape(value)),
    }
    Some(())
}

/// The scalar at a dotted `field` path of `value`, as text (strings as they
/// are, numbers and booleans printed); `None` for anything else or missing.
pub(crate) fn scalar_at(value: &serde_json::Value, field: &[String]) -> Option<String> {
    let mut at = value;
    for key in field {
        at = match at {
            serde_json::Value::Object(m) => m.get(key)?,
            serde_json::Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match at {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// The parameter names of a matchit path (`/a/{id}/{*rest}` → id, rest).
pub(crate) fn path_params(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        out.push(name.strip_prefix('*').unwrap_or(name).to_owned());
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(params: &'a [(String, String)], query: Option<&'a str>, headers: &'a HeaderMap) -> Inputs<'a> {
        Inputs { params, query, headers, identity: None, legs: &[] }
    }

    #[test]
    fn rewrite_with_params_keeps_their_encoded_form_in_paths() {
        let t = Template::parse("/internal/users/{id}", &["id".into()]).expect("parses");
        let params = vec![("id".to_owned(), "a%20b".to_owned())];
        let h = HeaderMap::new();
        assert_eq!(t.render(&inputs(&params, None, &h), Landing::Path).as_deref(), Some("/internal/users/a%20b"));
    }

    #[test]
    fn query_and_header_values_are_escaped_for_a_path_segment() {
        let t = Template::parse("/x/{query.q}/{header.x-t}", &[]).expect("parses");
        let mut h = HeaderMap::new();
        h.insert("x-t", http::HeaderValue::from_static("a/../b"));
        let out = t.render(&inputs(&[], Some("q=..%2Fadmin&z=1"), &h), Landing::Path);
        assert_eq!(out.as_deref(), Some("/x/..%2Fadmin/a%2F..%2Fb"));
        let dots = t.render(&inputs(&[], Some("q=.."), &h), Landing::Path);
        assert_eq!(dots, None, "a value of `..` must not become a dot segment");
    }

    #[test]
    fn params_land_in_queries_decoded_then_reencoded() {
        let t = Template::parse("{id}", &["id".into()]).expect("parses");
        let params = vec![("id".to_owned(), "a%26b".to_owned())];
        let h = HeaderMap::new();
        assert_eq!(t.render(&inputs(&params, None, &h), Landing::Query).as_deref(), Some("a%26b"));
        assert_eq!(t.render(&inputs(&params, None, &h), Landing::Header).as_deref(), Some("a&b"));
    }

    #[test]
    fn unknown_placeholders_are_errors_naming_the_known_params() {
        let err = Template::parse("/u/{uid}", &["id".into()]).expect_err("unknown");
        assert!(err.contains("{uid}") && err.contains("id"), "{err}");
        assert!(Template::parse("/u/{id", &["id".into()]).is_err());
        assert!(Template::parse("/u/id}", &["id".into()]).is_err());
        assert!(Template::parse("{claims.sub}", &[]).expect("claims").needs_identity());
        assert!(Template::parse("{consumer.plan}", &[]).is_err());
    }

    #[test]
    fn path_params_are_listed() {
        assert_eq!(path_params("/a/{id}/b/{*rest}"), vec!["id".to_owned(), "rest".to_owned()]);
        assert!(path_params("/plain").is_empty());
    }
}
