//! [`build`]: the report of a run from the catalog, and the notes on its steps.

use super::evidence::{base_context, evidence};
use super::journal::{Inst, instances};
use super::measure::{rpo, rto};
use super::text::iso8601;
use super::{DrillReport, Measure, Outcome, REPORT_FORMAT};
use crate::catalog::{Catalog, RunRecord, RunState};

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
