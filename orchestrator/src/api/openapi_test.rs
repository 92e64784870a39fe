use std::collections::BTreeSet;

use serde_json::Value;

use super::document_json;

const REGENERATE: &str = "regenerate it with `cargo run -p lifeboat -- openapi > docs/openapi.json` \
     (from the repository root) and commit the result";

/// Routes of the router that are not part of the public API.
const UNDOCUMENTED: &[&str] = &["/internal/v1/propose"];

fn doc() -> Value {
    serde_json::from_str(document_json()).expect("the document is JSON")
}

/// Every `(METHOD, path)` the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

/// Every `(METHOD, path)` that `api/mod.rs` routes, read from its source: each
/// `.route(PATH, get(..).put(..))` call, with `{*key}` written as `{key}`.
fn routed() -> BTreeSet<(String, String)> {
    let src = include_str!("mod.rs");
    let consts = [
        ("plugins::PATH", super::plugins::PATH),
        ("openapi::PATH", super::PATH),
        ("PROPOSE_PATH", super::super::PROPOSE_PATH),
    ];
    let mut out = BTreeSet::new();
    for (start, _) in src.match_indices(".route(") {
        let args = balanced(&src[start + ".route".len()..]);
        let (path_arg, handlers) = args.split_once(',').expect("route(path, handlers)");
        let path_arg = path_arg.trim();
        let path = match path_arg.strip_prefix('"') {
            Some(lit) => lit.trim_end_matches('"').to_string(),
            None => consts
                .iter()
                .find(|(name, _)| *name == path_arg)
                .unwrap_or_else(|| panic!("unknown path constant {path_arg}: add it to this test"))
                .1
                .to_string(),
        };
        let path = path.replace("{*", "{");
        for method in ["get", "post", "put", "delete", "patch"] {
            let called = handlers
                .match_indices(&format!("{method}("))
                .any(|(i, _)| i == 0 || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric());
            if called {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(
        out.len() > 30,
        "parsed too few routes from api/mod.rs: {out:?}"
    );
    out
}

/// The text inside the parentheses that open at the start of `s`.
fn balanced(s: &str) -> &str {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[1..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in api/mod.rs")
}

#[test]
fn checked_in_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let on_disk = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading docs/openapi.json: {e}; {REGENERATE}"));
    assert!(
        on_disk == document_json(),
        "docs/openapi.json differs from the document the code generates: {REGENERATE}"
    );
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let doc = doc();
    let documented = documented(&doc);
    let routed: BTreeSet<_> = routed()
        .into_iter()
        .filter(|(_, p)| !UNDOCUMENTED.contains(&p.as_str()))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routed in api/mod.rs but not in the OpenAPI document (add #[utoipa::path] to the \
         handler and list it in ApiDoc's paths): {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&routed).collect();
    assert!(
        phantom.is_empty(),
        "in the OpenAPI document but not routed in api/mod.rs: {phantom:?}"
    );
}

#[test]
fn every_reference_resolves() {
    fn walk(v: &Value, doc: &Value, bad: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let pointer = r.trim_start_matches('#');
                    if doc.pointer(pointer).is_none() {
                        bad.push(r.clone());
                    }
                }
                map.values().for_each(|x| walk(x, doc, bad));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, doc, bad)),
            _ => {}
        }
    }
    let doc = doc();
    let mut bad = Vec::new();
    walk(&doc, &doc, &mut bad);
    assert!(bad.is_empty(), "dangling $ref: {bad:?}");
}

#[test]
fn operations_are_unique_and_errors_documented() {
    let doc = doc();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let what = format!("{method} {path}");
            let id = op["operationId"].as_str().expect("operationId");
            assert!(
                ids.insert(id.to_string()),
                "{what}: operationId {id} reused"
            );
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            assert_eq!(
                public,
                !path.starts_with("/v1/") || path == super::PATH,
                "{what}: only the probes and this document need no token"
            );
            let responses = op["responses"].as_object().expect("responses");
            if !public {
                assert!(responses.contains_key("401"), "{what}: no 401");
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("413"),
                    "{what}: takes a body, no 413"
                );
            }
            for (code, r) in responses {
                if code.starts_with('4') || (code.starts_with('5') && path != "/readyz") {
                    let schema = r
                        .pointer("/content/application~1json/schema/$ref")
                        .or_else(|| r.get("$ref"));
                    let ok = schema.and_then(Value::as_str).is_some_and(|s| {
                        s == "#/components/schemas/ErrorBody"
                            || s.starts_with("#/components/responses/")
                    });
                    assert!(ok, "{what} {code}: the error body must be ErrorBody: {r}");
                }
            }
        }
    }
}

#[test]
fn error_body_schema_matches_what_the_api_sends() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let body = &schemas["ErrorDetail"];
    let required: BTreeSet<&str> = body["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, BTreeSet::from(["code", "message", "details"]));
    let codes: BTreeSet<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let sent = super::super::error_body("not_found", "x", Value::Null);
    assert!(sent["error"]["details"].is_null());
    // Every code `ApiError` can produce is in the enum.
    use super::super::ApiError;
    use axum::response::IntoResponse;
    let errors = [
        ApiError::Unauthenticated(String::new()),
        ApiError::Forbidden(String::new()),
        ApiError::NotFound(String::new()),
        ApiError::bad_request(""),
        ApiError::Unprocessable(String::new()),
        ApiError::Invalid {
            message: String::new(),
            details: Value::Null,
        },
        ApiError::Conflict {
            message: String::new(),
            details: Value::Null,
        },
        ApiError::PayloadTooLarge(1),
        ApiError::NotLeader { leader: None },
        ApiError::Unavailable(String::new()),
        ApiError::Internal(String::new()),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for e in errors {
        let resp = e.into_response();
        let bytes = rt
            .block_on(axum::body::to_bytes(resp.into_body(), 1 << 16))
            .expect("body");
        let v: Value = serde_json::from_slice(&bytes).expect("JSON error body");
        let code = v["error"]["code"].as_str().expect("code");
        assert!(codes.contains(code), "code {code} missing from ErrorCode");
    }
}

#[test]
fn integers_are_documented_as_the_unsigned_64_bit_values_the_server_reads() {
    /// Every integer schema (by JSON pointer) with its format, minimum and maximum.
    fn walk(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(map) => {
                let integer = match map.get("type") {
                    Some(Value::String(t)) => t == "integer",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                    _ => false,
                };
                if integer {
                    out.push((at.to_string(), v.clone()));
                }
                for (k, x) in map {
                    walk(x, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let doc = doc();
    let mut integers = Vec::new();
    walk(&doc, "", &mut integers);
    assert!(integers.len() > 50, "found too few integers: {integers:?}");
    // The API has no signed integers: a new one would need its own format here.
    for (at, s) in &integers {
        assert_eq!(s["format"], super::unsigned::UINT64, "{at}: {s}");
        assert_eq!(s["minimum"], 0, "{at}: {s}");
        assert_eq!(s["maximum"], u64::MAX, "{at}: {s}");
    }
    // Inputs too: a body field (`u64`), a query parameter (`usize`).
    let cas = &doc["components"]["schemas"]["KvPutBody"]["properties"]["expected_version"];
    assert_eq!(cas["format"], "uint64", "{cas}");
    let limit = doc["paths"]["/v1/runs"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
        .expect("GET /v1/runs?limit");
    assert_eq!(limit["schema"]["format"], "uint64", "{limit}");
}
