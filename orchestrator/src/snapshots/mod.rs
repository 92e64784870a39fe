//! Snapshots as the group runs them: the leader captures and restores in background
//! tasks, and each start, success and failure is a Raft entry.
//!
//! - `POST /v1/snapshots` and schedule firings both come to [`start_capture`]: it commits
//!   `CaptureStarted` (a schedule firing is refused if its key was already captured),
//!   then captures with `lifeboat-snapshot`, then commits `CaptureSucceeded` (the
//!   snapshot becomes visible; its manifest is already durable) or `CaptureFailed`.
//!   After a success, retention runs for that cluster and packs are collected.
//! - [`start_restore`] does the same for restores; the full per-object report goes to
//!   the object store (`reports/restores/<id>.json`), counts and failures to the catalog.
//! - [`on_elected`]: a new leader fails every capture or restore still marked running
//!   that it is not running itself (its node died or lost leadership), so nothing stays
//!   "running" forever.

mod service;

pub use service::{RestoreRequest, SnapshotService, api_schedule_spec, schedule_spec};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_snapshot::capture::CaptureOptions;
use tracing::{info, warn};

use crate::api::ApiError;
use crate::catalog::{CaptureRecord, JobState, ObjectFailure, Op, RestoreRecord, SnapshotRecord};
use crate::node::Node;

/// A fresh id with a prefix, e.g. `cap-1a2b3c4d5e6f7a8b`.
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 8] = rand::random();
    format!("{prefix}-{}", hex::encode(bytes))
}

/// A kube client for a cluster of this node's config; `timeout` bounds each connect,
/// read and write (`None`: kube's defaults).
pub async fn client(
    node: &Node,
    cluster: &str,
    timeout: Option<Duration>,
) -> Result<kube::Client, String> {
    let c = node
        .cfg
        .clusters
        .iter()
        .find(|c| c.name.value == cluster)
        .ok_or_else(|| format!("cluster `{cluster}` is not in this node's config"))?;
    crate::kubeclient::client_for(&c.kubeconfig.value, c.context.as_deref(), timeout).await
}

/// A scheduled firing: (schedule id, firing key, nominal time ms).
pub type FiringRef = (String, String, u64);

/// Commit the start of a capture and run it in the background; returns the capture id.
pub async fn start_capture(
    node: &Arc<Node>,
    cluster: &str,
    by: &str,
    firing: Option<FiringRef>,
) -> Result<String, ApiError> {
    capture_task(node, cluster, by, firing)
        .await
        .map(|(id, _)| id)
}

/// Capture and wait for the outcome: the snapshot record, or why it failed. The capture
/// runs in its own task: dropping this future does not stop it (it records itself).
pub async fn capture_and_wait(
    node: &Arc<Node>,
    cluster: &str,
    by: &str,
) -> Result<SnapshotRecord, String> {
    let (_, task) = capture_task(node, cluster, by, None)
        .await
        .map_err(|e| e.to_string())?;
    task.await.map_err(|e| format!("capture task: {e}"))?
}

async fn capture_task(
    node: &Arc<Node>,
    cluster: &str,
    by: &str,
    firing: Option<FiringRef>,
) -> Result<
    (
        String,
        tokio::task::JoinHandle<Result<SnapshotRecord, String>>,
    ),
    ApiError,
> {
    let id = new_id("cap");
    let trigger = firing
        .as_ref()
        .map_or_else(|| "manual".to_string(), |f| format!("schedule:{}", f.0));
    let record = CaptureRecord {
        id: id.clone(),
        cluster: cluster.to_string(),
        trigger: trigger.clone(),
        firing_key: firing.as_ref().map(|f| f.1.clone()),
        node: node.cfg.node_id,
        by: by.to_string(),
        started_at_ms: 0,
        finished_at_ms: None,
        state: JobState::Running,
        snapshot_id: None,
    };
    let schedule = firing.map(|f| (f.0, f.2));
    node.write(by, Op::CaptureStarted { record, schedule })
        .await?;
    let progress = node.snapshots.track(&id);
    let (node, cluster, cap) = (node.clone(), cluster.to_string(), id.clone());
    let task = tokio::spawn(async move {
        let actor = format!("node-{}", node.cfg.node_id);
        let started = std::time::Instant::now();
        let result = match client(&node, &cluster, None).await {
            Ok(c) => {
                let opts = CaptureOptions {
                    compression_level: node.snapshots.compression_level,
                    ..CaptureOptions::default()
                }
                .label("trigger", &trigger)
                .label("capture", &cap);
                lifeboat_snapshot::capture(c, &cluster, &node.snapshots.store, &opts, &progress)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        node.snapshots.untrack(&cap);
        match result {
            Ok(sum) => {
                info!(cluster = %cluster, snapshot = %sum.id, objects = sum.object_count, "snapshot captured");
                node.metrics.observe_capture(
                    &cluster,
                    true,
                    started.elapsed(),
                    sum.object_count,
                    sum.bytes_uploaded,
                );
                let snapshot = SnapshotRecord {
                    id: sum.id.clone(),
                    cluster: cluster.clone(),
                    manifest_key: sum.manifest_key.clone(),
                    object_count: sum.object_count,
                    new_objects: sum.new_objects,
                    bytes_uploaded: sum.bytes_uploaded,
                    kubernetes_version: sum.kubernetes_version.clone(),
                    started_at_ms: sum.started_at.timestamp_millis() as u64,
                    completed_at_ms: sum.completed_at.timestamp_millis() as u64,
                    capture_id: cap.clone(),
                    trigger,
                };
                let op = Op::CaptureSucceeded {
                    capture_id: cap,
                    snapshot: snapshot.clone(),
                };
                if let Err(e) = node.write(&actor, op).await {
                    warn!(error = %e, "could not record a finished capture (leadership lost?)");
                    return Err(format!("capture done but not recorded: {e}"));
                }
                service::apply_retention(&node, &cluster).await;
                Ok(snapshot)
            }
            Err(reason) => {
                warn!(cluster = %cluster, %reason, "capture failed");
                node.metrics
                    .observe_capture(&cluster, false, started.elapsed(), 0, 0);
                let _ = node
                    .write(
                        &actor,
                        Op::CaptureFailed {
                            capture_id: cap,
                            reason: reason.clone(),
                        },
                    )
                    .await;
                Err(reason)
            }
        }
    });
    Ok((id, task))
}

/// Commit the start of a restore and run it in the background; returns its id.
pub async fn start_restore(
    node: &Arc<Node>,
    req: RestoreRequest,
    by: &str,
) -> Result<String, ApiError> {
    let opts = req.options()?;
    restore_task(node, req, opts, by).await.map(|(id, _)| id)
}

/// Restore with these options and wait for the final record (the restore runs in its
/// own task: dropping this future does not stop it).
pub async fn restore_and_wait(
    node: &Arc<Node>,
    req: RestoreRequest,
    opts: lifeboat_snapshot::restore::RestoreOptions,
    by: &str,
) -> Result<RestoreRecord, String> {
    let (id, task) = restore_task(node, req, opts, by)
        .await
        .map_err(|e| e.to_string())?;
    task.await.map_err(|e| format!("restore task: {e}"))?;
    node.raft
        .read_local(|c| c.snapshots.restores.get(&id).cloned())
        .ok_or_else(|| format!("restore {id} is not in the catalog"))
}

async fn restore_task(
    node: &Arc<Node>,
    req: RestoreRequest,
    opts: lifeboat_snapshot::restore::RestoreOptions,
    by: &str,
) -> Result<(String, tokio::task::JoinHandle<()>), ApiError> {
    let id = new_id("rst");
    let record = RestoreRecord {
        id: id.clone(),
        snapshot: req.snapshot.clone(),
        target_cluster: req.target_cluster.clone(),
        namespace_map: req.namespace_map.clone(),
        policy: req.policy.clone(),
        dry_run: req.dry_run,
        node: node.cfg.node_id,
        by: by.to_string(),
        started_at_ms: 0,
        finished_at_ms: None,
        state: JobState::Running,
        counts: BTreeMap::new(),
        failures: Vec::new(),
        rpo_ms: None,
        report_key: None,
    };
    node.write(by, Op::RestoreStarted { record }).await?;
    let progress = node.snapshots.track(&id);
    let (node, rid) = (node.clone(), id.clone());
    let task = tokio::spawn(async move {
        let actor = format!("node-{}", node.cfg.node_id);
        let result = match client(&node, &req.target_cluster, None).await {
            Ok(c) => run_restore(node.clone(), req.snapshot.clone(), c, opts, progress).await,
            Err(e) => Err(e),
        };
        node.snapshots.untrack(&rid);
        let op = match result {
            Ok(report) => {
                let failures: Vec<ObjectFailure> = report
                    .results
                    .iter()
                    .filter(|r| r.outcome == lifeboat_snapshot::restore::Outcome::Failed)
                    .take(1000)
                    .map(|r| ObjectFailure {
                        gvk: r.gvk.clone(),
                        namespace: r.namespace.clone(),
                        name: r.name.clone(),
                        reason: r.reason.clone().unwrap_or_default(),
                    })
                    .collect();
                let failed = report.count(lifeboat_snapshot::restore::Outcome::Failed);
                let state = if failed == 0 {
                    JobState::Succeeded
                } else {
                    JobState::Failed {
                        reason: format!("{failed} object(s) failed; see failures"),
                    }
                };
                node.metrics
                    .observe_restore(&req.target_cluster, failed == 0, report.duration);
                let report_key = node.snapshots.write_report(&rid, &report).await;
                Op::RestoreFinished {
                    id: rid,
                    state,
                    counts: report.counts.clone(),
                    failures,
                    report_key,
                }
            }
            Err(reason) => {
                node.metrics
                    .observe_restore(&req.target_cluster, false, std::time::Duration::ZERO);
                Op::RestoreFinished {
                    id: rid,
                    state: JobState::Failed { reason },
                    counts: BTreeMap::new(),
                    failures: Vec::new(),
                    report_key: None,
                }
            }
        };
        if let Err(e) = node.write(&actor, op).await {
            warn!(error = %e, "could not record a finished restore (leadership lost?)");
        }
    });
    Ok((id, task))
}

/// Run the library's restore. Its future is not provably `Send` for every lifetime
/// (a rustc limitation with nested async iterators), so it is driven by `block_on` on a
/// blocking thread of the same runtime instead of `tokio::spawn`.
async fn run_restore(
    node: Arc<Node>,
    snapshot: String,
    client: kube::Client,
    opts: lifeboat_snapshot::restore::RestoreOptions,
    progress: lifeboat_snapshot::Progress,
) -> Result<lifeboat_snapshot::restore::RestoreReport, String> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle.block_on(lifeboat_snapshot::restore(
            &node.snapshots.store,
            &snapshot,
            client,
            &opts,
            &progress,
        ))
    })
    .await
    .map_err(|e| format!("restore task: {e}"))?
    .map_err(|e| e.to_string())
}

/// A new leader fails the captures and restores that nobody runs any more.
pub async fn on_elected(node: &Arc<Node>) {
    let actor = format!("node-{}", node.cfg.node_id);
    let (captures, restores) = node.raft.read_local(|c| {
        let caps: Vec<(String, u64)> = c
            .snapshots
            .captures
            .values()
            .filter(|r| r.state == JobState::Running)
            .map(|r| (r.id.clone(), r.node))
            .collect();
        let rsts: Vec<(String, u64)> = c
            .snapshots
            .restores
            .values()
            .filter(|r| r.state == JobState::Running)
            .map(|r| (r.id.clone(), r.node))
            .collect();
        (caps, rsts)
    });
    let orphan = |owner: u64| {
        format!("interrupted: node {owner} no longer runs it (leader changed); retry it")
    };
    for (id, owner) in captures
        .into_iter()
        .filter(|(id, _)| !node.snapshots.is_tracked(id))
    {
        let reason = orphan(owner);
        let _ = node
            .write(
                &actor,
                Op::CaptureFailed {
                    capture_id: id,
                    reason,
                },
            )
            .await;
    }
    for (id, owner) in restores
        .into_iter()
        .filter(|(id, _)| !node.snapshots.is_tracked(id))
    {
        let op = Op::RestoreFinished {
            id: id.clone(),
            state: JobState::Failed {
                reason: orphan(owner),
            },
            counts: BTreeMap::new(),
            failures: Vec::new(),
            report_key: None,
        };
        let _ = node.write(&actor, op).await;
    }
}

/// Fire every schedule that is due, from the config and from the API (leader only,
/// called on each tick).
pub async fn fire_schedules(node: &Arc<Node>) {
    let now = chrono::Utc::now();
    let from_api: Vec<(lifeboat_snapshot::Schedule, String)> = node.raft.read_local(|c| {
        c.snapshots
            .schedules
            .values()
            .filter_map(|s| {
                let spec = api_schedule_spec(s).ok()?;
                Some((
                    lifeboat_snapshot::Schedule::parse(&spec).ok()?,
                    s.cluster.clone(),
                ))
            })
            .collect()
    });
    for (schedule, cluster) in node.snapshots.schedules.iter().chain(&from_api) {
        let id = schedule.spec().id.clone();
        let last = node
            .raft
            .read_local(|c| c.snapshots.schedule_last_fired.get(&id).copied());
        let last = last.and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64));
        for f in schedule.due_firings(last, now) {
            if f.run_at > now {
                continue;
            }
            let firing = (
                id.clone(),
                f.key.clone(),
                f.nominal.timestamp_millis() as u64,
            );
            let by = format!("schedule:{id}");
            match start_capture(node, cluster, &by, Some(firing)).await {
                Ok(cap) => info!(schedule = %id, firing = %f.key, capture = %cap, "schedule fired"),
                Err(e) => tracing::debug!(schedule = %id, error = %e, "firing not started"),
            }
        }
    }
}
