//! Reading a run's journal into step instances: attempts, start and end, outcome, the
//! result of the attempt that succeeded, and the steps that never ran.

use std::collections::BTreeMap;

use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use lifeboat_runbooks::schema::Runbook;
use serde_json::Value;

use super::{Outcome, StepReport};
use crate::catalog::RunRecord;

/// A step instance while the journal is read.
pub(super) struct Inst {
    pub(super) report: StepReport,
    pub(super) open: bool,
    pub(super) attempt_start: Option<u64>,
    /// Start of the attempt that succeeded, and its result.
    pub(super) success: Option<(Option<u64>, Value)>,
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
pub(super) fn instances(run: &RunRecord, rb: Option<&Runbook>) -> Vec<Inst> {
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
            inst.report.uses =
                crate::executor::find_step(rb, &inst.report.step_id).map(|s| s.uses.clone());
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
pub(super) fn real<'a>(insts: &'a [Inst], uses: &'a str) -> impl Iterator<Item = &'a Inst> {
    insts.iter().filter(move |i| {
        i.report.uses.as_deref() == Some(uses)
            && !matches!(
                i.report.outcome,
                Outcome::Skipped | Outcome::Simulated | Outcome::NotRun
            )
    })
}
