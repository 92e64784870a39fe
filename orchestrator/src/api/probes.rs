//! Unauthenticated probes for load balancers and Prometheus: `/healthz`, `/readyz`,
//! `/metrics`.

use std::sync::Arc;

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

/// Ready when a leader is known and this node has applied everything it knows committed.
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
    } else if s.last_applied_index < s.committed_index {
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
