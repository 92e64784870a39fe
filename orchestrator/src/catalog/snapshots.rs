//! Snapshots, captures and restores in the catalog.
//!
//! A snapshot appears in `snapshots` only when its capture completed (its manifest was
//! durably written first, by `lifeboat-snapshot`). Captures and restores are tracked as
//! records with a state; a schedule firing is recorded by its key, so a firing is
//! captured at most once whichever leader fires it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

/// How many finished capture and restore records the catalog keeps.
pub const HISTORY: usize = 500;
/// How many firing keys are remembered for deduplication.
pub const FIRED_KEYS: usize = 5_000;

/// A completed snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// The snapshot id (the manifest's).
    pub id: String,
    /// Source cluster.
    pub cluster: String,
    /// The manifest's object-store key.
    pub manifest_key: String,
    /// Objects in the snapshot.
    pub object_count: u64,
    /// Objects not stored before (the increment).
    pub new_objects: u64,
    /// Bytes this capture uploaded.
    pub bytes_uploaded: u64,
    /// Source Kubernetes version.
    pub kubernetes_version: String,
    /// Capture start (ms since epoch).
    pub started_at_ms: u64,
    /// Capture end = the point in time the snapshot represents (for RPO).
    pub completed_at_ms: u64,
    /// The capture that made it.
    pub capture_id: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
}

/// State of a capture or restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Running on the node that started it.
    Running,
    /// Done.
    Succeeded,
    /// Failed; nothing partial is visible.
    Failed {
        /// Why, naming what failed.
        reason: String,
    },
}

/// One capture attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// Capture id.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
    /// The schedule firing it serves, if any.
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

/// One object that a restore could not restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Objects that failed, with the reason (at most 1000 kept).
    pub failures: Vec<ObjectFailure>,
    /// Snapshot age when the restore began (RPO), ms.
    pub rpo_ms: Option<u64>,
    /// Where the full per-object report was written in the object store.
    pub report_key: Option<String>,
}

/// A snapshot schedule managed through the API (config schedules live in each node's
/// config; both fire the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSchedule {
    /// Schedule id (a DNS label; config schedules are `CLUSTER#N`, so ids never clash).
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
}

/// Everything about snapshots in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SnapshotState {
    /// Completed snapshots by id.
    pub snapshots: BTreeMap<String, SnapshotRecord>,
    /// Capture records by id (running ones, and the latest finished).
    pub captures: BTreeMap<String, CaptureRecord>,
    /// Restore records by id.
    pub restores: BTreeMap<String, RestoreRecord>,
    /// Per schedule: the nominal time (ms) of its latest firing.
    pub schedule_last_fired: BTreeMap<String, u64>,
    /// Recently fired keys (dedup), oldest first.
    pub fired_keys: VecDeque<String>,
    /// The same keys, for lookup.
    pub fired_set: BTreeSet<String>,
    /// Schedules set through the API, by id.
    #[serde(default)]
    pub schedules: BTreeMap<String, ApiSchedule>,
}

impl SnapshotState {
    /// Record a firing key; false when it was already fired.
    pub fn fire(&mut self, key: &str) -> bool {
        if !self.fired_set.insert(key.to_string()) {
            return false;
        }
        self.fired_keys.push_back(key.to_string());
        while self.fired_keys.len() > FIRED_KEYS {
            if let Some(old) = self.fired_keys.pop_front() {
                self.fired_set.remove(&old);
            }
        }
        true
    }

    /// Drop the oldest finished records beyond [`HISTORY`].
    pub fn trim(&mut self) {
        trim_finished(&mut self.captures, |c| {
            (c.state != JobState::Running, c.started_at_ms)
        });
        trim_finished(&mut self.restores, |r| {
            (r.state != JobState::Running, r.started_at_ms)
        });
    }
}

fn trim_finished<T>(map: &mut BTreeMap<String, T>, key: impl Fn(&T) -> (bool, u64)) {
    let finished: Vec<(u64, String)> = map
        .iter()
        .filter(|(_, v)| key(v).0)
        .map(|(k, v)| (key(v).1, k.clone()))
        .collect();
    if finished.len() <= HISTORY {
        return;
    }
    let mut finished = finished;
    finished.sort();
    for (_, k) in finished.iter().take(finished.len() - HISTORY) {
        map.remove(k);
    }
}
