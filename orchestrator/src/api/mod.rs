//! The HTTP API (axum): routes, authentication, forwarding to the leader, metrics.
//!
//! Route table (roles: viewer < operator < admin):
//!
//! | route | role | what |
//! |---|---|---|
//! | `GET /healthz` | none | the process serves HTTP |
//! | `GET /readyz` | none | a leader is known and this node has applied what it committed |
//! | `GET /metrics` | none | Prometheus text |
//! | `GET /v1/openapi.json` | none | the OpenAPI document of this API (`docs/openapi.json`) |
//! | `GET /v1/status` | viewer | this node's view: Raft state, leader, members, clusters |
//! | `GET /v1/audit?after=SEQ&limit=N` | viewer | audit log (linearizable) |
//! | `GET /v1/clusters[/{name}]` | viewer | verdicts, votes with age, probe latencies |
//! | `POST /v1/clusters/{name}/fence\|unfence` | operator | fence / release by hand |
//! | `GET /v1/events?after=SEQ` | viewer | verdict changes, Server-Sent Events |
//! | `GET /v1/snapshots[?cluster=]`, `GET /v1/snapshots/{id}` | viewer | snapshots; captures with progress |
//! | `POST /v1/snapshots {cluster}`, `DELETE /v1/snapshots/{id}` | operator | capture (202) / delete |
//! | `POST /v1/restores {snapshot, target_cluster, namespace_map, policy, dry_run}` | operator | restore (202) |
//! | `GET /v1/restores/{id}[?report=true]` | viewer | state, counts, failures, RPO; the full plan/diff |
//! | `GET /v1/schedules` · `PUT\|DELETE /v1/schedules/{id}` | viewer · operator | snapshot schedules (config and API) |
//! | `GET /v1/runbooks[/{name}]` | viewer | stored runbooks (the YAML and its digest) |
//! | `PUT\|DELETE /v1/runbooks/{name}` | admin | store after linting (422 with diagnostics) |
//! | `GET /v1/plugins` · `PUT /v1/plugins` (wasm body) | viewer · admin | registered plugins; register one |
//! | `POST /internal/v1/propose` | cluster secret | a node's own health votes, via the leader |
//! | `GET /v1/kv?prefix=P&consistency=local` | viewer | keys and versions under a prefix |
//! | `GET /v1/kv/{key}` | viewer | test/benchmark namespace (linearizable) |
//! | `PUT /v1/kv/{key}` | operator | `{"value":..,"expected_version":N?}` |
//! | `DELETE /v1/kv/{key}` | operator | |
//!
//! Any other `/v1` path answers 401/403 before 404, so authentication covers every route.

mod clusters;
mod error;
mod extract;
mod forward;
mod handlers;
mod integer;
mod internal;
mod openapi;
mod plugins;
mod probes;
mod runbooks;
mod runs;
mod schedules;
mod snapshots;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::{ApiError, ForwardTo, error_body};
pub use extract::{Admin, ApiJson, Operator, Viewer, authenticate};
pub use forward::{FORWARDED, SERVED_BY};
pub use internal::{PROPOSE_PATH, ProposeBody};
pub use openapi::{ApiDoc, document_json};

use crate::node::Node;

/// The node's whole API router.
pub fn router(node: Arc<Node>) -> Router {
    let limit = node.cfg.api.max_body_bytes;
    let plugin_limit = node.cfg.plugins.max_bytes;
    let forward = |limit: usize| {
        middleware::from_fn_with_state((node.clone(), limit), forward::forward_to_leader)
    };
    // Plugin uploads are components of many MiB; every other body stays small.
    let plugin_routes = Router::new()
        .route(plugins::PATH, get(plugins::list).put(plugins::put))
        .layer(forward(plugin_limit))
        .layer(DefaultBodyLimit::max(plugin_limit));
    let v1 = Router::new()
        .route("/v1/status", get(handlers::status))
        .route("/v1/audit", get(handlers::audit))
        .route("/v1/clusters", get(clusters::list))
        .route("/v1/clusters/{name}", get(clusters::show))
        .route("/v1/clusters/{name}/fence", post(clusters::fence))
        .route("/v1/clusters/{name}/unfence", post(clusters::unfence))
        .route("/v1/events", get(clusters::events))
        .route("/v1/snapshots", get(snapshots::list).post(snapshots::take))
        .route(
            "/v1/snapshots/{id}",
            get(snapshots::show).delete(snapshots::delete),
        )
        .route("/v1/schedules", get(schedules::list))
        .route(
            "/v1/schedules/{id}",
            axum::routing::put(schedules::put).delete(schedules::delete),
        )
        .route("/v1/restores", post(snapshots::restore))
        .route("/v1/restores/{id}", get(snapshots::show_restore))
        .route("/v1/runbooks", get(runbooks::list))
        .route(
            "/v1/runbooks/{name}",
            get(runbooks::show)
                .put(runbooks::put)
                .delete(runbooks::delete),
        )
        .route("/v1/runs", get(runs::list).post(runs::start))
        .route("/v1/runs/{id}", get(runs::show))
        .route("/v1/runs/{id}/events", get(runs::events))
        .route("/v1/runs/{id}/approve", post(runs::approve))
        .route("/v1/runs/{id}/reject", post(runs::reject))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/drills", get(runs::list_drills).post(runs::start_drill))
        .route("/v1/drills/{id}", get(runs::show_drill))
        .route("/v1/drills/{id}/report", get(runs::report))
        .route("/v1/kv", get(handlers::kv_list))
        .route(
            "/v1/kv/{*key}",
            get(handlers::kv_get)
                .put(handlers::kv_put)
                .delete(handlers::kv_delete),
        )
        .fallback(handlers::not_found)
        .layer(forward(limit))
        .layer(DefaultBodyLimit::max(limit));
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route(openapi::PATH, get(openapi::serve))
        .route(PROPOSE_PATH, post(internal::propose))
        .merge(plugin_routes)
        .merge(v1)
        .layer(middleware::from_fn_with_state(node.clone(), record_metrics))
        .with_state(node)
}

/// Count and time every request by method, route template and status.
async fn record_metrics(State(node): State<Arc<Node>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await.into_response();
    node.metrics
        .observe_request(&method, &route, resp.status().as_u16(), start.elapsed());
    resp
}
