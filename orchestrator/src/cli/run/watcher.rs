//! What `watch` prints for each event, shown once even across reconnects, and the
//! run's final state.

use std::collections::{BTreeMap, HashSet};

use lifeboat_runbooks::journal::JournalEvent;
use serde_json::{Value, json};

use super::show::{kind_name, log_line};
use super::sse::SseEvent;
use super::{clock, now_ms};
use crate::catalog::instance_key;
use crate::cli::table::Paint;
use crate::executor::report::human_ms;

/// What `watch` has shown so far (so a reconnect shows nothing twice).
#[derive(Debug, Default)]
pub(super) struct Watcher {
    pub(super) json: bool,
    pub(super) paint: Paint,
    pub(super) journal_index: u64,
    pub(super) logs: HashSet<(u64, String, String)>,
    pub(super) state: Option<String>,
    pub(super) final_state: Option<String>,
    pub(super) starts: BTreeMap<String, u64>,
}

impl Watcher {
    /// Lines to print for one event (none when it was shown already).
    pub(super) fn handle(&mut self, e: &SseEvent) -> Vec<String> {
        let Ok(v) = serde_json::from_str::<Value>(&e.data) else {
            return Vec::new();
        };
        let line = match e.event.as_str() {
            "journal" => {
                let index = v["index"].as_u64().unwrap_or(0);
                if index != 0 && index <= self.journal_index {
                    return Vec::new();
                }
                self.journal_index = self.journal_index.max(index);
                match serde_json::from_value::<JournalEvent>(v.clone()) {
                    Ok(j) => self.journal_line(&j),
                    Err(_) => return Vec::new(),
                }
            }
            "log" => {
                let key = (
                    v["at_ms"].as_u64().unwrap_or(0),
                    v["step_id"].as_str().unwrap_or("").to_string(),
                    v["message"].as_str().unwrap_or("").to_string(),
                );
                if !self.logs.insert(key) {
                    return Vec::new();
                }
                log_line(&v)
            }
            "state" => {
                let state = v["state"].as_str().unwrap_or("?").to_string();
                if self.state.as_deref() == Some(state.as_str()) {
                    return Vec::new();
                }
                self.state = Some(state.clone());
                if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                    self.final_state = Some(state.clone());
                }
                state_line(&v, &state, self.paint)
            }
            _ => return Vec::new(),
        };
        if self.json {
            vec![json!({"event": e.event, "data": v}).to_string()]
        } else {
            vec![line]
        }
    }

    fn journal_line(&mut self, j: &JournalEvent) -> String {
        match j {
            JournalEvent::StepStarted {
                step_id,
                item,
                attempt,
                at_ms,
                ..
            } => {
                let step = instance_key(step_id, *item);
                self.starts.insert(step.clone(), *at_ms);
                format!("{} {step}: attempt {attempt} started", clock(*at_ms))
            }
            JournalEvent::StepSucceeded {
                step_id,
                item,
                result,
                at_ms,
                ..
            } => {
                let step = instance_key(step_id, *item);
                let took = self
                    .starts
                    .get(&step)
                    .map(|s| format!(" ({})", human_ms(at_ms.saturating_sub(*s))))
                    .unwrap_or_default();
                let what = if result["simulated"] == true {
                    "simulated"
                } else {
                    "succeeded"
                };
                format!("{} {step}: {what}{took}", clock(*at_ms))
            }
            JournalEvent::StepFailed {
                step_id,
                item,
                attempt,
                kind,
                error,
                at_ms,
            } => format!(
                "{} {}: attempt {attempt} {}: {error}",
                clock(*at_ms),
                instance_key(step_id, *item),
                kind_name(*kind)
            ),
            JournalEvent::StepSkipped {
                step_id,
                reason,
                at_ms,
            } => format!("{} {step_id}: skipped ({reason})", clock(*at_ms)),
            JournalEvent::ApprovalDecided {
                step_id,
                item,
                approved,
                by,
                at_ms,
            } => format!(
                "{} {}: {} by {by}",
                clock(*at_ms),
                instance_key(step_id, *item),
                if *approved { "approved" } else { "rejected" }
            ),
            JournalEvent::Resumed { at_ms } => format!(
                "{} run taken over by a new leader: steps in flight are re-run",
                clock(*at_ms)
            ),
        }
    }
}

pub(super) fn state_line(v: &Value, state: &str, paint: Paint) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let at = v["finished_at_ms"]
        .as_u64()
        .map_or_else(|| clock(now_ms()), clock);
    let extra = match (state, v["reason"].as_str()) {
        ("held", r) => format!(
            ": {} (approve its start with `lifeboat run approve {id}`)",
            r.unwrap_or("waiting for approval")
        ),
        ("queued", _) => ": waiting for the run holding its concurrency key".into(),
        (_, Some(r)) => format!(": {r}"),
        _ => String::new(),
    };
    format!("{at} run {id} is {}{extra}", paint.state(state))
}
