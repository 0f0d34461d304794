//! How the payload types read fields leniently: a field whose value is only
//! reported (a function error's type and message) reads as absent when it
//! holds another type; a `null` flag reads as `false`.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

/// `deserialize_with` for a field that is only reported: its value, or
/// `None` when it is missing, `null` or of another type.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// `deserialize_with` for a flag: `null` reads as `false`.
pub fn null_as_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "lenient")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "null_as_false")]
        flag: bool,
    }

    #[test]
    fn other_types_read_as_absent_and_null_flags_as_false() {
        for (json, n) in [(r#"{"n":5}"#, Some(5)), (r#"{"n":"5"}"#, None), (r#"{"n":-1.5}"#, None), ("{}", None)] {
            let probe: Probe = serde_json::from_str(json).expect("reads");
            assert_eq!(probe.n, n, "{json}");
        }
        let probe: Probe = serde_json::from_str(r#"{"n":{"deep":[1]},"flag":null}"#).expect("reads");
        assert_eq!((probe.n, probe.flag), (None, false));
        assert!(serde_json::from_str::<Probe>(r#"{"flag":"true"}"#).is_err(), "a flag of another type is an error");
    }
}
