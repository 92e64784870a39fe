//! The error body every failed request answers with, its codes, and the shared
//! error responses (`BadRequest`, `NotFound`, ...) that operations cite.

use serde::Serialize;
use serde_json::Value;
use utoipa::{ToResponse, ToSchema};

/// Every error: `{"error": {"code", "message", "details"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// What was wrong and what to do, for people.
    pub message: String,
    /// Structured details (`null` when there are none): linter diagnostics for
    /// `invalid`, `{"current_version"}` for a key `conflict`, `{"leader"}` for
    /// `no_leader`.
    pub details: Value,
}

/// The error codes, one per HTTP status class the API uses.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no or an unknown bearer token.
    Unauthenticated,
    /// 403: the token's role is too low.
    Forbidden,
    /// 404: no such thing (or no such route).
    NotFound,
    /// 400: malformed request (body, query, key).
    BadRequest,
    /// 422: well-formed but refused by the rules.
    Unprocessable,
    /// 422: refused by a validator that lists its findings in `details`.
    Invalid,
    /// 409: a version or concurrency precondition failed.
    Conflict,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 503: no leader is known right now.
    NoLeader,
    /// 503: no quorum, timeout, object store unreachable.
    Unavailable,
    /// 500: a bug.
    Internal,
}

/// Malformed request: body, query, key (`bad_request`).
#[derive(ToResponse)]
pub struct BadRequest(ErrorBody);

/// No or an unknown bearer token (`unauthenticated`).
#[derive(ToResponse)]
pub struct Unauthenticated(ErrorBody);

/// The token's role is too low for this route (`forbidden`).
#[derive(ToResponse)]
pub struct Forbidden(ErrorBody);

/// No such thing (`not_found`).
#[derive(ToResponse)]
pub struct NotFound(ErrorBody);

/// A version or concurrency precondition failed (`conflict`).
#[derive(ToResponse)]
pub struct Conflict(ErrorBody);

/// The body is larger than the configured limit (`payload_too_large`).
#[derive(ToResponse)]
pub struct PayloadTooLarge(ErrorBody);

/// Well-formed but refused by the rules (`unprocessable`).
#[derive(ToResponse)]
pub struct Unprocessable(ErrorBody);

/// No leader is known or no quorum answered in time (`no_leader`, `unavailable`); retry.
#[derive(ToResponse)]
pub struct Unavailable(ErrorBody);
