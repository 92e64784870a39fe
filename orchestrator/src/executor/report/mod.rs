//! Drill reports: what a drill did, how long recovery took and whether the runbook's
//! objectives were met.
//!
//! [`build()`] is pure: it reads a run's journal, the runbook version the run is pinned
//! to, and the restore and snapshot records in the catalog. It computes per step
//! instance start/end/attempts/outcome, the measured RTO (run creation to workloads
//! ready) and RPO (snapshot age when the restore began), the objectives' verdicts, and
//! the evidence (objects in the snapshot versus restored, readiness checks).
//! [`DrillReport::to_markdown`] and [`DrillReport::to_html`] render it; [`store()`]
//! writes all three forms to the object store.
//!
//! Files: the model is here; `journal.rs` reads the journal into step instances,
//! `measure.rs` computes RTO and RPO, `evidence.rs` gathers the evidence, `build.rs`
//! assembles the report and its notes; `text.rs` (times, durations, escaping),
//! `tables.rs`, `markdown.rs` and `html.rs` render it; `store.rs` writes it.

mod build;
mod evidence;
mod html;
mod journal;
mod markdown;
mod measure;
mod store;
mod tables;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;

use lifeboat_runbooks::journal::FailureKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use build::build;
pub use store::store;
pub use text::{escape_html, human_ms, iso8601};

/// Version of the report's JSON form (stored in the object store).
pub const REPORT_FORMAT: u32 = 1;

const WAIT_READY: &str = "k8s.waitReady";
const RESTORE: &str = "snapshot.restore";

/// A drill's report (also built for ordinary runs: it then says so in its notes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillReport {
    /// Format version ([`REPORT_FORMAT`]).
    pub format: u32,
    /// Run id.
    pub run_id: String,
    /// Runbook name.
    pub runbook: String,
    /// The runbook version (content digest) the run is pinned to.
    pub digest: String,
    /// Drill mode.
    pub drill: bool,
    /// Run state (`running`, `succeeded`, `failed`, ...).
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
    /// When the run finished (ms since the epoch).
    pub finished_at_ms: Option<u64>,
    /// When the run finished, ISO 8601.
    pub finished_at: Option<String>,
    /// Creation to finish.
    pub duration_ms: Option<u64>,
    /// How many times a new leader took the run over.
    pub resumes: u32,
    /// One entry per step instance (forEach items separately), in the order they ran,
    /// then the steps that never ran.
    pub steps: Vec<StepReport>,
    /// Recovery time.
    pub rto: Measure,
    /// Recovery point.
    pub rpo: Measure,
    /// Every objective the runbook sets was measured and met (`None`: no objective, or
    /// one could not be measured).
    pub objectives_met: Option<bool>,
    /// What the figures rest on.
    pub evidence: Evidence,
    /// Things a reader should know (simulated steps, takeovers, how RTO was measured).
    pub notes: Vec<String>,
}

/// How a step instance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its last attempt succeeded.
    Succeeded,
    /// It failed (after its retries).
    Failed,
    /// Skipped (`when` false, or skipped in drills).
    Skipped,
    /// Simulated in the drill: inputs rendered, no effect.
    Simulated,
    /// Started and not finished yet.
    Running,
    /// Never started.
    NotRun,
}

impl Outcome {
    /// The name used in the report (`not run`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Simulated => "simulated",
            Outcome::Running => "running",
            Outcome::NotRun => "not run",
        }
    }
}

/// One step instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<usize>,
    /// The step's `uses` (None when the runbook version is gone).
    pub uses: Option<String>,
    /// Attempts started.
    pub attempts: u32,
    /// Start of the first attempt (ms since the epoch).
    pub started_at_ms: Option<u64>,
    /// End of the last attempt.
    pub ended_at_ms: Option<u64>,
    /// First start to last end.
    pub duration_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// The last error (also kept when a later attempt succeeded).
    pub error: Option<String>,
    /// The kind of the last failure.
    pub failure_kind: Option<FailureKind>,
    /// Why it was skipped, or who decided an approval.
    pub detail: Option<String>,
    /// An attempt was cut short by a leader change and re-run by the new leader.
    pub resumed: bool,
}

impl StepReport {
    /// `step` or `step#item`.
    #[must_use]
    pub fn instance(&self) -> String {
        crate::catalog::instance_key(&self.step_id, self.item)
    }
}

/// A measured figure against its objective.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Measure {
    /// What was measured, ms (None: could not be measured; `basis` says why).
    pub measured_ms: Option<u64>,
    /// The runbook's objective, ms.
    pub objective_ms: Option<u64>,
    /// `measured <= objective` (None: no objective or nothing measured).
    pub met: Option<bool>,
    /// How it was measured, or why it could not be.
    pub basis: String,
}

/// What the figures rest on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Per successful (not simulated) restore step instance.
    pub restores: Vec<RestoreEvidence>,
    /// Per successful (not simulated) readiness check.
    pub readiness: Vec<ReadinessEvidence>,
}

/// One restore.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RestoreEvidence {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<usize>,
    /// Restore id.
    pub restore_id: Option<String>,
    /// Snapshot restored.
    pub snapshot_id: Option<String>,
    /// The point in time the snapshot represents.
    pub snapshot_taken_at_ms: Option<u64>,
    /// Objects in the snapshot.
    pub snapshot_objects: Option<u64>,
    /// Target cluster.
    pub target_cluster: Option<String>,
    /// Source namespace -> restored namespace.
    pub namespace_map: BTreeMap<String, String>,
    /// Objects by outcome (`created`, `updated`, `skipped`, `failed`, ...).
    pub counts: BTreeMap<String, u64>,
    /// Objects created or updated.
    pub restored: Option<u64>,
    /// Snapshot age when the restore began.
    pub rpo_ms: Option<u64>,
}

/// One readiness check (`k8s.waitReady`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReadinessEvidence {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<usize>,
    /// Cluster checked.
    pub cluster: Option<String>,
    /// Namespace checked.
    pub namespace: Option<String>,
    /// Workloads found ready (`Kind/name`).
    pub ready: Vec<String>,
    /// Workloads checked.
    pub checked: Option<u64>,
    /// How long the step waited.
    pub waited_ms: Option<u64>,
}
