//! Commands replicated through the Raft log, and their responses.
//!
//! Every command carries a format version (`v`). A node refuses (deterministically, as a
//! `Rejected` response) a command of a version newer than it understands, so a mixed-
//! version group never applies half-understood entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The newest command format this build writes and understands.
pub const COMMAND_VERSION: u16 = 1;

/// One replicated command: who asked, when (leader-stamped), and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Format version, see [`COMMAND_VERSION`].
    pub v: u16,
    /// Milliseconds since the Unix epoch, stamped by the proposing leader.
    pub at_ms: u64,
    /// Who asked (token name, or `node-N` for the nodes' own entries).
    pub actor: String,
    /// What to do.
    pub op: Op,
}

impl Command {
    /// A command of the current version.
    pub fn new(at_ms: u64, actor: impl Into<String>, op: Op) -> Self {
        Self {
            v: COMMAND_VERSION,
            at_ms,
            actor: actor.into(),
            op,
        }
    }
}

/// The operations of version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// Register (or update) a protected cluster.
    RegisterCluster {
        /// Cluster name.
        name: String,
        /// Kubeconfig context, if not the current one.
        context: Option<String>,
    },
    /// Remove a cluster from the catalog.
    DeregisterCluster {
        /// Cluster name.
        name: String,
    },
    /// Record an event in the audit log.
    Audit {
        /// What happened, e.g. `leader.elected`.
        action: String,
        /// What it happened to.
        target: String,
        /// Free-form structured details.
        #[serde(default)]
        details: serde_json::Value,
    },
    /// Set a key; with `expected_version`, only if the key is at that version
    /// (0 = only if absent).
    KvPut {
        /// The key.
        key: String,
        /// The value.
        value: serde_json::Value,
        /// Compare-and-set precondition.
        #[serde(default)]
        expected_version: Option<u64>,
    },
    /// Delete a key.
    KvDelete {
        /// The key.
        key: String,
    },
    /// Set the health policy every node judges by (the leader commits its config's).
    SetHealthPolicy {
        /// The policy.
        policy: super::HealthPolicy,
    },
    /// One node's view of one cluster (committed on change and to refresh its lease).
    HealthVote {
        /// The voting node.
        node: u64,
        /// The cluster.
        cluster: String,
        /// What it saw.
        observation: super::Observation,
        /// Why.
        reason: String,
        /// It suspects itself and abstains.
        #[serde(default)]
        abstain: bool,
        /// Its probe latency.
        #[serde(default)]
        latency_ms: Option<u64>,
    },
    /// The leader's clock tick: re-judge health at this time.
    Tick,
    /// Fence a cluster (by hand, or by a run's `cluster.fence` step).
    Fence {
        /// The cluster.
        cluster: String,
        /// The run step doing it: (run id, fencing token of its open attempt).
        #[serde(default)]
        by_run: Option<(String, super::FencingToken)>,
    },
    /// Release a fenced (or lost) cluster.
    Unfence {
        /// The cluster.
        cluster: String,
        /// The run step doing it: (run id, fencing token of its open attempt).
        #[serde(default)]
        by_run: Option<(String, super::FencingToken)>,
    },
    /// Runs and drills.
    Run(super::RunOp),
    /// Store (or replace) a runbook. The API lints it first; `apply` stores it with its
    /// content digest and keeps every version, so runs stay pinned to theirs.
    PutRunbook {
        /// Runbook name (its `metadata.name`).
        name: String,
        /// The YAML, byte for byte.
        yaml: String,
    },
    /// Remove a runbook (its versions stay for the runs pinned to them).
    DeleteRunbook {
        /// Runbook name.
        name: String,
    },
    /// A capture starts on `record.node`. With a firing key, refused if that firing was
    /// already captured (schedules fire at most once across leader changes).
    CaptureStarted {
        /// The new record (state `running`).
        record: super::CaptureRecord,
        /// The schedule and nominal fire time (ms), for a scheduled capture.
        #[serde(default)]
        schedule: Option<(String, u64)>,
    },
    /// A capture finished: its snapshot becomes visible.
    CaptureSucceeded {
        /// Capture id.
        capture_id: String,
        /// The snapshot.
        snapshot: super::SnapshotRecord,
    },
    /// A capture failed (or was interrupted): nothing becomes visible.
    CaptureFailed {
        /// Capture id.
        capture_id: String,
        /// Why.
        reason: String,
    },
    /// A snapshot was deleted (by hand or by retention).
    SnapshotDeleted {
        /// Snapshot id.
        id: String,
        /// Why (`manual`, `retention`).
        reason: String,
    },
    /// Register a WebAssembly plugin (its bytes are in the object store under `object_key`).
    RegisterPlugin {
        /// The plugin.
        record: super::PluginRecord,
    },
    /// Set (create or replace) a snapshot schedule; validated by the API first.
    PutSchedule {
        /// The schedule.
        schedule: super::ApiSchedule,
    },
    /// Remove a schedule set through the API.
    DeleteSchedule {
        /// Its id.
        id: String,
    },
    /// A restore starts.
    RestoreStarted {
        /// The new record (state `running`).
        record: super::RestoreRecord,
    },
    /// A restore finished (or failed, or was interrupted).
    RestoreFinished {
        /// Restore id.
        id: String,
        /// Final state.
        state: super::JobState,
        /// Objects by outcome.
        counts: BTreeMap<String, u64>,
        /// Failed objects.
        failures: Vec<super::ObjectFailure>,
        /// Full report location.
        report_key: Option<String>,
    },
}

/// What applying a command produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Entries that are not commands (blank, membership) answer nothing.
    #[default]
    None,
    /// Applied at this log index.
    Applied {
        /// The log index.
        index: u64,
    },
    /// A key was written; its new version is the log index.
    KvWritten {
        /// The key's new version.
        version: u64,
    },
    /// A compare-and-set failed.
    Conflict {
        /// The key's current version (None when absent).
        current: Option<u64>,
    },
    /// A run was created.
    RunCreated {
        /// Its id.
        id: String,
    },
    /// Not applied, deterministically, for this reason.
    Rejected {
        /// Why.
        reason: String,
    },
}
