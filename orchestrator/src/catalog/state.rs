//! The catalog's state and its pure `apply`.

use std::collections::{BTreeMap, VecDeque};

use lifeboat_runbooks::Runbook;
use serde::{Deserialize, Serialize};

use super::command::{COMMAND_VERSION, Command, Op, Response};
use super::health::{Failover, HealthState, Verdict, VerdictEvent};
use super::runs::{Applied, RunOp, RunRecord, RunState, RunTrigger, RunsState};
use super::snapshots::{JobState, SnapshotState};

/// Format version of the serialised catalog (Raft snapshots).
pub const CATALOG_FORMAT: u32 = 1;

/// How many audit entries the catalog keeps (the oldest are dropped first).
pub const AUDIT_CAPACITY: usize = 10_000;

/// A protected cluster as the group knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCluster {
    /// Cluster name.
    pub name: String,
    /// Kubeconfig context.
    pub context: Option<String>,
    /// When it was registered (leader time, ms).
    pub registered_at_ms: u64,
    /// Log index of the registration.
    pub index: u64,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number, gap-free and increasing.
    pub seq: u64,
    /// Log index of the command that produced it.
    pub index: u64,
    /// Leader time, ms since the epoch.
    pub at_ms: u64,
    /// Who.
    pub actor: String,
    /// What, e.g. `cluster.registered`.
    pub action: String,
    /// On what.
    pub target: String,
    /// Structured details.
    pub details: serde_json::Value,
}

/// A stored runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRunbook {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>` of its YAML.
    pub digest: String,
    /// Leader time of the last change.
    pub updated_at_ms: u64,
    /// Who changed it.
    pub updated_by: String,
}

/// A registered plugin, identified by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its name (from `describe()`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// What `describe()` returned, whole.
    pub describe: serde_json::Value,
    /// Capabilities it asks for.
    pub capabilities: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Object-store key of its bytes.
    pub object_key: String,
    /// Leader time of registration.
    pub registered_at_ms: u64,
    /// Who registered it.
    pub registered_by: String,
}

/// A key/value entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvEntry {
    /// The value.
    pub value: serde_json::Value,
    /// Version: the log index of the last write.
    pub version: u64,
    /// Leader time of the last write.
    pub updated_at_ms: u64,
}

/// The replicated catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Format version of this structure.
    pub format: u32,
    /// Registered clusters by name.
    pub clusters: BTreeMap<String, RegisteredCluster>,
    /// The newest audit entries.
    pub audit: VecDeque<AuditEntry>,
    /// Next audit sequence number.
    pub next_audit_seq: u64,
    /// The test/benchmark key/value namespace.
    pub kv: BTreeMap<String, KvEntry>,
    /// The latest leader time seen (monotonic).
    pub clock_ms: u64,
    /// Index of the last applied command.
    pub last_index: u64,
    /// Cluster health: policy, votes, verdicts.
    #[serde(default)]
    pub health: HealthState,
    /// Runbooks by name (current version).
    #[serde(default)]
    pub runbooks: BTreeMap<String, StoredRunbook>,
    /// Every runbook version ever stored, by digest (runs are pinned to one).
    #[serde(default)]
    pub runbook_versions: BTreeMap<String, String>,
    /// Snapshots, captures, restores, schedule firings.
    #[serde(default)]
    pub snapshots: SnapshotState,
    /// Registered plugins by digest.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginRecord>,
    /// Runs and drills.
    #[serde(default)]
    pub runs: RunsState,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            format: CATALOG_FORMAT,
            clusters: BTreeMap::new(),
            audit: VecDeque::new(),
            next_audit_seq: 1,
            kv: BTreeMap::new(),
            clock_ms: 0,
            last_index: 0,
            health: HealthState::default(),
            runbooks: BTreeMap::new(),
            runbook_versions: BTreeMap::new(),
            snapshots: SnapshotState::default(),
            plugins: BTreeMap::new(),
            runs: RunsState::default(),
        }
    }
}

impl Catalog {
    /// Apply one committed command at `index`. Pure and deterministic.
    pub fn apply_command(&mut self, index: u64, cmd: Command) -> Response {
        self.last_index = index;
        if cmd.v > COMMAND_VERSION || cmd.v == 0 {
            return Response::Rejected {
                reason: format!(
                    "command format v{} is not understood by this node (it knows v1..v{}): \
                     upgrade every node before using newer features",
                    cmd.v, COMMAND_VERSION
                ),
            };
        }
        // Leader time only moves forward, even across a leader change with clock skew.
        self.clock_ms = self.clock_ms.max(cmd.at_ms);
        let now = self.clock_ms;
        match cmd.op {
            Op::RegisterCluster { name, context } => {
                let changed = self
                    .clusters
                    .get(&name)
                    .is_none_or(|c| c.context != context);
                if changed {
                    let details = serde_json::json!({ "context": context });
                    let entry = RegisteredCluster {
                        name: name.clone(),
                        context,
                        registered_at_ms: now,
                        index,
                    };
                    self.clusters.insert(name.clone(), entry);
                    self.health.track(&name, now);
                    self.audit(index, &cmd.actor, "cluster.registered", &name, details);
                }
                Response::Applied { index }
            }
            Op::DeregisterCluster { name } => {
                if self.clusters.remove(&name).is_some() {
                    self.health.clusters.remove(&name);
                    let details = serde_json::Value::Null;
                    self.audit(index, &cmd.actor, "cluster.deregistered", &name, details);
                    Response::Applied { index }
                } else {
                    Response::Rejected {
                        reason: format!("cluster `{name}` is not registered"),
                    }
                }
            }
            Op::Audit {
                action,
                target,
                details,
            } => {
                self.audit(index, &cmd.actor, &action, &target, details);
                Response::Applied { index }
            }
            Op::KvPut {
                key,
                value,
                expected_version,
            } => {
                let current = self.kv.get(&key).map(|e| e.version);
                if let Some(expected) = expected_version
                    && current.unwrap_or(0) != expected
                {
                    return Response::Conflict { current };
                }
                let entry = KvEntry {
                    value,
                    version: index,
                    updated_at_ms: now,
                };
                self.kv.insert(key, entry);
                Response::KvWritten { version: index }
            }
            Op::KvDelete { key } => match self.kv.remove(&key) {
                Some(_) => Response::Applied { index },
                None => Response::Conflict { current: None },
            },
            Op::SetHealthPolicy { policy } => {
                let details = serde_json::to_value(&policy).unwrap_or_default();
                self.health.policy = Some(policy);
                self.audit(index, &cmd.actor, "health.policy", "health", details);
                let events = self.health.evaluate(now);
                self.audit_verdicts(index, &cmd.actor, events);
                Response::Applied { index }
            }
            Op::HealthVote {
                node,
                cluster,
                observation,
                reason,
                abstain,
                latency_ms,
            } => {
                if !self.health.clusters.contains_key(&cluster) {
                    return Response::Rejected {
                        reason: format!("cluster `{cluster}` is not registered"),
                    };
                }
                let events = self.health.vote(
                    now,
                    node,
                    &cluster,
                    observation,
                    reason,
                    abstain,
                    latency_ms,
                );
                self.audit_verdicts(index, &cmd.actor, events);
                Response::Applied { index }
            }
            Op::Tick => {
                let events = self.health.evaluate(now);
                self.audit_verdicts(index, &cmd.actor, events);
                Response::Applied { index }
            }
            Op::Fence { cluster, .. } | Op::Unfence { cluster, .. }
                if !self.health.clusters.contains_key(&cluster) =>
            {
                Response::Rejected {
                    reason: format!("cluster `{cluster}` is not registered"),
                }
            }
            Op::Fence {
                by_run: Some((run, token)),
                ..
            }
            | Op::Unfence {
                by_run: Some((run, token)),
                ..
            } if self.runs.check_token(&run, token).is_err() => Response::Rejected {
                reason: self.runs.check_token(&run, token).unwrap_err(),
            },
            Op::Fence {
                by_run: Some(_),
                cluster,
            } if self.health.clusters[&cluster].verdict == Verdict::Fenced => {
                // Idempotent for runs: fencing a fenced cluster again changes nothing.
                Response::Applied { index }
            }
            Op::Run(op) => self.apply_run(index, now, &cmd.actor, op),
            Op::Fence { cluster, .. } => {
                let events = self.health.fence(&cluster, now).into_iter().collect();
                self.audit_verdicts(index, &cmd.actor, events);
                Response::Applied { index }
            }
            Op::PutRunbook { name, yaml } => {
                let digest = lifeboat_runbooks::runbook_digest(&yaml);
                let unchanged = self.runbooks.get(&name).is_some_and(|r| r.digest == digest);
                if !unchanged {
                    let stored = StoredRunbook {
                        name: name.clone(),
                        digest: digest.clone(),
                        updated_at_ms: now,
                        updated_by: cmd.actor.clone(),
                    };
                    self.runbooks.insert(name.clone(), stored);
                    self.runbook_versions.insert(digest.clone(), yaml);
                    let details = serde_json::json!({ "digest": digest });
                    self.audit(index, &cmd.actor, "runbook.stored", &name, details);
                }
                Response::Applied { index }
            }
            Op::CaptureStarted { .. }
            | Op::CaptureSucceeded { .. }
            | Op::CaptureFailed { .. }
            | Op::SnapshotDeleted { .. }
            | Op::RestoreStarted { .. }
            | Op::RestoreFinished { .. } => {
                let r = self.apply_snapshot_op(index, now, &cmd.actor, cmd.op);
                self.snapshots.trim();
                r
            }
            Op::PutSchedule { schedule } => {
                if !self.clusters.contains_key(&schedule.cluster) {
                    return Response::Rejected {
                        reason: format!("cluster `{}` is not registered", schedule.cluster),
                    };
                }
                let details = serde_json::to_value(&schedule).unwrap_or_default();
                let id = schedule.id.clone();
                self.snapshots.schedules.insert(id.clone(), schedule);
                self.audit(index, &cmd.actor, "schedule.set", &id, details);
                Response::Applied { index }
            }
            Op::DeleteSchedule { id } => match self.snapshots.schedules.remove(&id) {
                Some(_) => {
                    self.audit(
                        index,
                        &cmd.actor,
                        "schedule.deleted",
                        &id,
                        serde_json::Value::Null,
                    );
                    Response::Applied { index }
                }
                None => Response::Rejected {
                    reason: format!("no schedule `{id}`"),
                },
            },
            Op::RegisterPlugin { mut record } => {
                if !self.plugins.contains_key(&record.digest) {
                    record.registered_at_ms = now;
                    record.registered_by = cmd.actor.clone();
                    let details =
                        serde_json::json!({ "digest": record.digest, "version": record.version });
                    let name = record.name.clone();
                    self.plugins.insert(record.digest.clone(), record);
                    self.audit(index, &cmd.actor, "plugin.registered", &name, details);
                }
                Response::Applied { index }
            }
            Op::DeleteRunbook { name } => match self.runbooks.remove(&name) {
                Some(r) => {
                    let details = serde_json::json!({ "digest": r.digest });
                    self.audit(index, &cmd.actor, "runbook.deleted", &name, details);
                    Response::Applied { index }
                }
                None => Response::Rejected {
                    reason: format!("no runbook `{name}`"),
                },
            },
            Op::Unfence {
                by_run: Some(_),
                cluster,
            } if self.health.clusters[&cluster].verdict != Verdict::Fenced => {
                // Idempotent for runs: unfencing an unfenced cluster changes nothing.
                Response::Applied { index }
            }
            Op::Unfence { cluster, .. } => match self.health.unfence(&cluster, now) {
                Some(e) => {
                    self.audit_verdicts(index, &cmd.actor, vec![e]);
                    Response::Applied { index }
                }
                None => Response::Rejected {
                    reason: format!("cluster `{cluster}` is not fenced"),
                },
            },
        }
    }

    fn apply_snapshot_op(&mut self, index: u64, now: u64, actor: &str, op: Op) -> Response {
        let reject = |reason: String| Response::Rejected { reason };
        let s = &mut self.snapshots;
        let (action, target, details) = match op {
            Op::CaptureStarted {
                mut record,
                schedule,
            } => {
                if !self.clusters.contains_key(&record.cluster) {
                    return reject(format!("cluster `{}` is not registered", record.cluster));
                }
                if let Some(key) = &record.firing_key
                    && !s.fire(key)
                {
                    return reject(format!("firing {key} was already captured"));
                }
                if let Some((id, nominal)) = schedule {
                    let last = s.schedule_last_fired.entry(id).or_insert(0);
                    *last = (*last).max(nominal);
                }
                record.started_at_ms = now;
                record.state = JobState::Running;
                let details = serde_json::json!({
                    "capture": record.id, "trigger": record.trigger, "firing": record.firing_key,
                });
                let cluster = record.cluster.clone();
                s.captures.insert(record.id.clone(), record);
                ("snapshot.capture_started", cluster, details)
            }
            Op::CaptureSucceeded {
                capture_id,
                snapshot,
            } => {
                let Some(c) = s
                    .captures
                    .get_mut(&capture_id)
                    .filter(|c| c.state == JobState::Running)
                else {
                    return reject(format!("capture `{capture_id}` is not running"));
                };
                c.state = JobState::Succeeded;
                c.finished_at_ms = Some(now);
                c.snapshot_id = Some(snapshot.id.clone());
                let details = serde_json::json!({
                    "snapshot": snapshot.id, "objects": snapshot.object_count,
                    "bytes_uploaded": snapshot.bytes_uploaded,
                });
                let cluster = snapshot.cluster.clone();
                s.snapshots.insert(snapshot.id.clone(), snapshot);
                ("snapshot.created", cluster, details)
            }
            Op::CaptureFailed { capture_id, reason } => {
                let Some(c) = s
                    .captures
                    .get_mut(&capture_id)
                    .filter(|c| c.state == JobState::Running)
                else {
                    return reject(format!("capture `{capture_id}` is not running"));
                };
                c.state = JobState::Failed {
                    reason: reason.clone(),
                };
                c.finished_at_ms = Some(now);
                let details = serde_json::json!({ "capture": capture_id, "reason": reason });
                ("snapshot.capture_failed", c.cluster.clone(), details)
            }
            Op::SnapshotDeleted { id, reason } => match s.snapshots.remove(&id) {
                Some(snap) => (
                    "snapshot.deleted",
                    snap.cluster,
                    serde_json::json!({ "snapshot": id, "reason": reason }),
                ),
                None => return reject(format!("no snapshot `{id}`")),
            },
            Op::RestoreStarted { mut record } => {
                let Some(snap) = s.snapshots.get(&record.snapshot) else {
                    return reject(format!("no snapshot `{}`", record.snapshot));
                };
                if !self.clusters.contains_key(&record.target_cluster) {
                    return reject(format!(
                        "cluster `{}` is not registered",
                        record.target_cluster
                    ));
                }
                record.rpo_ms = Some(now.saturating_sub(snap.completed_at_ms));
                record.started_at_ms = now;
                record.state = JobState::Running;
                let details = serde_json::json!({
                    "restore": record.id, "snapshot": record.snapshot, "dry_run": record.dry_run,
                });
                let target = record.target_cluster.clone();
                s.restores.insert(record.id.clone(), record);
                ("snapshot.restore_started", target, details)
            }
            Op::RestoreFinished {
                id,
                state,
                counts,
                failures,
                report_key,
            } => {
                let Some(r) = s
                    .restores
                    .get_mut(&id)
                    .filter(|r| r.state == JobState::Running)
                else {
                    return reject(format!("restore `{id}` is not running"));
                };
                r.state = state;
                r.finished_at_ms = Some(now);
                r.counts = counts;
                r.failures = failures;
                r.report_key = report_key;
                let details =
                    serde_json::json!({ "restore": id, "state": r.state, "counts": r.counts });
                (
                    "snapshot.restore_finished",
                    r.target_cluster.clone(),
                    details,
                )
            }
            _ => unreachable!("only snapshot ops are routed here"),
        };
        self.audit(index, actor, action, &target, details);
        Response::Applied { index }
    }

    /// One audit entry per verdict change, listing the votes behind it; a change to
    /// `Lost` starts the matching runbooks' runs (exactly once: the change happens once).
    fn audit_verdicts(&mut self, index: u64, actor: &str, events: Vec<VerdictEvent>) {
        for e in events {
            let details = serde_json::json!({
                "from": e.from, "to": e.to, "seq": e.seq,
                "failover": e.failover, "votes": e.votes,
            });
            self.audit(index, actor, "cluster.verdict", &e.cluster, details);
            if e.to == Verdict::Lost {
                self.trigger_failover(index, &e);
            }
        }
    }

    /// Create the runs of every runbook with a `clusterLost` trigger for this cluster.
    /// `Pending` starts them, `Held` creates them held for approval (and holds the
    /// not-yet-started runs of the other clusters the same guard now holds),
    /// `Suppressed` (cooldown) creates none.
    fn trigger_failover(&mut self, index: u64, e: &VerdictEvent) {
        let hold = match &e.failover {
            Failover::Pending => None,
            Failover::Held { reason } => Some(reason.clone()),
            Failover::Suppressed { until_ms } => {
                let details = serde_json::json!({"reason": "cooldown", "until_ms": until_ms});
                self.audit(
                    index,
                    "lifeboat",
                    "failover.suppressed",
                    &e.cluster,
                    details,
                );
                return;
            }
            Failover::None => return,
        };
        if let Some(reason) = &hold {
            let held: Vec<String> = self
                .health
                .clusters
                .iter()
                .filter(|(_, h)| matches!(h.failover, Failover::Held { .. }))
                .map(|(n, _)| n.clone())
                .collect();
            for run in self.runs.runs.values_mut() {
                let untouched = run.state == RunState::Running && run.journal.events.is_empty();
                if let RunTrigger::ClusterLost { cluster, .. } = &run.trigger
                    && untouched
                    && held.contains(cluster)
                {
                    run.state = RunState::Held {
                        reason: reason.clone(),
                    };
                }
            }
        }
        let matching: Vec<(String, String, String)> = self
            .runbooks
            .values()
            .filter_map(|r| {
                let rb = self.runbook_at(&r.name, &r.digest).ok()?;
                rb.spec.triggers.iter().find_map(|t| match t {
                    lifeboat_runbooks::schema::Trigger::ClusterLost(t)
                        if t.cluster.as_deref() == Some(e.cluster.as_str()) =>
                    {
                        Some((r.name.clone(), r.digest.clone(), t.param.clone()))
                    }
                    _ => None,
                })
            })
            .collect();
        if matching.is_empty() {
            let details =
                serde_json::json!({"reason": "no runbook has a clusterLost trigger for it"});
            self.audit(index, "lifeboat", "failover.none", &e.cluster, details);
        }
        for (name, digest, param) in matching {
            let trigger = RunTrigger::ClusterLost {
                cluster: e.cluster.clone(),
                lost_at_ms: e.at_ms,
                verdict_seq: e.seq,
            };
            let params = BTreeMap::from([(param, serde_json::json!(e.cluster))]);
            self.create_run(
                index,
                "lifeboat",
                &name,
                &digest,
                params,
                false,
                trigger,
                hold.clone(),
            );
        }
    }

    /// Create a run of runbook `name` at `digest`; audited either way.
    #[allow(clippy::too_many_arguments)]
    fn create_run(
        &mut self,
        index: u64,
        actor: &str,
        name: &str,
        digest: &str,
        params: BTreeMap<String, serde_json::Value>,
        drill: bool,
        trigger: RunTrigger,
        hold: Option<String>,
    ) -> Response {
        let now = self.clock_ms;
        let created = self.runbook_at(name, digest).and_then(|rb| {
            self.runs.create(
                index,
                now,
                actor,
                &rb,
                digest,
                params,
                drill,
                trigger.clone(),
                hold,
            )
        });
        match created {
            Ok(id) => {
                let run = &self.runs.runs[&id];
                let details = serde_json::json!({
                    "runbook": name, "digest": digest, "drill": drill, "trigger": trigger,
                    "state": run.state, "concurrency_key": run.concurrency_key,
                });
                self.audit(index, actor, "run.created", &id, details);
                Response::RunCreated { id }
            }
            Err(reason) => {
                let details = serde_json::json!({
                    "runbook": name, "drill": drill, "trigger": trigger, "reason": reason,
                });
                self.audit(index, actor, "run.refused", name, details);
                Response::Rejected { reason }
            }
        }
    }

    fn apply_run(&mut self, index: u64, now: u64, actor: &str, op: RunOp) -> Response {
        if let RunOp::Create {
            runbook,
            params,
            drill,
        } = op
        {
            let Some(stored) = self.runbooks.get(&runbook) else {
                return Response::Rejected {
                    reason: format!("no runbook `{runbook}`"),
                };
            };
            let digest = stored.digest.clone();
            let trigger = if drill {
                RunTrigger::Drill
            } else {
                RunTrigger::Manual
            };
            return self.create_run(
                index, actor, &runbook, &digest, params, drill, trigger, None,
            );
        }
        match self.runs.apply(index, now, op) {
            Applied::Ok(audit) => {
                if let Some((action, target, details)) = audit {
                    self.audit(index, actor, &action, &target, details);
                }
                Response::Applied { index }
            }
            Applied::Rejected(reason) => Response::Rejected { reason },
        }
    }

    fn audit(
        &mut self,
        index: u64,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) {
        let entry = AuditEntry {
            seq: self.next_audit_seq,
            index,
            at_ms: self.clock_ms,
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            details,
        };
        self.next_audit_seq += 1;
        self.audit.push_back(entry);
        while self.audit.len() > AUDIT_CAPACITY {
            self.audit.pop_front();
        }
    }

    /// The stored runbook version `digest` of runbook `name`, parsed.
    ///
    /// # Errors
    /// `runbook version DIGEST is not stored`, or `runbook `NAME` no longer parses`.
    pub fn runbook_at(&self, name: &str, digest: &str) -> Result<Runbook, String> {
        let yaml = self
            .runbook_versions
            .get(digest)
            .ok_or_else(|| format!("runbook version {digest} is not stored"))?;
        super::runs::parse_runbook(name, yaml)
    }

    /// The runbook version `run` is pinned to, parsed (errors as [`Self::runbook_at`]).
    ///
    /// # Errors
    /// The version is not stored, or no longer parses.
    pub fn runbook_of(&self, run: &RunRecord) -> Result<Runbook, String> {
        self.runbook_at(&run.runbook, &run.digest)
    }

    /// Audit entries with `seq > after`, oldest first, at most `limit`.
    pub fn audit_after(&self, after: u64, limit: usize) -> Vec<AuditEntry> {
        self.audit
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }
}

impl lifeboat_raft::StateMachine for Catalog {
    type Command = Command;
    type Response = Response;

    fn apply(&mut self, index: u64, _term: u64, cmd: Command) -> Response {
        self.apply_command(index, cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(at_ms: u64, op: Op) -> Command {
        Command::new(at_ms, "tester", op)
    }

    fn put(key: &str, expected_version: Option<u64>) -> Op {
        Op::KvPut {
            key: key.into(),
            value: serde_json::json!(1),
            expected_version,
        }
    }

    #[test]
    fn kv_compare_and_set() {
        let mut c = Catalog::default();
        assert_eq!(
            c.apply_command(5, cmd(1, put("a", Some(0)))),
            Response::KvWritten { version: 5 }
        );
        let stale = c.apply_command(6, cmd(2, put("a", Some(0))));
        assert_eq!(stale, Response::Conflict { current: Some(5) });
        assert_eq!(
            c.apply_command(7, cmd(3, put("a", Some(5)))),
            Response::KvWritten { version: 7 }
        );
        assert_eq!(c.kv["a"].version, 7);
    }

    #[test]
    fn leader_time_is_monotonic_across_skewed_leaders() {
        let mut c = Catalog::default();
        c.apply_command(1, cmd(1_000, put("a", None)));
        c.apply_command(2, cmd(900, put("b", None)));
        assert_eq!(c.clock_ms, 1_000);
        assert_eq!(c.kv["b"].updated_at_ms, 1_000);
    }

    #[test]
    fn registering_a_cluster_is_audited_once() {
        let mut c = Catalog::default();
        let reg = || Op::RegisterCluster {
            name: "eu-west".into(),
            context: None,
        };
        c.apply_command(1, cmd(10, reg()));
        c.apply_command(2, cmd(11, reg()));
        assert_eq!(c.clusters.len(), 1);
        let audit = c.audit_after(0, 100);
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "cluster.registered");
        assert_eq!(audit[0].actor, "tester");
    }

    #[test]
    fn newer_command_versions_are_rejected_not_applied() {
        let mut c = Catalog::default();
        let mut future = cmd(1, put("a", None));
        future.v = COMMAND_VERSION + 1;
        assert!(matches!(
            c.apply_command(1, future),
            Response::Rejected { .. }
        ));
        assert!(c.kv.is_empty());
    }

    #[test]
    fn audit_log_is_bounded_and_sequenced() {
        let mut c = Catalog::default();
        for i in 0..(AUDIT_CAPACITY as u64 + 5) {
            let op = Op::Audit {
                action: "x".into(),
                target: "y".into(),
                details: serde_json::Value::Null,
            };
            c.apply_command(i + 1, cmd(i, op));
        }
        assert_eq!(c.audit.len(), AUDIT_CAPACITY);
        assert_eq!(c.audit.front().unwrap().seq, 6);
        assert_eq!(c.audit_after(AUDIT_CAPACITY as u64, 100).len(), 5);
    }

    #[test]
    fn a_schedule_firing_is_captured_at_most_once() {
        use crate::catalog::{CaptureRecord, JobState};
        let mut c = Catalog::default();
        let reg = Op::RegisterCluster {
            name: "a".into(),
            context: None,
        };
        c.apply_command(1, cmd(1, reg));
        let start = |id: &str| Op::CaptureStarted {
            record: CaptureRecord {
                id: id.into(),
                cluster: "a".into(),
                trigger: "schedule:a#0".into(),
                firing_key: Some("a#0@2026-11-26T08:00:00Z".into()),
                node: 1,
                by: "x".into(),
                started_at_ms: 0,
                finished_at_ms: None,
                state: JobState::Running,
                snapshot_id: None,
            },
            schedule: Some(("a#0".into(), 5)),
        };
        assert!(matches!(
            c.apply_command(2, cmd(2, start("cap-1"))),
            Response::Applied { .. }
        ));
        // The next leader fires the same firing again: refused, nothing recorded.
        assert!(matches!(
            c.apply_command(3, cmd(3, start("cap-2"))),
            Response::Rejected { .. }
        ));
        assert_eq!(c.snapshots.captures.len(), 1);
        assert_eq!(c.snapshots.schedule_last_fired["a#0"], 5);
    }

    #[test]
    fn catalog_round_trips_through_json() {
        let mut c = Catalog::default();
        c.apply_command(1, cmd(1, put("k", None)));
        let back: Catalog = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
