//! Unit tests of the drill report: building, measuring, rendering.

use std::collections::BTreeMap;

use lifeboat_runbooks::Journal;
use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use serde_json::{Value, json};

use super::*;
use crate::catalog::{
    Catalog, JobState, RestoreRecord, RunRecord, RunState, RunTrigger, SnapshotRecord,
};

const YAML: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: drill-test
spec:
  triggers: [drill]
  params:
    standby:
      type: string
      default: eu-central
    namespaces:
      type: list
      items: string
      default: [shop]
  objectives:
    rto: 1m
    rpo: 10m
  steps:
    - id: fence
      uses: cluster.fence
      with:
        cluster: eu-west
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: eu-west
        targetCluster: "{{ params.standby }}"
    - id: ready
      uses: k8s.waitReady
      forEach: "{{ params.namespaces }}"
      with:
        cluster: "{{ params.standby }}"
        namespace: "{{ item }}{{ run.namespaceSuffix }}"
    - id: notify
      uses: http.request
      with:
        url: https://hooks.example.com/done
  drill:
    namespaceSuffix: -dr
    skip: [fence]
    simulate: [notify]
"#;

const T0: u64 = 1_700_000_000_000;

fn started(step: &str, item: Option<usize>, attempt: u32, at: u64) -> JournalEvent {
    JournalEvent::StepStarted {
        step_id: step.into(),
        item,
        attempt,
        idempotency_key: format!("k/{step}"),
        at_ms: T0 + at,
    }
}

fn ok(step: &str, item: Option<usize>, attempt: u32, at: u64, result: Value) -> JournalEvent {
    JournalEvent::StepSucceeded {
        step_id: step.into(),
        item,
        attempt,
        result,
        at_ms: T0 + at,
    }
}

/// A drill: fence skipped, restore failed once (hostile error) then succeeded after a
/// leader change, waitReady succeeded, notify simulated.
fn fixture(rpo_ms: Option<u64>) -> (Catalog, RunRecord) {
    let mut c = Catalog::default();
    c.runbook_versions.insert("sha256:abc".into(), YAML.into());
    c.snapshots.snapshots.insert(
        "snap-1".into(),
        SnapshotRecord {
            id: "snap-1".into(),
            cluster: "eu-west".into(),
            manifest_key: "m".into(),
            object_count: 42,
            new_objects: 0,
            bytes_uploaded: 0,
            kubernetes_version: "1.30".into(),
            started_at_ms: T0 - 130_000,
            completed_at_ms: T0 - 120_000,
            capture_id: "cap-1".into(),
            trigger: "manual".into(),
        },
    );
    c.snapshots.restores.insert(
        "rst-1".into(),
        RestoreRecord {
            id: "rst-1".into(),
            snapshot: "snap-1".into(),
            target_cluster: "eu-central".into(),
            namespace_map: [("shop".to_string(), "shop-dr".to_string())].into(),
            policy: "skip".into(),
            dry_run: false,
            node: 1,
            by: "run-7".into(),
            started_at_ms: T0 + 3_000,
            finished_at_ms: Some(T0 + 9_000),
            state: JobState::Succeeded,
            counts: [("created".to_string(), 40), ("skipped".to_string(), 2)].into(),
            failures: vec![],
            rpo_ms: Some(123_000),
            report_key: None,
        },
    );
    let events = vec![
        JournalEvent::StepSkipped {
            step_id: "fence".into(),
            reason: "drill: skipped".into(),
            at_ms: T0 + 500,
        },
        started("restore", None, 1, 1_000),
        JournalEvent::StepFailed {
            step_id: "restore".into(),
            item: None,
            attempt: 1,
            kind: FailureKind::Error,
            error: "<script>alert('x')</script> | boom".into(),
            at_ms: T0 + 2_000,
        },
        started("restore", None, 2, 3_000),
        JournalEvent::Resumed { at_ms: T0 + 4_000 },
        started("restore", None, 3, 4_500),
        ok(
            "restore",
            None,
            3,
            9_000,
            json!({"restoreId": "rst-1", "snapshotId": "snap-1",
                   "snapshotTakenAtMs": T0 - 120_000, "snapshotObjects": 42,
                   "rpoMs": rpo_ms, "restored": 40,
                   "counts": {"created": 40, "skipped": 2}}),
        ),
        started("ready", Some(0), 1, 9_100),
        ok(
            "ready",
            Some(0),
            1,
            30_000,
            json!({"ready": ["Deployment/web"], "checked": 1, "waitedMs": 20_900}),
        ),
        started("notify", None, 1, 30_100),
        ok(
            "notify",
            None,
            1,
            30_200,
            json!({"simulated": true, "with": {"url": "https://hooks.example.com/done"}}),
        ),
    ];
    let run = RunRecord {
        id: "run-7".into(),
        runbook: "drill-test".into(),
        digest: "sha256:abc".into(),
        params: BTreeMap::new(),
        drill: true,
        trigger: RunTrigger::Drill,
        concurrency_key: None,
        state: RunState::Succeeded,
        cancel_requested: false,
        created_by: "admin".into(),
        created_at_ms: T0,
        first_step_at_ms: Some(T0 + 1_000),
        finished_at_ms: Some(T0 + 31_000),
        exec_term: 3,
        resumes: 1,
        journal_index: (1..=events.len() as u64).collect(),
        inputs: BTreeMap::new(),
        journal: Journal { events },
        open: BTreeMap::new(),
        log: Default::default(),
    };
    (c, run)
}

fn step<'a>(r: &'a DrillReport, id: &str) -> &'a StepReport {
    r.steps.iter().find(|s| s.step_id == id).expect(id)
}

#[test]
fn rto_runs_from_creation_to_workloads_ready_and_rpo_is_the_reported_age() {
    let (c, run) = fixture(Some(123_000));
    let r = build(&c, &run);
    assert_eq!(r.rto.measured_ms, Some(30_000));
    assert_eq!(r.rto.objective_ms, Some(60_000));
    assert_eq!(r.rto.met, Some(true));
    assert!(r.rto.basis.contains("ready#0"), "{}", r.rto.basis);
    assert_eq!(r.rpo.measured_ms, Some(123_000));
    assert_eq!(r.rpo.objective_ms, Some(600_000));
    assert_eq!(r.rpo.met, Some(true));
    assert_eq!(r.objectives_met, Some(true));
    assert_eq!(r.duration_ms, Some(31_000));
    assert_eq!(r.namespace_suffix.as_deref(), Some("-dr"));
    assert_eq!(r.started_at, "2023-11-14T22:13:20.000Z");
}

#[test]
fn rpo_falls_back_to_restore_start_minus_snapshot_time() {
    let (c, run) = fixture(None);
    let r = build(&c, &run);
    // The successful attempt started at +4.5 s; the snapshot is from -120 s.
    assert_eq!(r.rpo.measured_ms, Some(124_500));
    assert!(
        r.rpo.basis.contains("restore step start"),
        "{}",
        r.rpo.basis
    );
}

#[test]
fn objectives_missed_when_slower_than_the_runbook_says() {
    let (c, mut run) = fixture(Some(11 * 60_000));
    // Workloads ready after 2 minutes: RTO 1m missed; RPO 11m > 10m missed.
    if let Some(JournalEvent::StepSucceeded { at_ms, .. }) = run.journal.events.get_mut(8) {
        *at_ms = T0 + 120_000;
    }
    let r = build(&c, &run);
    assert_eq!(r.rto.measured_ms, Some(120_000));
    assert_eq!(r.rto.met, Some(false));
    assert_eq!(r.rpo.met, Some(false));
    assert_eq!(r.objectives_met, Some(false));
    assert!(r.to_markdown().contains("NOT met"));
}

#[test]
fn without_a_readiness_check_rto_ends_at_the_restore_with_a_note() {
    let (mut c, mut run) = fixture(Some(1_000));
    let ready = YAML.find("    - id: ready").unwrap();
    let notify = YAML.find("    - id: notify").unwrap();
    let yaml = format!("{}{}", &YAML[..ready], &YAML[notify..]);
    c.runbook_versions.insert("sha256:abc".into(), yaml);
    run.journal.events.truncate(7);
    let r = build(&c, &run);
    assert_eq!(r.rto.measured_ms, Some(9_000));
    assert!(
        r.notes.iter().any(|n| n.contains("no k8s.waitReady step")),
        "{:?}",
        r.notes
    );
}

#[test]
fn unmeasured_objective_is_unknown_not_met() {
    let (c, mut run) = fixture(Some(1_000));
    // waitReady never finished: the run ended with it open.
    run.journal.events.truncate(8);
    run.state = RunState::Failed {
        reason: "ready timed out".into(),
    };
    let r = build(&c, &run);
    assert_eq!(r.rto.measured_ms, None);
    assert_eq!(r.rto.met, None);
    assert_eq!(r.objectives_met, None);
    let why = r.rto.explain();
    assert!(
        why.starts_with("Not measured: readiness check `ready#0` failed"),
        "{why}"
    );
    assert_eq!(step(&r, "ready").outcome, Outcome::Failed);
    assert_eq!(step(&r, "notify").outcome, Outcome::NotRun);
}

#[test]
fn steps_carry_attempts_outcomes_errors_and_the_resume_marker() {
    let (c, run) = fixture(Some(1_000));
    let r = build(&c, &run);
    let restore = step(&r, "restore");
    assert_eq!(restore.attempts, 3);
    assert_eq!(restore.outcome, Outcome::Succeeded);
    assert!(restore.resumed);
    assert_eq!(restore.started_at_ms, Some(T0 + 1_000));
    assert_eq!(restore.duration_ms, Some(8_000));
    assert_eq!(restore.uses.as_deref(), Some("snapshot.restore"));
    assert_eq!(step(&r, "fence").outcome, Outcome::Skipped);
    assert_eq!(step(&r, "notify").outcome, Outcome::Simulated);
    assert_eq!(step(&r, "ready").item, Some(0));
    assert!(r.notes.iter().any(|n| n.contains("`notify` was simulated")));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("resumed by a new leader 1 time"))
    );
}

#[test]
fn evidence_has_restore_counts_and_rendered_readiness_targets() {
    let (c, run) = fixture(Some(1_000));
    let r = build(&c, &run);
    let rs = &r.evidence.restores[0];
    assert_eq!(rs.snapshot_id.as_deref(), Some("snap-1"));
    assert_eq!(rs.snapshot_objects, Some(42));
    assert_eq!(rs.counts.get("created"), Some(&40));
    assert_eq!(rs.target_cluster.as_deref(), Some("eu-central"));
    let rd = &r.evidence.readiness[0];
    assert_eq!(rd.namespace.as_deref(), Some("shop-dr"));
    assert_eq!(rd.cluster.as_deref(), Some("eu-central"));
    assert_eq!(rd.ready, vec!["Deployment/web".to_string()]);
    assert_eq!(rd.checked, Some(1));
    assert!(
        !r.notes.iter().any(|n| n.contains("no workload")),
        "{:?}",
        r.notes
    );
}

#[test]
fn empty_evidence_is_called_out() {
    let (c, mut run) = fixture(Some(1_000));
    if let Some(JournalEvent::StepSucceeded { result, .. }) = run.journal.events.get_mut(6) {
        result["restored"] = json!(0);
    }
    if let Some(JournalEvent::StepSucceeded { result, .. }) = run.journal.events.get_mut(8) {
        *result = json!({"ready": [], "checked": 0, "waitedMs": 3});
    }
    let r = build(&c, &run);
    let notes = r.notes.join("\n");
    assert!(
        notes.contains("restore `restore` created or updated no object"),
        "{notes}"
    );
    assert!(
        notes.contains("found no workload in namespace shop-dr"),
        "{notes}"
    );
}

#[test]
fn html_escapes_hostile_text() {
    let (c, run) = fixture(Some(1_000));
    let html = build(&c, &run).to_html();
    assert!(!html.contains("<script>"), "unescaped script tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
}

#[test]
fn markdown_has_the_summary_and_step_rows() {
    let (c, run) = fixture(Some(1_000));
    let md = build(&c, &run).to_markdown();
    assert!(md.starts_with("# Drill report: drill-test (run-7)"));
    assert!(md.contains("| Step | Item | Uses | Attempts |"));
    assert!(
        md.contains("| restore | - | snapshot.restore | 3 |"),
        "{md}"
    );
    assert!(md.contains("| ready | 0 | k8s.waitReady | 1 |"), "{md}");
    assert!(md.contains("| fence | - | cluster.fence | 0 |"), "{md}");
    assert!(md.contains("skipped (drill: skipped)"));
    // A `|` inside an error cannot break the table.
    assert!(md.contains("\\| boom"), "{md}");
    assert!(
        md.contains("| RTO | 30.0s (objective 1m 00s): met |"),
        "{md}"
    );
}

#[test]
fn json_round_trips() {
    let (c, run) = fixture(Some(1_000));
    let r = build(&c, &run);
    let back: DrillReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back.steps.len(), r.steps.len());
    assert_eq!(back.format, REPORT_FORMAT);
}

#[test]
fn durations_read_well() {
    assert_eq!(human_ms(850), "850ms");
    assert_eq!(human_ms(12_345), "12.3s");
    assert_eq!(human_ms(245_000), "4m 05s");
    assert_eq!(human_ms(7_380_000), "2h 03m");
}
