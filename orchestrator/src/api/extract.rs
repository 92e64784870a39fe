//! Request extractors: bearer-token authentication with a minimum role, and JSON bodies
//! whose rejections use the API's error shape.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

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

/// A JSON body; malformed input becomes a 400 in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(ApiError::BadRequest {
                message: format!("invalid JSON body: {}", rejection.body_text()),
                details: serde_json::json!({ "status": rejection.status().as_u16() }),
            }),
        }
    }
}
