//! Durations written as `30s`, `5m`, `1h30m`, `250ms`, `2d` (no fractions).

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration in milliseconds, written in YAML as e.g. `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub u64);

/// The pattern of a duration string (also used in the JSON Schema).
pub const DURATION_PATTERN: &str = "^([0-9]+(ms|s|m|h|d))+$";

impl Duration {
    /// Milliseconds.
    #[must_use]
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Parses `1h30m`-style text.
    ///
    /// # Errors
    /// A message naming the bad text when it is not a duration.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid duration `{text}` (expected e.g. `30s`, `5m`, `1h30m`, `250ms`)");
        let mut total: u64 = 0;
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let (unit, len) = if rest.starts_with("ms") {
                (1, 2)
            } else {
                match rest.bytes().next() {
                    Some(b's') => (1_000, 1),
                    Some(b'm') => (60_000, 1),
                    Some(b'h') => (3_600_000, 1),
                    Some(b'd') => (86_400_000, 1),
                    _ => return Err(bad()),
                }
            };
            rest = &rest[len..];
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        for (unit, name) in [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
            (1, "ms"),
        ] {
            if ms >= unit {
                write!(f, "{}{name}", ms / unit)?;
                ms %= unit;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as `30s`, `5m`, `1h30m`, `250ms`, `2d`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(Duration::parse("1h30m").unwrap().0, 5_400_000);
        assert_eq!(Duration::parse("250ms").unwrap().0, 250);
        assert_eq!(Duration::parse("2d").unwrap().to_string(), "2d");
        assert_eq!(Duration(5_400_500).to_string(), "1h30m500ms");
        for bad in ["", "10", "m", "1.5s", "10x", "-1s"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
    }
}
