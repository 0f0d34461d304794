//! URI helpers every feature shares, with no other crate module below them:
//! path normalisation (the first stage of the pipeline) and query-string
//! reading and escaping (`application/x-www-form-urlencoded` rules, as
//! backends read them).

pub mod normalize;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str};

/// Characters that must be escaped inside a query name or value.
pub(crate) const QUERY_COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Decodes `+` and percent escapes of one query component (a name or a value).
pub(crate) fn decode_query_component(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    percent_decode_str(&plus).decode_utf8_lossy().into_owned()
}

/// Every value of query parameter `name`, decoded, in order.
pub(crate) fn query_values(query: Option<&str>, name: &str) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The first value of query parameter `name`, decoded.
pub(crate) fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode_plus_and_escapes_and_keep_order() {
        let q = Some("a=1&b=x+y&a=%32&c&a=%FF");
        assert_eq!(query_values(q, "a"), vec!["1", "2", "\u{fffd}"]);
        assert_eq!(query_value(q, "b").as_deref(), Some("x y"));
        assert_eq!(query_value(q, "c").as_deref(), Some(""));
        assert_eq!(query_value(q, "d"), None);
        assert_eq!(query_values(Some("%61=1&a+=2"), "a"), vec!["1"]);
        assert_eq!(query_values(None, "a"), Vec::<String>::new());
    }

    #[test]
    fn one_component_decodes_like_a_form() {
        assert_eq!(decode_query_component("a+b%20c"), "a b c");
        assert_eq!(decode_query_component("%zz"), "%zz");
    }
}
