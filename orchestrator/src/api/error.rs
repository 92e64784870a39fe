//! The API's one error type and its one mapping to HTTP statuses.
//!
//! Every error leaves as `{"error":{"code","message","details"}}`. A `NotLeader` error
//! is also tagged with [`ForwardTo`], which the forwarding layer turns into a request to
//! the leader; only when that is impossible does the client see a 503.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Marker on a response: this request must be served by the leader (id if known).
#[derive(Debug, Clone, Copy)]
pub struct ForwardTo(pub Option<u64>);

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or an unknown bearer token.
    #[error("{0}")]
    Unauthenticated(String),
    /// The token's role is too low.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// Structured details (e.g. the parser's error).
        details: Value,
    },
    /// Well-formed but refused by the rules.
    #[error("{0}")]
    Unprocessable(String),
    /// Refused by a validator that explains itself (e.g. the runbook linter).
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// The validator's findings.
        details: Value,
    },
    /// A precondition (version) failed.
    #[error("{message}")]
    Conflict {
        /// What conflicted.
        message: String,
        /// Structured details.
        details: Value,
    },
    /// The body is larger than the configured limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Only the leader can serve this; forwarded when possible.
    #[error("this node is not the leader")]
    NotLeader {
        /// The leader's id, if known.
        leader: Option<u64>,
    },
    /// No quorum, no leader, timeout.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected I/O failure.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for a bad request without details.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details: Value::Null,
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::NotLeader { .. } => (StatusCode::SERVICE_UNAVAILABLE, "no_leader"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The JSON error body.
pub fn error_body(code: &str, message: &str, details: Value) -> Value {
    json!({ "error": { "code": code, "message": message, "details": details } })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let details = match &self {
            Self::BadRequest { details, .. }
            | Self::Conflict { details, .. }
            | Self::Invalid { details, .. } => details.clone(),
            Self::NotLeader { leader } => json!({ "leader": leader }),
            _ => Value::Null,
        };
        let message = match &self {
            Self::NotLeader { leader: None } => {
                "no leader is known right now (election in progress, or this node is cut off \
                 from the majority); retry in a few seconds"
                    .to_string()
            }
            other => other.to_string(),
        };
        let mut resp = (status, Json(error_body(code, &message, details))).into_response();
        match self {
            Self::NotLeader { leader } => {
                resp.extensions_mut().insert(ForwardTo(leader));
            }
            // The unread rest of the body would poison a kept-alive connection.
            Self::PayloadTooLarge(_) => {
                let close = axum::http::HeaderValue::from_static("close");
                resp.headers_mut()
                    .insert(axum::http::header::CONNECTION, close);
            }
            _ => {}
        }
        resp
    }
}
