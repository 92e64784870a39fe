//! Bodies of the probes: `GET /healthz` and `GET /readyz`.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Healthz {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
    /// The leader's id.
    pub leader: Option<u64>,
}

/// `GET /readyz` when not ready (503).
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    /// `not_ready`.
    pub status: String,
    /// Why.
    pub reason: String,
}
