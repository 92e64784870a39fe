//! The `/v1` handlers of the foundation: status, audit, clusters, key/value.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{ApiError, ApiJson, Operator, Viewer};
use crate::catalog::{Op, Response};
use crate::node::Node;

/// One member of the group as this node sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Node id.
    pub id: u64,
    /// `voter` or `learner`.
    pub role: String,
    /// Raft address (from the membership).
    pub raft: String,
    /// API URL (from this node's config), if known.
    pub api: Option<String>,
}

/// `GET /v1/status`: this node's own view (answered locally, never forwarded).
#[utoipa::path(
    get,
    path = "/v1/status",
    operation_id = "status",
    tag = "status",
    responses(
        (status = 200, description = "This node's view", body = doc::StatusView),
        (status = 401, response = doc::Unauthenticated),
    )
)]
pub async fn status(State(node): State<Arc<Node>>, _who: Viewer) -> Json<Value> {
    let raft = node.raft.status();
    let member = |(id, addr): &(u64, String), role: &str| MemberView {
        id: *id,
        role: role.to_string(),
        raft: addr.clone(),
        api: node.api_url_of(*id).map(str::to_string),
    };
    let mut members: Vec<MemberView> = raft.voters.iter().map(|m| member(m, "voter")).collect();
    members.extend(raft.learners.iter().map(|m| member(m, "learner")));
    let leader = raft
        .leader_id
        .map(|id| json!({ "id": id, "api": node.api_url_of(id) }));
    let (clusters, last_index, audit_entries) = node.raft.read_local(|c| {
        let clusters: Vec<Value> = c
            .clusters
            .keys()
            .filter_map(|n| super::clusters::cluster_view(c, n))
            .collect();
        (clusters, c.last_index, c.audit.len())
    });
    Json(json!({
        "node_id": node.cfg.node_id,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": node.started.elapsed().as_secs(),
        "raft": raft,
        "leader": leader,
        "members": members,
        "clusters": clusters,
        "catalog": { "last_index": last_index, "audit_entries": audit_entries },
    }))
}

/// Query of `GET /v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries with a sequence number above this.
    #[serde(default)]
    pub after: u64,
    /// At most this many (default 100, max 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /v1/audit`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "audit",
    tag = "status",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries after `after`", body = doc::AuditPage),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn audit(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = node.read(|c| c.audit_after(q.after, limit)).await?;
    Ok(Json(json!({ "entries": entries })))
}

fn check_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid key: use 1-256 characters of [A-Za-z0-9-_.:/]",
        ))
    }
}

/// How a read is served.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// Through the leader (read-index): sees every acknowledged write.
    #[default]
    Linearizable,
    /// This node's applied state, possibly behind the leader.
    Local,
}

/// Query of `GET /v1/kv`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KvListQuery {
    /// Only keys starting with this.
    #[serde(default)]
    pub prefix: String,
    /// `linearizable` (default) or `local`.
    #[serde(default)]
    #[param(inline)]
    pub consistency: Consistency,
}

/// `GET /v1/kv?prefix=&consistency=`: keys and versions (values omitted).
#[utoipa::path(
    get,
    path = "/v1/kv",
    operation_id = "kv_list",
    tag = "kv",
    params(KvListQuery),
    responses(
        (status = 200, description = "Keys and versions", body = doc::KvList),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn kv_list(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<KvListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let prefix = q.prefix;
    let list = move |c: &crate::catalog::Catalog| {
        let entries: Vec<Value> =
            c.kv.range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(prefix.as_str()))
                .map(|(k, e)| json!({ "key": k, "version": e.version }))
                .collect();
        (entries, c.last_index)
    };
    let (entries, applied) = match q.consistency {
        Consistency::Linearizable => node.read(list).await?,
        Consistency::Local => node.raft.read_local(list),
    };
    Ok(Json(
        json!({ "count": entries.len(), "entries": entries, "applied_index": applied }),
    ))
}

/// `GET /v1/kv/{key}`.
#[utoipa::path(
    get,
    path = "/v1/kv/{key}",
    operation_id = "kv_get",
    tag = "kv",
    params(("key" = String, Path, description = "1-256 characters of `[A-Za-z0-9-_.:/]`", pattern = "^[A-Za-z0-9._:/-]{1,256}$")),
    responses(
        (status = 200, description = "The value", body = doc::KvValue),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn kv_get(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_key(&key)?;
    let entry = node.read(|c| c.kv.get(&key).cloned()).await?;
    let entry = entry.ok_or_else(|| ApiError::NotFound(format!("no key `{key}`")))?;
    Ok(Json(
        json!({ "key": key, "value": entry.value, "version": entry.version }),
    ))
}

/// Body of `PUT /v1/kv/{key}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KvPutBody {
    /// The value.
    pub value: Value,
    /// Compare-and-set: the version the key must be at (0 = absent).
    #[serde(default, deserialize_with = "super::integer::opt_number")]
    pub expected_version: Option<u64>,
}

/// `PUT /v1/kv/{key}`.
#[utoipa::path(
    put,
    path = "/v1/kv/{key}",
    operation_id = "kv_put",
    tag = "kv",
    params(("key" = String, Path, description = "1-256 characters of `[A-Za-z0-9-_.:/]`", pattern = "^[A-Za-z0-9._:/-]{1,256}$")),
    request_body = KvPutBody,
    responses(
        (status = 200, description = "Written", body = doc::KvWritten),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 409, description = "The key is not at `expected_version` (`details.current_version`)", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn kv_put(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<KvPutBody>,
) -> Result<Json<Value>, ApiError> {
    check_key(&key)?;
    let op = Op::KvPut {
        key: key.clone(),
        value: body.value,
        expected_version: body.expected_version,
    };
    match node.write(&who.who.name, op).await? {
        Response::KvWritten { version } => Ok(Json(json!({ "key": key, "version": version }))),
        Response::Conflict { current } => Err(ApiError::Conflict {
            message: format!("key `{key}` is not at the expected version"),
            details: json!({ "current_version": current }),
        }),
        other => Err(ApiError::Internal(format!("unexpected response {other:?}"))),
    }
}

/// `DELETE /v1/kv/{key}`.
#[utoipa::path(
    delete,
    path = "/v1/kv/{key}",
    operation_id = "kv_delete",
    tag = "kv",
    params(("key" = String, Path, description = "1-256 characters of `[A-Za-z0-9-_.:/]`", pattern = "^[A-Za-z0-9._:/-]{1,256}$")),
    responses(
        (status = 200, description = "Deleted", body = doc::KvDeleted),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn kv_delete(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_key(&key)?;
    match node
        .write(&who.who.name, Op::KvDelete { key: key.clone() })
        .await?
    {
        Response::Applied { index } => Ok(Json(json!({ "key": key, "deleted_at_index": index }))),
        _ => Err(ApiError::NotFound(format!("no key `{key}`"))),
    }
}

/// Any other `/v1` path: authenticate first (401/403 on every route), then 404.
pub async fn not_found(_who: Viewer, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
