//! Folding the journal into per-instance attempt histories, and the status of one
//! instance (a step, or one forEach item of it) at a given time.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::journal::{FailureKind, JournalEvent};
use crate::schema::{OnTimeout, Step};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End {
    Ok(Value),
    Failed(FailureKind, String, u64),
    /// Open when the run was resumed by a new leader.
    Lost,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attempt {
    pub n: u32,
    pub key: String,
    pub started: u64,
    pub end: Option<End>,
}

/// `(step id, item)`.
pub(crate) type InstanceId = (String, Option<usize>);

/// Everything the journal says, indexed.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub attempts: HashMap<InstanceId, Vec<Attempt>>,
    /// Failures recorded before any attempt (attempt 0): rendering.
    pub prefail: HashMap<InstanceId, (FailureKind, String)>,
    pub skipped: BTreeMap<String, String>,
}

impl State {
    pub(crate) fn fold(events: &[JournalEvent]) -> Self {
        let mut st = State::default();
        for ev in events {
            match ev {
                JournalEvent::StepStarted {
                    step_id,
                    item,
                    attempt,
                    idempotency_key,
                    at_ms,
                } => {
                    st.attempts
                        .entry((step_id.clone(), *item))
                        .or_default()
                        .push(Attempt {
                            n: *attempt,
                            key: idempotency_key.clone(),
                            started: *at_ms,
                            end: None,
                        });
                }
                JournalEvent::StepSucceeded {
                    step_id,
                    item,
                    attempt,
                    result,
                    ..
                } => {
                    st.close(step_id, *item, Some(*attempt), End::Ok(result.clone()));
                }
                JournalEvent::StepFailed {
                    step_id,
                    item,
                    attempt: 0,
                    kind,
                    error,
                    ..
                } => {
                    st.prefail
                        .insert((step_id.clone(), *item), (*kind, error.clone()));
                }
                JournalEvent::StepFailed {
                    step_id,
                    item,
                    attempt,
                    kind,
                    error,
                    at_ms,
                } => {
                    st.close(
                        step_id,
                        *item,
                        Some(*attempt),
                        End::Failed(*kind, error.clone(), *at_ms),
                    );
                }
                JournalEvent::ApprovalDecided {
                    step_id,
                    item,
                    approved,
                    by,
                    at_ms,
                } => {
                    let end = if *approved {
                        End::Ok(json!({"approved": true, "by": by}))
                    } else {
                        End::Failed(FailureKind::Rejected, format!("rejected by {by}"), *at_ms)
                    };
                    st.close(step_id, *item, None, end);
                }
                JournalEvent::StepSkipped {
                    step_id, reason, ..
                } => {
                    st.skipped.insert(step_id.clone(), reason.clone());
                }
                JournalEvent::Resumed { .. } => {
                    for a in st.attempts.values_mut().flatten() {
                        if a.end.is_none() {
                            a.end = Some(End::Lost);
                        }
                    }
                }
            }
        }
        st
    }

    /// Ends the open attempt (of number `n` when given).
    fn close(&mut self, step: &str, item: Option<usize>, n: Option<u32>, end: End) {
        if let Some(list) = self.attempts.get_mut(&(step.to_string(), item))
            && let Some(a) = list
                .iter_mut()
                .rev()
                .find(|a| a.end.is_none() && n.is_none_or(|n| a.n == n))
        {
            a.end = Some(end);
        }
    }
}

/// An instance's status at `now`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inst {
    NotStarted,
    Running {
        deadline: Option<u64>,
    },
    /// Start attempt `next` at `at` (lost attempts: at once).
    Retry {
        at: u64,
    },
    Succeeded(Value),
    Failed(FailureKind, String),
}

/// What the planner must record because the clock passed a deadline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expired {
    /// An attempt timed out: cancel its effect and record the failure at the deadline.
    Timeout { attempt: u32, deadline: u64 },
    /// An approval timed out: record the `onTimeout` decision.
    Approval { approved: bool, deadline: u64 },
}

/// Status of an instance from its attempts; `expired` reports a deadline passed now.
pub(crate) fn instance_status(
    step: &Step,
    attempts: &[Attempt],
    now: u64,
    expired: &mut Option<Expired>,
) -> Inst {
    let Some(last) = attempts.last() else {
        return Inst::NotStarted;
    };
    let end = match &last.end {
        Some(end) => end.clone(),
        None => {
            // An approval waits for people, not for an effect: its deadline runs from its
            // first attempt, so a leader change (which re-opens it) does not extend it.
            let started = if step.uses == "approval" {
                attempts.first().map_or(last.started, |a| a.started)
            } else {
                last.started
            };
            let deadline = step.timeout.map(|t| started.saturating_add(t.0));
            match deadline {
                Some(d) if now >= d => {
                    if let (true, Some(on)) = (step.uses == "approval", step.on_timeout) {
                        let approved = on == OnTimeout::Approve;
                        *expired = Some(Expired::Approval {
                            approved,
                            deadline: d,
                        });
                        if approved {
                            End::Ok(json!({"approved": true, "by": "timeout"}))
                        } else {
                            End::Failed(
                                FailureKind::Rejected,
                                "approval timed out (onTimeout: reject)".into(),
                                d,
                            )
                        }
                    } else {
                        *expired = Some(Expired::Timeout {
                            attempt: last.n,
                            deadline: d,
                        });
                        End::Failed(
                            FailureKind::Timeout,
                            format!("timed out after {}", step.timeout.unwrap_or_default()),
                            d,
                        )
                    }
                }
                _ => return Inst::Running { deadline },
            }
        }
    };
    match end {
        End::Ok(v) => Inst::Succeeded(v),
        End::Lost => Inst::Retry { at: 0 },
        End::Failed(kind, msg, at) => {
            let retryable = matches!(kind, FailureKind::Error | FailureKind::Timeout);
            let failures = attempts
                .iter()
                .filter(|a| {
                    matches!(
                        a.end,
                        Some(End::Failed(FailureKind::Error | FailureKind::Timeout, ..))
                    )
                })
                .count();
            let failures =
                u32::try_from(failures).unwrap_or(u32::MAX) + u32::from(last.end.is_none());
            let max = step.retry.as_ref().map_or(1, |r| r.max_attempts.max(1));
            if retryable && failures < max {
                let delay = step
                    .retry
                    .as_ref()
                    .and_then(|r| r.backoff.as_ref())
                    .map_or(0, |b| b.delay_ms(failures));
                Inst::Retry {
                    at: at.saturating_add(delay),
                }
            } else {
                let msg = if failures > 1 {
                    format!("{msg} (after {failures} attempts)")
                } else {
                    msg
                };
                Inst::Failed(kind, msg)
            }
        }
    }
}
