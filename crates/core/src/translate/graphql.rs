//! `translate.request.graphql` and `translate.response: graphql_data`: a POST
//! of `{"query", "variables"}` whose variables are rendered from placeholders
//! and typed by the query's own variable declarations (`$n: Int` → a JSON
//! number), and the answer's `data` unwrapped or its `errors` reported.

use super::{Answer, Malformed, Outgoing, bounded};
use crate::config::GraphqlConfig;
use crate::error::GatewayError;
use crate::template::{Inputs, Landing, Template};
use bytes::Bytes;
use http::HeaderValue;
use serde_json::{Map, Value};

/// At most this many error messages are listed in the problem's detail.
const MAX_MESSAGES: usize = 10;

/// A declared scalar type that is not a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Int,
    Float,
    Boolean,
}

/// A variable's value: JSON from the config, with string leaves as templates.
#[derive(Debug, Clone)]
enum VarValue {
    Literal(Value),
    /// A string template; typed when the query declares a non-string scalar.
    Text {
        template: Template,
        scalar: Option<Scalar>,
        required: bool,
    },
    Array(Vec<VarValue>),
    Object(Vec<(String, VarValue)>),
}

#[derive(Debug, Clone)]
pub(crate) struct GraphqlRequest {
    query: String,
    variables: Vec<(String, VarValue)>,
}

impl VarValue {
    fn needs_identity(&self) -> bool {
        match self {
            VarValue::Literal(_) => false,
            VarValue::Text { template, .. } => template.needs_identity(),
            VarValue::Array(items) => items.iter().any(VarValue::needs_identity),
            VarValue::Object(fields) => fields.iter().any(|(_, v)| v.needs_identity()),
        }
    }
}

impl GraphqlRequest {
    pub(crate) fn needs_identity(&self) -> bool {
        self.variables.iter().any(|(_, v)| v.needs_identity())
    }
}

/// The declared type of each variable of the query's first operation:
/// `query Q($id: ID!, $n: Int = 3)` → [("id", "ID!"), ("n", "Int")].
fn declared_types(query: &str) -> Vec<(String, String)> {
    let head = query.find('{').map_or(query, |i| &query[..i]);
    let Some(open) = head.find('(') else { return Vec::new() };
    let inner = &head[open + 1..];
    let inner = inner.find(')').map_or(inner, |close| &inner[..close]);
    inner
        .split('$')
        .skip(1)
        .filter_map(|decl| {
            let (name, rest) = decl.split_once(':')?;
            let ty: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '[' | ']' | '!'))
                .collect();
            Some((name.trim().to_owned(), ty))
        })
        .collect()
}

fn scalar_of(ty: &str) -> (Option<Scalar>, bool) {
    let required = ty.ends_with('!');
    let scalar = match ty.trim_end_matches('!') {
        "Int" => Some(Scalar::Int),
        "Float" => Some(Scalar::Float),
        "Boolean" => Some(Scalar::Boolean),
        _ => None,
    };
    (scalar, required)
}

fn compile_value(v: &Value, params: &[String], typed: (Option<Scalar>, bool)) -> Result<VarValue, String> {
    Ok(match v {
        Value::String(s) if s.contains(['{', '}']) || typed.0.is_some() => {
            VarValue::Text { template: Template::parse(s, params)?, scalar: typed.0, required: typed.1 }
        }
        Value::Array(items) => {
            VarValue::Array(items.iter().map(|i| compile_value(i, params, (None, false))).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => VarValue::Object(
            map.iter()
                .map(|(k, i)| compile_value(i, params, (None, false)).map(|c| (k.clone(), c)))
                .collect::<Result<_, _>>()?,
        ),
        other => VarValue::Literal(other.clone()),
    })
}

pub(crate) fn compile(cfg: &GraphqlConfig, params: &[String]) -> Result<GraphqlRequest, Vec<String>> {
    let mut errors = Vec::new();
    if cfg.query.trim().is_empty() {
        errors.push("graphql.query is empty".to_owned());
    }
    let declared = declared_types(&cfg.query);
    let mut variables = Vec::new();
    for (name, value) in &cfg.variables {
        let typed = declared.iter().find(|(n, _)| n == name).map_or((None, false), |(_, ty)| scalar_of(ty));
        match compile_value(value, params, typed) {
            Ok(v) => variables.push((name.clone(), v)),
            Err(e) => errors.push(format!("graphql.variables `{name}`: {e}")),
        }
    }
    if errors.is_empty() { Ok(GraphqlRequest { query: cfg.query.clone(), variables }) } else { Err(errors) }
}

fn bad_variable(name: &str, ty: &str) -> GatewayError {
    GatewayError::BadRequest(format!("The value for GraphQL variable `{name}` is not a valid {ty}."))
}

fn render_value(name: &str, v: &VarValue, inputs: &Inputs<'_>) -> Result<Value, GatewayError> {
    Ok(match v {
        VarValue::Literal(v) => v.clone(),
        VarValue::Array(items) => {
            Value::Array(items.iter().map(|i| render_value(name, i, inputs)).collect::<Result<_, _>>()?)
        }
        VarValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, i)| render_value(name, i, inputs).map(|r| (k.clone(), r)))
                .collect::<Result<Map<_, _>, _>>()?,
        ),
        VarValue::Text { template, scalar, required } => {
            let text = template
                .render(inputs, Landing::Json)
                .ok_or_else(|| GatewayError::BadRequest(format!("GraphQL variable `{name}` could not be built.")))?;
            let Some(scalar) = scalar else { return Ok(Value::String(text)) };
            let text = text.trim();
            if text.is_empty() && !required {
                return Ok(Value::Null);
            }
            match scalar {
                // GraphQL's Int is a signed 32-bit integer.
                Scalar::Int => text.parse::<i32>().map(Value::from).map_err(|_| bad_variable(name, "Int"))?,
                Scalar::Float => text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| bad_variable(name, "Float"))?,
                Scalar::Boolean => match text {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => return Err(bad_variable(name, "Boolean")),
                },
            }
        }
    })
}

impl GraphqlRequest {
    pub(crate) fn build(&self, inputs: &Inputs<'_>) -> Result<Outgoing, GatewayError> {
        let mut variables = Map::new();
        for (name, v) in &self.variables {
            variables.insert(name.clone(), render_value(name, v, inputs)?);
        }
        let body = serde_json::json!({ "query": self.query, "variables": variables });
        Ok(Outgoing {
            body: Bytes::from(body.to_string()),
            content_type: HeaderValue::from_static("application/json"),
            accept: HeaderValue::from_static("application/json"),
            soap_action: None,
        })
    }
}

/// Interprets a GraphQL answer: any `errors` → their messages; else `data`.
pub(crate) fn interpret(body: &[u8]) -> Result<Answer, Malformed> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    let Value::Object(mut map) = value else { return Err(Malformed("not a JSON object".into())) };
    match map.remove("errors") {
        None | Some(Value::Null) => {}
        Some(Value::Array(errors)) if errors.is_empty() => {}
        Some(Value::Array(errors)) => {
            let mut messages: Vec<String> = errors
                .iter()
                .take(MAX_MESSAGES)
                .map(|e| match e.get("message") {
                    Some(Value::String(m)) => m.clone(),
                    _ => "(an error without a message)".to_owned(),
                })
                .collect();
            if errors.len() > MAX_MESSAGES {
                messages.push(format!("and {} more", errors.len() - MAX_MESSAGES));
            }
            return Ok(Answer::Fault(bounded(&format!("GraphQL errors: {}", messages.join("; ")))));
        }
        Some(_) => return Err(Malformed("`errors` is not a list".into())),
    }
    match map.remove("data") {
        Some(Value::Null) | None => Err(Malformed("neither `data` nor `errors`".into())),
        Some(data) => Ok(Answer::Json(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(cfg: &GraphqlConfig, params: &[(String, String)], query: Option<&str>) -> Result<Value, GatewayError> {
        let names: Vec<String> = params.iter().map(|(k, _)| k.clone()).collect();
        let req = compile(cfg, &names).expect("compiles");
        let headers = http::HeaderMap::new();
        let inputs = Inputs { params, query, headers: &headers, identity: None, legs: &[] };
        let out = req.build(&inputs)?;
        assert_eq!(out.content_type, "application/json");
        Ok(serde_json::from_slice(&out.body).expect("the body is JSON"))
    }

    fn cfg(query: &str, variables: Value) -> GraphqlConfig {
        let Value::Object(map) = variables else { panic!("variables must be an object") };
        GraphqlConfig { query: query.into(), variables: map.into_iter().collect() }
    }

    #[test]
    fn declarations_are_read_from_the_query() {
        let q = "query Product($id: ID!, $n: Int = 3, $f: [Float!]!, $ok: Boolean) { product(id: $id) { id } }";
        let want: Vec<(String, String)> = [("id", "ID!"), ("n", "Int"), ("f", "[Float!]!"), ("ok", "Boolean")]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(declared_types(q), want);
        assert!(declared_types("{ product(id: 1) { id } }").is_empty());
    }

    #[test]
    fn variables_are_typed_by_the_query() {
        let c = cfg(
            "query($id: ID!, $qty: Int!, $price: Float, $gift: Boolean, $note: String, $limit: Int) { x }",
            json!({
                "id": "{id}", "qty": "{query.qty}", "price": "{query.price}", "gift": "{query.gift}",
                "note": "{query.note}", "limit": "{query.limit}", "fixed": 5, "nested": {"tags": ["a", "{id}"]},
            }),
        );
        let params = vec![("id".to_owned(), "42".to_owned())];
        let body = build(&c, &params, Some("qty=7&price=1.5&gift=true&note=%22hi%22%20%3C%26%3E")).expect("builds");
        assert_eq!(body["query"], c.query.as_str());
        assert_eq!(
            body["variables"],
            json!({
                "id": "42", "qty": 7, "price": 1.5, "gift": true, "note": "\"hi\" <&>",
                "limit": null, "fixed": 5, "nested": {"tags": ["a", "42"]},
            })
        );
        for bad in ["qty=x", "qty=", "qty=99999999999", "qty=1&price=abc", "qty=1&gift=yes"] {
            let err = build(&c, &params, Some(bad)).expect_err(bad);
            assert!(matches!(err, GatewayError::BadRequest(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn params_are_decoded_and_json_escaped() {
        let c = cfg("query($id: ID!) { x }", json!({"id": "{id}"}));
        let params = vec![("id".to_owned(), "a%22b%5C%0Ac".to_owned())];
        let out = build(&c, &params, None).expect("builds");
        assert_eq!(out["variables"]["id"], "a\"b\\\nc");
    }

    #[test]
    fn compile_errors() {
        let empty = compile(&cfg("  ", json!({})), &[]).expect_err("empty query");
        assert!(empty.iter().any(|e| e.contains("empty")), "{empty:?}");
        let unknown = compile(&cfg("{ x }", json!({"id": "{nope}"})), &["id".into()]).expect_err("unknown");
        assert!(unknown.iter().any(|e| e.contains("{nope}")), "{unknown:?}");
    }

    #[test]
    fn answers_are_interpreted() {
        let data = interpret(br#"{"data": {"product": {"id": "1", "price": 9.5}}}"#).expect("data");
        assert_eq!(data, Answer::Json(json!({"product": {"id": "1", "price": 9.5}})));
        let with_data = interpret(br#"{"data": {"p": null}, "errors": [{"message": "not found"}, {"x": 1}]}"#);
        let Ok(Answer::Fault(detail)) = with_data else { panic!("{with_data:?}") };
        assert!(detail.contains("not found") && detail.contains("without a message"), "{detail}");
        let only_errors = interpret(br#"{"errors": [{"message": "a"}, {"message": "b"}]}"#).expect("errors");
        assert_eq!(only_errors, Answer::Fault("GraphQL errors: a; b".into()));
        assert_eq!(interpret(br#"{"data": {"a": 1}, "errors": []}"#).expect("ok"), Answer::Json(json!({"a": 1})));
        let many: Vec<Value> = (0..25).map(|i| json!({"message": format!("m{i}")})).collect();
        let many = serde_json::to_vec(&json!({ "errors": many })).expect("json");
        let Ok(Answer::Fault(detail)) = interpret(&many) else { panic!("many") };
        assert!(detail.contains("m9") && !detail.contains("m10") && detail.contains("15 more"), "{detail}");
        for bad in [&b""[..], b"<xml/>", b"[1]", b"{}", b"{\"data\": null}", b"{\"errors\": \"x\"}", b"\xff\xfe"] {
            assert!(interpret(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{{\"data\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(interpret(deep.as_bytes()).is_err(), "serde_json's recursion limit refuses it");
    }
}
