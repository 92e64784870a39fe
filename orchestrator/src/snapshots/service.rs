//! The node's snapshot service: the store, the schedules, retention and the progress of
//! the captures and restores this node runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use lifeboat_snapshot::progress::{Progress, ProgressReport};
use lifeboat_snapshot::restore::{ExistingPolicy, OnUnsupported, RestoreOptions, RestoreReport};
use lifeboat_snapshot::retention::{RetentionPolicy, SnapshotMeta};
use lifeboat_snapshot::schedule::{MissedPolicy, Schedule, ScheduleSpec};
use lifeboat_snapshot::{EncryptionKey, SnapshotStore, StoreOptions};
use object_store::ObjectStoreExt;
use serde::Deserialize;
use tracing::{info, warn};

use crate::api::ApiError;
use crate::catalog::Op;
use crate::config::{LoadedConfig, ScheduleConfig};
use crate::node::Node;

/// The schedule spec of `snapshots.schedules[i]`; its id is `CLUSTER#i`.
pub fn schedule_spec(i: usize, s: &ScheduleConfig) -> Result<ScheduleSpec, String> {
    let missed = match s.missed.as_deref() {
        None | Some("skip") => MissedPolicy::Skip,
        Some("run-once") => MissedPolicy::RunOnce,
        Some(other) => return Err(format!("missed: `{other}` is not skip or run-once")),
    };
    let jitter_secs = match &s.jitter {
        None => 0,
        Some(j) => humantime::parse_duration(j)
            .map_err(|e| format!("jitter `{j}`: {e}"))?
            .as_secs(),
    };
    Ok(ScheduleSpec {
        id: format!("{}#{i}", s.cluster.value),
        cron: s.cron.value.clone(),
        timezone: s.timezone.clone().unwrap_or_else(|| "UTC".into()),
        missed,
        jitter_secs,
        window_secs: 60,
    })
}

/// The schedule spec of a schedule set through the API.
pub fn api_schedule_spec(s: &crate::catalog::ApiSchedule) -> Result<ScheduleSpec, String> {
    let missed = match s.missed.as_str() {
        "skip" => MissedPolicy::Skip,
        "run-once" => MissedPolicy::RunOnce,
        other => return Err(format!("missed: `{other}` is not skip or run-once")),
    };
    Ok(ScheduleSpec {
        id: s.id.clone(),
        cron: s.cron.clone(),
        timezone: s.timezone.clone(),
        missed,
        jitter_secs: s.jitter_secs,
        window_secs: 60,
    })
}

/// Body of `POST /v1/restores`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Snapshot id.
    pub snapshot: String,
    /// Target cluster (the source or another).
    pub target_cluster: String,
    /// Source namespace -> target namespace.
    #[serde(default)]
    pub namespace_map: BTreeMap<String, String>,
    /// `skip` (default), `update` or `recreate`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// Plan and diff only; no writes.
    #[serde(default)]
    pub dry_run: bool,
    /// Stop at the first type the target does not serve (default: report and go on).
    #[serde(default)]
    pub abort_on_unsupported: bool,
}

fn default_policy() -> String {
    "skip".into()
}

impl RestoreRequest {
    /// The library's options, or a 422 naming the bad field.
    pub fn options(&self) -> Result<RestoreOptions, ApiError> {
        let policy = match self.policy.as_str() {
            "skip" => ExistingPolicy::Skip,
            "update" => ExistingPolicy::Update,
            "recreate" => ExistingPolicy::Recreate,
            other => {
                return Err(ApiError::Unprocessable(format!(
                    "policy `{other}` is not one of skip, update, recreate"
                )));
            }
        };
        Ok(RestoreOptions {
            namespace_map: self.namespace_map.clone(),
            policy,
            dry_run: self.dry_run,
            on_unsupported: if self.abort_on_unsupported {
                OnUnsupported::Abort
            } else {
                OnUnsupported::Continue
            },
            target_cluster: self.target_cluster.clone(),
            ..RestoreOptions::default()
        })
    }
}

/// The store, schedules, retention and the progress of running jobs.
pub struct SnapshotService {
    /// The snapshot store.
    pub store: SnapshotStore,
    /// Parsed schedules with their cluster.
    pub schedules: Vec<(Schedule, String)>,
    /// zstd level for packs.
    pub compression_level: i32,
    retention: RetentionPolicy,
    gc_grace: Duration,
    running: Mutex<HashMap<String, Progress>>,
}

impl SnapshotService {
    /// Open the store and parse the schedules (the config was validated already).
    pub fn new(cfg: &LoadedConfig) -> Result<Self, String> {
        let mut opts = StoreOptions::default();
        for (k, v) in &cfg.store_options {
            opts = opts.with_option(k, v);
        }
        let key = match (&cfg.encryption_key_file, &cfg.snapshots.encryption_key_env) {
            (Some(f), _) => {
                Some(EncryptionKey::from_file(f).map_err(|e| format!("encryption key: {e}"))?)
            }
            (None, Some(var)) => {
                Some(EncryptionKey::from_env(var).map_err(|e| format!("encryption key: {e}"))?)
            }
            _ => None,
        };
        if let Some(k) = key {
            opts = opts.with_encryption(k);
        }
        let store = SnapshotStore::open(&cfg.store_url, opts)
            .map_err(|e| format!("store {}: {e}", cfg.store_url))?;
        let mut schedules = Vec::new();
        for (i, s) in cfg.snapshots.schedules.iter().enumerate() {
            let spec = schedule_spec(i, s)?;
            let schedule = Schedule::parse(&spec).map_err(|e| e.to_string())?;
            schedules.push((schedule, s.cluster.value.clone()));
        }
        let r = &cfg.snapshots.retention;
        let n = |v: Option<usize>| v.map_or(0, |v| v as u32);
        let retention = RetentionPolicy {
            keep_last: n(r.keep_last),
            hourly: n(r.hourly),
            daily: n(r.daily),
            weekly: n(r.weekly),
            monthly: 0,
        };
        let gc_grace = cfg
            .snapshots
            .gc_grace
            .as_deref()
            .and_then(|g| humantime::parse_duration(g).ok())
            .unwrap_or(Duration::from_secs(3600));
        Ok(Self {
            store,
            schedules,
            compression_level: cfg
                .snapshots
                .compression_level
                .unwrap_or(lifeboat_snapshot::DEFAULT_COMPRESSION_LEVEL),
            retention,
            gc_grace,
            running: Mutex::default(),
        })
    }

    /// Start tracking a job's progress.
    pub fn track(&self, id: &str) -> Progress {
        let p = Progress::new();
        self.running
            .lock()
            .expect("progress lock")
            .insert(id.to_string(), p.clone());
        p
    }

    /// Stop tracking a job.
    pub fn untrack(&self, id: &str) {
        self.running.lock().expect("progress lock").remove(id);
    }

    /// Is this node running that job?
    pub fn is_tracked(&self, id: &str) -> bool {
        self.running.lock().expect("progress lock").contains_key(id)
    }

    /// Progress of a job this node runs.
    pub fn progress(&self, id: &str) -> Option<ProgressReport> {
        self.running
            .lock()
            .expect("progress lock")
            .get(id)
            .map(Progress::report)
    }

    /// Write a restore's full report to `reports/restores/<id>.json`; its key.
    pub async fn write_report(&self, id: &str, report: &RestoreReport) -> Option<String> {
        let key = format!("reports/restores/{id}.json");
        let body = serde_json::to_vec_pretty(report).ok()?;
        let path = object_store::path::Path::from(key.as_str());
        match self.store.object_store().put(&path, body.into()).await {
            Ok(_) => Some(key),
            Err(e) => {
                warn!(restore = %id, error = %e, "could not write the restore report");
                None
            }
        }
    }

    /// Read a restore report back.
    pub async fn read_report(&self, key: &str) -> Result<serde_json::Value, String> {
        let path = object_store::path::Path::from(key);
        let got = self
            .store
            .object_store()
            .get(&path)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = got.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

/// Delete what the retention policy does not keep for `cluster`, then collect packs.
pub async fn apply_retention(node: &Node, cluster: &str) {
    let metas: Vec<SnapshotMeta> = node.raft.read_local(|c| {
        c.snapshots
            .snapshots
            .values()
            .filter(|s| s.cluster == cluster)
            .filter_map(|s| {
                let time = chrono::DateTime::from_timestamp_millis(s.completed_at_ms as i64)?;
                Some(SnapshotMeta {
                    id: s.id.clone(),
                    cluster: s.cluster.clone(),
                    time,
                })
            })
            .collect()
    });
    let plan = lifeboat_snapshot::retention::plan(&metas, &node.snapshots.retention);
    if plan.delete.is_empty() {
        return;
    }
    let actor = format!("node-{}", node.cfg.node_id);
    for id in &plan.delete {
        let op = Op::SnapshotDeleted {
            id: id.clone(),
            reason: "retention".into(),
        };
        if node.write(&actor, op).await.is_ok()
            && let Err(e) = node.snapshots.store.delete_snapshot(id).await
        {
            warn!(snapshot = %id, error = %e, "could not delete the manifest (gc will retry)");
        }
    }
    let opts = lifeboat_snapshot::gc::GcOptions {
        grace: node.snapshots.gc_grace,
        dry_run: false,
    };
    match lifeboat_snapshot::gc(&node.snapshots.store, &opts).await {
        Ok(r) => {
            info!(cluster = %cluster, deleted = plan.delete.len(), report = ?r, "retention applied")
        }
        Err(e) => warn!(error = %e, "garbage collection failed"),
    }
}
