//! `select` (keep only the listed fields; dotted paths keep nested ones) and
//! `extract` (take one field) on a leg's JSON answer. The output never holds
//! a field the allowlist does not name.

use serde_json::{Map, Value};

/// A dotted path: `["address", "city"]`.
pub(crate) type FieldPath = Vec<String>;

pub(crate) fn parse_path(text: &str) -> Option<FieldPath> {
    let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    (!parts.iter().any(String::is_empty)).then_some(parts)
}

/// The value at `path`, if any (array elements by index).
pub(crate) fn get<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |at, key| match at {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn insert(out: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        out.insert(first.clone(), value);
        return;
    }
    let entry = out.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert(inner, rest, value);
    }
}

/// Keeps only `fields` of `value`. A selected path that is missing is left
/// out; a non-object answer becomes `{}` (nothing it holds is allowed).
/// Arrays of objects are selected element by element.
pub(crate) fn select(value: &Value, fields: &[FieldPath]) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| select(v, fields)).collect()),
        Value::Object(_) => {
            let mut out = Map::new();
            for path in fields {
                if let Some(v) = get(value, path) {
                    insert(&mut out, path, v.clone());
                }
            }
            Value::Object(out)
        }
        _ => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(list: &[&str]) -> Vec<FieldPath> {
        list.iter().map(|p| parse_path(p).expect("path")).collect()
    }

    #[test]
    fn select_keeps_only_what_is_named() {
        let v = json!({"id": 1, "name": "Ada", "secret": "x", "address": {"city": "Paris", "street": "y"}});
        assert_eq!(select(&v, &paths(&["id", "address.city"])), json!({"id": 1, "address": {"city": "Paris"}}));
        assert_eq!(select(&v, &paths(&["missing"])), json!({}));
        assert_eq!(select(&json!([{"id": 1, "x": 2}, 3]), &paths(&["id"])), json!([{"id": 1}, {}]));
        assert_eq!(select(&json!("text"), &paths(&["id"])), json!({}));
    }

    #[test]
    fn get_walks_objects_and_arrays() {
        let v = json!({"items": [{"id": 7}]});
        assert_eq!(get(&v, &paths(&["items.0.id"])[0]), Some(&json!(7)));
        assert_eq!(get(&v, &paths(&["items.9.id"])[0]), None);
        assert!(parse_path("a..b").is_none() && parse_path("").is_none());
    }
}
