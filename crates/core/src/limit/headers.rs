//! The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10)
//! as structured-field lists, one item per applying policy:
//! `RateLimit-Policy: "route";q=20;w=60` and `RateLimit: "route";r=7;t=41`.
//! Built with `sfv`, so names are quoted and escaped as RFC 9651 requires.

use http::HeaderValue;
use sfv::{Integer, KeyRef, ListSerializer, StringRef};
use std::time::Duration;

/// The `RateLimit-Policy` and `RateLimit` values one answer carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimitHeaders {
    pub policy: Option<HeaderValue>,
    pub state: Option<HeaderValue>,
}

/// One policy as `RateLimit-Policy` announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyItem<'a> {
    /// The item's name: `route`, `plan` or `quota` (spec §7).
    pub name: &'a str,
    /// `q`: the quota (requests per window).
    pub quota: u64,
    /// `w`: the window in seconds.
    pub window_secs: u64,
}

/// One policy's state as `RateLimit` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateItem<'a> {
    /// The item's name: `route`, `plan` or `quota` (spec §7).
    pub name: &'a str,
    /// `r`: requests left.
    pub remaining: u64,
    /// `t`: seconds until the quota is restored.
    pub reset_secs: u64,
}

/// Seconds for `t`, `w` and `Retry-After`: rounded up, so a client that
/// waits them is never early.
pub fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn int(v: u64) -> Integer {
    // Structured-field integers stop at 15 digits; no real limit is near that.
    Integer::try_from(v.min(999_999_999_999_999)).unwrap_or(Integer::MAX)
}

fn list(items: impl Iterator<Item = (&'static str, u64, &'static str, u64, String)>) -> Option<HeaderValue> {
    let mut ser = ListSerializer::new();
    for (k1, v1, k2, v2, name) in items {
        let Ok(name) = StringRef::from_str(&name) else { continue };
        ser.bare_item(name).parameter(KeyRef::constant(k1), int(v1)).parameter(KeyRef::constant(k2), int(v2));
    }
    ser.finish().and_then(|s| HeaderValue::from_str(&s).ok())
}

/// The `RateLimit-Policy` value; `None` when there is no policy (or no
/// name that can be written).
pub fn policy_header(items: &[PolicyItem<'_>]) -> Option<HeaderValue> {
    list(items.iter().map(|i| ("q", i.quota, "w", i.window_secs, i.name.to_owned())))
}

/// The `RateLimit` value; `None` when there is no policy.
pub fn state_header(items: &[StateItem<'_>]) -> Option<HeaderValue> {
    list(items.iter().map(|i| ("r", i.remaining, "t", i.reset_secs, i.name.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfv::{BareItem, ListEntry, Parser};

    /// Parses a header back: (name, [(param, integer)]) per item.
    fn parse(v: &HeaderValue) -> Vec<(String, Vec<(String, i64)>)> {
        let list: sfv::List = Parser::new(v.to_str().expect("ascii")).parse().expect("a structured-field list");
        list.into_iter()
            .map(|entry| match entry {
                ListEntry::Item(item) => {
                    let BareItem::String(name) = item.bare_item else { panic!("names are strings") };
                    let params = item
                        .params
                        .iter()
                        .map(|(k, v)| match v {
                            BareItem::Integer(i) => (k.as_str().to_owned(), i64::from(*i)),
                            other => panic!("integer parameters only, got {other:?}"),
                        })
                        .collect();
                    (name.as_str().to_owned(), params)
                }
                ListEntry::InnerList(_) => panic!("no inner lists"),
            })
            .collect()
    }

    #[test]
    fn policy_and_state_serialise_as_the_spec_shows() {
        let policy = policy_header(&[
            PolicyItem { name: "route", quota: 20, window_secs: 60 },
            PolicyItem { name: "quota", quota: 1000, window_secs: 86_400 },
        ])
        .expect("value");
        assert_eq!(policy, "\"route\";q=20;w=60, \"quota\";q=1000;w=86400");
        let state = state_header(&[StateItem { name: "route", remaining: 7, reset_secs: 41 }]).expect("value");
        assert_eq!(state, "\"route\";r=7;t=41");
        assert_eq!(parse(&state), vec![("route".to_owned(), vec![("r".to_owned(), 7), ("t".to_owned(), 41)])]);
    }

    #[test]
    fn names_are_escaped_and_values_stay_integers() {
        let v = state_header(&[StateItem { name: "a \"b\"\\c", remaining: u64::MAX, reset_secs: 0 }]).expect("value");
        let parsed = parse(&v);
        assert_eq!(parsed[0].0, "a \"b\"\\c");
        assert_eq!(parsed[0].1, vec![("r".to_owned(), 999_999_999_999_999), ("t".to_owned(), 0)]);
        assert_eq!(
            state_header(&[StateItem { name: "é", remaining: 1, reset_secs: 1 }]),
            None,
            "not writable: left out"
        );
        assert_eq!(policy_header(&[]), None);
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(0)), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(41_000)), 41);
        assert_eq!(whole_seconds(Duration::from_micros(41_000_001)), 42);
    }
}
