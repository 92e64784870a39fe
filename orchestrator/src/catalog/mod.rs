//! The replicated catalog: the application state machine behind Raft.
//!
//! Everything the group agrees on lives here: registered clusters, the audit log and a
//! generic key/value namespace (for tests and benchmarks), health votes and verdicts,
//! snapshots, runbooks, plugins, and runs and drills ([`runs`]).
//!
//! `apply` is pure and deterministic: it only reads the command and the current state.
//! Time comes from the command itself (`at_ms`, stamped by the leader that proposed
//! it), never from the clock of the node that applies it.

mod command;
pub mod health;
pub mod runs;
pub mod snapshots;
mod state;

pub use command::{COMMAND_VERSION, Command, Op, Response};
pub use health::{
    ClusterHealth, Failover, HealthPolicy, HealthState, Observation, Verdict, VerdictEvent, Vote,
};
pub use runs::{
    FencingToken, LogLine, OpenAttempt, RunOp, RunRecord, RunState, RunTrigger, RunsState,
    instance_key,
};
pub use snapshots::{
    ApiSchedule, CaptureRecord, JobState, ObjectFailure, RestoreRecord, SnapshotRecord,
    SnapshotState,
};
pub use state::{
    AuditEntry, CATALOG_FORMAT, Catalog, KvEntry, PluginRecord, RegisteredCluster, StoredRunbook,
};
