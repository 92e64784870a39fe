//! Runs and drills: triggers, states, fencing tokens, summaries, journals, logs, and
//! the answers of starting, approving, rejecting and cancelling.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What started a run.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunTrigger {
    /// A person, through the API or CLI.
    Manual,
    /// A drill, through the API or CLI.
    Drill,
    /// A `Lost` verdict.
    ClusterLost {
        /// The lost cluster.
        cluster: String,
        /// When the verdict was committed.
        lost_at_ms: u64,
        /// The verdict event's sequence number.
        verdict_seq: u64,
    },
}

/// A run's state name.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStateName {
    /// Waiting for an approval of its start.
    Held,
    /// Waiting for the run holding its concurrency key.
    Queued,
    /// Being executed.
    Running,
    /// Done.
    Succeeded,
    /// Done, failed.
    Failed,
    /// Cancelled, or rejected before it started.
    Cancelled,
}

/// A fencing token: `(term, index)` of the attempt an effect belongs to.
#[derive(Serialize, ToSchema)]
pub struct FencingToken {
    /// Raft term of the leader that started the attempt.
    pub term: u64,
    /// Log index of the `StepStarted` entry.
    pub index: u64,
}

/// An attempt that started and has no result yet.
#[derive(Serialize, ToSchema)]
pub struct OpenAttempt {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<u64>,
    /// Attempt number.
    pub attempt: u64,
    /// Its fencing token.
    pub token: FencingToken,
    /// The step's `uses`.
    pub uses: String,
    /// When it started.
    pub started_at_ms: u64,
    /// Approvals given so far (approval steps).
    pub approved_by: Vec<String>,
}

/// A run without its journal and log (also the `data` of `event: state` on
/// `/v1/runs/{id}/events`).
#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    /// `run-<index>`.
    pub id: String,
    /// Runbook name.
    pub runbook: String,
    /// The runbook version the run is pinned to.
    pub digest: String,
    /// Drill mode.
    pub drill: bool,
    /// State.
    pub state: RunStateName,
    /// Why it is held or failed.
    pub reason: Option<String>,
    /// What started it.
    pub trigger: RunTrigger,
    /// Params as rendered at start.
    pub params: BTreeMap<String, Value>,
    /// The concurrency key it holds or waits for.
    pub concurrency_key: Option<String>,
    /// A cancel was asked for.
    pub cancel_requested: bool,
    /// Who started it.
    pub created_by: String,
    /// Leader time of its creation.
    pub created_at_ms: u64,
    /// When its first step started.
    pub first_step_at_ms: Option<u64>,
    /// When it finished.
    pub finished_at_ms: Option<u64>,
    /// How many times a new leader took it over.
    pub resumes: u64,
    /// Attempts started and not finished.
    pub open: Vec<OpenAttempt>,
}

/// `GET /v1/runs`.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunSummary>,
}

/// `GET /v1/drills`.
#[derive(Serialize, ToSchema)]
pub struct DrillList {
    /// Newest first.
    pub drills: Vec<RunSummary>,
}

/// Kinds of journal entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum JournalEventType {
    /// An attempt started.
    StepStarted,
    /// An attempt succeeded.
    StepSucceeded,
    /// An attempt (or the step) failed.
    StepFailed,
    /// The step was skipped.
    StepSkipped,
    /// A person decided an approval.
    ApprovalDecided,
    /// A new leader took the run over.
    Resumed,
}

/// A journal entry (camelCase fields, as the journal stores them) with its log index.
/// Also the `data` of `event: journal` on `/v1/runs/{id}/events`.
#[derive(Serialize, ToSchema)]
pub struct JournalEntry {
    /// Kind of entry; the other fields depend on it (`stepId`, `item`, `attempt`,
    /// `result`, `kind`, `error`, `reason`, `approved`, `by`).
    #[serde(rename = "type")]
    pub kind: JournalEventType,
    /// When.
    #[serde(rename = "atMs")]
    pub at_ms: u64,
    /// Raft log index of the entry.
    pub index: u64,
    /// The rendered inputs of a started attempt.
    pub with: Option<Value>,
}

/// A line of a run's log (also the `data` of `event: log`).
#[derive(Serialize, ToSchema)]
pub struct LogLine {
    /// Leader time.
    pub at_ms: u64,
    /// Step id, if any.
    pub step_id: Option<String>,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// `GET /v1/runs/{id}`, `GET /v1/drills/{id}`: summary, journal and log.
#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    /// The summary.
    #[schema(inline)]
    #[serde(flatten)]
    pub run: RunSummary,
    /// Journal entries in commit order.
    pub journal: Vec<JournalEntry>,
    /// Log lines.
    pub log: Vec<LogLine>,
}

/// `POST /v1/runs`, `POST /v1/drills` (201).
#[derive(Serialize, ToSchema)]
pub struct RunCreated {
    /// The run id.
    pub id: String,
    /// Its state right after creation.
    pub state: RunStateName,
}

/// `POST /v1/runs/{id}/approve|reject`.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    /// The run id.
    pub id: String,
    /// Its state after the decision.
    pub state: RunStateName,
    /// The approval step decided (`null`: the held run's start).
    pub step: Option<String>,
    /// Approved or rejected.
    pub approved: bool,
    /// Who decided (token name).
    pub by: String,
}

/// `POST /v1/runs/{id}/cancel`.
#[derive(Serialize, ToSchema)]
pub struct CancelAnswer {
    /// The run id.
    pub id: String,
    /// Its state now (the run stops at its next step boundary).
    pub state: RunStateName,
    /// A cancel is pending or done.
    pub cancel_requested: bool,
}
