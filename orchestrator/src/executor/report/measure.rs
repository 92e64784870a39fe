//! The measured figures: RTO (run creation to workloads ready) and RPO (snapshot age
//! when the restore began), each against the runbook's objective.

use lifeboat_runbooks::schema::Runbook;

use super::journal::{Inst, real};
use super::{Measure, Outcome, RESTORE, WAIT_READY};
use crate::catalog::RunRecord;

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
pub(super) fn rto(
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
pub(super) fn rpo(insts: &[Inst], objective: Option<u64>) -> Measure {
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
