//! Restores: the request body of `POST /v1/restores`, its policy, and the restore
//! records and details.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{JobState, Progress};

/// Body of `POST /v1/restores`.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Snapshot id.
    pub snapshot: String,
    /// Target cluster (the source or another).
    pub target_cluster: String,
    /// Source namespace -> target namespace.
    #[serde(default)]
    pub namespace_map: BTreeMap<String, String>,
    /// What to do with objects that exist in the target (anything else is a 422).
    #[serde(default)]
    pub policy: RestorePolicy,
    /// Plan and diff only; no writes.
    #[serde(default)]
    pub dry_run: bool,
    /// Stop at the first type the target does not serve (default: report and go on).
    #[serde(default)]
    pub abort_on_unsupported: bool,
}

/// What a restore does with objects that already exist in the target.
#[derive(Serialize, serde::Deserialize, Default, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestorePolicy {
    /// Leave them (the default).
    #[default]
    Skip,
    /// Update them in place.
    Update,
    /// Delete and create them again.
    Recreate,
}

/// `POST /v1/restores` (202).
#[derive(Serialize, ToSchema)]
pub struct RestoreStarted {
    /// The restore id.
    pub restore: String,
}

/// One object that a restore could not restore.
#[derive(Serialize, ToSchema)]
pub struct ObjectFailure {
    /// group/version/kind.
    pub gvk: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// One restore (or dry run).
#[derive(Serialize, ToSchema)]
pub struct RestoreRecord {
    /// Restore id.
    pub id: String,
    /// Snapshot restored.
    pub snapshot: String,
    /// Target cluster.
    pub target_cluster: String,
    /// Source namespace -> target namespace.
    pub namespace_map: BTreeMap<String, String>,
    /// `skip`, `update` or `recreate`.
    pub policy: String,
    /// Plan and diff only.
    pub dry_run: bool,
    /// Node running it.
    pub node: u64,
    /// Who asked.
    pub by: String,
    /// Leader time at start.
    pub started_at_ms: u64,
    /// Leader time at the end.
    pub finished_at_ms: Option<u64>,
    /// State.
    pub state: JobState,
    /// Objects by outcome (`created`, `updated`, `skipped`, `failed`, `would_create`...).
    pub counts: BTreeMap<String, u64>,
    /// Objects that failed (at most 1000 kept).
    pub failures: Vec<ObjectFailure>,
    /// Snapshot age when the restore began (RPO), ms.
    pub rpo_ms: Option<u64>,
    /// Where the full per-object report is in the object store.
    pub report_key: Option<String>,
}

/// `GET /v1/restores/{id}`.
#[derive(Serialize, ToSchema)]
pub struct RestoreDetail {
    /// The restore.
    pub restore: RestoreRecord,
    /// Its progress, on the node running it.
    pub progress: Option<Progress>,
    /// The full per-object report (`?report=true`, once written).
    pub report: Option<Value>,
}
