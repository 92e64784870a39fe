//! Request extractors: bearer-token authentication with a minimum role, and JSON object
//! bodies whose rejections use the API's error shape.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};

use super::ApiError;
use crate::auth::{Principal, Role};
use crate::node::Node;

/// A role a route requires.
pub trait MinRole: Send + Sync {
    /// The least role allowed.
    const ROLE: Role;
}

/// Marker: viewer or above.
pub struct ViewerRole;
/// Marker: operator or above.
pub struct OperatorRole;
/// Marker: admin.
pub struct AdminRole;

impl MinRole for ViewerRole {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for OperatorRole {
    const ROLE: Role = Role::Operator;
}
impl MinRole for AdminRole {
    const ROLE: Role = Role::Admin;
}

/// An authenticated caller holding at least `R::ROLE`.
pub struct Authed<R: MinRole> {
    /// Who is calling.
    pub who: Principal,
    _role: PhantomData<R>,
}

/// Any viewer.
pub type Viewer = Authed<ViewerRole>;
/// An operator or admin.
pub type Operator = Authed<OperatorRole>;
/// An admin.
pub type Admin = Authed<AdminRole>;

/// Authenticate the request's bearer token and check it holds `needed`.
pub fn authenticate(node: &Node, parts: &Parts, needed: Role) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let Some(header) = header else {
        return Err(ApiError::Unauthenticated(
            "missing bearer token: send `Authorization: Bearer <token>` \
             (the CLI takes --token or LIFEBOAT_TOKEN)"
                .into(),
        ));
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or("");
    let who = node.cfg.tokens.authenticate(token).ok_or_else(|| {
        ApiError::Unauthenticated("invalid bearer token: it matches no configured token".into())
    })?;
    if who.role < needed {
        return Err(ApiError::Forbidden(format!(
            "this request needs role {needed}; token `{}` has role {}",
            who.name, who.role
        )));
    }
    Ok(who)
}

impl<R: MinRole> FromRequestParts<Arc<Node>> for Authed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, node: &Arc<Node>) -> Result<Self, ApiError> {
        let who = authenticate(node, parts, R::ROLE)?;
        Ok(Self {
            who,
            _role: PhantomData,
        })
    }
}

/// A JSON object body; malformed input, and any JSON that is not an object, becomes a
/// 400 in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<Object<T>>::from_request(req, state).await {
            Ok(axum::Json(Object(v))) => Ok(Self(v)),
            Err(rejection) => Err(ApiError::BadRequest {
                message: format!("invalid JSON body: {}", rejection.body_text()),
                details: serde_json::json!({ "status": rejection.status().as_u16() }),
            }),
        }
    }
}

/// `T` from the JSON object in `bytes` (not from an array: see [`Object`]).
///
/// # Errors
/// Not JSON, not an object, or not a `T`.
pub fn object_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice::<Object<T>>(bytes).map(|Object(v)| v)
}

/// `T`, read only from a JSON object. Serde's derived structs also accept an array of
/// their fields in order (`["eu-west"]` for `{"cluster": "eu-west"}`), which the OpenAPI
/// document (`type: object`) does not allow and no client means.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(Fields(PhantomData)).map(Object)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::{FromRequest, Request};
    use axum::http::StatusCode;
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    use serde::Deserialize;
    use serde_json::Value;

    use super::{ApiJson, object_from_slice};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Take {
        cluster: String,
        #[serde(default)]
        note: Option<String>,
    }

    async fn extract(body: &str) -> Result<Take, (StatusCode, Value)> {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/snapshots")
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        match ApiJson::<Take>::from_request(req, &()).await {
            Ok(ApiJson(v)) => Ok(v),
            Err(e) => {
                let resp = e.into_response();
                let status = resp.status();
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
                    .await
                    .expect("body");
                Err((status, serde_json::from_slice(&bytes).expect("JSON error")))
            }
        }
    }

    #[tokio::test]
    async fn an_object_body_is_read() {
        let take = extract(r#"{"cluster": "eu-west"}"#).await.expect("object");
        assert_eq!(take.cluster, "eu-west");
        assert_eq!(take.note, None);
    }

    #[tokio::test]
    async fn a_body_that_is_not_an_object_is_a_400_in_the_error_shape() {
        for body in [
            r#"["eu-west"]"#,
            r#"["eu-west", null]"#,
            "\"eu-west\"",
            "7",
            "null",
        ] {
            let (status, v) = extract(body).await.expect_err(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
            assert_eq!(v["error"]["code"], "bad_request", "{body}: {v}");
            let message = v["error"]["message"].as_str().expect("message");
            assert!(
                message.contains("expected a JSON object"),
                "{body}: {message}"
            );
        }
        // Field errors keep their path and position.
        let (status, v) = extract(r#"{"cluster": 5}"#).await.expect_err("bad field");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let message = v["error"]["message"].as_str().expect("message");
        assert!(
            message.contains("cluster") && message.contains("column"),
            "{message}"
        );
        let (_, v) = extract(r#"{"cluster": "a", "other": 1}"#)
            .await
            .expect_err("unknown");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("unknown field"))
        );
    }

    #[test]
    fn object_from_slice_refuses_arrays() {
        let take: Take = object_from_slice(br#"{"cluster": "a", "note": "n"}"#).expect("object");
        assert_eq!(take.note.as_deref(), Some("n"));
        let err = object_from_slice::<Take>(br#"["a", "n"]"#).expect_err("array");
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }
}
