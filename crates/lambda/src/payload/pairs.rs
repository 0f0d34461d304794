//! [`Pairs`]: a JSON object as its entries in document order, `null` read as
//! empty. Header and query maps of events use it, so that nothing is
//! reordered between the platform and the core.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// A JSON object as its entries in document order; `null` reads as empty.
/// Written as an object with the entries in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairs<T>(pub Vec<(String, T)>);

impl<T> Pairs<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }
}

impl<T> Default for Pairs<T> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<T> FromIterator<(String, T)> for Pairs<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(entries: I) -> Self {
        Pairs(entries.into_iter().collect())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pairs<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for PairsVisitor<T> {
            type Value = Pairs<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or null")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // The hint is the sender's claim: bounded, so that it cannot reserve memory by itself.
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }
        }

        deserializer.deserialize_option(PairsVisitor(PhantomData))
    }
}

impl<T: Serialize> Serialize for Pairs<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_order_and_duplicates_are_kept_and_null_is_empty() {
        let pairs: Pairs<String> = serde_json::from_str(r#"{"b":"1","a":"2","b":"3"}"#).expect("object");
        assert_eq!(pairs.iter().collect::<Vec<_>>(), [("b", &"1".to_owned()), ("a", &"2".into()), ("b", &"3".into())]);
        assert_eq!(serde_json::to_string(&pairs).expect("json"), r#"{"b":"1","a":"2","b":"3"}"#);
        let empty: Pairs<String> = serde_json::from_str("null").expect("null");
        assert!(empty.is_empty());
        assert_eq!(serde_json::to_string(&empty).expect("json"), "{}");
        assert!(serde_json::from_str::<Pairs<String>>("[]").is_err());
        assert!(serde_json::from_str::<Pairs<String>>(r#"{"a":1}"#).is_err());
    }
}
