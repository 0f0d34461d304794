//! Durations as written in configs: `250ms`, `30s`, `1m`, `1h`, `1d`.

use serde::de::{self, Deserialize, Deserializer};
use std::time::Duration;

/// A duration read from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigDuration(pub Duration);

/// Parses `<digits><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || format!("`{text}` is not a duration: use a whole number and a unit, like 250ms, 30s, 1m, 1h or 1d");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    let ms = n
        .checked_mul(ms_per)
        .filter(|ms| *ms <= 366 * 86_400_000)
        .ok_or_else(|| format!("`{text}` is too long (at most 366d)"))?;
    Ok(Duration::from_millis(ms))
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as 250ms, 30s, 1m, 1h or 1d")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                parse_duration(v).map(ConfigDuration).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse() {
        for (text, ms) in
            [("250ms", 250), ("30s", 30_000), ("1m", 60_000), ("1h", 3_600_000), ("1d", 86_400_000), ("0s", 0)]
        {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_text() {
        for text in ["", "10", "s", "1.5s", "-1s", "10 sec", "1w", "99999999999999999999s", "400d"] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains(text.trim()), "{err}");
        }
    }
}
