//! Runs (and drills, which are runs in drill mode) in the catalog.
//!
//! A run is pinned to the content digest of its runbook when it is created; its journal
//! is appended to only through committed commands, so a new leader sees exactly what
//! happened. Ownership: the leader that executes a run stamps it with its Raft term
//! (`exec_term`, through [`RunOp::Resume`]); journal entries proposed under an older
//! term are refused, and a `Resumed` entry closes the attempts the previous owner left
//! open. Each started attempt gets a [`FencingToken`] (owner term, log index of its
//! `StepStarted` entry); results and catalog effects must present the open attempt's
//! token, so a deposed leader's late results are refused.
//!
//! Automatic runs are created inside `apply` when a verdict change makes a cluster
//! `Lost` (see [`super::Catalog`]): exactly once per loss, because the verdict change
//! itself happens once in the replicated log.

use std::collections::{BTreeMap, VecDeque};

use lifeboat_runbooks::journal::JournalEvent;
use lifeboat_runbooks::schema::{OnConflict, Runbook};
use lifeboat_runbooks::{Journal, RunStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Finished runs the catalog keeps (the oldest finished are dropped first).
pub const RUNS_KEPT: usize = 1_000;
/// Log lines kept per run.
pub const RUN_LOG_LINES: usize = 500;
/// Longest log line kept (bytes).
pub const RUN_LOG_LINE_BYTES: usize = 2_048;

/// A fencing token: the owner's Raft term and the log index of the `StepStarted` entry
/// of the attempt an effect belongs to. Ordered: a greater token is a newer attempt.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct FencingToken {
    /// Raft term of the leader that started the attempt.
    pub term: u64,
    /// Log index of the `StepStarted` entry.
    pub index: u64,
}

impl std::fmt::Display for FencingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.term, self.index)
    }
}

impl std::str::FromStr for FencingToken {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (t, i) = s
            .split_once('.')
            .ok_or_else(|| format!("fencing token `{s}` is not TERM.INDEX"))?;
        Ok(FencingToken {
            term: t
                .parse()
                .map_err(|_| format!("fencing token `{s}`: bad term"))?,
            index: i
                .parse()
                .map_err(|_| format!("fencing token `{s}`: bad index"))?,
        })
    }
}

/// What started a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunTrigger {
    /// A person, through the API or CLI.
    Manual,
    /// A drill, through the API or CLI.
    Drill,
    /// A `Lost` verdict.
    ClusterLost {
        /// The lost cluster.
        cluster: String,
        /// When the verdict was committed (leader time).
        lost_at_ms: u64,
        /// The verdict event's sequence number.
        verdict_seq: u64,
    },
}

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for an operator to approve its start (blast-radius hold).
    Held {
        /// Why.
        reason: String,
    },
    /// Waiting for the active run with the same concurrency key to end.
    Queued,
    /// Being executed (or waiting for a leader to take it).
    Running,
    /// Done, every step succeeded or was allowed to fail.
    Succeeded,
    /// Done, failed.
    Failed {
        /// The first failure.
        reason: String,
    },
    /// Cancelled (after `finally`), or rejected before it started.
    Cancelled,
}

impl RunState {
    /// Is the run over?
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed { .. } | RunState::Cancelled
        )
    }

    /// Short name (`held`, `queued`, `running`, `succeeded`, `failed`, `cancelled`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            RunState::Held { .. } => "held",
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed { .. } => "failed",
            RunState::Cancelled => "cancelled",
        }
    }
}

/// An attempt that started and has no result yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAttempt {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<usize>,
    /// Attempt number.
    pub attempt: u32,
    /// Its fencing token.
    pub token: FencingToken,
    /// The step's `uses`.
    pub uses: String,
    /// When it started (leader time).
    pub started_at_ms: u64,
    /// Approvals given so far (approval steps).
    #[serde(default)]
    pub approved_by: Vec<String>,
}

/// A line of a run's log (`log` steps, plugin logs, executor notes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Leader time.
    pub at_ms: u64,
    /// Step id, if any.
    pub step_id: Option<String>,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The text (capped).
    pub message: String,
}

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// `run-<log index of its creation>` (`-N` appended when one entry created several).
    pub id: String,
    /// Runbook name.
    pub runbook: String,
    /// The runbook version it is pinned to.
    pub digest: String,
    /// Params as supplied (defaults are applied by the planner).
    pub params: BTreeMap<String, Value>,
    /// Drill mode.
    pub drill: bool,
    /// What started it.
    pub trigger: RunTrigger,
    /// Rendered concurrency key.
    pub concurrency_key: Option<String>,
    /// State.
    #[serde(flatten)]
    pub state: RunState,
    /// Cancel requested (stops at the next step boundary, then `finally`).
    pub cancel_requested: bool,
    /// Who created it.
    pub created_by: String,
    /// Creation (leader time).
    pub created_at_ms: u64,
    /// When the first step started.
    pub first_step_at_ms: Option<u64>,
    /// When it finished.
    pub finished_at_ms: Option<u64>,
    /// Term of the leader executing it (0: none yet).
    pub exec_term: u64,
    /// How many times a new leader took it over.
    pub resumes: u32,
    /// The journal the planner reads.
    pub journal: Journal,
    /// Log index of each journal entry.
    pub journal_index: Vec<u64>,
    /// The rendered `with` of each started attempt, by journal position (secret params
    /// stay references: they are resolved only when the effect runs).
    #[serde(default)]
    pub inputs: BTreeMap<usize, Value>,
    /// Attempts started and not finished, by `step#item`.
    pub open: BTreeMap<String, OpenAttempt>,
    /// The run log (bounded).
    pub log: VecDeque<LogLine>,
}

impl RunRecord {
    /// Is the run active (not final)?
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.state.is_final()
    }

    /// The attempt currently open for `step_id`/`item`.
    #[must_use]
    pub fn open_attempt(&self, step_id: &str, item: Option<usize>) -> Option<&OpenAttempt> {
        self.open.get(&instance_key(step_id, item))
    }
}

/// `step` or `step#3`.
#[must_use]
pub fn instance_key(step_id: &str, item: Option<usize>) -> String {
    match item {
        Some(i) => format!("{step_id}#{i}"),
        None => step_id.to_string(),
    }
}

/// Run operations (inside [`super::Op::Run`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "run_op", rename_all = "snake_case")]
pub enum RunOp {
    /// Create a run of the current version of `runbook`.
    Create {
        /// Runbook name.
        runbook: String,
        /// Params.
        #[serde(default)]
        params: BTreeMap<String, Value>,
        /// Drill mode.
        #[serde(default)]
        drill: bool,
    },
    /// The leader of `exec_term` takes the run over (first start, or after a leader
    /// change: then the journal gets `Resumed` and open attempts are closed).
    Resume {
        /// Run id.
        run_id: String,
        /// The executing leader's term.
        exec_term: u64,
    },
    /// Append a journal entry (from the owner only).
    Journal {
        /// Run id.
        run_id: String,
        /// The owner's term.
        exec_term: u64,
        /// The entry.
        event: JournalEvent,
        /// For `StepStarted`: the step's `uses`.
        #[serde(default)]
        uses: Option<String>,
        /// For results of a started attempt: its fencing token.
        #[serde(default)]
        token: Option<FencingToken>,
        /// For `StepStarted`: the rendered `with` block.
        #[serde(default)]
        inputs: Option<Value>,
    },
    /// Append a log line.
    Log {
        /// Run id.
        run_id: String,
        /// Step id.
        step_id: Option<String>,
        /// Level.
        level: String,
        /// Text.
        message: String,
    },
    /// The planner says the run is over.
    Finish {
        /// Run id.
        run_id: String,
        /// The owner's term.
        exec_term: u64,
        /// Final status.
        status: RunStatus,
    },
    /// Request cancellation.
    Cancel {
        /// Run id.
        run_id: String,
    },
    /// A person approves or rejects: a held run's start (no step), or an approval step.
    Decide {
        /// Run id.
        run_id: String,
        /// The approval step (None: the held run itself).
        step_id: Option<String>,
        /// forEach index.
        #[serde(default)]
        item: Option<usize>,
        /// Approve or reject.
        approved: bool,
        /// Who.
        by: String,
        /// Approvals needed (the step's `minApprovals`, checked by the API).
        #[serde(default = "one")]
        min_approvals: u32,
    },
}

fn one() -> u32 {
    1
}

/// What applying a run op produced (for the response and the audit log).
pub(crate) enum Applied {
    /// Done; audit with (action, target, details) if given.
    Ok(Option<(String, String, Value)>),
    /// Refused, deterministically.
    Rejected(String),
}

/// All runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunsState {
    /// Runs by id.
    pub runs: BTreeMap<String, RunRecord>,
}

/// Parse a stored runbook version (deterministic; used inside `apply`).
pub fn parse_runbook(name: &str, yaml: &str) -> Result<Runbook, String> {
    let report =
        lifeboat_runbooks::parse_and_lint(name, yaml, &lifeboat_runbooks::catalogue::NoPlugins);
    report
        .runbook
        .ok_or_else(|| format!("runbook `{name}` no longer parses"))
}

/// The rendered concurrency key of a run, and what to do on conflict.
pub fn concurrency_of(
    rb: &Runbook,
    run_id: &str,
    params: &BTreeMap<String, Value>,
    drill: bool,
) -> Result<Option<(String, OnConflict)>, String> {
    let Some(c) = &rb.spec.concurrency else {
        return Ok(None);
    };
    let resolved = lifeboat_runbooks::planner::resolve_params(rb, params)
        .map_err(|errors| errors.join("; "))?;
    let suffix = rb.namespace_suffix(drill);
    let ctx = serde_json::json!({
        "params": resolved,
        "run": {"id": run_id, "runbook": rb.metadata.name, "drill": drill, "namespaceSuffix": suffix},
    });
    let key = lifeboat_runbooks::template::render_str(&c.key, &ctx)
        .map_err(|e| format!("concurrency key `{}`: {e}", c.key))?;
    let key = match key {
        Value::String(s) => s,
        other => other.to_string(),
    };
    // Drills never block real failovers (and vice versa).
    let key = if drill { format!("drill:{key}") } else { key };
    Ok(Some((key, c.on_conflict)))
}

impl RunsState {
    /// The active run holding `key`, if any.
    #[must_use]
    pub fn holder_of(&self, key: &str) -> Option<&RunRecord> {
        self.runs.values().find(|r| {
            r.concurrency_key.as_deref() == Some(key)
                && matches!(r.state, RunState::Running | RunState::Held { .. })
        })
    }

    /// Create a run (state decided by concurrency and `hold`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        &mut self,
        index: u64,
        now: u64,
        actor: &str,
        rb: &Runbook,
        digest: &str,
        params: BTreeMap<String, Value>,
        drill: bool,
        trigger: RunTrigger,
        hold: Option<String>,
    ) -> Result<String, String> {
        // One entry can create several runs (a loss matching several runbooks, or two
        // clusters judged lost at one tick): `run-INDEX`, then `run-INDEX-2`, ...
        let mut id = format!("run-{index}");
        let mut n = 1;
        while self.runs.contains_key(&id) {
            n += 1;
            id = format!("run-{index}-{n}");
        }
        let concurrency = concurrency_of(rb, &id, &params, drill)?;
        lifeboat_runbooks::planner::resolve_params(rb, &params)
            .map_err(|errors| errors.join("; "))?;
        let mut state = match hold {
            Some(reason) => RunState::Held { reason },
            None => RunState::Running,
        };
        if let Some((key, on_conflict)) = &concurrency
            && let Some(holder) = self.holder_of(key)
        {
            match on_conflict {
                OnConflict::Reject => {
                    return Err(format!(
                        "run {} holds concurrency key `{key}` ({}); wait for it to end or \
                         cancel it",
                        holder.id,
                        holder.state.name()
                    ));
                }
                OnConflict::Queue => state = RunState::Queued,
            }
        }
        let record = RunRecord {
            id: id.clone(),
            runbook: rb.metadata.name.clone(),
            digest: digest.to_string(),
            params,
            drill,
            trigger,
            concurrency_key: concurrency.map(|c| c.0),
            state,
            cancel_requested: false,
            created_by: actor.to_string(),
            created_at_ms: now,
            first_step_at_ms: None,
            finished_at_ms: None,
            exec_term: 0,
            resumes: 0,
            journal: Journal::new(),
            journal_index: Vec::new(),
            inputs: BTreeMap::new(),
            open: BTreeMap::new(),
            log: VecDeque::new(),
        };
        self.runs.insert(id.clone(), record);
        Ok(id)
    }

    /// Apply one run op (other than `Create`, which needs the runbooks).
    pub(crate) fn apply(&mut self, index: u64, now: u64, op: RunOp) -> Applied {
        let run_id = match &op {
            RunOp::Create { .. } => unreachable!("handled by the catalog"),
            RunOp::Resume { run_id, .. }
            | RunOp::Journal { run_id, .. }
            | RunOp::Log { run_id, .. }
            | RunOp::Finish { run_id, .. }
            | RunOp::Cancel { run_id }
            | RunOp::Decide { run_id, .. } => run_id.clone(),
        };
        let Some(run) = self.runs.get_mut(&run_id) else {
            return Applied::Rejected(format!("no run `{run_id}`"));
        };
        match op {
            RunOp::Create { .. } => unreachable!("handled by the catalog"),
            RunOp::Resume { exec_term, .. } => {
                if run.state != RunState::Running {
                    return Applied::Rejected(format!(
                        "run {run_id} is {}, not running",
                        run.state.name()
                    ));
                }
                if exec_term <= run.exec_term {
                    return Applied::Rejected(format!(
                        "run {run_id} is already owned by term {}",
                        run.exec_term
                    ));
                }
                let resumed = run.exec_term != 0;
                run.exec_term = exec_term;
                if resumed {
                    run.resumes += 1;
                    run.open.clear();
                    push(run, index, JournalEvent::Resumed { at_ms: now });
                    let details = serde_json::json!({"term": exec_term});
                    return Applied::Ok(Some(("run.resumed".into(), run_id, details)));
                }
                Applied::Ok(None)
            }
            RunOp::Journal {
                exec_term,
                event,
                uses,
                token,
                inputs,
                ..
            } => {
                if run.state != RunState::Running {
                    return Applied::Rejected(format!(
                        "run {run_id} is {}, not running",
                        run.state.name()
                    ));
                }
                if exec_term != run.exec_term {
                    return Applied::Rejected(format!(
                        "run {run_id} is owned by term {}, not {exec_term}: a newer leader \
                         took it over",
                        run.exec_term
                    ));
                }
                if let Err(reason) = check_journal(run, index, exec_term, &event, uses, token, now)
                {
                    return Applied::Rejected(reason);
                }
                if let Some(inputs) = inputs {
                    run.inputs.insert(run.journal.events.len(), inputs);
                }
                push(run, index, event);
                Applied::Ok(None)
            }
            RunOp::Log {
                step_id,
                level,
                mut message,
                ..
            } => {
                if message.len() > RUN_LOG_LINE_BYTES {
                    let mut cut = RUN_LOG_LINE_BYTES;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                    message.push_str(" [truncated]");
                }
                run.log.push_back(LogLine {
                    at_ms: now,
                    step_id,
                    level,
                    message,
                });
                while run.log.len() > RUN_LOG_LINES {
                    run.log.pop_front();
                }
                Applied::Ok(None)
            }
            RunOp::Finish {
                exec_term, status, ..
            } => {
                if run.state != RunState::Running || exec_term != run.exec_term {
                    return Applied::Rejected(format!(
                        "run {run_id} is {} (owner term {}): not finished by term {exec_term}",
                        run.state.name(),
                        run.exec_term
                    ));
                }
                run.state = match status {
                    RunStatus::Running => {
                        return Applied::Rejected("a run cannot finish as running".into());
                    }
                    RunStatus::Succeeded => RunState::Succeeded,
                    RunStatus::Failed { reason } => RunState::Failed { reason },
                    RunStatus::Cancelled => RunState::Cancelled,
                };
                run.finished_at_ms = Some(now);
                run.open.clear();
                let details = serde_json::json!({
                    "state": run.state, "runbook": run.runbook, "drill": run.drill,
                    "duration_ms": now.saturating_sub(run.created_at_ms),
                });
                let key = run.concurrency_key.clone();
                self.release_queue(key.as_deref());
                self.trim();
                Applied::Ok(Some(("run.finished".into(), run_id, details)))
            }
            RunOp::Cancel { .. } => match run.state {
                RunState::Held { .. } | RunState::Queued => {
                    run.state = RunState::Cancelled;
                    run.cancel_requested = true;
                    run.finished_at_ms = Some(now);
                    let key = run.concurrency_key.clone();
                    self.release_queue(key.as_deref());
                    Applied::Ok(Some(("run.cancelled".into(), run_id, Value::Null)))
                }
                RunState::Running if !run.cancel_requested => {
                    run.cancel_requested = true;
                    Applied::Ok(Some(("run.cancel_requested".into(), run_id, Value::Null)))
                }
                RunState::Running => Applied::Ok(None),
                _ => Applied::Rejected(format!("run {run_id} is already {}", run.state.name())),
            },
            RunOp::Decide {
                step_id,
                item,
                approved,
                by,
                min_approvals,
                ..
            } => decide(run, index, now, step_id, item, approved, by, min_approvals),
        }
    }

    /// Start the oldest queued run waiting for `key`.
    fn release_queue(&mut self, key: Option<&str>) {
        let Some(key) = key else { return };
        if self.holder_of(key).is_some() {
            return;
        }
        let next = self
            .runs
            .values_mut()
            .filter(|r| r.state == RunState::Queued && r.concurrency_key.as_deref() == Some(key))
            .min_by_key(|r| r.created_at_ms);
        if let Some(r) = next {
            r.state = RunState::Running;
        }
    }

    /// Drop the oldest finished runs beyond [`RUNS_KEPT`].
    fn trim(&mut self) {
        let mut finished: Vec<(u64, String)> = self
            .runs
            .values()
            .filter(|r| r.state.is_final())
            .map(|r| (r.finished_at_ms.unwrap_or(0), r.id.clone()))
            .collect();
        if finished.len() <= RUNS_KEPT {
            return;
        }
        finished.sort();
        for (_, id) in finished.iter().take(finished.len() - RUNS_KEPT) {
            self.runs.remove(id);
        }
    }

    /// Is `token` the open attempt of `run_id`? (Catalog effects of steps check this.)
    pub fn check_token(&self, run_id: &str, token: FencingToken) -> Result<(), String> {
        let run = self
            .runs
            .get(run_id)
            .ok_or_else(|| format!("no run `{run_id}`"))?;
        if run.state == RunState::Running && run.open.values().any(|a| a.token == token) {
            Ok(())
        } else {
            Err(format!(
                "fencing token {token} of run {run_id} is stale: that attempt is no longer \
                 open (a newer leader took the run over, or the attempt ended)"
            ))
        }
    }
}

fn push(run: &mut RunRecord, index: u64, event: JournalEvent) {
    run.journal.push(event);
    run.journal_index.push(index);
}

fn check_journal(
    run: &mut RunRecord,
    index: u64,
    exec_term: u64,
    event: &JournalEvent,
    uses: Option<String>,
    token: Option<FencingToken>,
    now: u64,
) -> Result<(), String> {
    match event {
        JournalEvent::StepStarted {
            step_id,
            item,
            attempt,
            ..
        } => {
            let key = instance_key(step_id, *item);
            if let Some(open) = run.open.get(&key) {
                return Err(format!(
                    "step {key} of run {} already has attempt {} open",
                    run.id, open.attempt
                ));
            }
            run.first_step_at_ms.get_or_insert(now);
            run.open.insert(
                key,
                OpenAttempt {
                    step_id: step_id.clone(),
                    item: *item,
                    attempt: *attempt,
                    token: FencingToken {
                        term: exec_term,
                        index,
                    },
                    uses: uses.unwrap_or_default(),
                    started_at_ms: now,
                    approved_by: Vec::new(),
                },
            );
            Ok(())
        }
        JournalEvent::StepSucceeded {
            step_id,
            item,
            attempt,
            ..
        }
        | JournalEvent::StepFailed {
            step_id,
            item,
            attempt,
            ..
        } => {
            let key = instance_key(step_id, *item);
            match run.open.get(&key) {
                Some(open) if open.attempt == *attempt => {
                    if let Some(t) = token
                        && t != open.token
                    {
                        return Err(format!(
                            "stale fencing token {t} for step {key} of run {} (open attempt \
                             has {})",
                            run.id, open.token
                        ));
                    }
                    run.open.remove(&key);
                    Ok(())
                }
                Some(open) => Err(format!(
                    "step {key} of run {}: attempt {attempt} is not the open one ({})",
                    run.id, open.attempt
                )),
                // Failures before any attempt (render errors) and timeouts recorded after
                // a resume have nothing open.
                None if token.is_none() => Ok(()),
                None => Err(format!(
                    "step {key} of run {} has no open attempt: the result of attempt \
                     {attempt} (token {}) comes too late",
                    run.id,
                    token.unwrap_or_default()
                )),
            }
        }
        JournalEvent::ApprovalDecided { step_id, item, .. } => {
            run.open.remove(&instance_key(step_id, *item));
            Ok(())
        }
        JournalEvent::StepSkipped { .. } => Ok(()),
        JournalEvent::Resumed { .. } => {
            Err("`Resumed` is recorded by a takeover, not appended".into())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    run: &mut RunRecord,
    index: u64,
    now: u64,
    step_id: Option<String>,
    item: Option<usize>,
    approved: bool,
    by: String,
    min_approvals: u32,
) -> Applied {
    let run_id = run.id.clone();
    let Some(step_id) = step_id else {
        let RunState::Held { .. } = run.state else {
            return Applied::Rejected(format!(
                "run {run_id} is {}, not held for approval",
                run.state.name()
            ));
        };
        run.state = if approved {
            RunState::Running
        } else {
            run.finished_at_ms = Some(now);
            RunState::Failed {
                reason: format!("start rejected by {by}"),
            }
        };
        let action = if approved {
            "run.approved"
        } else {
            "run.rejected"
        };
        return Applied::Ok(Some((action.into(), run_id, serde_json::json!({"by": by}))));
    };
    if run.state != RunState::Running {
        return Applied::Rejected(format!("run {run_id} is {}", run.state.name()));
    }
    let key = instance_key(&step_id, item);
    let Some(open) = run.open.get_mut(&key) else {
        return Applied::Rejected(format!(
            "step {key} of run {run_id} is not waiting for approval"
        ));
    };
    if open.uses != "approval" {
        return Applied::Rejected(format!(
            "step {key} of run {run_id} is `{}`, not an approval",
            open.uses
        ));
    }
    if open.approved_by.contains(&by) {
        return Applied::Rejected(format!("{by} already approved step {key} of run {run_id}"));
    }
    let details = serde_json::json!({"step": key, "approved": approved, "by": by});
    if approved {
        open.approved_by.push(by.clone());
        if (open.approved_by.len() as u32) < min_approvals.max(1) {
            return Applied::Ok(Some(("run.approval".into(), run_id, details)));
        }
    }
    let by = if approved {
        open.approved_by.join(",")
    } else {
        by
    };
    run.open.remove(&key);
    push(
        run,
        index,
        JournalEvent::ApprovalDecided {
            step_id,
            item,
            approved,
            by,
            at_ms: now,
        },
    );
    Applied::Ok(Some(("run.approval".into(), run_id, details)))
}

#[cfg(test)]
#[path = "runs_test.rs"]
mod tests;
