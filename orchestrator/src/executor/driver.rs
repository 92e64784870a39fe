//! The run driver: see the module doc of [`super`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use lifeboat_runbooks::schema::Runbook;
use lifeboat_runbooks::{Action, RunContext, RunStatus};
use serde_json::{Value, json};
use tokio::task::{AbortHandle, JoinSet};
use tracing::{debug, info, warn};

use super::steps::{self, StepCall, StepEnv};
use super::{FencingToken, find_step};
use crate::api::ApiError;
use crate::catalog::{Op, Response, RunOp, RunRecord, RunState, RunTrigger, instance_key};
use crate::node::{Node, now_ms};

/// Re-plan at least this often, even if nothing changed.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// Run the executor while this node leads in `term`. Aborting the future aborts every
/// driver and effect (they live in `JoinSet`s).
pub async fn lead(node: Arc<Node>, term: u64) {
    let default_step_timeout =
        humantime::parse_duration(&node.cfg.executor.default_step_timeout.value)
            .unwrap_or(Duration::from_secs(3600));
    let env = match steps::http::HttpSteps::new(&node.cfg.executor) {
        Ok(http) => Arc::new(StepEnv {
            http,
            default_step_timeout,
        }),
        Err(e) => {
            warn!(error = %e, "executor not started: bad `executor` config");
            return;
        }
    };
    let mut applied = node.raft.subscribe_applied();
    let mut drivers = JoinSet::new();
    let mut handles: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        while drivers.try_join_next().is_some() {}
        handles.retain(|_, h| !h.is_finished());
        let running: Vec<String> = node.raft.read_local(|c| {
            c.runs
                .runs
                .values()
                .filter(|r| r.state == RunState::Running && r.exec_term <= term)
                .map(|r| r.id.clone())
                .collect()
        });
        for id in running {
            if let std::collections::hash_map::Entry::Vacant(slot) = handles.entry(id) {
                let d = Driver::new(node.clone(), env.clone(), term, slot.key().clone());
                slot.insert(drivers.spawn(d.drive()));
            }
        }
        tokio::select! {
            changed = applied.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(MAX_IDLE) => {}
        }
    }
}

/// What an effect task returns.
struct EffectDone {
    key: String,
    step_id: String,
    item: Option<usize>,
    attempt: u32,
    token: FencingToken,
    uses: String,
    took: Duration,
    result: Result<Value, steps::StepError>,
}

/// Why a driver stops.
enum Stop {
    /// Not leader any more, or the run is owned by a newer term: the next owner resumes.
    Deposed,
    /// The run is over (or not running).
    Done,
}

struct Driver {
    node: Arc<Node>,
    env: Arc<StepEnv>,
    term: u64,
    run_id: String,
    actor: String,
    effects: JoinSet<EffectDone>,
    running: HashMap<String, AbortHandle>,
    /// This driver started a step already (the `Lost` -> first step metric is once).
    first_step_seen: bool,
}

impl Driver {
    fn new(node: Arc<Node>, env: Arc<StepEnv>, term: u64, run_id: String) -> Self {
        Driver {
            node,
            env,
            term,
            actor: format!("run:{run_id}"),
            run_id,
            effects: JoinSet::new(),
            running: HashMap::new(),
            first_step_seen: false,
        }
    }

    async fn drive(mut self) {
        match self.drive_inner().await {
            Ok(()) | Err(Stop::Done) => {}
            Err(Stop::Deposed) => debug!(run = %self.run_id, "driver stops: deposed"),
        }
    }

    fn read(&self) -> Option<RunRecord> {
        self.node
            .raft
            .read_local(|c| c.runs.runs.get(&self.run_id).cloned())
    }

    /// Commit a run op. Transient failures are retried; `Stop` when this node cannot
    /// drive the run any more; `Ok(Err(reason))` when the catalog refused it.
    async fn commit(&self, op: RunOp) -> Result<Result<u64, String>, Stop> {
        let mut delay = Duration::from_millis(50);
        for _ in 0..8 {
            match self.node.write(&self.actor, Op::Run(op.clone())).await {
                Ok(Response::Applied { index }) => return Ok(Ok(index)),
                Ok(other) => return Ok(Err(format!("unexpected response {other:?}"))),
                Err(ApiError::NotLeader { .. }) => return Err(Stop::Deposed),
                Err(ApiError::Unprocessable(reason)) => {
                    if reason.contains("a newer leader took it over")
                        || reason.contains("already owned by term")
                    {
                        return Err(Stop::Deposed);
                    }
                    return Ok(Err(reason));
                }
                Err(e) => {
                    debug!(run = %self.run_id, error = %e, "run write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
        Err(Stop::Deposed)
    }

    async fn journal(
        &self,
        event: JournalEvent,
        uses: Option<String>,
        token: Option<FencingToken>,
    ) -> Result<Result<u64, String>, Stop> {
        self.journal_with(event, uses, token, None).await
    }

    async fn journal_with(
        &self,
        event: JournalEvent,
        uses: Option<String>,
        token: Option<FencingToken>,
        inputs: Option<Value>,
    ) -> Result<Result<u64, String>, Stop> {
        let r = self
            .commit(RunOp::Journal {
                run_id: self.run_id.clone(),
                exec_term: self.term,
                event,
                uses,
                token,
                inputs,
            })
            .await?;
        if let Err(reason) = &r {
            // The catalog's view wins; re-plan from it after a pause rather than spin.
            warn!(run = %self.run_id, %reason, "journal entry refused");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(r)
    }

    async fn finish(&self, status: RunStatus, reason: &str) -> Result<(), Stop> {
        let outcome = match &status {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Running => "running",
        };
        let r = self
            .commit(RunOp::Finish {
                run_id: self.run_id.clone(),
                exec_term: self.term,
                status,
            })
            .await?;
        if r.is_ok() {
            info!(run = %self.run_id, outcome, reason, "run finished");
            self.node.metrics.observe_run_finished(outcome);
            let report = self.node.raft.read_local(|c| {
                let run = c.runs.runs.get(&self.run_id).filter(|r| r.drill)?;
                Some(super::report::build(c, run))
            });
            if let Some(report) = report {
                match super::report::store(&self.node, &report).await {
                    Ok(key) => info!(run = %self.run_id, %key, "drill report stored"),
                    Err(e) => warn!(run = %self.run_id, error = %e, "drill report not stored"),
                }
            }
        }
        Err(Stop::Done)
    }

    async fn drive_inner(&mut self) -> Result<(), Stop> {
        let run = self.read().ok_or(Stop::Done)?;
        if run.exec_term > self.term {
            return Err(Stop::Deposed);
        }
        if run.exec_term < self.term {
            let op = RunOp::Resume {
                run_id: self.run_id.clone(),
                exec_term: self.term,
            };
            if let Err(reason) = self.commit(op).await? {
                debug!(run = %self.run_id, %reason, "not taken over");
                return Err(Stop::Done);
            }
            if run.exec_term != 0 {
                info!(run = %self.run_id, term = self.term, "run resumed after a leader change");
            }
        }
        let rb = match self.node.raft.read_local(|c| c.runbook_of(&run)) {
            Ok(rb) => rb,
            Err(reason) => return self.finish(RunStatus::Failed { reason }, "").await,
        };
        let mut applied = self.node.raft.subscribe_applied();
        loop {
            let run = self.read().ok_or(Stop::Done)?;
            if run.state != RunState::Running {
                return Err(Stop::Done);
            }
            if run.exec_term != self.term {
                return Err(Stop::Deposed);
            }
            let ctx = RunContext {
                run_id: run.id.clone(),
                params: run.params.clone(),
                drill: run.drill,
                cancel_requested: run.cancel_requested,
            };
            let now = now_ms();
            let plan = lifeboat_runbooks::plan(&rb, &ctx, &run.journal, now);
            // A terminal plan may still carry actions (the last step's timeout): carry
            // them out first; finish once a plan has nothing more to record.
            let done = plan.status != RunStatus::Running;
            let (status, why) = (plan.status.clone(), format!("{:?}", plan.phase));
            let mut wrote = false;
            let mut wake = Instant::now() + MAX_IDLE;
            for action in plan.actions {
                match action {
                    Action::StartStep {
                        step_id,
                        item,
                        attempt,
                        idempotency_key,
                        rendered_with,
                        simulate,
                        deadline_ms,
                    } => {
                        let key = instance_key(&step_id, item);
                        if self.running.contains_key(&key)
                            || self.running.len() >= self.node.cfg.executor.max_parallel_steps
                        {
                            // Running, or at the node's cap: the planner asks again later.
                            continue;
                        }
                        wrote = true;
                        let start = StartArgs {
                            step_id,
                            item,
                            attempt,
                            idempotency_key,
                            rendered_with,
                            simulate,
                            deadline_ms,
                        };
                        self.start(&rb, &run, start).await?;
                    }
                    Action::CancelStep {
                        step_id,
                        item,
                        attempt,
                        reason,
                    } => {
                        let key = instance_key(&step_id, item);
                        if let Some(h) = self.running.remove(&key) {
                            h.abort();
                        }
                        if reason == "timeout" {
                            // The planner records the timeout itself (a `Record` follows,
                            // dated at the deadline): only the effect is stopped here.
                            continue;
                        }
                        let token = run.open_attempt(&step_id, item).map(|a| a.token);
                        let kind = FailureKind::Cancelled;
                        let event = JournalEvent::StepFailed {
                            step_id,
                            item,
                            attempt,
                            kind,
                            error: reason,
                            at_ms: now_ms(),
                        };
                        let _ = self.journal(event, None, token).await?;
                        wrote = true;
                    }
                    Action::Record(event) => {
                        let _ = self.journal(event, None, None).await?;
                        wrote = true;
                    }
                    Action::WaitUntil { at_ms } => {
                        let ms = at_ms.saturating_sub(now_ms());
                        wake = wake.min(Instant::now() + Duration::from_millis(ms));
                    }
                }
            }
            if wrote {
                continue;
            }
            if done {
                return self.finish(status, &why).await;
            }
            tokio::select! {
                Some(done) = self.effects.join_next() => {
                    if let Ok(done) = done {
                        self.finished(done).await?;
                    }
                }
                changed = applied.changed() => if changed.is_err() { return Err(Stop::Deposed) },
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    /// Commit `StepStarted`, then start the effect (or record a simulated success).
    async fn start(&mut self, rb: &Runbook, run: &RunRecord, s: StartArgs) -> Result<(), Stop> {
        let step = find_step(rb, &s.step_id);
        let uses = step.map(|st| st.uses.clone()).unwrap_or_default();
        let started = JournalEvent::StepStarted {
            step_id: s.step_id.clone(),
            item: s.item,
            attempt: s.attempt,
            idempotency_key: s.idempotency_key.clone(),
            at_ms: now_ms(),
        };
        let inputs = Some(s.rendered_with.clone());
        let index = match self
            .journal_with(started, Some(uses.clone()), None, inputs)
            .await?
        {
            Ok(index) => index,
            Err(_) => return Ok(()),
        };
        let token = FencingToken {
            term: self.term,
            index,
        };
        // `run` may predate starts made earlier in this same plan: count the first once.
        if run.first_step_at_ms.is_none()
            && !std::mem::replace(&mut self.first_step_seen, true)
            && let RunTrigger::ClusterLost { lost_at_ms, .. } = run.trigger
        {
            let ms = now_ms().saturating_sub(lost_at_ms);
            self.node.metrics.observe_lost_to_first_step(ms);
            info!(run = %self.run_id, ms, "failover: first step started after the loss");
        }
        if s.simulate {
            let result = json!({"simulated": true, "with": s.rendered_with});
            let event = JournalEvent::StepSucceeded {
                step_id: s.step_id,
                item: s.item,
                attempt: s.attempt,
                result,
                at_ms: now_ms(),
            };
            let _ = self.journal(event, None, Some(token)).await?;
            return Ok(());
        }
        if uses == "approval" {
            return Ok(());
        }
        let secrets_dir = self.node.cfg.executor.secrets_dir.clone();
        let with = match steps::http::resolve_secrets(&s.rendered_with, secrets_dir.as_deref()) {
            Ok(w) => w,
            Err(e) => {
                let event = JournalEvent::StepFailed {
                    step_id: s.step_id,
                    item: s.item,
                    attempt: s.attempt,
                    kind: FailureKind::Error,
                    error: e,
                    at_ms: now_ms(),
                };
                let _ = self.journal(event, None, Some(token)).await?;
                return Ok(());
            }
        };
        let first_started_at_ms = first_start(run, &s.step_id, s.item).unwrap_or_else(now_ms);
        let call = StepCall {
            run_id: self.run_id.clone(),
            step_id: s.step_id.clone(),
            item: s.item,
            attempt: s.attempt,
            idempotency_key: s.idempotency_key,
            token,
            uses: uses.clone(),
            with,
            drill: run.drill,
            drill_allowlist: rb
                .spec
                .drill
                .as_ref()
                .filter(|_| run.drill)
                .map(|d| d.http_allowlist.clone()),
            permissions: step
                .and_then(|st| st.permissions.clone())
                .map_or(Value::Null, |p| json!(p)),
            first_started_at_ms,
            deadline_ms: s.deadline_ms,
            actor: self.actor.clone(),
        };
        let key = instance_key(&s.step_id, s.item);
        info!(run = %self.run_id, step = %key, attempt = s.attempt, uses = %uses, token = %token, "step started");
        let (node, env) = (self.node.clone(), self.env.clone());
        let k = key.clone();
        // A step without `timeout` still ends: the node's default deadline (the planner
        // enforces, durably, only the deadlines the runbook declares).
        let fallback = step
            .filter(|st| st.timeout.is_none())
            .map(|_| self.env.default_step_timeout);
        let h = self.effects.spawn(async move {
            let t0 = Instant::now();
            let effect = steps::perform(&node, &env, &call);
            let result = match fallback {
                None => effect.await,
                Some(limit) => tokio::time::timeout(limit, effect)
                    .await
                    .unwrap_or_else(|_| {
                        Err(steps::StepError::from(format!(
                            "no `timeout` on this step and it ran past the node's \
                             executor.default_step_timeout ({}); set a `timeout` on the step",
                            humantime::format_duration(limit)
                        )))
                    }),
            };
            EffectDone {
                key: k,
                step_id: call.step_id,
                item: call.item,
                attempt: call.attempt,
                token,
                uses: call.uses,
                took: t0.elapsed(),
                result,
            }
        });
        self.running.insert(key, h);
        Ok(())
    }

    /// An effect finished: commit its result with its token.
    async fn finished(&mut self, d: EffectDone) -> Result<(), Stop> {
        self.running.remove(&d.key);
        let ok = d.result.is_ok();
        self.node.metrics.observe_step(&d.uses, ok, d.took);
        let event = match d.result {
            Ok(result) => JournalEvent::StepSucceeded {
                step_id: d.step_id,
                item: d.item,
                attempt: d.attempt,
                result,
                at_ms: now_ms(),
            },
            Err(e) => {
                let error = e.message;
                info!(run = %self.run_id, step = %d.key, attempt = d.attempt, %error, retryable = e.retryable, "step attempt failed");
                JournalEvent::StepFailed {
                    step_id: d.step_id,
                    item: d.item,
                    attempt: d.attempt,
                    kind: if e.retryable {
                        FailureKind::Error
                    } else {
                        FailureKind::Fatal
                    },
                    error,
                    at_ms: now_ms(),
                }
            }
        };
        let _ = self.journal(event, None, Some(d.token)).await?;
        Ok(())
    }
}

struct StartArgs {
    deadline_ms: Option<u64>,
    step_id: String,
    item: Option<usize>,
    attempt: u32,
    idempotency_key: String,
    rendered_with: Value,
    simulate: bool,
}

/// When the first attempt of this instance started.
fn first_start(run: &RunRecord, step: &str, item: Option<usize>) -> Option<u64> {
    run.journal.events.iter().find_map(|e| match e {
        JournalEvent::StepStarted {
            step_id,
            item: i,
            at_ms,
            ..
        } if step_id == step && *i == item => Some(*at_ms),
        _ => None,
    })
}
