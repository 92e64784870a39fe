//! Drill reports: what a drill did, how long recovery took and whether the runbook's
//! objectives were met.
//!
//! [`build`] is pure: it reads a run's journal, the runbook version the run is pinned
//! to, and the restore and snapshot records in the catalog. It computes per step
//! instance start/end/attempts/outcome, the measured RTO (run creation to workloads
//! ready) and RPO (snapshot age when the restore began), the objectives' verdicts, and
//! the evidence (objects in the snapshot versus restored, readiness checks).
//! [`DrillReport::to_markdown`] and [`DrillReport::to_html`] render it; [`store`]
//! writes all three forms to the object store.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use lifeboat_runbooks::schema::{ForEach, Runbook, Step};
use lifeboat_runbooks::template::{as_expression, eval, render_str};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalog::{Catalog, RunRecord, RunState};

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

/// A step instance while the journal is read.
struct Inst {
    report: StepReport,
    open: bool,
    attempt_start: Option<u64>,
    /// Start of the attempt that succeeded, and its result.
    success: Option<(Option<u64>, Value)>,
}

/// Build the report of `run` from the catalog.
pub fn build(c: &Catalog, run: &RunRecord) -> DrillReport {
    let mut notes = Vec::new();
    let rb = c.runbook_of(run).ok();
    if rb.is_none() {
        notes.push(format!(
            "runbook version {} is no longer readable: step `uses` and objectives are unknown",
            run.digest
        ));
    }
    let insts = instances(run, rb.as_ref());
    let objectives = rb.as_ref().and_then(|r| r.spec.objectives.as_ref());
    let rto_objective = objectives.and_then(|o| o.rto).map(|d| d.as_millis());
    let rpo_objective = objectives.and_then(|o| o.rpo).map(|d| d.as_millis());
    let rto = rto(run, rb.as_ref(), &insts, rto_objective, &mut notes);
    let rpo = rpo(&insts, rpo_objective);
    let with_objective: Vec<&Measure> = [&rto, &rpo]
        .into_iter()
        .filter(|m| m.objective_ms.is_some())
        .collect();
    let objectives_met = if with_objective.is_empty() {
        None
    } else if with_objective.iter().any(|m| m.met == Some(false)) {
        Some(false)
    } else if with_objective.iter().all(|m| m.met == Some(true)) {
        Some(true)
    } else {
        None
    };
    let ctx = base_context(run, rb.as_ref());
    let evidence = evidence(c, rb.as_ref(), &ctx, &insts, &mut notes);
    step_notes(run, &insts, &mut notes);
    let reason = match &run.state {
        RunState::Held { reason } | RunState::Failed { reason } => Some(reason.clone()),
        _ => None,
    };
    // A drill whose runbook version is unreadable reports the default suffix.
    let namespace_suffix = run.drill.then(|| {
        rb.as_ref().map_or_else(
            || lifeboat_runbooks::schema::DEFAULT_DRILL_SUFFIX.to_string(),
            |r| r.namespace_suffix(true),
        )
    });
    DrillReport {
        format: REPORT_FORMAT,
        run_id: run.id.clone(),
        runbook: run.runbook.clone(),
        digest: run.digest.clone(),
        drill: run.drill,
        state: run.state.name().to_string(),
        reason,
        params: run.params.clone(),
        namespace_suffix,
        started_at_ms: run.created_at_ms,
        started_at: iso8601(run.created_at_ms),
        first_step_at_ms: run.first_step_at_ms,
        finished_at_ms: run.finished_at_ms,
        finished_at: run.finished_at_ms.map(iso8601),
        duration_ms: run
            .finished_at_ms
            .map(|f| f.saturating_sub(run.created_at_ms)),
        resumes: run.resumes,
        steps: insts.into_iter().map(|i| i.report).collect(),
        rto,
        rpo,
        objectives_met,
        evidence,
        notes,
    }
}

/// Step instances by `(step, item)`, in the order they first appear.
#[derive(Default)]
struct Insts {
    list: Vec<Inst>,
    index: BTreeMap<(String, Option<usize>), usize>,
}

impl Insts {
    fn at(&mut self, step_id: &str, item: Option<usize>) -> &mut Inst {
        let key = (step_id.to_string(), item);
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.list.push(Inst {
                    report: StepReport {
                        step_id: step_id.to_string(),
                        item,
                        uses: None,
                        attempts: 0,
                        started_at_ms: None,
                        ended_at_ms: None,
                        duration_ms: None,
                        outcome: Outcome::NotRun,
                        error: None,
                        failure_kind: None,
                        detail: None,
                        resumed: false,
                    },
                    open: false,
                    attempt_start: None,
                    success: None,
                });
                self.index.insert(key, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }
}

/// Read the journal into step instances (journal order), then add the steps that
/// never ran (runbook order).
fn instances(run: &RunRecord, rb: Option<&Runbook>) -> Vec<Inst> {
    let mut insts = Insts::default();
    for e in &run.journal.events {
        let inst = match e {
            JournalEvent::StepStarted { step_id, item, .. }
            | JournalEvent::StepSucceeded { step_id, item, .. }
            | JournalEvent::StepFailed { step_id, item, .. }
            | JournalEvent::ApprovalDecided { step_id, item, .. } => insts.at(step_id, *item),
            JournalEvent::StepSkipped { step_id, .. } => insts.at(step_id, None),
            JournalEvent::Resumed { .. } => {
                for inst in insts.list.iter_mut().filter(|x| x.open) {
                    inst.open = false;
                    inst.report.resumed = true;
                }
                continue;
            }
        };
        apply(inst, e);
    }
    if let Some(rb) = rb {
        let cleanup = rb
            .spec
            .drill
            .iter()
            .filter(|_| run.drill)
            .flat_map(|d| d.cleanup.iter());
        for s in rb.spec.steps.iter().chain(&rb.spec.finally).chain(cleanup) {
            if !insts.list.iter().any(|i| i.report.step_id == s.id) {
                insts.at(&s.id, None);
            }
        }
        for inst in &mut insts.list {
            inst.report.uses = super::find_step(rb, &inst.report.step_id).map(|s| s.uses.clone());
        }
    }
    for inst in &mut insts.list {
        let r = &mut inst.report;
        if run.state.is_final() && r.outcome == Outcome::Running {
            r.outcome = Outcome::Failed;
            r.error
                .get_or_insert_with(|| "no result was recorded before the run ended".into());
        }
        r.duration_ms = match (r.started_at_ms, r.ended_at_ms) {
            (Some(s), Some(e)) => Some(e.saturating_sub(s)),
            _ => None,
        };
    }
    insts.list
}

fn apply(inst: &mut Inst, e: &JournalEvent) {
    let r = &mut inst.report;
    match e {
        JournalEvent::StepStarted { attempt, at_ms, .. } => {
            inst.open = true;
            inst.attempt_start = Some(*at_ms);
            r.attempts = r.attempts.max(*attempt);
            r.started_at_ms.get_or_insert(*at_ms);
            r.ended_at_ms = None;
            r.outcome = Outcome::Running;
        }
        JournalEvent::StepSucceeded {
            attempt,
            result,
            at_ms,
            ..
        } => {
            inst.open = false;
            r.attempts = r.attempts.max(*attempt);
            r.ended_at_ms = Some(*at_ms);
            r.outcome = if result["simulated"] == Value::Bool(true) {
                Outcome::Simulated
            } else {
                Outcome::Succeeded
            };
            inst.success = Some((inst.attempt_start, result.clone()));
        }
        JournalEvent::StepFailed {
            attempt,
            kind,
            error,
            at_ms,
            ..
        } => {
            inst.open = false;
            r.attempts = r.attempts.max(*attempt);
            r.ended_at_ms = Some(*at_ms);
            r.outcome = Outcome::Failed;
            r.error = Some(error.clone());
            r.failure_kind = Some(*kind);
        }
        JournalEvent::StepSkipped { reason, at_ms, .. } => {
            r.ended_at_ms = Some(*at_ms);
            r.outcome = Outcome::Skipped;
            r.detail = Some(reason.clone());
        }
        JournalEvent::ApprovalDecided {
            approved,
            by,
            at_ms,
            ..
        } => {
            inst.open = false;
            r.ended_at_ms = Some(*at_ms);
            if *approved {
                r.outcome = Outcome::Succeeded;
                r.detail = Some(format!("approved by {by}"));
            } else {
                r.outcome = Outcome::Failed;
                r.error = Some(format!("rejected by {by}"));
                r.failure_kind = Some(FailureKind::Rejected);
            }
        }
        JournalEvent::Resumed { .. } => {}
    }
}

/// Instances of `uses` that had a real effect (not skipped, simulated or not run).
fn real<'a>(insts: &'a [Inst], uses: &'a str) -> impl Iterator<Item = &'a Inst> {
    insts.iter().filter(move |i| {
        i.report.uses.as_deref() == Some(uses)
            && !matches!(
                i.report.outcome,
                Outcome::Skipped | Outcome::Simulated | Outcome::NotRun
            )
    })
}

fn measure(measured: Option<u64>, objective: Option<u64>, basis: String) -> Measure {
    Measure {
        measured_ms: measured,
        objective_ms: objective,
        met: measured.zip(objective).map(|(m, o)| m <= o),
        basis,
    }
}

/// RTO: run creation to workloads ready (the end of the last `k8s.waitReady`), or to
/// the end of the last restore when no readiness check ran.
fn rto(
    run: &RunRecord,
    rb: Option<&Runbook>,
    insts: &[Inst],
    objective: Option<u64>,
    notes: &mut Vec<String>,
) -> Measure {
    let waits: Vec<&Inst> = real(insts, WAIT_READY).collect();
    if let Some(bad) = waits
        .iter()
        .find(|i| i.report.outcome != Outcome::Succeeded)
    {
        let basis = format!(
            "readiness check `{}` {} (workloads were not shown ready)",
            bad.report.instance(),
            bad.report.outcome.name()
        );
        return measure(None, objective, basis);
    }
    let last_end = |v: &[&Inst]| {
        v.iter()
            .filter_map(|i| i.report.ended_at_ms.map(|e| (e, i.report.instance())))
            .max()
    };
    if let Some((end, step)) = last_end(&waits) {
        let basis = format!(
            "run creation to workloads ready (end of the last {WAIT_READY} step, `{step}`)"
        );
        return measure(
            Some(end.saturating_sub(run.created_at_ms)),
            objective,
            basis,
        );
    }
    let restores: Vec<&Inst> = real(insts, RESTORE)
        .filter(|i| i.report.outcome == Outcome::Succeeded)
        .collect();
    let Some((end, step)) = last_end(&restores) else {
        let basis = format!("no {WAIT_READY} or {RESTORE} step succeeded");
        return measure(None, objective, basis);
    };
    let has_wait = rb.is_some_and(|r| {
        r.spec
            .steps
            .iter()
            .chain(&r.spec.finally)
            .any(|s| s.uses == WAIT_READY)
    });
    let why = if has_wait {
        format!("its {WAIT_READY} steps were skipped or simulated")
    } else {
        format!("the runbook has no {WAIT_READY} step")
    };
    let basis = format!(
        "run creation to the end of the last restore (`{step}`): {why}, so workload \
         readiness is not included"
    );
    notes.push(format!("RTO measured to the end of the restore: {why}"));
    measure(
        Some(end.saturating_sub(run.created_at_ms)),
        objective,
        basis,
    )
}

/// RPO: the snapshot's age when the restore began (the worst of several restores).
fn rpo(insts: &[Inst], objective: Option<u64>) -> Measure {
    let mut worst: Option<(u64, String)> = None;
    for i in real(insts, RESTORE) {
        let Some((start, result)) = &i.success else {
            continue;
        };
        let taken = result["snapshotTakenAtMs"].as_u64();
        let found = match result["rpoMs"].as_u64() {
            Some(ms) => Some((ms, "reported by the restore")),
            None => start
                .zip(taken)
                .map(|(s, t)| (s.saturating_sub(t), "restore step start - snapshot time")),
        };
        if let Some((ms, how)) = found
            && worst.as_ref().is_none_or(|(w, _)| ms > *w)
        {
            let basis = format!(
                "snapshot age when restore `{}` began ({how})",
                i.report.instance()
            );
            worst = Some((ms, basis));
        }
    }
    match worst {
        Some((ms, basis)) => measure(Some(ms), objective, basis),
        None => measure(None, objective, format!("no {RESTORE} step succeeded")),
    }
}

/// The template context of the run, without step outputs (for rendering the
/// cluster and namespace of readiness checks).
fn base_context(run: &RunRecord, rb: Option<&Runbook>) -> Value {
    let Some(rb) = rb else { return Value::Null };
    let params = lifeboat_runbooks::planner::resolve_params(rb, &run.params).unwrap_or_default();
    let suffix = rb.namespace_suffix(run.drill);
    json!({
        "params": params,
        "run": {"id": run.id, "runbook": rb.metadata.name, "drill": run.drill,
                "namespaceSuffix": suffix},
    })
}

/// A step input as the run saw it: rendered when possible, else as written.
fn input(step: &Step, key: &str, ctx: &Value, item: Option<usize>) -> Option<String> {
    let raw = step.with.get(key)?;
    let Value::String(text) = raw else {
        return Some(raw.to_string());
    };
    let mut ctx = ctx.clone();
    if let (Some(i), Some(fe)) = (item, &step.for_each) {
        let items = match fe {
            ForEach::Items(v) => Some(Value::Array(v.clone())),
            ForEach::Expr(e) => eval(as_expression(e), &ctx).ok(),
        };
        if let Some(v) = items.as_ref().and_then(|v| v.get(i)) {
            ctx["item"] = v.clone();
        }
    }
    match render_str(text, &ctx) {
        Ok(Value::String(s)) => Some(s),
        Ok(other) => Some(other.to_string()),
        Err(_) => Some(text.clone()),
    }
}

fn evidence(
    c: &Catalog,
    rb: Option<&Runbook>,
    ctx: &Value,
    insts: &[Inst],
    notes: &mut Vec<String>,
) -> Evidence {
    let mut ev = Evidence::default();
    for i in real(insts, RESTORE) {
        let Some((_, r)) = &i.success else { continue };
        let restore_id = r["restoreId"].as_str().map(str::to_string);
        let snapshot_id = r["snapshotId"].as_str().map(str::to_string);
        let record = restore_id
            .as_ref()
            .and_then(|id| c.snapshots.restores.get(id));
        if record.is_none() {
            notes.push(format!(
                "restore {} of step `{}` is no longer in the catalog: counts come from the \
                 step's result",
                restore_id.as_deref().unwrap_or("?"),
                i.report.instance()
            ));
        }
        let counts: BTreeMap<String, u64> = match record {
            Some(rec) => rec.counts.clone(),
            None => serde_json::from_value(r["counts"].clone()).unwrap_or_default(),
        };
        let snapshot_objects = r["snapshotObjects"].as_u64().or_else(|| {
            snapshot_id
                .as_ref()
                .and_then(|id| c.snapshots.snapshots.get(id))
                .map(|s| s.object_count)
        });
        ev.restores.push(RestoreEvidence {
            step_id: i.report.step_id.clone(),
            item: i.report.item,
            restore_id,
            snapshot_id,
            snapshot_taken_at_ms: r["snapshotTakenAtMs"].as_u64(),
            snapshot_objects,
            target_cluster: record.map(|rec| rec.target_cluster.clone()),
            namespace_map: record
                .map(|rec| rec.namespace_map.clone())
                .unwrap_or_default(),
            counts,
            restored: r["restored"].as_u64(),
            rpo_ms: r["rpoMs"]
                .as_u64()
                .or_else(|| record.and_then(|rec| rec.rpo_ms)),
        });
    }
    for i in real(insts, WAIT_READY) {
        let Some((_, r)) = &i.success else { continue };
        let step = rb.and_then(|rb| super::find_step(rb, &i.report.step_id));
        let with = |k: &str| step.and_then(|s| input(s, k, ctx, i.report.item));
        ev.readiness.push(ReadinessEvidence {
            step_id: i.report.step_id.clone(),
            item: i.report.item,
            cluster: r["cluster"]
                .as_str()
                .map(str::to_string)
                .or_else(|| with("cluster")),
            namespace: r["namespace"]
                .as_str()
                .map(str::to_string)
                .or_else(|| with("namespace")),
            ready: serde_json::from_value(r["ready"].clone()).unwrap_or_default(),
            checked: r["checked"].as_u64(),
            waited_ms: r["waitedMs"].as_u64(),
        });
    }
    hollow_evidence(&ev, notes);
    ev
}

/// Warn when the evidence proves little: nothing restored, or no workload checked.
fn hollow_evidence(ev: &Evidence, notes: &mut Vec<String>) {
    for r in &ev.restores {
        if r.restored == Some(0) {
            notes.push(format!(
                "restore `{}` created or updated no object (snapshot {} holds {} object(s)): \
                 check the namespaces the runbook restores",
                crate::catalog::instance_key(&r.step_id, r.item),
                r.snapshot_id.as_deref().unwrap_or("?"),
                r.snapshot_objects
                    .map_or_else(|| "?".into(), |n| n.to_string())
            ));
        }
    }
    for r in &ev.readiness {
        if r.checked == Some(0) {
            notes.push(format!(
                "readiness check `{}` found no workload in namespace {} of cluster {}: the \
                 RTO covers no workload",
                crate::catalog::instance_key(&r.step_id, r.item),
                r.namespace.as_deref().unwrap_or("?"),
                r.cluster.as_deref().unwrap_or("?")
            ));
        }
    }
}

fn step_notes(run: &RunRecord, insts: &[Inst], notes: &mut Vec<String>) {
    if !run.drill {
        notes.push("this run is not a drill: its steps acted on production".into());
    }
    if run.is_active() {
        notes.push(format!(
            "the run is still {}: these figures may change",
            run.state.name()
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for i in insts {
        let r = &i.report;
        if seen.contains(&r.step_id.as_str()) {
            continue;
        }
        match r.outcome {
            Outcome::Simulated => notes.push(format!(
                "step `{}` was simulated in the drill (inputs rendered, no effect)",
                r.step_id
            )),
            Outcome::Skipped => notes.push(format!(
                "step `{}` was skipped: {}",
                r.step_id,
                r.detail.as_deref().unwrap_or("no reason recorded")
            )),
            _ => continue,
        }
        seen.push(&r.step_id);
    }
    for r in insts.iter().map(|i| &i.report).filter(|r| r.attempts > 1) {
        notes.push(format!(
            "step `{}` took {} attempts",
            r.instance(),
            r.attempts
        ));
    }
    if run.resumes > 0 {
        let cut: Vec<String> = insts
            .iter()
            .filter(|i| i.report.resumed)
            .map(|i| format!("`{}`", i.report.instance()))
            .collect();
        let cut = if cut.is_empty() {
            String::new()
        } else {
            format!("; re-run with the same idempotency key: {}", cut.join(", "))
        };
        notes.push(format!(
            "the run was resumed by a new leader {} time{}{cut}",
            run.resumes,
            if run.resumes == 1 { "" } else { "s" }
        ));
    }
}

/// `ms` since the epoch as ISO 8601 UTC with milliseconds.
#[must_use]
pub fn iso8601(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

/// A duration for people: `850ms`, `12.3s`, `4m 05s`, `2h 03m`, `1d 02h`.
#[must_use]
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", s, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{}m {:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Escape text for HTML (element content and quoted attributes).
#[must_use]
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Make text safe inside a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn opt_ms(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".into(), human_ms)
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "unknown",
    }
}

impl Measure {
    /// `45.1s (objective 10m 00s): met`.
    #[must_use]
    pub fn summary(&self) -> String {
        let measured = self
            .measured_ms
            .map_or_else(|| "not measured".into(), human_ms);
        match self.objective_ms {
            Some(o) => format!(
                "{measured} (objective {}): {}",
                human_ms(o),
                verdict(self.met)
            ),
            None => format!("{measured} (no objective)"),
        }
    }

    /// `Measured as: <basis>.` or `Not measured: <why>.`
    #[must_use]
    pub fn explain(&self) -> String {
        match self.measured_ms {
            Some(_) => format!("Measured as: {}.", self.basis),
            None => format!("Not measured: {}.", self.basis),
        }
    }
}

/// The table rows shared by the Markdown and HTML forms.
struct Tables {
    summary: Vec<(&'static str, String)>,
    steps: Vec<[String; 10]>,
    restores: Vec<[String; 8]>,
    readiness: Vec<[String; 6]>,
}

const STEP_HEAD: [&str; 10] = [
    "Step", "Item", "Uses", "Attempts", "Started", "Ended", "Duration", "Outcome", "Resumed",
    "Error",
];
const RESTORE_HEAD: [&str; 8] = [
    "Step",
    "Restore",
    "Snapshot",
    "Objects in snapshot",
    "Restored",
    "Counts",
    "Target cluster",
    "Namespaces",
];
const READY_HEAD: [&str; 6] = ["Step", "Cluster", "Namespace", "Checked", "Ready", "Waited"];

impl DrillReport {
    fn title(&self) -> String {
        let kind = if self.drill { "Drill" } else { "Run" };
        format!("{kind} report: {} ({})", self.runbook, self.run_id)
    }

    fn tables(&self) -> Tables {
        let dash = || "-".to_string();
        let opt = |v: Option<String>| v.unwrap_or_else(dash);
        let mut summary = vec![
            ("Run", self.run_id.clone()),
            ("Runbook", format!("{} ({})", self.runbook, self.digest)),
            ("State", self.state.clone()),
        ];
        if let Some(r) = &self.reason {
            summary.push(("Reason", r.clone()));
        }
        summary.extend([
            (
                "Params",
                serde_json::to_string(&self.params).unwrap_or_default(),
            ),
            ("Namespace suffix", opt(self.namespace_suffix.clone())),
            (
                "Started",
                format!("{} ({} ms)", self.started_at, self.started_at_ms),
            ),
            (
                "Finished",
                self.finished_at
                    .as_ref()
                    .zip(self.finished_at_ms)
                    .map_or_else(dash, |(t, ms)| format!("{t} ({ms} ms)")),
            ),
            ("Duration", opt_ms(self.duration_ms)),
            ("RTO", self.rto.summary()),
            ("RPO", self.rpo.summary()),
            (
                "Objectives met",
                match self.objectives_met {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "unknown",
                }
                .to_string(),
            ),
        ]);
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let outcome = match &s.detail {
                    Some(d) => format!("{} ({d})", s.outcome.name()),
                    None => s.outcome.name().to_string(),
                };
                [
                    s.step_id.clone(),
                    s.item.map_or_else(dash, |i| i.to_string()),
                    opt(s.uses.clone()),
                    s.attempts.to_string(),
                    s.started_at_ms.map_or_else(dash, iso8601),
                    s.ended_at_ms.map_or_else(dash, iso8601),
                    opt_ms(s.duration_ms),
                    outcome,
                    if s.resumed { "yes".into() } else { dash() },
                    s.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let restores = self
            .evidence
            .restores
            .iter()
            .map(|r| {
                let counts: Vec<String> =
                    r.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let namespaces: Vec<String> = r
                    .namespace_map
                    .iter()
                    .map(|(k, v)| format!("{k} -> {v}"))
                    .collect();
                [
                    crate::catalog::instance_key(&r.step_id, r.item),
                    opt(r.restore_id.clone()),
                    opt(r.snapshot_id.clone()),
                    r.snapshot_objects.map_or_else(dash, |n| n.to_string()),
                    r.restored.map_or_else(dash, |n| n.to_string()),
                    counts.join(", "),
                    opt(r.target_cluster.clone()),
                    namespaces.join(", "),
                ]
            })
            .collect();
        let readiness = self
            .evidence
            .readiness
            .iter()
            .map(|r| {
                [
                    crate::catalog::instance_key(&r.step_id, r.item),
                    opt(r.cluster.clone()),
                    opt(r.namespace.clone()),
                    r.checked.map_or_else(dash, |n| n.to_string()),
                    r.ready.join(", "),
                    opt_ms(r.waited_ms),
                ]
            })
            .collect();
        Tables {
            summary,
            steps,
            restores,
            readiness,
        }
    }

    /// The report as Markdown: a summary table, the steps, objectives, evidence, notes.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let t = self.tables();
        let mut out = format!("# {}\n\n| | |\n|---|---|\n", md_cell(&self.title()));
        for (k, v) in &t.summary {
            let _ = writeln!(out, "| {k} | {} |", md_cell(v));
        }
        out.push_str("\n## Steps\n\n");
        md_table(&mut out, &STEP_HEAD, &t.steps);
        out.push_str("\n## Recovery objectives\n\n");
        for (name, m) in [("RTO", &self.rto), ("RPO", &self.rpo)] {
            let _ = writeln!(out, "- **{name}**: {}. {}", m.summary(), m.explain());
        }
        out.push_str("\n## Evidence\n\n### Restores\n\n");
        if t.restores.is_empty() {
            out.push_str("No restore ran.\n");
        } else {
            md_table(&mut out, &RESTORE_HEAD, &t.restores);
        }
        out.push_str("\n### Readiness checks\n\n");
        if t.readiness.is_empty() {
            out.push_str("No readiness check ran.\n");
        } else {
            md_table(&mut out, &READY_HEAD, &t.readiness);
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {}", n.replace(['\r', '\n'], " "));
            }
        }
        out
    }

    /// The report as one self-contained HTML page (inline CSS, every text escaped).
    #[must_use]
    pub fn to_html(&self) -> String {
        let t = self.tables();
        let title = escape_html(&self.title());
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{title}</title><style>{CSS}</style></head><body>\n<h1>{title}</h1>\n\
             <table class=\"summary\">\n"
        );
        for (k, v) in &t.summary {
            let class = match (*k, v.as_str()) {
                ("State" | "Objectives met", "succeeded" | "yes") => " class=\"ok\"",
                ("State" | "Objectives met", "failed" | "cancelled" | "NO") => " class=\"bad\"",
                _ => "",
            };
            let _ = writeln!(
                out,
                "<tr><th>{k}</th><td{class}>{}</td></tr>",
                escape_html(v)
            );
        }
        out.push_str("</table>\n<h2>Steps</h2>\n");
        html_table(&mut out, &STEP_HEAD, &t.steps, Some(7));
        out.push_str("<h2>Recovery objectives</h2>\n<ul>\n");
        for (name, m) in [("RTO", &self.rto), ("RPO", &self.rpo)] {
            let _ = writeln!(
                out,
                "<li><b>{name}</b>: {}. {}</li>",
                escape_html(&m.summary()),
                escape_html(&m.explain())
            );
        }
        out.push_str("</ul>\n<h2>Evidence</h2>\n<h3>Restores</h3>\n");
        if t.restores.is_empty() {
            out.push_str("<p>No restore ran.</p>\n");
        } else {
            html_table(&mut out, &RESTORE_HEAD, &t.restores, None);
        }
        out.push_str("<h3>Readiness checks</h3>\n");
        if t.readiness.is_empty() {
            out.push_str("<p>No readiness check ran.</p>\n");
        } else {
            html_table(&mut out, &READY_HEAD, &t.readiness, None);
        }
        if !self.notes.is_empty() {
            out.push_str("<h2>Notes</h2>\n<ul>\n");
            for n in &self.notes {
                let _ = writeln!(out, "<li>{}</li>", escape_html(n));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.ok{color:#176b2c;font-weight:600}\
.bad{color:#a31515;font-weight:600}.muted{color:#777}";

fn md_table<const N: usize>(out: &mut String, head: &[&str; N], rows: &[[String; N]]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// An HTML table; `outcome_col` gets a colour class by its value.
fn html_table<const N: usize>(
    out: &mut String,
    head: &[&str; N],
    rows: &[[String; N]],
    outcome_col: Option<usize>,
) {
    out.push_str("<table>\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape_html(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match (outcome_col == Some(i), cell.split(' ').next()) {
                (true, Some("succeeded")) => " class=\"ok\"",
                (true, Some("failed")) => " class=\"bad\"",
                (true, _) => " class=\"muted\"",
                _ => "",
            };
            let _ = write!(out, "<td{class}>{}</td>", escape_html(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// Write the report to the object store as `reports/drills/<run id>.md`, `.html` and
/// `.json` (the JSON last, so its presence means the set is complete); returns the JSON
/// key.
///
/// # Errors
/// The object store refused a write (the message names the key).
#[tracing::instrument(skip_all, fields(run_id = %report.run_id))]
pub async fn store(node: &crate::node::Node, report: &DrillReport) -> Result<String, String> {
    use object_store::ObjectStoreExt;
    let base = format!("reports/drills/{}", report.run_id);
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| format!("drill report of {}: {e}", report.run_id))?;
    let forms = [
        ("md", report.to_markdown().into_bytes()),
        ("html", report.to_html().into_bytes()),
        ("json", json),
    ];
    let store = node.snapshots.store.object_store();
    for (ext, body) in forms {
        let key = format!("{base}.{ext}");
        store
            .put(&object_store::path::Path::from(key.as_str()), body.into())
            .await
            .map_err(|e| format!("writing the drill report to `{key}` in the object store: {e}"))?;
    }
    tracing::info!(key = %format!("{base}.json"), "drill report stored");
    Ok(format!("{base}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{JobState, RestoreRecord, RunTrigger, SnapshotRecord};
    use lifeboat_runbooks::Journal;

    const YAML: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: drill-test
spec:
  triggers: [drill]
  params:
    standby:
      type: string
      default: eu-central
    namespaces:
      type: list
      items: string
      default: [shop]
  objectives:
    rto: 1m
    rpo: 10m
  steps:
    - id: fence
      uses: cluster.fence
      with:
        cluster: eu-west
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: eu-west
        targetCluster: "{{ params.standby }}"
    - id: ready
      uses: k8s.waitReady
      forEach: "{{ params.namespaces }}"
      with:
        cluster: "{{ params.standby }}"
        namespace: "{{ item }}{{ run.namespaceSuffix }}"
    - id: notify
      uses: http.request
      with:
        url: https://hooks.example.com/done
  drill:
    namespaceSuffix: -dr
    skip: [fence]
    simulate: [notify]
"#;

    const T0: u64 = 1_700_000_000_000;

    fn started(step: &str, item: Option<usize>, attempt: u32, at: u64) -> JournalEvent {
        JournalEvent::StepStarted {
            step_id: step.into(),
            item,
            attempt,
            idempotency_key: format!("k/{step}"),
            at_ms: T0 + at,
        }
    }

    fn ok(step: &str, item: Option<usize>, attempt: u32, at: u64, result: Value) -> JournalEvent {
        JournalEvent::StepSucceeded {
            step_id: step.into(),
            item,
            attempt,
            result,
            at_ms: T0 + at,
        }
    }

    /// A drill: fence skipped, restore failed once (hostile error) then succeeded after a
    /// leader change, waitReady succeeded, notify simulated.
    fn fixture(rpo_ms: Option<u64>) -> (Catalog, RunRecord) {
        let mut c = Catalog::default();
        c.runbook_versions.insert("sha256:abc".into(), YAML.into());
        c.snapshots.snapshots.insert(
            "snap-1".into(),
            SnapshotRecord {
                id: "snap-1".into(),
                cluster: "eu-west".into(),
                manifest_key: "m".into(),
                object_count: 42,
                new_objects: 0,
                bytes_uploaded: 0,
                kubernetes_version: "1.30".into(),
                started_at_ms: T0 - 130_000,
                completed_at_ms: T0 - 120_000,
                capture_id: "cap-1".into(),
                trigger: "manual".into(),
            },
        );
        c.snapshots.restores.insert(
            "rst-1".into(),
            RestoreRecord {
                id: "rst-1".into(),
                snapshot: "snap-1".into(),
                target_cluster: "eu-central".into(),
                namespace_map: [("shop".to_string(), "shop-dr".to_string())].into(),
                policy: "skip".into(),
                dry_run: false,
                node: 1,
                by: "run-7".into(),
                started_at_ms: T0 + 3_000,
                finished_at_ms: Some(T0 + 9_000),
                state: JobState::Succeeded,
                counts: [("created".to_string(), 40), ("skipped".to_string(), 2)].into(),
                failures: vec![],
                rpo_ms: Some(123_000),
                report_key: None,
            },
        );
        let events = vec![
            JournalEvent::StepSkipped {
                step_id: "fence".into(),
                reason: "drill: skipped".into(),
                at_ms: T0 + 500,
            },
            started("restore", None, 1, 1_000),
            JournalEvent::StepFailed {
                step_id: "restore".into(),
                item: None,
                attempt: 1,
                kind: FailureKind::Error,
                error: "<script>alert('x')</script> | boom".into(),
                at_ms: T0 + 2_000,
            },
            started("restore", None, 2, 3_000),
            JournalEvent::Resumed { at_ms: T0 + 4_000 },
            started("restore", None, 3, 4_500),
            ok(
                "restore",
                None,
                3,
                9_000,
                json!({"restoreId": "rst-1", "snapshotId": "snap-1",
                       "snapshotTakenAtMs": T0 - 120_000, "snapshotObjects": 42,
                       "rpoMs": rpo_ms, "restored": 40,
                       "counts": {"created": 40, "skipped": 2}}),
            ),
            started("ready", Some(0), 1, 9_100),
            ok(
                "ready",
                Some(0),
                1,
                30_000,
                json!({"ready": ["Deployment/web"], "checked": 1, "waitedMs": 20_900}),
            ),
            started("notify", None, 1, 30_100),
            ok(
                "notify",
                None,
                1,
                30_200,
                json!({"simulated": true, "with": {"url": "https://hooks.example.com/done"}}),
            ),
        ];
        let run = RunRecord {
            id: "run-7".into(),
            runbook: "drill-test".into(),
            digest: "sha256:abc".into(),
            params: BTreeMap::new(),
            drill: true,
            trigger: RunTrigger::Drill,
            concurrency_key: None,
            state: RunState::Succeeded,
            cancel_requested: false,
            created_by: "admin".into(),
            created_at_ms: T0,
            first_step_at_ms: Some(T0 + 1_000),
            finished_at_ms: Some(T0 + 31_000),
            exec_term: 3,
            resumes: 1,
            journal_index: (1..=events.len() as u64).collect(),
            inputs: BTreeMap::new(),
            journal: Journal { events },
            open: BTreeMap::new(),
            log: Default::default(),
        };
        (c, run)
    }

    fn step<'a>(r: &'a DrillReport, id: &str) -> &'a StepReport {
        r.steps.iter().find(|s| s.step_id == id).expect(id)
    }

    #[test]
    fn rto_runs_from_creation_to_workloads_ready_and_rpo_is_the_reported_age() {
        let (c, run) = fixture(Some(123_000));
        let r = build(&c, &run);
        assert_eq!(r.rto.measured_ms, Some(30_000));
        assert_eq!(r.rto.objective_ms, Some(60_000));
        assert_eq!(r.rto.met, Some(true));
        assert!(r.rto.basis.contains("ready#0"), "{}", r.rto.basis);
        assert_eq!(r.rpo.measured_ms, Some(123_000));
        assert_eq!(r.rpo.objective_ms, Some(600_000));
        assert_eq!(r.rpo.met, Some(true));
        assert_eq!(r.objectives_met, Some(true));
        assert_eq!(r.duration_ms, Some(31_000));
        assert_eq!(r.namespace_suffix.as_deref(), Some("-dr"));
        assert_eq!(r.started_at, "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn rpo_falls_back_to_restore_start_minus_snapshot_time() {
        let (c, run) = fixture(None);
        let r = build(&c, &run);
        // The successful attempt started at +4.5 s; the snapshot is from -120 s.
        assert_eq!(r.rpo.measured_ms, Some(124_500));
        assert!(
            r.rpo.basis.contains("restore step start"),
            "{}",
            r.rpo.basis
        );
    }

    #[test]
    fn objectives_missed_when_slower_than_the_runbook_says() {
        let (c, mut run) = fixture(Some(11 * 60_000));
        // Workloads ready after 2 minutes: RTO 1m missed; RPO 11m > 10m missed.
        if let Some(JournalEvent::StepSucceeded { at_ms, .. }) = run.journal.events.get_mut(8) {
            *at_ms = T0 + 120_000;
        }
        let r = build(&c, &run);
        assert_eq!(r.rto.measured_ms, Some(120_000));
        assert_eq!(r.rto.met, Some(false));
        assert_eq!(r.rpo.met, Some(false));
        assert_eq!(r.objectives_met, Some(false));
        assert!(r.to_markdown().contains("NOT met"));
    }

    #[test]
    fn without_a_readiness_check_rto_ends_at_the_restore_with_a_note() {
        let (mut c, mut run) = fixture(Some(1_000));
        let ready = YAML.find("    - id: ready").unwrap();
        let notify = YAML.find("    - id: notify").unwrap();
        let yaml = format!("{}{}", &YAML[..ready], &YAML[notify..]);
        c.runbook_versions.insert("sha256:abc".into(), yaml);
        run.journal.events.truncate(7);
        let r = build(&c, &run);
        assert_eq!(r.rto.measured_ms, Some(9_000));
        assert!(
            r.notes.iter().any(|n| n.contains("no k8s.waitReady step")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn unmeasured_objective_is_unknown_not_met() {
        let (c, mut run) = fixture(Some(1_000));
        // waitReady never finished: the run ended with it open.
        run.journal.events.truncate(8);
        run.state = RunState::Failed {
            reason: "ready timed out".into(),
        };
        let r = build(&c, &run);
        assert_eq!(r.rto.measured_ms, None);
        assert_eq!(r.rto.met, None);
        assert_eq!(r.objectives_met, None);
        let why = r.rto.explain();
        assert!(
            why.starts_with("Not measured: readiness check `ready#0` failed"),
            "{why}"
        );
        assert_eq!(step(&r, "ready").outcome, Outcome::Failed);
        assert_eq!(step(&r, "notify").outcome, Outcome::NotRun);
    }

    #[test]
    fn steps_carry_attempts_outcomes_errors_and_the_resume_marker() {
        let (c, run) = fixture(Some(1_000));
        let r = build(&c, &run);
        let restore = step(&r, "restore");
        assert_eq!(restore.attempts, 3);
        assert_eq!(restore.outcome, Outcome::Succeeded);
        assert!(restore.resumed);
        assert_eq!(restore.started_at_ms, Some(T0 + 1_000));
        assert_eq!(restore.duration_ms, Some(8_000));
        assert_eq!(restore.uses.as_deref(), Some("snapshot.restore"));
        assert_eq!(step(&r, "fence").outcome, Outcome::Skipped);
        assert_eq!(step(&r, "notify").outcome, Outcome::Simulated);
        assert_eq!(step(&r, "ready").item, Some(0));
        assert!(r.notes.iter().any(|n| n.contains("`notify` was simulated")));
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("resumed by a new leader 1 time"))
        );
    }

    #[test]
    fn evidence_has_restore_counts_and_rendered_readiness_targets() {
        let (c, run) = fixture(Some(1_000));
        let r = build(&c, &run);
        let rs = &r.evidence.restores[0];
        assert_eq!(rs.snapshot_id.as_deref(), Some("snap-1"));
        assert_eq!(rs.snapshot_objects, Some(42));
        assert_eq!(rs.counts.get("created"), Some(&40));
        assert_eq!(rs.target_cluster.as_deref(), Some("eu-central"));
        let rd = &r.evidence.readiness[0];
        assert_eq!(rd.namespace.as_deref(), Some("shop-dr"));
        assert_eq!(rd.cluster.as_deref(), Some("eu-central"));
        assert_eq!(rd.ready, vec!["Deployment/web".to_string()]);
        assert_eq!(rd.checked, Some(1));
        assert!(
            !r.notes.iter().any(|n| n.contains("no workload")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn empty_evidence_is_called_out() {
        let (c, mut run) = fixture(Some(1_000));
        if let Some(JournalEvent::StepSucceeded { result, .. }) = run.journal.events.get_mut(6) {
            result["restored"] = json!(0);
        }
        if let Some(JournalEvent::StepSucceeded { result, .. }) = run.journal.events.get_mut(8) {
            *result = json!({"ready": [], "checked": 0, "waitedMs": 3});
        }
        let r = build(&c, &run);
        let notes = r.notes.join("\n");
        assert!(
            notes.contains("restore `restore` created or updated no object"),
            "{notes}"
        );
        assert!(
            notes.contains("found no workload in namespace shop-dr"),
            "{notes}"
        );
    }

    #[test]
    fn html_escapes_hostile_text() {
        let (c, run) = fixture(Some(1_000));
        let html = build(&c, &run).to_html();
        assert!(!html.contains("<script>"), "unescaped script tag");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<style>"));
    }

    #[test]
    fn markdown_has_the_summary_and_step_rows() {
        let (c, run) = fixture(Some(1_000));
        let md = build(&c, &run).to_markdown();
        assert!(md.starts_with("# Drill report: drill-test (run-7)"));
        assert!(md.contains("| Step | Item | Uses | Attempts |"));
        assert!(
            md.contains("| restore | - | snapshot.restore | 3 |"),
            "{md}"
        );
        assert!(md.contains("| ready | 0 | k8s.waitReady | 1 |"), "{md}");
        assert!(md.contains("| fence | - | cluster.fence | 0 |"), "{md}");
        assert!(md.contains("skipped (drill: skipped)"));
        // A `|` inside an error cannot break the table.
        assert!(md.contains("\\| boom"), "{md}");
        assert!(
            md.contains("| RTO | 30.0s (objective 1m 00s): met |"),
            "{md}"
        );
    }

    #[test]
    fn json_round_trips() {
        let (c, run) = fixture(Some(1_000));
        let r = build(&c, &run);
        let back: DrillReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.steps.len(), r.steps.len());
        assert_eq!(back.format, REPORT_FORMAT);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_ms(850), "850ms");
        assert_eq!(human_ms(12_345), "12.3s");
        assert_eq!(human_ms(245_000), "4m 05s");
        assert_eq!(human_ms(7_380_000), "2h 03m");
    }
}
