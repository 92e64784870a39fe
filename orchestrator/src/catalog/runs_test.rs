//! Runs in the catalog, driven through `Catalog::apply_command` with explicit leader
//! times: creation and concurrency, ownership by term, fencing tokens, approvals,
//! cancel, queueing, and the automatic run on a `Lost` verdict (exactly once).

use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use serde_json::json;

use super::super::{
    Catalog, Command, FencingToken, HealthPolicy, Observation, Op, Response, RunOp, RunState,
};

const GATED: &str = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: gated}\nspec:\n  \
    triggers:\n    - clusterLost: {cluster: a}\n    - manual\n  params:\n    cluster: {type: string, default: a}\n  \
    concurrency:\n    key: \"failover/{{ params.cluster }}\"\n  steps:\n    \
    - {id: gate, uses: approval, with: {approvers: {roles: [operator]}}, timeout: 1m, onTimeout: reject}\n";

struct T {
    c: Catalog,
    index: u64,
}

impl T {
    fn new() -> Self {
        let mut t = T {
            c: Catalog::default(),
            index: 0,
        };
        t.op(Op::RegisterCluster {
            name: "a".into(),
            context: None,
        });
        t.op(Op::PutRunbook {
            name: "gated".into(),
            yaml: GATED.into(),
        });
        t
    }

    fn op(&mut self, op: Op) -> Response {
        self.index += 1;
        let at = 1_000 + self.index;
        self.c
            .apply_command(self.index, Command::new(at, "tester", op))
    }

    fn run(&mut self, op: RunOp) -> Response {
        self.op(Op::Run(op))
    }

    fn create(&mut self) -> Response {
        self.run(RunOp::Create {
            runbook: "gated".into(),
            params: Default::default(),
            drill: false,
        })
    }

    fn started(&mut self, run: &str, term: u64, attempt: u32) -> Response {
        self.run(RunOp::Journal {
            run_id: run.into(),
            exec_term: term,
            event: JournalEvent::StepStarted {
                step_id: "gate".into(),
                item: None,
                attempt,
                idempotency_key: format!("{run}/gate"),
                at_ms: 0,
            },
            uses: Some("approval".into()),
            token: None,
            inputs: Some(json!({"approvers": {"roles": ["operator"]}})),
        })
    }
}

fn created(r: Response) -> String {
    match r {
        Response::RunCreated { id } => id,
        other => panic!("not created: {other:?}"),
    }
}

fn rejected(r: &Response) -> bool {
    matches!(r, Response::Rejected { .. })
}

#[test]
fn a_second_run_with_a_busy_concurrency_key_is_refused_and_a_queued_one_waits() {
    let mut t = T::new();
    let first = created(t.create());
    let second = t.create();
    let Response::Rejected { reason } = second else {
        panic!("second run accepted")
    };
    assert!(
        reason.contains("failover/a") && reason.contains(&first),
        "{reason}"
    );
    assert_eq!(t.c.runs.runs.len(), 1);
    // With `onConflict: queue` the second waits and starts when the first ends.
    t.op(Op::PutRunbook {
        name: "gated".into(),
        yaml: GATED.replace(
            "failover/{{ params.cluster }}\"",
            "failover/{{ params.cluster }}\"\n    onConflict: queue",
        ),
    });
    let queued = created(t.create());
    assert_eq!(t.c.runs.runs[&queued].state, RunState::Queued);
    t.run(RunOp::Cancel {
        run_id: first.clone(),
    });
    t.run(RunOp::Resume {
        run_id: first.clone(),
        exec_term: 2,
    });
    let finish = t.run(RunOp::Finish {
        run_id: first.clone(),
        exec_term: 2,
        status: lifeboat_runbooks::RunStatus::Cancelled,
    });
    assert!(!rejected(&finish), "{finish:?}");
    assert_eq!(t.c.runs.runs[&queued].state, RunState::Running);
}

#[test]
fn runs_are_pinned_to_the_digest_they_started_with() {
    let mut t = T::new();
    let id = created(t.create());
    let digest = t.c.runs.runs[&id].digest.clone();
    t.op(Op::PutRunbook {
        name: "gated".into(),
        yaml: format!("{GATED}# edited\n"),
    });
    assert_ne!(t.c.runbooks["gated"].digest, digest);
    assert_eq!(t.c.runs.runs[&id].digest, digest);
    assert!(t.c.runbook_versions.contains_key(&digest));
}

#[test]
fn only_the_owning_term_writes_and_a_takeover_closes_open_attempts() {
    let mut t = T::new();
    let id = created(t.create());
    assert!(!rejected(&t.run(RunOp::Resume {
        run_id: id.clone(),
        exec_term: 3
    })));
    let Response::Applied { index } = t.started(&id, 3, 1) else {
        panic!()
    };
    let token = FencingToken { term: 3, index };
    assert_eq!(t.c.runs.runs[&id].open["gate"].token, token);
    // A new leader (term 4) takes over: `Resumed` is journaled, the attempt is closed.
    assert!(!rejected(&t.run(RunOp::Resume {
        run_id: id.clone(),
        exec_term: 4
    })));
    let run = &t.c.runs.runs[&id];
    assert!(run.open.is_empty());
    assert!(matches!(
        run.journal.events.last(),
        Some(JournalEvent::Resumed { .. })
    ));
    assert_eq!(run.resumes, 1);
    // The deposed leader's late result and new starts are refused...
    let late = t.run(RunOp::Journal {
        run_id: id.clone(),
        exec_term: 3,
        event: JournalEvent::StepFailed {
            step_id: "gate".into(),
            item: None,
            attempt: 1,
            kind: FailureKind::Error,
            error: "late".into(),
            at_ms: 0,
        },
        uses: None,
        token: Some(token),
        inputs: None,
    });
    assert!(rejected(&late), "{late:?}");
    assert!(rejected(&t.started(&id, 3, 2)));
    // ...and so are its catalog effects carrying the stale token.
    let fence = t.op(Op::Fence {
        cluster: "a".into(),
        by_run: Some((id.clone(), token)),
    });
    assert!(rejected(&fence), "{fence:?}");
    assert_ne!(
        t.c.health.clusters["a"].verdict,
        super::super::Verdict::Fenced
    );
    // The new owner's attempt 2 is accepted; an older term cannot take the run back.
    assert!(!rejected(&t.started(&id, 4, 2)));
    assert!(rejected(&t.run(RunOp::Resume {
        run_id: id.clone(),
        exec_term: 3
    })));
}

#[test]
fn approvals_need_an_open_approval_and_min_approvals_distinct_people() {
    let mut t = T::new();
    let id = created(t.create());
    let decide = |by: &str, approved: bool, min: u32| RunOp::Decide {
        run_id: id.clone(),
        step_id: Some("gate".into()),
        item: None,
        approved,
        by: by.into(),
        min_approvals: min,
    };
    assert!(
        rejected(&t.run(decide("ann", true, 1))),
        "nothing waits yet"
    );
    t.run(RunOp::Resume {
        run_id: id.clone(),
        exec_term: 1,
    });
    t.started(&id, 1, 1);
    assert!(!rejected(&t.run(decide("ann", true, 2))));
    assert!(
        t.c.runs.runs[&id].open.contains_key("gate"),
        "one of two approvals"
    );
    assert!(
        rejected(&t.run(decide("ann", true, 2))),
        "same person twice"
    );
    assert!(!rejected(&t.run(decide("bob", true, 2))));
    let run = &t.c.runs.runs[&id];
    assert!(run.open.is_empty());
    assert!(matches!(
        run.journal.events.last(),
        Some(JournalEvent::ApprovalDecided { approved: true, by, .. }) if by == "ann,bob"
    ));
}

fn lose(t: &mut T) {
    let policy = HealthPolicy {
        interval_ms: 100,
        window_ms: 500,
        vote_ttl_ms: 10_000,
        recovery_ms: 300,
        blast_radius: 0.5,
        cooldown_ms: 60_000,
        voters: vec![1, 2, 3],
        quorum: 2,
    };
    t.op(Op::SetHealthPolicy { policy });
    for node in [1, 2, 3] {
        t.op(Op::HealthVote {
            node,
            cluster: "a".into(),
            observation: Observation::Unhealthy,
            reason: "down".into(),
            abstain: false,
            latency_ms: None,
        });
    }
    // Leader time passes the window.
    t.index += 1;
    t.c.apply_command(t.index, Command::new(10_000, "tester", Op::Tick));
}

#[test]
fn a_lost_cluster_starts_its_runbooks_exactly_once() {
    let mut t = T::new();
    lose(&mut t);
    assert_eq!(
        t.c.health.clusters["a"].verdict,
        super::super::Verdict::Lost
    );
    let runs: Vec<_> = t.c.runs.runs.values().collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].params["cluster"], json!("a"));
    assert!(
        matches!(runs[0].trigger, super::RunTrigger::ClusterLost { ref cluster, .. } if cluster == "a")
    );
    // More ticks and votes while it stays lost start nothing more.
    for i in 0..5 {
        t.index += 1;
        t.c.apply_command(t.index, Command::new(11_000 + i, "tester", Op::Tick));
    }
    assert_eq!(t.c.runs.runs.len(), 1);
    assert!(t.c.audit.iter().any(|e| e.action == "run.created"));
}

#[test]
fn finished_runs_beyond_the_cap_are_dropped_oldest_first() {
    let mut t = T::new();
    let mut first = None;
    for i in 0..(super::RUNS_KEPT + 3) {
        let id = created(t.create());
        first.get_or_insert(id.clone());
        t.run(RunOp::Resume {
            run_id: id.clone(),
            exec_term: 1,
        });
        let r = t.run(RunOp::Finish {
            run_id: id,
            exec_term: 1,
            status: lifeboat_runbooks::RunStatus::Succeeded,
        });
        assert!(!rejected(&r), "{i}: {r:?}");
    }
    assert_eq!(t.c.runs.runs.len(), super::RUNS_KEPT);
    assert!(!t.c.runs.runs.contains_key(&first.unwrap()));
}

#[test]
fn a_blast_radius_hold_makes_the_failovers_wait_for_approval() {
    let mut t = T::new();
    for c in ["b", "c"] {
        t.op(Op::RegisterCluster {
            name: c.into(),
            context: None,
        });
    }
    t.op(Op::PutRunbook {
        name: "gated-b".into(),
        yaml: GATED
            .replace("name: gated", "name: gated-b")
            .replace("cluster: a}", "cluster: b}")
            .replace("default: a}", "default: b}"),
    });
    let policy = HealthPolicy {
        interval_ms: 100,
        window_ms: 5_000,
        vote_ttl_ms: 60_000,
        recovery_ms: 300,
        blast_radius: 0.5,
        cooldown_ms: 60_000,
        voters: vec![1, 2, 3],
        quorum: 2,
    };
    t.op(Op::SetHealthPolicy { policy });
    // `a` and `b` fail together: both are judged at the same tick. `a` is judged
    // first (its failover run is created, untouched), then `b` makes 2 of 3 clusters
    // lost within one window (maybe it is us): both wait for an operator.
    for cluster in ["a", "b"] {
        for node in [1, 2, 3] {
            t.index += 1;
            let vote = Op::HealthVote {
                node,
                cluster: cluster.into(),
                observation: Observation::Unhealthy,
                reason: "down".into(),
                abstain: false,
                latency_ms: None,
            };
            t.c.apply_command(t.index, Command::new(2_000, "tester", vote));
        }
    }
    t.index += 1;
    t.c.apply_command(t.index, Command::new(8_000, "tester", Op::Tick));
    assert_eq!(t.c.runs.runs.len(), 2, "one entry, two runs, two ids");
    for r in t.c.runs.runs.values() {
        assert!(
            matches!(r.state, RunState::Held { ref reason } if reason.contains("2 of 3")),
            "{:?}",
            r.state
        );
    }
    let run_a =
        t.c.runs
            .runs
            .values()
            .find(|r| r.runbook == "gated")
            .unwrap()
            .id
            .clone();
    // An operator approves `a`'s start; rejects `b`'s.
    let decide = |id: &str, approved: bool| RunOp::Decide {
        run_id: id.into(),
        step_id: None,
        item: None,
        approved,
        by: "ann".into(),
        min_approvals: 1,
    };
    assert!(!rejected(&t.run(decide(&run_a, true))));
    assert_eq!(t.c.runs.runs[&run_a].state, RunState::Running);
    let run_b =
        t.c.runs
            .runs
            .values()
            .find(|r| r.id != run_a)
            .unwrap()
            .id
            .clone();
    assert!(!rejected(&t.run(decide(&run_b, false))));
    assert!(matches!(
        t.c.runs.runs[&run_b].state,
        RunState::Failed { .. }
    ));
}

#[test]
fn a_run_reads_the_runbook_version_it_is_pinned_to() {
    let mut t = T::new();
    let id = created(t.create());
    // A newer version of the runbook does not change what the run runs.
    t.op(Op::PutRunbook {
        name: "gated".into(),
        yaml: GATED.replace("id: gate", "id: newGate"),
    });
    let mut run = t.c.runs.runs[&id].clone();
    let rb = t.c.runbook_of(&run).expect("the pinned version parses");
    assert_eq!(rb.metadata.name, "gated");
    assert_eq!(rb.spec.steps[0].id, "gate");

    run.digest = "sha256:nothing".into();
    let err = t.c.runbook_of(&run).expect_err("no such version");
    assert_eq!(err, "runbook version sha256:nothing is not stored");

    t.c.runbook_versions
        .insert("sha256:broken".into(), "spec: [".into());
    run.digest = "sha256:broken".into();
    let err = t.c.runbook_of(&run).expect_err("does not parse");
    assert_eq!(err, "runbook `gated` no longer parses");
}
