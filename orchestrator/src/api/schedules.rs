//! `/v1/schedules`: snapshot schedules, from the config (read-only here) and set through
//! the API (stored in the catalog). The leader fires both kinds the same way, once per
//! firing key.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{ApiError, ApiJson, Operator, Viewer};
use crate::catalog::{ApiSchedule, Op};
use crate::node::Node;

/// `GET /v1/schedules`.
#[utoipa::path(
    get,
    path = "/v1/schedules",
    operation_id = "list_schedules",
    tag = "snapshots",
    responses(
        (status = 200, description = "Config and API schedules", body = doc::ScheduleList),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(State(node): State<Arc<Node>>, _who: Viewer) -> Result<Json<Value>, ApiError> {
    let (api, last) = node
        .read(|c| {
            (
                c.snapshots.schedules.clone(),
                c.snapshots.schedule_last_fired.clone(),
            )
        })
        .await?;
    let mut out: Vec<Value> = node
        .snapshots
        .schedules
        .iter()
        .map(|(s, cluster)| {
            let spec = s.spec();
            json!({
                "id": spec.id, "cluster": cluster, "cron": spec.cron, "timezone": spec.timezone,
                "source": "config", "last_fired_ms": last.get(&spec.id),
            })
        })
        .collect();
    for s in api.values() {
        let mut v = json!(s);
        v["source"] = json!("api");
        v["last_fired_ms"] = json!(last.get(&s.id));
        out.push(v);
    }
    Ok(Json(json!({ "schedules": out })))
}

/// Body of `PUT /v1/schedules/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Cluster to capture.
    pub cluster: String,
    /// Cron expression with a seconds field, e.g. `0 */15 * * * *`.
    pub cron: String,
    /// IANA timezone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// `skip` (default) or `run-once`.
    #[serde(default)]
    pub missed: Option<String>,
    /// Maximum jitter in seconds.
    #[serde(default, deserialize_with = "super::integer::number")]
    pub jitter_secs: u64,
}

/// `PUT /v1/schedules/{id}` (operator): validate, then store.
#[utoipa::path(
    put,
    path = "/v1/schedules/{id}",
    operation_id = "put_schedule",
    tag = "snapshots",
    params(("id" = String, Path, description = "Schedule id (a DNS label)", pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "Stored", body = doc::ScheduleStored),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, description = "No such cluster", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Bad id, cron expression, timezone or policy", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn put(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<Value>, ApiError> {
    if !crate::config::is_dns_label(&id) {
        return Err(ApiError::Unprocessable(format!(
            "schedule id `{id}` must be a DNS label (lowercase letters, digits, '-')"
        )));
    }
    let known = node
        .read(|c| c.clusters.contains_key(&body.cluster))
        .await?;
    if !known {
        return Err(ApiError::NotFound(format!("no cluster `{}`", body.cluster)));
    }
    let schedule = ApiSchedule {
        id: id.clone(),
        cluster: body.cluster,
        cron: body.cron,
        timezone: body.timezone.unwrap_or_else(|| "UTC".into()),
        missed: body.missed.unwrap_or_else(|| "skip".into()),
        jitter_secs: body.jitter_secs,
        by: who.who.name.clone(),
    };
    let spec = crate::snapshots::api_schedule_spec(&schedule).map_err(ApiError::Unprocessable)?;
    let parsed = lifeboat_snapshot::Schedule::parse(&spec)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let next = parsed
        .next_after(chrono::Utc::now())
        .map(|f| f.nominal.to_rfc3339());
    node.write(
        &who.who.name,
        Op::PutSchedule {
            schedule: schedule.clone(),
        },
    )
    .await?;
    let mut v = json!(schedule);
    v["next_firing"] = json!(next);
    Ok(Json(v))
}

/// `DELETE /v1/schedules/{id}` (operator).
#[utoipa::path(
    delete,
    path = "/v1/schedules/{id}",
    operation_id = "delete_schedule",
    tag = "snapshots",
    params(("id" = String, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "Deleted", body = doc::Deleted),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, response = doc::Unprocessable),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn delete(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let known = node
        .read(|c| c.snapshots.schedules.contains_key(&id))
        .await?;
    if !known {
        return Err(ApiError::NotFound(format!(
            "no API schedule `{id}` (config schedules are edited in the config)"
        )));
    }
    node.write(&who.who.name, Op::DeleteSchedule { id: id.clone() })
        .await?;
    Ok(Json(json!({ "deleted": id })))
}
