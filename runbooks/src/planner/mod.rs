//! The pure planner: given a runbook, the run's context, its journal and the clock, it
//! says what happens next, as data. The executor (next issue) performs the actions,
//! journals what happened, and calls [`plan`] again. Calling it twice with the same
//! inputs gives the same plan.
//!
//! Phases: main `steps`, then `finally` (always, even after failure or cancel), then
//! `drill.cleanup` (drills only). See the README for the full semantics.

mod context;
mod state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graph::Graph;
use crate::journal::{FailureKind, Journal, JournalEvent};
use crate::schema::{Condition, ForEach, OnFailure, Runbook, Step};
use crate::template::{as_expression, eval, eval_bool, render_str, render_value};
use context::Ctx;
use state::{Expired, Inst, State, instance_status};

pub use context::resolve_params;

/// Who started the run and with what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunContext {
    /// The run id (part of default idempotency keys).
    pub run_id: String,
    /// Supplied params (defaults are filled in by the planner).
    pub params: BTreeMap<String, Value>,
    /// A drill run?
    pub drill: bool,
    /// Has cancel been requested?
    pub cancel_requested: bool,
}

/// One thing for the executor to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Action {
    /// Start an attempt; journal `StepStarted` with this key and attempt.
    #[serde(rename_all = "camelCase")]
    StartStep {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// 1-based attempt number.
        attempt: u32,
        /// Same for every attempt of the instance.
        idempotency_key: String,
        /// The rendered `with` block.
        rendered_with: Value,
        /// `now + timeout` (the planner enforces it from the journaled start time).
        deadline_ms: Option<u64>,
        /// Drill simulation: record success without performing the effect.
        simulate: bool,
    },
    /// Stop a running attempt (timeout, abort, cancel) and journal `StepFailed`.
    #[serde(rename_all = "camelCase")]
    CancelStep {
        /// Step id.
        step_id: String,
        /// forEach index.
        item: Option<usize>,
        /// Attempt.
        attempt: u32,
        /// Why.
        reason: String,
    },
    /// Append this decision to the journal as is (skips, timeouts, render failures).
    Record(JournalEvent),
    /// Nothing to do before this time unless the journal changes.
    #[serde(rename_all = "camelCase")]
    WaitUntil {
        /// Absolute time in ms.
        at_ms: u64,
    },
}

/// The run's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RunStatus {
    /// Steps are running or pending.
    Running,
    /// Every main step succeeded or was skipped/continued, and so did `finally`.
    Succeeded,
    /// A step failed (with `onFailure: abort`), or a finally step failed.
    Failed {
        /// What failed.
        reason: String,
    },
    /// Cancel was requested; `finally` has run.
    Cancelled,
}

/// Which list of steps the run is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// `spec.steps`.
    Main,
    /// `spec.finally`.
    Finally,
    /// `spec.drill.cleanup` (drills only).
    Cleanup,
    /// Nothing more to run.
    Done,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// What to do now, in order.
    pub actions: Vec<Action>,
    /// The run's status.
    pub status: RunStatus,
    /// The current phase.
    pub phase: Phase,
}

/// A step's status in the plan.
#[derive(Debug, Clone, PartialEq)]
enum StepStatus {
    /// Waiting for needs, running, or waiting for a retry.
    Active,
    /// Not started because the run is stopping.
    NotRun,
    Skipped,
    Succeeded,
    Failed(String),
}

impl StepStatus {
    fn terminal(&self) -> bool {
        !matches!(self, StepStatus::Active)
    }
}

/// What running one list produced.
struct ListOutcome {
    /// Every step terminal (or not run while stopping) and nothing running.
    done: bool,
    /// First failure that aborts (main phase) / first failure (final phases).
    failure: Option<String>,
}

/// Decides what happens next for a run. Pure: same inputs, same plan.
#[must_use]
pub fn plan(runbook: &Runbook, run: &RunContext, journal: &Journal, now_ms: u64) -> Plan {
    let params = match resolve_params(runbook, &run.params) {
        Ok(p) => p,
        Err(errors) => {
            return Plan {
                actions: Vec::new(),
                status: RunStatus::Failed {
                    reason: errors.join("; "),
                },
                phase: Phase::Done,
            };
        }
    };
    let state = State::fold(&journal.events);
    let mut ctx = Ctx::new(runbook, run, params);
    let mut p = Planner {
        run,
        state: &state,
        now: now_ms,
        actions: Vec::new(),
        wake: None,
        cancelling: false,
    };
    let main = p.run_list(&runbook.spec.steps, &mut ctx, true);
    if !main.done {
        return p.finish(RunStatus::Running, Phase::Main);
    }
    let fin = p.run_list(&runbook.spec.finally, &mut ctx, false);
    if !fin.done {
        return p.finish(RunStatus::Running, Phase::Finally);
    }
    let cleanup = match (&runbook.spec.drill, run.drill) {
        (Some(d), true) => {
            let c = p.run_list(&d.cleanup, &mut ctx, false);
            if !c.done {
                return p.finish(RunStatus::Running, Phase::Cleanup);
            }
            c.failure
        }
        _ => None,
    };
    let status = if run.cancel_requested {
        RunStatus::Cancelled
    } else if let Some(reason) = main.failure.or(fin.failure).or(cleanup) {
        RunStatus::Failed { reason }
    } else {
        RunStatus::Succeeded
    };
    p.finish(status, Phase::Done)
}

struct Planner<'a> {
    run: &'a RunContext,
    state: &'a State,
    now: u64,
    actions: Vec<Action>,
    wake: Option<u64>,
    /// Cancel applies to the list being planned (main steps only).
    cancelling: bool,
}

impl Planner<'_> {
    fn finish(mut self, status: RunStatus, phase: Phase) -> Plan {
        if status == RunStatus::Running
            && let Some(at) = self.wake
        {
            self.actions.push(Action::WaitUntil { at_ms: at });
        }
        Plan {
            actions: self.actions,
            status,
            phase,
        }
    }

    fn wake_at(&mut self, at: u64) {
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    fn record(&mut self, ev: JournalEvent) {
        self.actions.push(Action::Record(ev));
    }

    /// Plans one list. `main`: failures abort per `onFailure` and cancel applies.
    fn run_list(&mut self, steps: &[Step], ctx: &mut Ctx, main: bool) -> ListOutcome {
        self.cancelling = main && self.run.cancel_requested;
        let graph = Graph::build(steps);
        let mut status: Vec<StepStatus> = vec![StepStatus::Active; steps.len()];
        let mut starts = Vec::new();
        let mut failure: Option<String> = None;
        let mut running = Vec::new();
        for i in graph.topo_order() {
            let step = &steps[i];
            if !graph.deps[i].iter().all(|&d| status[d].terminal()) {
                continue;
            }
            let s = self.step(step, ctx, &mut starts, &mut running);
            if let StepStatus::Failed(msg) = &s {
                let aborts = !main || step.on_failure == OnFailure::Abort;
                if aborts && failure.is_none() {
                    failure = Some(format!("step `{}` failed: {msg}", step.id));
                }
            }
            ctx.set_status(step, &s, self.state);
            status[i] = s;
        }
        let stopping = main && (self.run.cancel_requested || failure.is_some());
        if stopping {
            let reason = if self.run.cancel_requested {
                "run cancelled"
            } else {
                "run aborted"
            };
            for (step_id, item, attempt) in &running {
                self.actions.push(Action::CancelStep {
                    step_id: step_id.clone(),
                    item: *item,
                    attempt: *attempt,
                    reason: reason.to_string(),
                });
            }
            let done = running.is_empty();
            if !done {
                self.wake = None;
            }
            return ListOutcome { done, failure };
        }
        let idle = running.is_empty() && starts.is_empty() && self.wake.is_none();
        self.actions.extend(starts);
        let all_terminal = status.iter().all(StepStatus::terminal);
        if !all_terminal && idle {
            let stuck: Vec<&str> = steps
                .iter()
                .zip(&status)
                .filter(|(_, s)| !s.terminal())
                .map(|(s, _)| s.id.as_str())
                .collect();
            let reason = format!(
                "steps can never start (cycle or unknown needs): {}",
                stuck.join(", ")
            );
            return ListOutcome {
                done: true,
                failure: Some(reason),
            };
        }
        ListOutcome {
            done: all_terminal,
            failure,
        }
    }

    /// Plans one step whose needs are all terminal.
    fn step(
        &mut self,
        step: &Step,
        ctx: &Ctx,
        starts: &mut Vec<Action>,
        running: &mut Vec<(String, Option<usize>, u32)>,
    ) -> StepStatus {
        let id = &step.id;
        if let Some(_reason) = self.state.skipped.get(id) {
            return StepStatus::Skipped;
        }
        if let Some((_, msg)) = self
            .state
            .prefail
            .get(&(id.clone(), None))
            .filter(|_| step.for_each.is_some())
        {
            return StepStatus::Failed(msg.clone());
        }
        let started = self.state.attempts.keys().any(|(s, _)| s == id)
            || self.state.prefail.keys().any(|(s, _)| s == id);
        if !started {
            if self.cancelling {
                return StepStatus::NotRun;
            }
            if let Some(reason) = self.skip_reason(step, ctx) {
                match reason {
                    Ok(reason) => {
                        self.record(JournalEvent::StepSkipped {
                            step_id: id.clone(),
                            reason,
                            at_ms: self.now,
                        });
                        return StepStatus::Skipped;
                    }
                    Err(msg) => return self.render_failure(id, None, msg),
                }
            }
        }
        let items: Vec<Option<usize>> = match self.items(step, ctx) {
            Ok(Some(list)) => (0..list.len()).map(Some).collect(),
            Ok(None) => vec![None],
            Err(msg) => return self.render_failure(id, None, msg),
        };
        let max_parallel = step.max_parallel.map_or(usize::MAX, |m| m.max(1) as usize);
        let mut active = 0;
        let mut startable = Vec::new();
        let mut failed = None;
        let mut all_ok = true;
        for item in &items {
            let key = (id.clone(), *item);
            if let Some((_, msg)) = self.state.prefail.get(&key) {
                failed.get_or_insert(msg.clone());
                continue;
            }
            let attempts = self.state.attempts.get(&key).map_or(&[][..], Vec::as_slice);
            let mut expired = None;
            let st = instance_status(step, attempts, self.now, &mut expired);
            self.handle_expired(step, *item, expired);
            match st {
                Inst::Succeeded(_) => continue,
                Inst::Failed(_, msg) => {
                    failed.get_or_insert(msg);
                }
                Inst::Running { deadline } => {
                    active += 1;
                    if let Some(d) = deadline {
                        self.wake_at(d);
                    }
                    let n = attempts.last().map_or(1, |a| a.n);
                    running.push((id.clone(), *item, n));
                }
                Inst::Retry { at } if at > self.now => {
                    active += 1;
                    self.wake_at(at);
                }
                Inst::Retry { .. } | Inst::NotStarted => startable.push(*item),
            }
            all_ok = false;
        }
        if let Some(msg) = failed
            && (step.on_failure == OnFailure::Abort || (active == 0 && startable.is_empty()))
        {
            return StepStatus::Failed(msg);
        }
        for item in startable {
            if active >= max_parallel || self.cancelling {
                break;
            }
            match self.start(step, item, ctx) {
                Ok(action) => {
                    starts.push(action);
                    active += 1;
                }
                Err(msg) => {
                    let status = self.render_failure(id, item, msg);
                    if step.on_failure == OnFailure::Abort {
                        return status;
                    }
                }
            }
        }
        if all_ok {
            StepStatus::Succeeded
        } else if active == 0 && self.cancelling {
            StepStatus::NotRun
        } else {
            StepStatus::Active
        }
    }

    fn handle_expired(&mut self, step: &Step, item: Option<usize>, expired: Option<Expired>) {
        match expired {
            None => {}
            Some(Expired::Timeout { attempt, deadline }) => {
                self.actions.push(Action::CancelStep {
                    step_id: step.id.clone(),
                    item,
                    attempt,
                    reason: "timeout".into(),
                });
                self.record(JournalEvent::StepFailed {
                    step_id: step.id.clone(),
                    item,
                    attempt,
                    kind: FailureKind::Timeout,
                    error: format!("timed out after {}", step.timeout.unwrap_or_default()),
                    at_ms: deadline,
                });
            }
            Some(Expired::Approval { approved, deadline }) => {
                self.record(JournalEvent::ApprovalDecided {
                    step_id: step.id.clone(),
                    item,
                    approved,
                    by: "timeout".into(),
                    at_ms: deadline,
                })
            }
        }
    }

    fn render_failure(&mut self, id: &str, item: Option<usize>, msg: String) -> StepStatus {
        self.record(JournalEvent::StepFailed {
            step_id: id.to_string(),
            item,
            attempt: 0,
            kind: FailureKind::Render,
            error: msg.clone(),
            at_ms: self.now,
        });
        StepStatus::Failed(msg)
    }

    /// `Some(Ok(reason))` to skip, `Some(Err)` when `when` cannot be evaluated.
    fn skip_reason(&self, step: &Step, ctx: &Ctx) -> Option<Result<String, String>> {
        if self.run.drill && ctx.drill_skips(&step.id) {
            return Some(Ok("drill: skipped".into()));
        }
        match &step.when {
            None | Some(Condition::Const(true)) => None,
            Some(Condition::Const(false)) => Some(Ok("when: false".into())),
            Some(Condition::Expr(e)) => match eval_bool(as_expression(e), &ctx.value(None, None)) {
                Ok(true) => None,
                Ok(false) => Some(Ok(format!("when: {e} is false"))),
                Err(msg) => Some(Err(format!("when: {msg}"))),
            },
        }
    }

    fn items(&self, step: &Step, ctx: &Ctx) -> Result<Option<Vec<Value>>, String> {
        match &step.for_each {
            None => Ok(None),
            Some(ForEach::Items(items)) => Ok(Some(items.clone())),
            Some(ForEach::Expr(e)) => match eval(as_expression(e), &ctx.value(None, None)) {
                Ok(Value::Array(items)) => Ok(Some(items)),
                Ok(other) => Err(format!("forEach: expected a list, got {other}")),
                Err(msg) => Err(format!("forEach: {msg}")),
            },
        }
    }

    fn start(&self, step: &Step, item: Option<usize>, ctx: &Ctx) -> Result<Action, String> {
        let key = (step.id.clone(), item);
        let previous = self.state.attempts.get(&key);
        let attempt = previous.and_then(|a| a.last()).map_or(1, |a| a.n + 1);
        let item_value = match (item, self.items(step, ctx)?) {
            (Some(i), Some(list)) => list.get(i).cloned(),
            _ => None,
        };
        let vars = ctx.value(item_value.as_ref(), Some(attempt));
        let with = Value::Object(step.with.clone().into_iter().collect());
        let rendered_with = render_value(&with, &vars).map_err(|e| format!("with.{e}"))?;
        let idempotency_key = match previous.and_then(|a| a.first()) {
            Some(first) => first.key.clone(),
            None => match &step.idempotency_key {
                Some(t) => {
                    match render_str(t, &vars).map_err(|e| format!("idempotencyKey: {e}"))? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }
                }
                None => match item {
                    Some(i) => format!("{}/{}/{i}", self.run.run_id, step.id),
                    None => format!("{}/{}", self.run.run_id, step.id),
                },
            },
        };
        Ok(Action::StartStep {
            step_id: step.id.clone(),
            item,
            attempt,
            idempotency_key,
            rendered_with,
            deadline_ms: step.timeout.map(|t| self.now.saturating_add(t.0)),
            simulate: self.run.drill && ctx.drill_simulates(&step.id),
        })
    }
}
