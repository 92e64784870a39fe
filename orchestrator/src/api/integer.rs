//! Unsigned integer fields of JSON bodies, which may be written with a zero fraction.
//!
//! The OpenAPI document types these fields `integer`, a word OpenAPI 3.1 takes from JSON
//! Schema, where an integer is any number whose fractional part is zero: `4617.0` is one.
//! Clients write such numbers without meaning anything by it (Python's `json.dumps` of a
//! float, JavaScript numbers that went through arithmetic, jq), and every JSON Schema
//! validator accepts them, so the server does too instead of being stricter than its own
//! document (which cannot say "no fraction" anyway). Still refused, with a 400: a real
//! fraction (`4617.5`), a negative number, a value out of the field's range, and a
//! string.
//!
//! A number written with a fraction or an exponent is a 64-bit float, which spells every
//! integer only up to [`MAX_WITH_FRACTION`] (2^53); larger ones are refused, with a hint
//! to write them as plain digits. (serde_json's default float reading is best-effort in
//! the last bit: from 2^52 up, a long spelling such as `9007199254740991.0` can be read
//! one unit off. Its `float_roundtrip` feature would make it exact.)
//!
//! Query strings are text, where `5.0` is not the integer `5`: their integers stay plain
//! digits (serde's own parsing), as the document's query parameters say.
//!
//! Use with `#[serde(deserialize_with = ...)]`: [`number`], or [`opt_number`] for an
//! `Option`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// The largest integer accepted when written with a (zero) fraction or an exponent.
pub const MAX_WITH_FRACTION: u64 = 1 << 53;

/// A JSON number that is a non-negative integer fitting `T`.
pub fn number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Whole(PhantomData))
}

/// [`number`], or `null` (and with `#[serde(default)]`, absent) for `None`.
pub fn opt_number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(Optional(Whole(PhantomData)))
}

/// Accepts integers and integral floats.
struct Whole<T>(PhantomData<T>);

impl<'de, T: TryFrom<u64>> Visitor<'de> for Whole<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer (a zero fraction, as in `5.0`, is allowed)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| {
            E::invalid_value(Unexpected::Unsigned(v), &"an integer in this field's range")
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // NaN and the infinities have no zero fraction; -0.0 is 0.
        let max = MAX_WITH_FRACTION as f64;
        if v.fract() != 0.0 || v < 0.0 {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        } else if v >= 18_446_744_073_709_551_616.0 {
            // 2^64: beyond every field (serde_json reads a longer integer as a float).
            Err(E::invalid_value(
                Unexpected::Float(v),
                &"an integer in this field's range",
            ))
        } else if v > max {
            Err(E::invalid_value(
                Unexpected::Float(v),
                &"at most 2^53 when written with a fraction or an exponent \
                  (write larger integers as plain digits)",
            ))
        } else {
            self.visit_u64(v as u64)
        }
    }
}

/// `None` for `null`, else the inner visitor.
struct Optional<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Optional<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::MAX_WITH_FRACTION;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(deserialize_with = "super::number")]
        n: u64,
        #[serde(default, deserialize_with = "super::opt_number")]
        small: Option<u8>,
    }

    fn body(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn an_integer_may_carry_a_zero_fraction() {
        for (json, n, small) in [
            (r#"{"n": 4617}"#, 4617, None),
            (r#"{"n": 4617.0, "small": 7.0}"#, 4617, Some(7)),
            (r#"{"n": 4.617e3, "small": null}"#, 4617, None),
            (r#"{"n": -0.0, "small": 255}"#, 0, Some(255)),
            (r#"{"n": 9007199254740992.0}"#, MAX_WITH_FRACTION, None),
            (r#"{"n": 18446744073709551615}"#, u64::MAX, None),
        ] {
            let b = body(json).expect(json);
            assert_eq!((b.n, b.small), (n, small), "{json}");
        }
    }

    #[test]
    fn fractions_negatives_strings_and_out_of_range_values_are_refused() {
        for (json, why) in [
            (r#"{"n": 4617.5}"#, "floating point `4617.5`"),
            (r#"{"n": -1}"#, "integer `-1`"),
            (r#"{"n": -1.0}"#, "floating point `-1"),
            (r#"{"n": "4617"}"#, "invalid type: string"),
            (r#"{"n": null}"#, "invalid type: null"),
            (r#"{"n": 18446744073709551616}"#, "this field's range"),
            (r#"{"n": 1, "small": 256}"#, "integer `256`"),
            (r#"{"n": 1, "small": 2.5}"#, "floating point `2.5`"),
            // Past 2^53 a float no longer spells every integer.
            (r#"{"n": 9007199254740994.0}"#, "plain digits"),
            (r#"{"n": 1e19}"#, "plain digits"),
        ] {
            let err = body(json).expect_err(json);
            assert!(err.contains(why), "{json}: {err}");
        }
    }
}
