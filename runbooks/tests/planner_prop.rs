//! Property: for random DAGs and random step outcomes, the planner never starts a step
//! before all its `needs` finished, never starts an instance twice at once, and the
//! run always terminates.

use std::collections::HashMap;

use lifeboat_runbooks::journal::FailureKind;
use lifeboat_runbooks::{Action, Journal, JournalEvent, RunContext, RunStatus, Runbook, plan};
use proptest::prelude::*;
use serde_json::json;

fn build(needs: &[Vec<bool>], continue_on: &[bool], attempts: &[u32]) -> Runbook {
    let steps: Vec<_> = needs
        .iter()
        .enumerate()
        .map(|(i, mask)| {
            let deps: Vec<String> = (0..i)
                .filter(|&j| mask[j])
                .map(|j| format!("s{j}"))
                .collect();
            json!({
                "id": format!("s{i}"), "uses": "log", "with": {"message": "x"},
                "needs": deps, "timeout": "5s",
                "onFailure": if continue_on[i] { "continue" } else { "abort" },
                "retry": {"maxAttempts": attempts[i], "backoff": {"initial": "1s"}},
            })
        })
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "lifeboat.dev/v1", "kind": "Runbook", "metadata": {"name": "p"},
        "spec": {"steps": steps, "finally": [{"id": "fin", "uses": "log", "with": {"message": "f"}}]},
    }))
    .unwrap()
}

/// Has `id` finished for good (a success, a skip, or a failure with no attempt open)?
fn finished(journal: &Journal, id: &str) -> bool {
    let mut open = false;
    let mut ended = false;
    for e in &journal.events {
        match e {
            JournalEvent::StepStarted { step_id, .. } if step_id == id => open = true,
            JournalEvent::StepSucceeded { step_id, .. }
            | JournalEvent::StepFailed { step_id, .. }
                if step_id == id =>
            {
                open = false;
                ended = true;
            }
            JournalEvent::StepSkipped { step_id, .. } if step_id == id => ended = true,
            _ => {}
        }
    }
    ended && !open
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn never_starts_before_needs_and_terminates(
        n in 1usize..8,
        needs in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 8), 8),
        continue_on in proptest::collection::vec(any::<bool>(), 8),
        attempts in proptest::collection::vec(1u32..3, 8),
        outcomes in proptest::collection::vec(0u8..4, 64),
        cancel_at in proptest::option::of(0usize..20),
    ) {
        let rb = build(&needs[..n], &continue_on, &attempts);
        let mut journal = Journal::new();
        let mut now = 0u64;
        let mut open: HashMap<String, u32> = HashMap::new();
        let mut draws = outcomes.iter().cycle();
        let mut status = RunStatus::Running;
        for round in 0..400 {
            let run = RunContext { run_id: "r".into(), cancel_requested: cancel_at.is_some_and(|c| round >= c), ..RunContext::default() };
            let p = plan(&rb, &run, &journal, now);
            status = p.status.clone();
            if status != RunStatus::Running {
                break;
            }
            let mut waited = None;
            for a in p.actions {
                match a {
                    Action::StartStep { step_id, item, attempt, idempotency_key, .. } => {
                        let i: usize = step_id.trim_start_matches('s').parse().unwrap_or(usize::MAX);
                        if i < n {
                            for j in (0..i).filter(|&j| needs[i][j]) {
                                prop_assert!(finished(&journal, &format!("s{j}")), "s{i} started before s{j} finished");
                            }
                        }
                        prop_assert!(!open.contains_key(&step_id), "{step_id} started twice");
                        open.insert(step_id.clone(), attempt);
                        journal.push(JournalEvent::StepStarted { step_id, item, attempt, idempotency_key, at_ms: now });
                    }
                    Action::CancelStep { step_id, item, attempt, .. } => {
                        if open.remove(&step_id).is_some() {
                            journal.push(JournalEvent::StepFailed { step_id, item, attempt, kind: FailureKind::Cancelled, error: "c".into(), at_ms: now });
                        }
                    }
                    Action::Record(ev) => {
                        if let JournalEvent::StepFailed { step_id, .. } = &ev {
                            open.remove(step_id);
                        }
                        journal.push(ev);
                    }
                    Action::WaitUntil { at_ms } => waited = Some(at_ms),
                }
            }
            // The fake executor finishes some open attempts (or leaves them to time out).
            let mut ids: Vec<String> = open.keys().cloned().collect();
            ids.sort();
            for id in ids {
                let attempt = open[&id];
                match draws.next().copied().unwrap_or(0) {
                    0 | 1 => journal.push(JournalEvent::StepSucceeded { step_id: id.clone(), item: None, attempt, result: json!({}), at_ms: now }),
                    2 => journal.push(JournalEvent::StepFailed { step_id: id.clone(), item: None, attempt, kind: FailureKind::Error, error: "e".into(), at_ms: now }),
                    _ => continue,
                }
                open.remove(&id);
            }
            now = waited.map_or(now + 100, |w| w.max(now + 1));
        }
        prop_assert!(status != RunStatus::Running, "run did not terminate: {:?}", journal.events.len());
        prop_assert!(journal.events.iter().any(|e| matches!(e, JournalEvent::StepStarted { step_id, .. } if step_id == "fin")), "finally always runs");
        if std::env::var_os("PROP_DEBUG").is_some() { eprintln!("events={}", journal.events.len()); }
    }
}
