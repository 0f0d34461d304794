//! URI helpers every feature shares, with no other crate module below them:
//! path normalisation (the first stage of the pipeline) and query-string
//! reading and escaping (`application/x-www-form-urlencoded` rules, as
//! backends read them).

pub mod normalize;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str};

/// Characters that cannot stand raw in a URI path (RFC 3986); `%` is not
/// among them: in a path that is already encoded it starts an escape.
pub const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters escaped in a value placed as one path segment: a `%`, `/` or
/// `;` in the value must not become an escape, a separator or a matrix
/// parameter.
pub const SEGMENT: &AsciiSet = &PATH.add(b'%').add(b'/').add(b';');

/// Characters escaped in a query name or value.
pub const QUERY_COMPONENT: &AsciiSet = &PATH.remove(b'?').add(b'%').add(b'&').add(b'+').add(b'=');

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

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
    fn the_escape_sets_are_the_characters_of_their_place() {
        use percent_encoding::utf8_percent_encode as enc;
        assert_eq!(enc("a b/c;d%e?f#g", SEGMENT).to_string(), "a%20b%2Fc%3Bd%25e%3Ff%23g");
        assert_eq!(enc("/a b/%41?", PATH).to_string(), "/a%20b/%41%3F");
        assert_eq!(enc("a=b&c+d?e%f", QUERY_COMPONENT).to_string(), "a%3Db%26c%2Bd?e%25f");
        assert_eq!(enc("a-b.c_d~e/f", NOT_UNRESERVED).to_string(), "a-b.c_d~e%2Ff");
    }

    #[test]
    fn one_component_decodes_like_a_form() {
        assert_eq!(decode_query_component("a+b%20c"), "a b c");
        assert_eq!(decode_query_component("%zz"), "%zz");
    }
}
