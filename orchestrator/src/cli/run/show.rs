//! `run show`: a run's summary, its steps (one row per attempt, read from the journal),
//! the approvals waiting and the end of its log.

use std::collections::BTreeMap;

use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use serde_json::Value;

use super::clock;
use super::list::trigger;
use crate::catalog::instance_key;
use crate::cli::table::{Cell, Paint, Table, fit, short_time};
use crate::executor::report::human_ms;

/// One row of the steps table: one attempt.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub(super) step: String,
    pub(super) attempt: String,
    pub(super) outcome: String,
    pub(super) start: Option<u64>,
    pub(super) end: Option<u64>,
    pub(super) error: String,
}

pub(super) fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Error | FailureKind::Render | FailureKind::Fatal => "failed",
        FailureKind::Timeout => "timed out",
        FailureKind::Cancelled => "cancelled",
        FailureKind::Rejected => "rejected",
    }
}

/// The journal as attempts, in order.
pub(super) fn journal_rows(journal: &[Value]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let row = |rows: &mut Vec<Row>, open: &mut BTreeMap<String, usize>, step: String, a: u32| {
        open.remove(&step).unwrap_or_else(|| {
            rows.push(Row {
                step,
                attempt: a.to_string(),
                outcome: String::new(),
                start: None,
                end: None,
                error: String::new(),
            });
            rows.len() - 1
        })
    };
    for e in journal {
        let Ok(e) = serde_json::from_value::<JournalEvent>(e.clone()) else {
            continue;
        };
        match e {
            JournalEvent::StepStarted {
                step_id,
                item,
                attempt,
                at_ms,
                ..
            } => {
                let step = instance_key(&step_id, item);
                rows.push(Row {
                    step: step.clone(),
                    attempt: attempt.to_string(),
                    outcome: "running".into(),
                    start: Some(at_ms),
                    end: None,
                    error: String::new(),
                });
                open.insert(step, rows.len() - 1);
            }
            JournalEvent::StepSucceeded {
                step_id,
                item,
                attempt,
                result,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance_key(&step_id, item), attempt);
                rows[i].end = Some(at_ms);
                rows[i].outcome = if result["simulated"] == true {
                    "simulated".into()
                } else {
                    "succeeded".into()
                };
            }
            JournalEvent::StepFailed {
                step_id,
                item,
                attempt,
                kind,
                error,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance_key(&step_id, item), attempt);
                rows[i].end = Some(at_ms);
                rows[i].outcome = kind_name(kind).into();
                rows[i].error = error;
            }
            JournalEvent::StepSkipped {
                step_id,
                reason,
                at_ms,
            } => rows.push(Row {
                step: step_id,
                attempt: "-".into(),
                outcome: "skipped".into(),
                start: None,
                end: Some(at_ms),
                error: reason,
            }),
            JournalEvent::ApprovalDecided {
                step_id,
                item,
                approved,
                by,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance_key(&step_id, item), 1);
                rows[i].end = Some(at_ms);
                rows[i].outcome = if approved { "approved" } else { "rejected" }.into();
                rows[i].error = format!("by {by}");
            }
            JournalEvent::Resumed { .. } => {
                for (_, i) in std::mem::take(&mut open) {
                    rows[i].outcome = "interrupted".into();
                    rows[i].error = "leader change: re-run by the new leader".into();
                }
            }
        }
    }
    rows
}

/// `run show` as text.
pub(super) fn render_show(v: &Value, now: u64, paint: Paint) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let state = v["state"].as_str().unwrap_or("?");
    let mut out = format!(
        "{id}  {}  {}{}\n",
        v["runbook"].as_str().unwrap_or("?"),
        paint.state(state),
        if v["drill"] == true { "  (drill)" } else { "" }
    );
    let mut field = |k: &str, val: String| {
        out.push_str(&format!("{}\n", fit(&format!("  {k:<10} {val}"), 100)))
    };
    if let Some(r) = v["reason"].as_str() {
        field("reason:", r.to_string());
    }
    field("digest:", v["digest"].as_str().unwrap_or("?").to_string());
    field(
        "trigger:",
        format!(
            "{}, by {}",
            trigger(&v["trigger"]),
            v["created_by"].as_str().unwrap_or("?")
        ),
    );
    field("params:", v["params"].to_string());
    let created = v["created_at_ms"].as_u64().unwrap_or(0);
    field("created:", format!("{} UTC", short_time(created)));
    match v["finished_at_ms"].as_u64() {
        Some(f) => field(
            "finished:",
            format!(
                "{} UTC (took {})",
                short_time(f),
                human_ms(f.saturating_sub(created))
            ),
        ),
        None => field(
            "running:",
            format!("for {}", human_ms(now.saturating_sub(created))),
        ),
    }
    if let Some(n) = v["resumes"].as_u64().filter(|n| *n > 0) {
        field("resumed:", format!("{n} time(s) by a new leader"));
    }
    if v["cancel_requested"] == true && state == "running" {
        field(
            "cancel:",
            "requested (stops at the next step boundary)".into(),
        );
    }
    let rows = journal_rows(v["journal"].as_array().map_or(&[][..], |a| a));
    let mut steps = Table::new(&["STEP", "ATTEMPT", "OUTCOME", "DURATION", "ERROR"]).right(&[1, 3]);
    for r in &rows {
        let duration = match (r.start, r.end) {
            (Some(s), Some(e)) => human_ms(e.saturating_sub(s)),
            (Some(s), None) if r.outcome == "running" => human_ms(now.saturating_sub(s)),
            _ => "-".into(),
        };
        steps.row(vec![
            r.step.as_str().into(),
            r.attempt.as_str().into(),
            Cell::state(&r.outcome),
            duration.into(),
            r.error.as_str().into(),
        ]);
    }
    out.push('\n');
    out.push_str(&steps.render(paint));
    if rows.is_empty() {
        out.push_str("(no step started yet)\n");
    }
    out.push_str(&approvals(v));
    let log = v["log"].as_array().map_or(&[][..], |a| a);
    if !log.is_empty() {
        out.push_str(&format!(
            "\nlog (last {} of {}):\n",
            log.len().min(10),
            log.len()
        ));
        for l in &log[log.len().saturating_sub(10)..] {
            out.push_str(&format!("  {}\n", log_line(l)));
        }
    }
    out
}

/// What is waiting for a person, with the command to decide it.
fn approvals(v: &Value) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let mut out = String::new();
    if v["state"] == "held" {
        out.push_str(&format!(
            "\nheld: {}\n  approve its start: lifeboat run approve {id}   (or reject it)\n",
            v["reason"].as_str().unwrap_or("waiting for approval")
        ));
    }
    for a in v["open"].as_array().into_iter().flatten() {
        if a["uses"] != "approval" {
            continue;
        }
        let step = a["step_id"].as_str().unwrap_or("?");
        let item = a["item"].as_u64();
        let by: Vec<&str> = a["approved_by"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let so_far = if by.is_empty() {
            String::new()
        } else {
            format!(" (approved so far by {})", by.join(", "))
        };
        out.push_str(&format!(
            "\nwaiting for approval: step {}{so_far}\n  {}   (or reject)\n",
            instance_key(step, item.and_then(|i| usize::try_from(i).ok())),
            approve_command(id, step, item)
        ));
    }
    out
}

/// The command that approves an open approval step (`item` for a `forEach` instance).
pub(super) fn approve_command(run: &str, step: &str, item: Option<u64>) -> String {
    let item = item.map(|i| format!(" --item {i}")).unwrap_or_default();
    format!("lifeboat run approve {run} --step {step}{item}")
}

pub(super) fn log_line(l: &Value) -> String {
    let step = l["step_id"]
        .as_str()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    format!(
        "{} [{}] {step}{}",
        clock(l["at_ms"].as_u64().unwrap_or(0)),
        l["level"].as_str().unwrap_or("info"),
        l["message"].as_str().unwrap_or("")
    )
}
