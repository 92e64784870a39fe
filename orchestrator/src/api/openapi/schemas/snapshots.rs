//! Snapshots and captures: records, job state and progress (shared with restores), and
//! the bodies of `/v1/snapshots`.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// State of a capture or restore: `{"state": "running"|"succeeded"}` or
/// `{"state": "failed", "reason": ...}`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Running.
    Running,
    /// Done.
    Succeeded,
    /// Failed; nothing partial is visible.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A completed snapshot.
#[derive(Serialize, ToSchema)]
pub struct SnapshotRecord {
    /// Snapshot id.
    pub id: String,
    /// Source cluster.
    pub cluster: String,
    /// The manifest's object-store key.
    pub manifest_key: String,
    /// Objects in the snapshot.
    pub object_count: u64,
    /// Objects not stored before.
    pub new_objects: u64,
    /// Bytes this capture uploaded.
    pub bytes_uploaded: u64,
    /// Source Kubernetes version.
    pub kubernetes_version: String,
    /// Capture start (ms since the epoch).
    pub started_at_ms: u64,
    /// Capture end: the point in time the snapshot represents.
    pub completed_at_ms: u64,
    /// The capture that made it.
    pub capture_id: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
}

/// One capture attempt.
#[derive(Serialize, ToSchema)]
pub struct CaptureRecord {
    /// Capture id.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
    /// The schedule firing it serves.
    pub firing_key: Option<String>,
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
    /// The snapshot it produced.
    pub snapshot_id: Option<String>,
}

/// Phase of a running capture or restore.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started.
    Pending,
    /// Discovering resource types.
    Discovering,
    /// Listing and storing objects (capture).
    Capturing,
    /// Writing the manifest (capture).
    Committing,
    /// Reading and verifying stored objects (restore).
    Verifying,
    /// Writing objects to the target (restore).
    Applying,
    /// Finished successfully.
    Done,
    /// Finished with an error.
    Failed,
}

/// Progress of a job the answering node runs (`null` elsewhere or when finished long ago).
#[derive(Serialize, ToSchema)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Objects discovered.
    pub discovered: u64,
    /// Objects done.
    pub done: u64,
    /// Bytes written to the store so far.
    pub bytes_uploaded: u64,
    /// Per resource type (`plural.group`): `{discovered, done}`.
    pub types: BTreeMap<String, TypeProgress>,
}

/// Counts for one resource type.
#[derive(Serialize, ToSchema)]
pub struct TypeProgress {
    /// Objects known so far.
    pub discovered: u64,
    /// Objects processed.
    pub done: u64,
}

/// `GET /v1/snapshots`.
#[derive(Serialize, ToSchema)]
pub struct SnapshotList {
    /// Completed snapshots, newest first.
    pub snapshots: Vec<SnapshotRecord>,
    /// Captures running or failed.
    pub captures: Vec<CaptureRecord>,
}

/// `POST /v1/snapshots` (202).
#[derive(Serialize, ToSchema)]
pub struct CaptureStarted {
    /// The capture id (`GET /v1/snapshots/{capture}` follows it).
    pub capture: String,
    /// The cluster.
    pub cluster: String,
}

/// `GET /v1/snapshots/{id}`: `{snapshot}` for a snapshot id, or
/// `{capture, progress, snapshot}` for a capture id.
#[derive(Serialize, ToSchema)]
pub struct SnapshotDetail {
    /// The snapshot (`null` while its capture runs or when it failed).
    pub snapshot: Option<SnapshotRecord>,
    /// The capture (capture ids only).
    pub capture: Option<CaptureRecord>,
    /// The capture's progress (capture ids only).
    pub progress: Option<Progress>,
}

/// `DELETE /v1/snapshots/{id}`, `DELETE /v1/schedules/{id}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    /// The id deleted.
    pub deleted: String,
}
