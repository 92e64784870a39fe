//! Snapshot schedules: the bodies of `/v1/schedules`.

use serde::Serialize;
use utoipa::ToSchema;

/// A snapshot schedule: from a node's config (`source: config`) or set through the API
/// (`source: api`, which adds `missed`, `jitter_secs` and `by`).
#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    /// Schedule id.
    pub id: String,
    /// Cluster captured.
    pub cluster: String,
    /// Cron expression with a seconds field.
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// `config` or `api`.
    pub source: String,
    /// Nominal time (ms) of its latest firing.
    pub last_fired_ms: Option<u64>,
    /// `skip` or `run-once` (API schedules).
    pub missed: Option<String>,
    /// Maximum jitter, seconds (API schedules).
    pub jitter_secs: Option<u64>,
    /// Who set it (API schedules).
    pub by: Option<String>,
}

/// `GET /v1/schedules`.
#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    /// Config schedules first, then API schedules.
    pub schedules: Vec<ScheduleView>,
}

/// `PUT /v1/schedules/{id}`: the stored schedule and its next firing.
#[derive(Serialize, ToSchema)]
pub struct ScheduleStored {
    /// Schedule id.
    pub id: String,
    /// Cluster to capture.
    pub cluster: String,
    /// Cron expression with a seconds field.
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// `skip` or `run-once`.
    pub missed: String,
    /// Maximum jitter, seconds.
    pub jitter_secs: u64,
    /// Who set it.
    pub by: String,
    /// Next nominal firing (RFC 3339).
    pub next_firing: Option<String>,
}
