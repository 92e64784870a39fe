//! `/v1/snapshots` and `/v1/restores`.
//!
//! Captures and restores run on the leader (requests to a follower are forwarded) and
//! answer `202 Accepted` with the job id at once; progress and results are read back
//! with `GET`. A snapshot is listed only once its capture completed.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{ApiError, ApiJson, Operator, Viewer};
use crate::catalog::{JobState, Op};
use crate::node::Node;
use crate::snapshots::{self, RestoreRequest};

/// Query of `GET /v1/snapshots`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this cluster's.
    #[serde(default)]
    pub cluster: Option<String>,
}

/// `GET /v1/snapshots[?cluster=]`: snapshots (newest first) and the captures in flight
/// or recently failed.
#[utoipa::path(
    get,
    path = "/v1/snapshots",
    operation_id = "list_snapshots",
    tag = "snapshots",
    params(ListQuery),
    responses(
        (status = 200, description = "Snapshots (newest first) and captures not succeeded", body = doc::SnapshotList),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let wanted = |c: &str| q.cluster.as_deref().is_none_or(|w| w == c);
    let (mut snaps, captures) = node
        .read(|c| {
            let snaps: Vec<_> = c
                .snapshots
                .snapshots
                .values()
                .filter(|s| wanted(&s.cluster))
                .cloned()
                .collect();
            let caps: Vec<_> = c
                .snapshots
                .captures
                .values()
                .filter(|r| wanted(&r.cluster) && r.state != JobState::Succeeded)
                .cloned()
                .collect();
            (snaps, caps)
        })
        .await?;
    snaps.sort_by_key(|s| std::cmp::Reverse(s.completed_at_ms));
    Ok(Json(json!({ "snapshots": snaps, "captures": captures })))
}

/// Body of `POST /v1/snapshots`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeBody {
    /// The cluster to capture.
    pub cluster: String,
}

/// `POST /v1/snapshots {cluster}` (operator): start a capture; `202 {capture}`.
#[utoipa::path(
    post,
    path = "/v1/snapshots",
    operation_id = "take_snapshot",
    tag = "snapshots",
    request_body = TakeBody,
    responses(
        (status = 202, description = "Capture started", body = doc::CaptureStarted),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, description = "No such cluster", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, response = doc::Unprocessable),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn take(
    State(node): State<Arc<Node>>,
    who: Operator,
    ApiJson(body): ApiJson<TakeBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let known = node
        .read(|c| c.clusters.contains_key(&body.cluster))
        .await?;
    if !known {
        return Err(ApiError::NotFound(format!("no cluster `{}`", body.cluster)));
    }
    let id = snapshots::start_capture(&node, &body.cluster, &who.who.name, None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "capture": id, "cluster": body.cluster })),
    ))
}

/// `GET /v1/snapshots/{id}`: a snapshot, or a capture (with its progress while running).
#[utoipa::path(
    get,
    path = "/v1/snapshots/{id}",
    operation_id = "show_snapshot",
    tag = "snapshots",
    params(("id" = String, Path, description = "Snapshot or capture id")),
    responses(
        (status = 200, description = "The snapshot, or the capture with its progress", body = doc::SnapshotDetail),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn show(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (snap, cap) = node
        .read(|c| {
            (
                c.snapshots.snapshots.get(&id).cloned(),
                c.snapshots.captures.get(&id).cloned(),
            )
        })
        .await?;
    if let Some(s) = snap {
        return Ok(Json(json!({ "snapshot": s })));
    }
    let cap = cap.ok_or_else(|| ApiError::NotFound(format!("no snapshot or capture `{id}`")))?;
    let snapshot = match &cap.snapshot_id {
        Some(sid) => {
            node.read(|c| c.snapshots.snapshots.get(sid).cloned())
                .await?
        }
        None => None,
    };
    Ok(Json(
        json!({ "capture": cap, "progress": node.snapshots.progress(&id), "snapshot": snapshot }),
    ))
}

/// `DELETE /v1/snapshots/{id}` (operator): out of the catalog, then its manifest; its
/// packs go at the next garbage collection.
#[utoipa::path(
    delete,
    path = "/v1/snapshots/{id}",
    operation_id = "delete_snapshot",
    tag = "snapshots",
    params(("id" = String, Path, description = "Snapshot id")),
    responses(
        (status = 200, description = "Deleted", body = doc::Deleted),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, response = doc::Unprocessable),
        (status = 503, description = "No leader or no quorum, or the object store failed", body = doc::ErrorBody),
    )
)]
pub async fn delete(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let known = node
        .read(|c| c.snapshots.snapshots.contains_key(&id))
        .await?;
    if !known {
        return Err(ApiError::NotFound(format!("no snapshot `{id}`")));
    }
    let op = Op::SnapshotDeleted {
        id: id.clone(),
        reason: "manual".into(),
    };
    node.write(&who.who.name, op).await?;
    node.snapshots
        .store
        .delete_snapshot(&id)
        .await
        .map_err(|e| {
            ApiError::Unavailable(format!(
                "removed from the catalog, but deleting the manifest failed: {e}"
            ))
        })?;
    Ok(Json(json!({ "deleted": id })))
}

/// `POST /v1/restores` (operator): start a restore (or a dry run); `202 {restore}`.
#[utoipa::path(
    post,
    path = "/v1/restores",
    operation_id = "start_restore",
    tag = "snapshots",
    request_body = doc::RestoreRequest,
    responses(
        (status = 202, description = "Restore started", body = doc::RestoreStarted),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, description = "No such snapshot or target cluster", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Bad policy, or refused by the rules", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn restore(
    State(node): State<Arc<Node>>,
    who: Operator,
    ApiJson(body): ApiJson<RestoreRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Refuse a bad policy before anything is committed.
    let _ = body.options()?;
    let (snap, target) = node
        .read(|c| {
            (
                c.snapshots.snapshots.contains_key(&body.snapshot),
                c.clusters.contains_key(&body.target_cluster),
            )
        })
        .await?;
    if !snap {
        return Err(ApiError::NotFound(format!(
            "no snapshot `{}`",
            body.snapshot
        )));
    }
    if !target {
        return Err(ApiError::NotFound(format!(
            "no cluster `{}`",
            body.target_cluster
        )));
    }
    let id = snapshots::start_restore(&node, body, &who.who.name).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "restore": id }))))
}

/// Query of `GET /v1/restores/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RestoreQuery {
    /// Include the full per-object report (plan and diff for a dry run).
    #[serde(default)]
    pub report: bool,
}

/// `GET /v1/restores/{id}[?report=true]`.
#[utoipa::path(
    get,
    path = "/v1/restores/{id}",
    operation_id = "show_restore",
    tag = "snapshots",
    params(("id" = String, Path, description = "Restore id"), RestoreQuery),
    responses(
        (status = 200, description = "The restore, its progress and (with `report=true`) its report", body = doc::RestoreDetail),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, description = "No leader or no quorum, or the report could not be read", body = doc::ErrorBody),
    )
)]
pub async fn show_restore(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
    q: Result<Query<RestoreQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let r = node
        .read(|c| c.snapshots.restores.get(&id).cloned())
        .await?;
    let r = r.ok_or_else(|| ApiError::NotFound(format!("no restore `{id}`")))?;
    let mut v = json!({ "restore": r, "progress": node.snapshots.progress(&id) });
    if q.report
        && let Some(key) = &r.report_key
    {
        let report = node
            .snapshots
            .read_report(key)
            .await
            .map_err(ApiError::Unavailable)?;
        v["report"] = report;
    }
    Ok(Json(v))
}
