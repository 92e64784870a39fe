//! Table-style tests of the pure planner: each case is a runbook, a journal and a
//! clock, and asserts on the emitted actions and status.

use std::collections::BTreeMap;

use lifeboat_runbooks::journal::FailureKind;
use lifeboat_runbooks::planner::Phase;
use lifeboat_runbooks::{
    Action, Journal, JournalEvent, NoPlugins, Plan, RunContext, RunStatus, Runbook, parse_and_lint,
    plan,
};
use serde_json::{Value, json};

/// `(step, item, attempt)`.
type Start = (String, Option<usize>, u32);
/// Journal, expected starts, expected status.
type SeqCase = (Vec<JournalEvent>, Vec<Start>, RunStatus);
/// Journal, now, expected attempt started, expected wait.
type RetryCase = (Vec<JournalEvent>, u64, Option<u32>, Option<u64>);

fn runbook(steps: &str) -> Runbook {
    let src = format!(
        "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {{name: t}}\nspec:\n{steps}"
    );
    parse_and_lint("t.yaml", &src, &NoPlugins)
        .runbook
        .expect("schema-valid runbook")
}

fn ctx() -> RunContext {
    RunContext {
        run_id: "r1".into(),
        ..RunContext::default()
    }
}

fn started(id: &str, item: Option<usize>, attempt: u32, at: u64) -> JournalEvent {
    let key = match item {
        Some(i) => format!("r1/{id}/{i}"),
        None => format!("r1/{id}"),
    };
    JournalEvent::StepStarted {
        step_id: id.into(),
        item,
        attempt,
        idempotency_key: key,
        at_ms: at,
    }
}

fn ok(id: &str, item: Option<usize>, attempt: u32, at: u64) -> JournalEvent {
    JournalEvent::StepSucceeded {
        step_id: id.into(),
        item,
        attempt,
        result: json!({}),
        at_ms: at,
    }
}

fn failed(id: &str, attempt: u32, at: u64) -> JournalEvent {
    JournalEvent::StepFailed {
        step_id: id.into(),
        item: None,
        attempt,
        kind: FailureKind::Error,
        error: "boom".into(),
        at_ms: at,
    }
}

fn journal(events: Vec<JournalEvent>) -> Journal {
    Journal { events }
}

/// `(step, item, attempt)` of every StartStep.
fn starts(p: &Plan) -> Vec<(String, Option<usize>, u32)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::StartStep {
                step_id,
                item,
                attempt,
                ..
            } => Some((step_id.clone(), *item, *attempt)),
            _ => None,
        })
        .collect()
}

fn s(id: &str) -> (String, Option<usize>, u32) {
    (id.to_string(), None, 1)
}

fn wait(p: &Plan) -> Option<u64> {
    p.actions.iter().find_map(|a| match a {
        Action::WaitUntil { at_ms } => Some(*at_ms),
        _ => None,
    })
}

const SEQ: &str = "  steps:\n    - {id: a, uses: log, with: {message: a}}\n    - {id: b, uses: log, with: {message: b}}\n    - {id: c, uses: log, with: {message: c}}\n";

#[test]
fn sequential_by_default() {
    let rb = runbook(SEQ);
    let cases: Vec<SeqCase> = vec![
        (vec![], vec![s("a")], RunStatus::Running),
        (vec![started("a", None, 1, 0)], vec![], RunStatus::Running),
        (
            vec![started("a", None, 1, 0), ok("a", None, 1, 5)],
            vec![s("b")],
            RunStatus::Running,
        ),
        (
            vec![
                started("a", None, 1, 0),
                ok("a", None, 1, 5),
                started("b", None, 1, 6),
                ok("b", None, 1, 7),
                started("c", None, 1, 8),
                ok("c", None, 1, 9),
            ],
            vec![],
            RunStatus::Succeeded,
        ),
    ];
    for (events, want, status) in cases {
        let p = plan(&rb, &ctx(), &journal(events.clone()), 10);
        assert_eq!(starts(&p), want, "{events:?}");
        assert_eq!(p.status, status);
    }
}

#[test]
fn dag_order() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}}\n    - {id: b, uses: log, with: {message: b}, needs: [a]}\n    - {id: c, uses: log, with: {message: c}, needs: [a]}\n    - {id: d, uses: log, with: {message: d}, needs: [b, c]}\n",
    );
    let a_done = vec![started("a", None, 1, 0), ok("a", None, 1, 1)];
    assert_eq!(
        starts(&plan(&rb, &ctx(), &journal(a_done.clone()), 2)),
        vec![s("b"), s("c")]
    );
    let mut b_done = a_done.clone();
    b_done.extend([
        started("b", None, 1, 2),
        started("c", None, 1, 2),
        ok("b", None, 1, 3),
    ]);
    assert!(starts(&plan(&rb, &ctx(), &journal(b_done.clone()), 4)).is_empty());
    b_done.push(ok("c", None, 1, 4));
    assert_eq!(
        starts(&plan(&rb, &ctx(), &journal(b_done), 5)),
        vec![s("d")]
    );
}

#[test]
fn when_false_skips_and_continues() {
    let rb = runbook(
        "  params: {mode: {type: string, default: real}}\n  steps:\n    - {id: a, uses: log, with: {message: a}, when: \"params.mode == 'drill'\"}\n    - {id: b, uses: log, with: {message: b}}\n",
    );
    let p = plan(&rb, &ctx(), &Journal::new(), 0);
    assert!(
        matches!(&p.actions[0], Action::Record(JournalEvent::StepSkipped { step_id, .. }) if step_id == "a")
    );
    assert_eq!(starts(&p), vec![s("b")]);
}

#[test]
fn for_each_respects_max_parallel() {
    let rb = runbook(
        "  steps:\n    - id: scale\n      uses: log\n      forEach: [x, y, z]\n      maxParallel: 2\n      with: {message: \"{{ item }}\"}\n",
    );
    let p = plan(&rb, &ctx(), &Journal::new(), 0);
    assert_eq!(
        starts(&p),
        vec![("scale".into(), Some(0), 1), ("scale".into(), Some(1), 1)]
    );
    match &p.actions[1] {
        Action::StartStep {
            rendered_with,
            idempotency_key,
            ..
        } => {
            assert_eq!(rendered_with, &json!({"message": "y"}));
            assert_eq!(idempotency_key, "r1/scale/1");
        }
        other => panic!("{other:?}"),
    }
    let j = journal(vec![
        started("scale", Some(0), 1, 0),
        started("scale", Some(1), 1, 0),
        ok("scale", Some(0), 1, 5),
    ]);
    assert_eq!(
        starts(&plan(&rb, &ctx(), &j, 6)),
        vec![("scale".into(), Some(2), 1)]
    );
}

#[test]
fn retry_with_backoff_times() {
    let rb = runbook(
        "  steps:\n    - id: a\n      uses: log\n      with: {message: a}\n      idempotencyKey: k\n      retry: {maxAttempts: 4, backoff: {initial: 1s, factor: 2, max: 3s}}\n",
    );
    // (journal, now, expected start attempt, expected wait)
    let e1 = vec![started("a", None, 1, 0), failed("a", 1, 1000)];
    let mut e2 = e1.clone();
    e2.extend([started("a", None, 2, 2000), failed("a", 2, 3000)]);
    let mut e3 = e2.clone();
    e3.extend([started("a", None, 3, 5000), failed("a", 3, 6000)]);
    let cases: Vec<RetryCase> = vec![
        (e1.clone(), 1500, None, Some(2000)),
        (e1, 2000, Some(2), None),
        (e2.clone(), 4000, None, Some(5000)),
        (e3.clone(), 8999, None, Some(9000)), // capped at max 3s
        (e3, 9000, Some(4), None),
    ];
    for (events, now, attempt, wait_at) in cases {
        let p = plan(&rb, &ctx(), &journal(events), now);
        assert_eq!(starts(&p).first().map(|s| s.2), attempt, "now={now}");
        assert_eq!(wait(&p), wait_at, "now={now}");
        if attempt.is_some() {
            assert!(
                matches!(&p.actions[0], Action::StartStep { idempotency_key, .. } if idempotency_key == "r1/a"),
                "the first attempt's key is reused"
            );
        }
    }
    let mut all = vec![started("a", None, 1, 0), failed("a", 1, 1)];
    for n in 2..=4 {
        all.extend([
            started("a", None, n, 10 * u64::from(n)),
            failed("a", n, 10 * u64::from(n) + 1),
        ]);
    }
    let p = plan(&rb, &ctx(), &journal(all), 100);
    assert!(
        matches!(p.status, RunStatus::Failed { ref reason } if reason.contains("after 4 attempts")),
        "{:?}",
        p.status
    );
}

#[test]
fn a_fatal_failure_is_not_retried() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}, retry: {maxAttempts: 3}}\n",
    );
    // An ordinary error is retried...
    let p = plan(
        &rb,
        &ctx(),
        &journal(vec![started("a", None, 1, 0), failed("a", 1, 5)]),
        10,
    );
    assert_eq!(starts(&p), vec![("a".to_string(), None, 2)]);
    // ...a fatal one (a retry cannot help) fails the step at once.
    let fatal = JournalEvent::StepFailed {
        step_id: "a".into(),
        item: None,
        attempt: 1,
        kind: FailureKind::Fatal,
        error: "denied http".into(),
        at_ms: 5,
    };
    let p = plan(
        &rb,
        &ctx(),
        &journal(vec![started("a", None, 1, 0), fatal]),
        10,
    );
    assert!(starts(&p).is_empty(), "{p:?}");
    assert!(matches!(p.status, RunStatus::Failed { ref reason } if reason.contains("denied http")));
}

#[test]
fn timeout_fails_the_step() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}, timeout: 10s}\n    - {id: b, uses: log, with: {message: b}}\n",
    );
    let j = journal(vec![started("a", None, 1, 0)]);
    let before = plan(&rb, &ctx(), &j, 5000);
    assert_eq!(wait(&before), Some(10_000));
    let p = plan(&rb, &ctx(), &j, 10_000);
    assert!(
        p.actions
            .iter()
            .any(|a| matches!(a, Action::CancelStep { step_id, .. } if step_id == "a"))
    );
    assert!(p.actions.iter().any(|a| matches!(
        a,
        Action::Record(JournalEvent::StepFailed {
            kind: FailureKind::Timeout,
            at_ms: 10_000,
            ..
        })
    )));
    assert!(starts(&p).is_empty());
    assert!(matches!(p.status, RunStatus::Failed { ref reason } if reason.contains("timed out")));
}

#[test]
fn on_failure_continue_runs_dependants() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}, onFailure: continue}\n    - {id: b, uses: log, with: {message: \"a was {{ steps.a.status }}\"}}\n",
    );
    let j = journal(vec![started("a", None, 1, 0), failed("a", 1, 1)]);
    let p = plan(&rb, &ctx(), &j, 2);
    assert_eq!(starts(&p), vec![s("b")]);
    assert!(
        matches!(&p.actions[0], Action::StartStep { rendered_with, .. } if rendered_with == &json!({"message": "a was failed"}))
    );
    let mut done = j.events.clone();
    done.extend([started("b", None, 1, 2), ok("b", None, 1, 3)]);
    assert_eq!(
        plan(&rb, &ctx(), &journal(done), 4).status,
        RunStatus::Succeeded
    );
}

#[test]
fn approval_timeout_applies_on_timeout() {
    for (on_timeout, approved, next) in [("approve", true, vec![s("b")]), ("reject", false, vec![])]
    {
        let rb = runbook(&format!(
            "  steps:\n    - {{id: a, uses: approval, with: {{approvers: {{roles: [sre]}}}}, timeout: 1m, onTimeout: {on_timeout}}}\n    - {{id: b, uses: log, with: {{message: b}}}}\n"
        ));
        let j = journal(vec![started("a", None, 1, 0)]);
        assert_eq!(wait(&plan(&rb, &ctx(), &j, 1000)), Some(60_000));
        let p = plan(&rb, &ctx(), &j, 60_000);
        assert!(p.actions.iter().any(|a| matches!(a, Action::Record(JournalEvent::ApprovalDecided { approved: x, by, .. }) if *x == approved && by == "timeout")), "{:?}", p.actions);
        assert_eq!(starts(&p), next);
        assert_eq!(matches!(p.status, RunStatus::Failed { .. }), !approved);
    }
    // A person's decision before the deadline wins.
    let rb = runbook(
        "  steps:\n    - {id: a, uses: approval, with: {approvers: {roles: [sre]}}, timeout: 1m, onTimeout: approve}\n    - {id: b, uses: log, with: {message: b}}\n",
    );
    let j = journal(vec![
        started("a", None, 1, 0),
        JournalEvent::ApprovalDecided {
            step_id: "a".into(),
            item: None,
            approved: false,
            by: "ann".into(),
            at_ms: 5,
        },
    ]);
    assert!(
        matches!(plan(&rb, &ctx(), &j, 10).status, RunStatus::Failed { ref reason } if reason.contains("rejected by ann"))
    );
}

#[test]
fn an_approval_deadline_holds_across_a_resume() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: approval, with: {approvers: {roles: [sre]}}, timeout: 1m, onTimeout: reject}\n",
    );
    // Opened at 0; a new leader resumed at 30 s and re-opened it (attempt 2) at 30 s.
    let j = journal(vec![
        started("a", None, 1, 0),
        JournalEvent::Resumed { at_ms: 30_000 },
        started("a", None, 2, 30_000),
    ]);
    assert_eq!(wait(&plan(&rb, &ctx(), &j, 31_000)), Some(60_000));
    let p = plan(&rb, &ctx(), &j, 60_000);
    assert!(
        matches!(p.status, RunStatus::Failed { ref reason } if reason.contains("timed out")),
        "{p:?}"
    );
}

#[test]
fn cancel_runs_finally() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}}\n    - {id: b, uses: log, with: {message: b}}\n  finally:\n    - {id: f, uses: log, with: {message: f}}\n",
    );
    let cancel = RunContext {
        cancel_requested: true,
        ..ctx()
    };
    let j = journal(vec![started("a", None, 1, 0)]);
    let p = plan(&rb, &cancel, &j, 1);
    assert!(
        matches!(&p.actions[..], [Action::CancelStep { step_id, .. }] if step_id == "a"),
        "{:?}",
        p.actions
    );
    assert_eq!(p.phase, Phase::Main);
    let mut events = j.events.clone();
    events.push(JournalEvent::StepFailed {
        step_id: "a".into(),
        item: None,
        attempt: 1,
        kind: FailureKind::Cancelled,
        error: "cancelled".into(),
        at_ms: 2,
    });
    let p = plan(&rb, &cancel, &journal(events.clone()), 3);
    assert_eq!(starts(&p), vec![s("f")]);
    assert_eq!(p.phase, Phase::Finally);
    events.extend([started("f", None, 1, 3), ok("f", None, 1, 4)]);
    let p = plan(&rb, &cancel, &journal(events), 5);
    assert_eq!(p.status, RunStatus::Cancelled);
    assert_eq!(p.phase, Phase::Done);
}

#[test]
fn abort_runs_finally_then_fails() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}}\n    - {id: b, uses: log, with: {message: b}}\n  finally:\n    - {id: f, uses: log, with: {message: \"a {{ steps.a.status }}\"}}\n",
    );
    let mut events = vec![started("a", None, 1, 0), failed("a", 1, 1)];
    let p = plan(&rb, &ctx(), &journal(events.clone()), 2);
    assert_eq!(starts(&p), vec![s("f")]);
    events.extend([started("f", None, 1, 2), ok("f", None, 1, 3)]);
    assert!(
        matches!(plan(&rb, &ctx(), &journal(events), 4).status, RunStatus::Failed { ref reason } if reason.contains("`a`"))
    );
}

#[test]
fn resume_reruns_lost_attempt_with_same_key() {
    let rb = runbook(
        "  steps:\n    - {id: a, uses: log, with: {message: a}, idempotencyKey: \"{{ run.id }}-a\"}\n",
    );
    let j = journal(vec![
        JournalEvent::StepStarted {
            step_id: "a".into(),
            item: None,
            attempt: 1,
            idempotency_key: "r1-a".into(),
            at_ms: 0,
        },
        JournalEvent::Resumed { at_ms: 100 },
    ]);
    let p = plan(&rb, &ctx(), &j, 100);
    match &p.actions[..] {
        [
            Action::StartStep {
                attempt,
                idempotency_key,
                ..
            },
        ] => {
            assert_eq!(*attempt, 2);
            assert_eq!(idempotency_key, "r1-a");
        }
        other => panic!("{other:?}"),
    }
    // Without Resumed, the attempt is simply still running.
    let j = journal(vec![started("a", None, 1, 0)]);
    assert!(plan(&rb, &ctx(), &j, 100).actions.is_empty());
}

#[test]
fn drill_skips_and_simulates() {
    let src = std::fs::read_to_string(format!(
        "{}/examples/failover.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let rb = parse_and_lint("f", &src, &NoPlugins).runbook.unwrap();
    let drill = RunContext {
        params: BTreeMap::from([("lost".to_string(), json!("eu-west"))]),
        drill: true,
        ..ctx()
    };
    let p = plan(&rb, &drill, &Journal::new(), 0);
    assert!(
        matches!(&p.actions[0], Action::Record(JournalEvent::StepSkipped { step_id, .. }) if step_id == "fence")
    );
    match &p.actions[1] {
        Action::StartStep {
            step_id,
            rendered_with,
            deadline_ms,
            ..
        } => {
            assert_eq!(step_id, "restore");
            assert_eq!(rendered_with["namespaceSuffix"], json!("-drill"));
            assert_eq!(rendered_with["namespaces"], json!(["shop", "payments"]));
            assert_eq!(*deadline_ms, Some(20 * 60_000));
        }
        other => panic!("{other:?}"),
    }
    // Fast-forward to traffic: it is simulated.
    let mut events = vec![
        JournalEvent::StepSkipped {
            step_id: "fence".into(),
            reason: "drill".into(),
            at_ms: 0,
        },
        started("restore", None, 1, 0),
        ok("restore", None, 1, 1),
    ];
    for step in ["scale", "ready"] {
        for i in 0..2 {
            events.extend([started(step, Some(i), 1, 1), ok(step, Some(i), 1, 2)]);
        }
    }
    let p = plan(&rb, &drill, &journal(events), 3);
    assert!(
        matches!(&p.actions[..], [Action::StartStep { step_id, simulate: true, rendered_with, .. }] if step_id == "traffic" && rendered_with["body"]["to"] == json!("eu-central")),
        "{:?}",
        p.actions
    );
}

#[test]
fn outputs_flow_to_later_steps() {
    let rb = runbook(
        "  steps:\n    - {id: snap, uses: log, with: {message: a}, outputs: {id: \"{{ result.snapshotId }}\"}}\n    - {id: use, uses: log, with: {message: \"restore {{ steps.snap.outputs.id }}\"}}\n",
    );
    let j = journal(vec![
        started("snap", None, 1, 0),
        JournalEvent::StepSucceeded {
            step_id: "snap".into(),
            item: None,
            attempt: 1,
            result: json!({"snapshotId": "s-42"}),
            at_ms: 1,
        },
    ]);
    let p = plan(&rb, &ctx(), &j, 2);
    assert!(
        matches!(&p.actions[0], Action::StartStep { rendered_with, .. } if rendered_with == &json!({"message": "restore s-42"}))
    );
}

#[test]
fn render_failure_is_recorded_and_fails() {
    let rb =
        runbook("  steps:\n    - {id: a, uses: log, with: {message: \"{{ params.nope }}\"}}\n");
    let p = plan(&rb, &ctx(), &Journal::new(), 0);
    assert!(matches!(
        &p.actions[0],
        Action::Record(JournalEvent::StepFailed {
            kind: FailureKind::Render,
            attempt: 0,
            ..
        })
    ));
    assert!(matches!(p.status, RunStatus::Failed { .. }));
}

#[test]
fn params_are_checked() {
    let rb = runbook("  params: {n: {type: int}}\n  steps: []\n");
    assert!(
        matches!(plan(&rb, &ctx(), &Journal::new(), 0).status, RunStatus::Failed { ref reason } if reason.contains("missing required param `n`"))
    );
    let bad = RunContext {
        params: BTreeMap::from([("n".to_string(), Value::from("x"))]),
        ..ctx()
    };
    assert!(matches!(
        plan(&rb, &bad, &Journal::new(), 0).status,
        RunStatus::Failed { .. }
    ));
    let good = RunContext {
        params: BTreeMap::from([("n".to_string(), Value::from(3))]),
        ..ctx()
    };
    assert_eq!(
        plan(&rb, &good, &Journal::new(), 0).status,
        RunStatus::Succeeded
    );
}

#[test]
fn planning_is_idempotent() {
    let rb = runbook(SEQ);
    let j = journal(vec![started("a", None, 1, 0), ok("a", None, 1, 1)]);
    assert_eq!(plan(&rb, &ctx(), &j, 2), plan(&rb, &ctx(), &j, 2));
}
