//! Unsigned integers documented as unsigned.
//!
//! utoipa (without its `non_strict_integers` feature) writes a `u64` as `format: int64`
//! and a `usize` with no format, each with `minimum: 0`; `int64` tells clients and
//! fuzzers that values above 2^63 - 1 are refused, which is false. [`UnsignedIntegers`]
//! rewrites every integer schema with `minimum: 0` to `format: uint64` (the name utoipa
//! itself uses with that feature) and `maximum: 2^64 - 1`: the range the server reads.
//! The API has no signed integers (`openapi_test` checks that no `int64` is left).

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, Object, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Content, OpenApi, RefOr, Response};
use utoipa::{Modify, Number};

/// The format written for unsigned integers.
pub const UINT64: &str = "uint64";

/// The modifier (see the module documentation).
pub struct UnsignedIntegers;

impl Modify for UnsignedIntegers {
    fn modify(&self, doc: &mut OpenApi) {
        if let Some(components) = doc.components.as_mut() {
            components.schemas.values_mut().for_each(schema);
            for r in components.responses.values_mut() {
                if let RefOr::T(r) = r {
                    response(r);
                }
            }
        }
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for p in op.parameters.iter_mut().flatten() {
                    if let RefOr::T(p) = p {
                        p.schema.iter_mut().for_each(schema);
                    }
                }
                if let Some(RefOr::T(body)) = op.request_body.as_mut() {
                    body.content.values_mut().for_each(content);
                }
                for r in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = r {
                        response(r);
                    }
                }
            }
        }
    }
}

fn response(r: &mut Response) {
    r.content.values_mut().for_each(content);
}

fn content(c: &mut RefOr<Content>) {
    if let RefOr::T(c) = c {
        c.schema.iter_mut().for_each(schema);
    }
}

fn schema(s: &mut RefOr<Schema>) {
    let RefOr::T(s) = s else { return };
    match s {
        Schema::Object(o) => object(o),
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                schema(items);
            }
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(schema),
        Schema::AllOf(x) => x.items.iter_mut().for_each(schema),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(schema),
        _ => {}
    }
}

fn object(o: &mut Object) {
    o.properties.values_mut().for_each(schema);
    if let Some(extra) = o.additional_properties.as_deref_mut()
        && let AdditionalProperties::RefOr(extra) = extra
    {
        schema(extra);
    }
    let integer = match &o.schema_type {
        SchemaType::Type(t) => *t == Type::Integer,
        SchemaType::Array(ts) => ts.contains(&Type::Integer),
        SchemaType::AnyValue => false,
    };
    let unsigned = match o.minimum {
        Some(Number::Int(m)) => m == 0,
        Some(Number::UInt(m)) => m == 0,
        Some(Number::Float(m)) => m == 0.0,
        None => false,
    };
    if integer && unsigned {
        o.format = Some(SchemaFormat::Custom(UINT64.to_string()));
        o.maximum = Some(u64::MAX.into());
    }
}
