//! `/v1/runbooks`: store runbooks after the linter accepts them.
//!
//! `PUT /v1/runbooks/{name}` takes the YAML as the body and runs the same linter as
//! `lifeboat runbook lint`; any error answers 422 with every diagnostic (code, message,
//! line, column, hint) and stores nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{Admin, ApiError, Viewer};
use crate::catalog::Op;
use crate::node::Node;

/// `GET /v1/runbooks`.
#[utoipa::path(
    get,
    path = "/v1/runbooks",
    operation_id = "list_runbooks",
    tag = "runbooks",
    responses(
        (status = 200, description = "Stored runbooks", body = doc::RunbookList),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(State(node): State<Arc<Node>>, _who: Viewer) -> Result<Json<Value>, ApiError> {
    let runbooks = node
        .read(|c| c.runbooks.values().cloned().collect::<Vec<_>>())
        .await?;
    Ok(Json(json!({ "runbooks": runbooks })))
}

/// `GET /v1/runbooks/{name}`: metadata and the YAML.
#[utoipa::path(
    get,
    path = "/v1/runbooks/{name}",
    operation_id = "show_runbook",
    tag = "runbooks",
    params(("name" = String, Path, description = "Runbook name")),
    responses(
        (status = 200, description = "Metadata and YAML", body = doc::RunbookDetail),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn show(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let found = node
        .read(|c| {
            let r = c.runbooks.get(&name)?.clone();
            let yaml = c
                .runbook_versions
                .get(&r.digest)
                .cloned()
                .unwrap_or_default();
            Some((r, yaml))
        })
        .await?;
    let (r, yaml) = found.ok_or_else(|| ApiError::NotFound(format!("no runbook `{name}`")))?;
    let mut v = json!(r);
    v["yaml"] = json!(yaml);
    Ok(Json(v))
}

/// `PUT /v1/runbooks/{name}` (admin): lint, then store.
#[utoipa::path(
    put,
    path = "/v1/runbooks/{name}",
    operation_id = "put_runbook",
    tag = "runbooks",
    params(("name" = String, Path, description = "Runbook name")),
    request_body(content = String, content_type = "application/yaml", description = "The runbook's YAML (UTF-8); `metadata.name` must equal the path's name"),
    responses(
        (status = 200, description = "Stored (with the linter's warnings)", body = doc::RunbookStored),
        (status = 400, description = "The body is not UTF-8", body = doc::ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Lint errors (`invalid`, every diagnostic in `details.diagnostics`) or a name mismatch", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn put(
    State(node): State<Arc<Node>>,
    who: Admin,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let yaml = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("the body must be the runbook's YAML, in UTF-8"))?;
    let registered = node.read(|c| c.plugins.clone()).await?;
    let plugins = |n: &str, d: &str| crate::plugins::schema_of(&registered, n, d);
    let report = lifeboat_runbooks::parse_and_lint(&name, &yaml, &plugins);
    if !report.is_ok() {
        return Err(ApiError::Invalid {
            message: format!("runbook `{name}` has {} error(s)", report.error_count()),
            details: json!({ "diagnostics": report.diagnostics }),
        });
    }
    let declared = report
        .runbook
        .as_ref()
        .map(|r| r.metadata.name.clone())
        .unwrap_or_default();
    if declared != name {
        return Err(ApiError::Unprocessable(format!(
            "the URL names `{name}` but metadata.name is `{declared}`: PUT it to /v1/runbooks/{declared}"
        )));
    }
    node.write(
        &who.who.name,
        Op::PutRunbook {
            name: name.clone(),
            yaml: yaml.clone(),
        },
    )
    .await?;
    Ok(Json(json!({
        "name": name,
        "digest": lifeboat_runbooks::runbook_digest(&yaml),
        "warnings": report.diagnostics,
    })))
}

/// `DELETE /v1/runbooks/{name}` (admin).
#[utoipa::path(
    delete,
    path = "/v1/runbooks/{name}",
    operation_id = "delete_runbook",
    tag = "runbooks",
    params(("name" = String, Path, description = "Runbook name")),
    responses(
        (status = 200, description = "Deleted", body = doc::RunbookDeleted),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, response = doc::Unprocessable),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn delete(
    State(node): State<Arc<Node>>,
    who: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let known = node.read(|c| c.runbooks.contains_key(&name)).await?;
    if !known {
        return Err(ApiError::NotFound(format!("no runbook `{name}`")));
    }
    node.write(&who.who.name, Op::DeleteRunbook { name: name.clone() })
        .await?;
    Ok(Json(json!({ "name": name, "deleted": true })))
}
