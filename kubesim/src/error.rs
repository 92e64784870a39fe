//! API errors, and the one place they turn into Kubernetes `Status` objects and HTTP codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One cause of an `Invalid` (422) error: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Kubernetes cause reason, e.g. `FieldValueRequired`, `FieldValueInvalid`.
    pub reason: &'static str,
    /// JSON path of the field, e.g. `metadata.name`.
    pub field: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Every error the simulated API server can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The named object does not exist (404 NotFound).
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// `plural[.group]`, e.g. `deployments.apps`.
        resource: String,
        /// Object name.
        name: String,
    },
    /// No such resource, group or version is served (404 NotFound).
    #[error("the server could not find the requested resource")]
    UnknownResource,
    /// Create of an object whose name is taken (409 AlreadyExists).
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// `plural[.group]`.
        resource: String,
        /// Object name.
        name: String,
    },
    /// Optimistic-concurrency failure (409 Conflict).
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {detail}")]
    Conflict {
        /// `plural[.group]`.
        resource: String,
        /// Object name.
        name: String,
        /// Why, e.g. the stale resourceVersion message.
        detail: String,
    },
    /// Server-side apply touched fields another manager owns (409 Conflict).
    #[error("Apply failed with {} conflict(s): {}", .conflicts.len(), conflict_list(.conflicts))]
    ApplyConflict {
        /// (manager, field path) pairs.
        conflicts: Vec<(String, String)>,
    },
    /// The object failed validation (422 Invalid).
    #[error("{kind} \"{name}\" is invalid: {}", cause_list(.causes))]
    Invalid {
        /// Kind of the object.
        kind: String,
        /// Object name (may be empty).
        name: String,
        /// What is wrong.
        causes: Vec<Cause>,
    },
    /// Malformed request: bad body, bad selector, bad query parameter (400 BadRequest).
    #[error("{0}")]
    BadRequest(String),
    /// The verb is not supported on this path (405 MethodNotAllowed).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Unsupported Content-Type for the verb (415 UnsupportedMediaType).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A watch or continue token refers to history that is gone (410 Expired).
    #[error("too old resource version: {requested} ({oldest})")]
    Gone {
        /// The resourceVersion asked for.
        requested: u64,
        /// The oldest one still in history.
        oldest: u64,
    },
    /// The operation is not allowed, e.g. deleting `default` (403 Forbidden).
    #[error("{0}")]
    Forbidden(String),
    /// Missing or wrong bearer token (401 Unauthorized).
    #[error("Unauthorized")]
    Unauthorized,
    /// An error injected by the fault controller (500, 503 or 429).
    #[error("kubesim injected fault: HTTP {0}")]
    Injected(u16),
    /// A bug or an I/O failure inside kubesim (500 InternalError).
    #[error("Internal error occurred: {0}")]
    Internal(String),
}

fn conflict_list(c: &[(String, String)]) -> String {
    c.iter()
        .map(|(m, f)| format!("conflict with \"{m}\": {f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cause_list(c: &[Cause]) -> String {
    c.iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ApiError {
    /// Shorthand for a single-cause 422.
    pub fn invalid(kind: &str, name: &str, reason: &'static str, field: &str, msg: &str) -> Self {
        ApiError::Invalid {
            kind: kind.to_string(),
            name: name.to_string(),
            causes: vec![Cause {
                reason,
                field: field.to_string(),
                message: msg.to_string(),
            }],
        }
    }

    /// HTTP status code and Kubernetes `reason` for this error.
    pub fn code_reason(&self) -> (u16, &'static str) {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownResource => (404, "NotFound"),
            ApiError::AlreadyExists { .. } => (409, "AlreadyExists"),
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => (409, "Conflict"),
            ApiError::Invalid { .. } => (422, "Invalid"),
            ApiError::BadRequest(_) => (400, "BadRequest"),
            ApiError::MethodNotAllowed(_) => (405, "MethodNotAllowed"),
            ApiError::UnsupportedMediaType(_) => (415, "UnsupportedMediaType"),
            ApiError::Gone { .. } => (410, "Expired"),
            ApiError::Unauthorized => (401, "Unauthorized"),
            ApiError::Forbidden(_) => (403, "Forbidden"),
            ApiError::Injected(429) => (429, "TooManyRequests"),
            ApiError::Injected(503) => (503, "ServiceUnavailable"),
            ApiError::Injected(c) => (*c, "InternalError"),
            ApiError::Internal(_) => (500, "InternalError"),
        }
    }

    /// The `details` field of the Status object.
    fn details(&self) -> Option<Value> {
        match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => {
                let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
                Some(json!({"name": name, "group": group, "kind": kind}))
            }
            ApiError::Invalid { kind, name, causes } => Some(json!({
                "name": name, "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason, "message": c.message, "field": c.field
                })).collect::<Vec<_>>()
            })),
            ApiError::ApplyConflict { conflicts } => Some(json!({
                "causes": conflicts.iter().map(|(m, f)| json!({
                    "reason": "FieldManagerConflict",
                    "message": format!("conflict with \"{m}\""),
                    "field": f
                })).collect::<Vec<_>>()
            })),
            ApiError::Injected(429) => Some(json!({"retryAfterSeconds": 1})),
            _ => None,
        }
    }

    /// The Kubernetes `Status` object for this error.
    pub fn status(&self) -> Value {
        let (code, reason) = self.code_reason();
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.to_string(), "reason": reason, "code": code
        });
        if let Some(d) = self.details() {
            s["details"] = d;
        }
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, _) = self.code_reason();
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        let mut resp = (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if code == 429 || code == 503 {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_is_kubernetes_shaped() {
        let e = ApiError::NotFound {
            resource: "deployments.apps".into(),
            name: "web".into(),
        };
        let s = e.status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["details"]["group"], "apps");
    }

    #[test]
    fn invalid_lists_causes() {
        let e = ApiError::invalid("ConfigMap", "", "FieldValueRequired", "metadata.name", "x");
        assert_eq!(e.code_reason(), (422, "Invalid"));
        assert_eq!(e.status()["details"]["causes"][0]["field"], "metadata.name");
    }
}
