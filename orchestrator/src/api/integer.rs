//! Unsigned integer inputs (JSON bodies and query strings) that may carry a zero fraction.
//!
//! The OpenAPI document types these fields `integer`, a word OpenAPI 3.1 takes from JSON
//! Schema, where an integer is any number whose fractional part is zero: `4617.0` is one.
//! Clients write such numbers without meaning anything by it (Python's `json.dumps` of a
//! float, JavaScript numbers that went through arithmetic, jq), and every JSON Schema
//! validator accepts them, so the server does too instead of being stricter than its own
//! document (which cannot say "no fraction" anyway). Still refused, with a 400: a real
//! fraction (`4617.5`), a negative number, a value out of the field's range, and a string
//! in a JSON body.
//!
//! A number written with a fraction (or an exponent) is read as a 64-bit float, and
//! serde_json's float reading may be off in the last bit for long numbers, which from
//! 2^52 up is a whole unit. So such a number is accepted up to [`MAX_WITH_FRACTION`]
//! (2^32 - 1: far above any count, index or limit the API takes, and always read
//! exactly) and refused above, never silently rounded: write larger integers as plain
//! digits.
//!
//! Use with `#[serde(deserialize_with = ...)]`: [`number`] / [`opt_number`] in JSON
//! bodies, [`text`] / [`opt_text`] in query strings (where every value is text).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// The largest integer accepted when written with a (zero) fraction or an exponent.
pub const MAX_WITH_FRACTION: u64 = u32::MAX as u64;

/// A JSON number that is a non-negative integer fitting `T`.
pub fn number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Whole::new(false))
}

/// [`number`], or `null` (and with `#[serde(default)]`, absent) for `None`.
pub fn opt_number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(Optional(Whole::new(false)))
}

/// A query-string value that reads as a non-negative integer fitting `T`.
pub fn text<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Whole::new(true))
}

/// [`text`] for an optional query parameter.
pub fn opt_text<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(Optional(Whole::new(true)))
}

/// Accepts integers and integral floats; strings only when `text` (query strings).
struct Whole<T> {
    text: bool,
    into: PhantomData<T>,
}

impl<T> Whole<T> {
    fn new(text: bool) -> Self {
        Self {
            text,
            into: PhantomData,
        }
    }
}

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
        if v.fract() == 0.0 && (0.0..=max).contains(&v) {
            self.visit_u64(v as u64)
        } else if v.fract() == 0.0 && v > max {
            Err(E::invalid_value(
                Unexpected::Float(v),
                &"at most 4294967295 when written with a fraction or an exponent \
                  (write larger integers as plain digits)",
            ))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        if !self.text {
            return Err(E::invalid_type(Unexpected::Str(v), &self));
        }
        if let Ok(n) = v.parse::<u64>() {
            return self.visit_u64(n);
        }
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() => self.visit_f64(f),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
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
    use serde_json::json;

    use super::MAX_WITH_FRACTION;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(deserialize_with = "super::number")]
        n: u64,
        #[serde(default, deserialize_with = "super::opt_number")]
        small: Option<u8>,
    }

    #[derive(Debug, Deserialize)]
    struct Query {
        #[serde(default, deserialize_with = "super::text")]
        after: u64,
        #[serde(default, deserialize_with = "super::opt_text")]
        limit: Option<usize>,
    }

    fn body(v: serde_json::Value) -> Result<Body, String> {
        serde_json::from_str(&v.to_string()).map_err(|e| e.to_string())
    }

    fn query(q: &str) -> Result<Query, String> {
        let uri: axum::http::Uri = format!("/x?{q}").parse().expect("uri");
        axum::extract::Query::<Query>::try_from_uri(&uri)
            .map(|q| q.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_json_integer_may_carry_a_zero_fraction() {
        assert_eq!(body(json!({"n": 4617})).expect("integer").n, 4617);
        let b =
            serde_json::from_str::<Body>(r#"{"n": 4617.0, "small": 7.0}"#).expect("zero fraction");
        assert_eq!((b.n, b.small), (4617, Some(7)));
        let b = serde_json::from_str::<Body>(r#"{"n": 4.617e3, "small": null}"#).expect("exponent");
        assert_eq!((b.n, b.small), (4617, None));
        assert_eq!(body(json!({"n": u64::MAX})).expect("u64::MAX").n, u64::MAX);
        let at_most = format!(r#"{{"n": {MAX_WITH_FRACTION}.0}}"#);
        assert_eq!(
            serde_json::from_str::<Body>(&at_most).expect("2^32 - 1").n,
            MAX_WITH_FRACTION
        );
    }

    #[test]
    fn fractions_negatives_strings_and_out_of_range_values_are_refused() {
        for (v, why) in [
            (json!({"n": 4617.5}), "floating point `4617.5`"),
            (json!({"n": -1}), "integer `-1`"),
            (json!({"n": -1.0}), "floating point `-1"),
            (json!({"n": "4617"}), "invalid type: string"),
            (json!({"n": null}), "invalid type: null"),
            (json!({"n": 1, "small": 256}), "integer `256`"),
            (json!({"n": 1, "small": 2.5}), "floating point `2.5`"),
        ] {
            let err = body(v.clone()).expect_err(&v.to_string());
            assert!(err.contains(why), "{v}: {err}");
        }
        // Larger with a fraction: refused with a hint, never rounded (serde_json reads
        // 9007199254740991.0 as 9007199254740990.0).
        for big in [
            "4294967296.0",
            "9007199254740991.0",
            "9007199254740993.0",
            "1e19",
        ] {
            let err = serde_json::from_str::<Body>(&format!(r#"{{"n": {big}}}"#)).expect_err(big);
            assert!(err.to_string().contains("plain digits"), "{big}: {err}");
        }
        // As plain digits, the whole range.
        let b = serde_json::from_str::<Body>(r#"{"n": 9007199254740993}"#).expect("2^53 + 1");
        assert_eq!(b.n, 9_007_199_254_740_993);
    }

    #[test]
    fn a_query_integer_may_carry_a_zero_fraction() {
        let q = query("after=4617.0&limit=5").expect("zero fraction");
        assert_eq!((q.after, q.limit), (4617, Some(5)));
        let q = query("limit=5.0").expect("zero fraction");
        assert_eq!((q.after, q.limit), (0, Some(5)));
        assert_eq!(
            query("after=18446744073709551615").expect("u64::MAX").after,
            u64::MAX
        );
        for bad in [
            "after=4617.5",
            "after=-1",
            "after=x",
            "after=",
            "after=inf",
            "limit=NaN",
        ] {
            assert!(query(bad).is_err(), "{bad} accepted");
        }
    }
}
