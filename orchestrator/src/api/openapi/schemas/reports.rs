//! Drill reports (`GET /v1/drills/{id}/report`): formats, measured objectives, and
//! one entry per step instance.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The forms of a drill report (`?format=`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// JSON (the default).
    Json,
    /// Markdown.
    Md,
    /// Markdown (`md`).
    Markdown,
    /// HTML.
    Html,
}

/// A measured figure against its objective.
#[derive(Serialize, ToSchema)]
pub struct Measure {
    /// What was measured, ms (`null`: could not be measured; `basis` says why).
    pub measured_ms: Option<u64>,
    /// The runbook's objective, ms.
    pub objective_ms: Option<u64>,
    /// `measured <= objective`.
    pub met: Option<bool>,
    /// How it was measured, or why it could not be.
    pub basis: String,
}

/// How a step instance ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its last attempt succeeded.
    Succeeded,
    /// It failed.
    Failed,
    /// Skipped.
    Skipped,
    /// Simulated in the drill.
    Simulated,
    /// Started and not finished.
    Running,
    /// Never started.
    NotRun,
}

/// One step instance in a drill report.
#[derive(Serialize, ToSchema)]
pub struct StepReport {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<u64>,
    /// The step's `uses`.
    pub uses: Option<String>,
    /// Attempts started.
    pub attempts: u64,
    /// Start of the first attempt.
    pub started_at_ms: Option<u64>,
    /// End of the last attempt.
    pub ended_at_ms: Option<u64>,
    /// First start to last end.
    pub duration_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// The last error.
    pub error: Option<String>,
    /// The kind of the last failure (`error`, `timeout`, `cancelled`, `render`,
    /// `rejected`).
    pub failure_kind: Option<String>,
    /// Why it was skipped, or who decided an approval.
    pub detail: Option<String>,
    /// An attempt was cut short by a leader change.
    pub resumed: bool,
}

/// `GET /v1/drills/{id}/report` as JSON.
#[derive(Serialize, ToSchema)]
pub struct DrillReport {
    /// Report format version.
    pub format: u64,
    /// Run id.
    pub run_id: String,
    /// Runbook name.
    pub runbook: String,
    /// Runbook version.
    pub digest: String,
    /// Drill mode.
    pub drill: bool,
    /// Run state name.
    pub state: String,
    /// Why it failed or is held.
    pub reason: Option<String>,
    /// Params as supplied.
    pub params: BTreeMap<String, Value>,
    /// Suffix of the namespaces a drill restores into.
    pub namespace_suffix: Option<String>,
    /// Run creation (ms since the epoch).
    pub started_at_ms: u64,
    /// Run creation, ISO 8601.
    pub started_at: String,
    /// When the first step started.
    pub first_step_at_ms: Option<u64>,
    /// When the run finished.
    pub finished_at_ms: Option<u64>,
    /// When the run finished, ISO 8601.
    pub finished_at: Option<String>,
    /// Creation to finish.
    pub duration_ms: Option<u64>,
    /// Leader takeovers.
    pub resumes: u64,
    /// One entry per step instance.
    pub steps: Vec<StepReport>,
    /// Recovery time.
    pub rto: Measure,
    /// Recovery point.
    pub rpo: Measure,
    /// Every objective was measured and met.
    pub objectives_met: Option<bool>,
    /// What the figures rest on: `{restores: [...], readiness: [...]}`.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// Things a reader should know.
    pub notes: Vec<String>,
}
