//! The run journal: what the executor recorded about a run (each entry is a Raft log
//! entry in the orchestrator). The planner reads it; it never changes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// The effect reported an error (retried per `retry`).
    Error,
    /// The attempt passed its deadline (retried per `retry`).
    Timeout,
    /// Stopped because the run was cancelled or aborted (not retried).
    Cancelled,
    /// Inputs, `when` or `forEach` could not be rendered (not retried).
    Render,
    /// An approver rejected, or an approval timed out with `onTimeout: reject`.
    Rejected,
    /// The effect reported an error that a retry cannot fix (e.g. a plugin denied a
    /// capability, or trapped): not retried.
    Fatal,
}

/// One journal entry. `item` is the forEach index (`None` for plain steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum JournalEvent {
    /// The executor started an attempt (after a `StartStep` action).
    #[serde(rename_all = "camelCase")]
    StepStarted {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// 1-based attempt number.
        attempt: u32,
        /// The key the effect was applied with.
        idempotency_key: String,
        /// When.
        at_ms: u64,
    },
    /// The attempt succeeded; `result` is what the step returned.
    #[serde(rename_all = "camelCase")]
    StepSucceeded {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// Attempt number.
        attempt: u32,
        /// The step's result (the `result` of its `outputs` templates).
        result: Value,
        /// When.
        at_ms: u64,
    },
    /// The attempt (or, with attempt 0, the step before any attempt) failed.
    #[serde(rename_all = "camelCase")]
    StepFailed {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// Attempt number (0: failed before starting, e.g. rendering).
        attempt: u32,
        /// Why.
        kind: FailureKind,
        /// Message.
        error: String,
        /// When.
        at_ms: u64,
    },
    /// The step was skipped (`when` false, drill skip).
    #[serde(rename_all = "camelCase")]
    StepSkipped {
        /// Step id.
        step_id: String,
        /// Why.
        reason: String,
        /// When.
        at_ms: u64,
    },
    /// A person decided on an approval step's current attempt.
    #[serde(rename_all = "camelCase")]
    ApprovalDecided {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// Approved or rejected.
        approved: bool,
        /// Who (user, token name, or `timeout`).
        by: String,
        /// When.
        at_ms: u64,
    },
    /// A new leader took the run over: attempts started before and still open are lost
    /// and get re-run (same idempotency key, attempt + 1).
    #[serde(rename_all = "camelCase")]
    Resumed {
        /// When.
        at_ms: u64,
    },
}

/// The ordered journal of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// Entries in commit order.
    pub events: Vec<JournalEvent>,
}

impl Journal {
    /// An empty journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry.
    pub fn push(&mut self, event: JournalEvent) {
        self.events.push(event);
    }
}
