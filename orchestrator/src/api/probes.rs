//! Unauthenticated probes for load balancers and Prometheus: `/healthz`, `/readyz`,
//! `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::node::Node;

/// The process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    security(()),
    responses((status = 200, description = "Serving", body = super::openapi::schemas::Healthz))
)]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when a leader is known and this node has applied everything it knew committed
/// when asked (waiting up to a second for it).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    security(()),
    responses(
        (status = 200, description = "Ready", body = super::openapi::schemas::Ready),
        (status = 503, description = "Not ready (no leader, or applying)",
            body = super::openapi::schemas::NotReady),
    )
)]
pub async fn readyz(State(node): State<Arc<Node>>) -> Response {
    let s = node.raft.status();
    let problem = if s.leader_id.is_none() {
        Some("no leader known (election in progress or cut off from the majority)")
    } else if !applied_soon(&node, s.committed_index, s.last_applied_index).await {
        Some("applying committed entries")
    } else {
        None
    };
    match problem {
        None => Json(json!({ "status": "ready", "leader": s.leader_id })).into_response(),
        Some(why) => {
            let body = Json(json!({ "status": "not_ready", "reason": why }));
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// How long a node may take to apply what was committed when a readiness probe arrived.
/// Under a steady write load there is always an entry committed and not yet applied, so
/// "applied == committed" at one instant would flap; a node that keeps up applies it
/// within milliseconds, one catching up on a backlog does not.
const APPLY_GRACE: Duration = Duration::from_secs(1);

/// Has this node applied `committed` (the committed index when the probe arrived), or
/// does it within [`APPLY_GRACE`]?
async fn applied_soon(node: &Node, committed: Option<u64>, applied: Option<u64>) -> bool {
    let Some(target) = committed else {
        return true;
    };
    if applied >= Some(target) {
        return true;
    }
    let mut watch = node.raft.subscribe_applied();
    let reached = watch.wait_for(|a| *a >= target);
    matches!(tokio::time::timeout(APPLY_GRACE, reached).await, Ok(Ok(_)))
}

/// Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    security(()),
    responses((status = 200, description = "Prometheus text format", body = String,
        content_type = crate::metrics::CONTENT_TYPE))
)]
pub async fn metrics(State(node): State<Arc<Node>>) -> Response {
    node.raft.read_local(|c| {
        node.metrics.set_health(&c.health);
        node.metrics.set_snapshots(&c.snapshots);
    });
    let text = node.metrics.render(&node.raft.status(), node.cfg.node_id);
    let ctype = crate::metrics::CONTENT_TYPE;
    ([(header::CONTENT_TYPE, ctype)], text).into_response()
}
