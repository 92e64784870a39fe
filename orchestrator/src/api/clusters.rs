//! `/v1/clusters`: verdicts, the votes behind them with their age, probe latencies,
//! fencing by hand, and the stream of verdict changes (`/v1/events`, SSE).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{ApiError, Operator, Viewer};
use crate::catalog::{Catalog, Op};
use crate::node::Node;

/// One cluster as the API shows it.
pub(super) fn cluster_view(c: &Catalog, name: &str) -> Option<Value> {
    let reg = c.clusters.get(name)?;
    let now = c.clock_ms;
    let Some(h) = c.health.clusters.get(name) else {
        return Some(json!({ "name": name, "context": reg.context, "verdict": null }));
    };
    let ttl = c.health.policy.as_ref().map_or(u64::MAX, |p| p.vote_ttl_ms);
    let votes: Vec<Value> = h
        .votes
        .iter()
        .map(|(node, v)| {
            let age = now.saturating_sub(v.refreshed_ms);
            json!({
                "node": node, "observation": v.observation, "reason": v.reason,
                "abstain": v.abstain, "age_ms": age, "for_ms": now.saturating_sub(v.since_ms),
                "counted": !v.abstain && age <= ttl, "latency_ms": v.latency_ms,
            })
        })
        .collect();
    Some(json!({
        "name": name,
        "context": reg.context,
        "verdict": h.verdict,
        "since_ms": h.since_ms,
        "failover": h.failover,
        "lost_at_ms": h.lost_at_ms,
        "detection_ms": h.detection_ms,
        "votes": votes,
    }))
}

/// `GET /v1/clusters` (linearizable).
#[utoipa::path(
    get,
    path = "/v1/clusters",
    operation_id = "list_clusters",
    tag = "clusters",
    responses(
        (status = 200, description = "Every protected cluster", body = doc::ClusterList),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(State(node): State<Arc<Node>>, _who: Viewer) -> Result<Json<Value>, ApiError> {
    let (clusters, now) = node
        .read(|c| {
            let all: Vec<Value> = c
                .clusters
                .keys()
                .filter_map(|n| cluster_view(c, n))
                .collect();
            (all, c.clock_ms)
        })
        .await?;
    Ok(Json(json!({ "clusters": clusters, "leader_time_ms": now })))
}

/// `GET /v1/clusters/{name}`: the cluster and its recent verdict changes.
#[utoipa::path(
    get,
    path = "/v1/clusters/{name}",
    operation_id = "show_cluster",
    tag = "clusters",
    params(("name" = String, Path, description = "Cluster name")),
    responses(
        (status = 200, description = "The cluster and its recent verdict changes", body = doc::ClusterDetail),
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
    let view = node
        .read(|c| {
            let events: Vec<_> = c
                .health
                .events
                .iter()
                .filter(|e| e.cluster == name)
                .cloned()
                .collect();
            cluster_view(c, &name).map(|v| (v, events))
        })
        .await?;
    let (mut v, events) = view.ok_or_else(|| ApiError::NotFound(format!("no cluster `{name}`")))?;
    v["events"] = json!(events);
    Ok(Json(v))
}

async fn fence_op(node: &Node, who: &str, name: &str, op: Op) -> Result<Json<Value>, ApiError> {
    let known = node.read(|c| c.clusters.contains_key(name)).await?;
    if !known {
        return Err(ApiError::NotFound(format!("no cluster `{name}`")));
    }
    node.write(who, op).await?;
    let view = node.read(|c| cluster_view(c, name)).await?;
    Ok(Json(view.unwrap_or(Value::Null)))
}

/// `POST /v1/clusters/{name}/fence`.
#[utoipa::path(
    post,
    path = "/v1/clusters/{name}/fence",
    operation_id = "fence_cluster",
    tag = "clusters",
    params(("name" = String, Path, description = "Cluster name")),
    responses(
        (status = 200, description = "Fenced", body = doc::ClusterView),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, response = doc::Unprocessable),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn fence(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    fence_op(
        &node,
        &who.who.name,
        &name,
        Op::Fence {
            cluster: name.clone(),
            by_run: None,
        },
    )
    .await
}

/// `POST /v1/clusters/{name}/unfence`.
#[utoipa::path(
    post,
    path = "/v1/clusters/{name}/unfence",
    operation_id = "unfence_cluster",
    tag = "clusters",
    params(("name" = String, Path, description = "Cluster name")),
    responses(
        (status = 200, description = "Released", body = doc::ClusterView),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, description = "The cluster is not fenced", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn unfence(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    fence_op(
        &node,
        &who.who.name,
        &name,
        Op::Unfence {
            cluster: name.clone(),
            by_run: None,
        },
    )
    .await
}

/// Query of `GET /v1/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with a sequence number above this.
    #[serde(default)]
    pub after: u64,
}

/// `GET /v1/events`: verdict changes as Server-Sent Events (`event: verdict`, `id` = seq),
/// from this node's applied state, starting after `?after=SEQ`.
#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "cluster_events",
    tag = "clusters",
    params(EventsQuery),
    responses(
        (status = 200, description = "Server-Sent Events, `event: verdict`, `id` = seq, `data` = a VerdictEvent; never ends", body = String, content_type = "text/event-stream"),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
    )
)]
pub async fn events(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let applied = node.raft.subscribe_applied();
    let stream = futures::stream::unfold(
        (node, applied, q.after),
        |(node, mut applied, mut cursor)| async move {
            loop {
                let next: Vec<_> = node.raft.read_local(|c| {
                    c.health
                        .events
                        .iter()
                        .filter(|e| e.seq > cursor)
                        .cloned()
                        .collect()
                });
                if !next.is_empty() {
                    cursor = next.last().map_or(cursor, |e| e.seq);
                    let batch: Vec<Result<Event, Infallible>> = next
                        .iter()
                        .map(|e| {
                            let data = serde_json::to_string(e).unwrap_or_default();
                            Ok(Event::default()
                                .event("verdict")
                                .id(e.seq.to_string())
                                .data(data))
                        })
                        .collect();
                    return Some((futures::stream::iter(batch), (node, applied, cursor)));
                }
                if applied.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    use futures::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
