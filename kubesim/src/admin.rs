//! The admin API, on its own listener with its own bearer token: read and switch faults,
//! change the workload readiness delay, read store statistics.
//!
//! Routes (JSON): `GET /healthz` (no auth), `GET|PUT /faults`, `POST /faults/reset`,
//! `GET|PUT /workload`, `GET /stats`.

use crate::faults::{FaultConfig, Faults};
use crate::store::Store;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// State shared by admin handlers.
#[derive(Clone)]
pub struct AdminState {
    /// The API listener's faults.
    pub faults: Faults,
    /// The store (for stats).
    pub store: Arc<Store>,
    /// Workload readiness delay in milliseconds.
    pub ready_delay_ms: Arc<AtomicU64>,
    /// Required bearer token.
    pub token: Arc<String>,
}

/// Body of `GET|PUT /workload`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSettings {
    /// Delay before workloads report ready.
    pub ready_delay_ms: u64,
}

fn error(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (
        code,
        Json(json!({"error": {"code": code.as_u16(), "message": msg.to_string()}})),
    )
        .into_response()
}

async fn auth(State(st): State<AdminState>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == st.token.as_str());
    if ok || req.uri().path() == "/healthz" {
        next.run(req).await
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong admin bearer token (see --admin-token-file)",
        )
    }
}

async fn get_faults(State(st): State<AdminState>) -> Json<FaultConfig> {
    Json(st.faults.get())
}

async fn put_faults(State(st): State<AdminState>, body: axum::body::Bytes) -> Response {
    let cfg: FaultConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid fault JSON: {e}")),
    };
    match st.faults.set(cfg.clone()) {
        Ok(()) => Json(cfg).into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn reset_faults(State(st): State<AdminState>) -> Json<FaultConfig> {
    let _ = st.faults.set(FaultConfig::default());
    Json(FaultConfig::default())
}

async fn get_workload(State(st): State<AdminState>) -> Json<WorkloadSettings> {
    Json(WorkloadSettings {
        ready_delay_ms: st.ready_delay_ms.load(Ordering::Relaxed),
    })
}

async fn put_workload(State(st): State<AdminState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<WorkloadSettings>(&body) {
        Ok(w) => {
            st.ready_delay_ms.store(w.ready_delay_ms, Ordering::Relaxed);
            Json(w).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            format!("invalid workload JSON: {e}"),
        ),
    }
}

async fn stats(State(st): State<AdminState>) -> Json<serde_json::Value> {
    Json(json!({
        "objects": st.store.object_count(),
        "resource_version": st.store.current_rv(),
        "faults": st.faults.get(),
        "ready_delay_ms": st.ready_delay_ms.load(Ordering::Relaxed),
    }))
}

/// The admin router.
pub fn router(st: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/faults/reset", post(reset_faults))
        .route("/workload", get(get_workload).put(put_workload))
        .route("/stats", get(stats))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such admin route; see kubesim/README.md",
            )
        })
        .layer(axum::middleware::from_fn_with_state(st.clone(), auth))
        .with_state(st)
}
