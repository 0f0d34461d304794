//! Where a credential is read from (the configured header or query parameter
//! only) and the ambiguity rules: two `Authorization` headers, or a token in
//! two places at once, is a 400, never a guess.

pub(crate) use crate::identity::Source;
use crate::uri::query_values;
use http::{HeaderMap, header};

/// What a request holds at one source.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Extracted {
    None,
    One(String),
    Ambiguous(&'static str),
}

fn from_query(query: Option<&str>, name: &str) -> Extracted {
    let values = query_values(query, name);
    match values.as_slice() {
        [] => Extracted::None,
        [one] if one.is_empty() => Extracted::None,
        [one] => Extracted::One(one.clone()),
        _ => Extracted::Ambiguous("The credential parameter appears more than once."),
    }
}

fn bearer(headers: &HeaderMap) -> Extracted {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let Some(first) = all.next() else { return Extracted::None };
    if all.next().is_some() {
        return Extracted::Ambiguous("The request carries more than one Authorization header.");
    }
    let Ok(text) = first.to_str() else { return Extracted::One(String::new()) };
    let text = text.trim();
    match text.split_once(' ') {
        // A token never holds a comma: this is two Authorization lines that a
        // platform (workerd) joined into one value.
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && token.contains(',') => {
            Extracted::Ambiguous("The request carries more than one Authorization header.")
        }
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Extracted::One(token.trim().to_owned()),
        // Another scheme (Basic, …) is not a bearer credential.
        _ => Extracted::None,
    }
}

/// Reads the credential for `source`.
pub(crate) fn extract(source: &Source, headers: &HeaderMap, query: Option<&str>) -> Extracted {
    match source {
        Source::Bearer { also_query } => {
            let from_header = bearer(headers);
            let from_param = also_query.as_deref().map_or(Extracted::None, |q| from_query(query, q));
            match (from_header, from_param) {
                (Extracted::Ambiguous(w), _) | (_, Extracted::Ambiguous(w)) => Extracted::Ambiguous(w),
                (Extracted::One(_), Extracted::One(_)) => {
                    Extracted::Ambiguous("The token is sent both in the Authorization header and in the query.")
                }
                (Extracted::One(t), Extracted::None) | (Extracted::None, Extracted::One(t)) => Extracted::One(t),
                (Extracted::None, Extracted::None) => Extracted::None,
            }
        }
        Source::Header(name) => {
            let mut all = headers.get_all(name).iter();
            match (all.next(), all.next()) {
                (None, _) => Extracted::None,
                (Some(_), Some(_)) => Extracted::Ambiguous("The credential header appears more than once."),
                (Some(v), None) => match v.to_str() {
                    Ok(s) if s.trim().is_empty() => Extracted::None,
                    Ok(s) => Extracted::One(s.trim().to_owned()),
                    Err(_) => Extracted::One(String::new()),
                },
            }
        }
        Source::Query(name) => from_query(query, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn bearer_sources() {
        let plain = Source::Bearer { also_query: None };
        let with_query = Source::Bearer { also_query: Some("access_token".into()) };
        let cases: Vec<(&Source, HeaderMap, Option<&str>, Extracted)> = vec![
            (&plain, headers(&[("authorization", "Bearer abc")]), None, Extracted::One("abc".into())),
            (&plain, headers(&[("authorization", "bearer  abc ")]), None, Extracted::One("abc".into())),
            (&plain, headers(&[("authorization", "Basic dXNlcjpw")]), None, Extracted::None),
            (&plain, headers(&[]), Some("access_token=abc"), Extracted::None),
            (
                &plain,
                headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]),
                None,
                Extracted::Ambiguous(""),
            ),
            (&plain, headers(&[("authorization", "Bearer a, Bearer b")]), None, Extracted::Ambiguous("")),
            (&with_query, headers(&[]), Some("access_token=abc"), Extracted::One("abc".into())),
            (&with_query, headers(&[("authorization", "Bearer a")]), Some("access_token=b"), Extracted::Ambiguous("")),
            (&with_query, headers(&[]), Some("access_token=a&access_token=b"), Extracted::Ambiguous("")),
        ];
        for (source, h, q, want) in cases {
            let got = extract(source, &h, q);
            match (&got, &want) {
                (Extracted::Ambiguous(_), Extracted::Ambiguous(_)) => {}
                _ => assert_eq!(got, want, "{source:?} {h:?} {q:?}"),
            }
        }
    }

    #[test]
    fn header_and_query_keys() {
        let header = Source::Header(HeaderName::from_static("x-api-key"));
        assert_eq!(extract(&header, &headers(&[("x-api-key", "k1")]), None), Extracted::One("k1".into()));
        assert_eq!(extract(&header, &headers(&[("x-api-key", "")]), None), Extracted::None);
        assert!(matches!(
            extract(&header, &headers(&[("x-api-key", "a"), ("x-api-key", "b")]), None),
            Extracted::Ambiguous(_)
        ));
        assert_eq!(extract(&header, &headers(&[]), Some("x-api-key=k")), Extracted::None, "only the configured place");
        let query = Source::Query("api_key".into());
        assert_eq!(extract(&query, &headers(&[]), Some("a=1&api_key=k%2B1")), Extracted::One("k+1".into()));
        assert_eq!(extract(&query, &headers(&[("api_key", "k")]), None), Extracted::None);
    }
}
