//! Schema-driven fuzzing of the HTTP API with schemathesis, against `/v1/openapi.json`
//! of the leader of a real 3-node fleet with one simulated cluster. The fleet is first
//! seeded (a snapshot, a dry-run restore, a schedule, runbooks, a finished drill, runs
//! waiting for approval, keys) so that answers carry real records. Two runs follow:
//! the operations on one thing pointed at the seeded records (fixed ids, generated
//! everything else), then every operation with generated parameters. Each fails on any
//! 5xx, on any answer that does not match the document, and on any request off the
//! document that is accepted (a JSON array for an object body, an integer past 2^64 - 1);
//! afterwards the fleet must still be healthy. Left out: the two event streams (they
//! never end).
//!
//! Needs schemathesis (`bash scripts/deps/schemathesis.sh`, which `scripts/test.sh`
//! runs). Bounded: a few examples per operation, a fixed seed, and a wall-clock limit.
//! Locally, `LIFEBOAT_FUZZ_EXAMPLES=60` fuzzes harder and `LIFEBOAT_FUZZ_CHECKS=all` runs
//! every schemathesis check; of those, `positive_data_acceptance` flags the documented 422s
//! of rules a schema cannot express (unknown runbook params, a run with no approval
//! waiting, an unknown timezone). `cargo test -p chaos-tests` does not rebuild the
//! `lifeboat` binary: `cargo build -p lifeboat` first.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use chaos_tests::{Fleet, FleetOptions, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

/// The schemathesis release `scripts/deps/schemathesis.sh` installs.
const SCHEMATHESIS: &str = "4.32.5";
/// Test cases per operation and phase (schemathesis `--max-examples`).
const EXAMPLES: u32 = 15;
/// The whole schemathesis run must end within this.
const BUDGET: Duration = Duration::from_secs(240);
const LONG: Duration = Duration::from_secs(60);

/// What must hold for every answer (`LIFEBOAT_FUZZ_CHECKS` overrides, e.g. `all`).
const CHECKS: &str = "not_a_server_error,response_schema_conformance,negative_data_rejection";

/// Operations left out: the event streams never end by design.
const EXCLUDED_PATHS: &str = "/events$";

/// The `st` command line, or a failure that says how to install it.
async fn schemathesis() -> anyhow::Result<String> {
    let out = tokio::process::Command::new("st")
        .arg("--version")
        .output()
        .await;
    let hint = "schemathesis is not installed: run `bash scripts/deps/schemathesis.sh` \
                (scripts/test.sh runs every scripts/deps/*.sh)";
    let out = out.with_context(|| hint.to_string())?;
    anyhow::ensure!(out.status.success(), "{hint}");
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    anyhow::ensure!(
        version.ends_with(SCHEMATHESIS),
        "`st --version` says `{version}`; this test is written for schemathesis \
         {SCHEMATHESIS}: run `bash scripts/deps/schemathesis.sh`"
    );
    Ok(version)
}

async fn call(fleet: &Fleet, id: u64, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = fleet.request(id, method.clone(), path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

/// Ids of the records [`seed`] made.
struct Seeded {
    snapshot: String,
    restore: String,
    drill: String,
    /// Runs waiting for approval: one to approve, one to reject, one to cancel.
    gated: Vec<String>,
}

/// Records of every kind, so that answers carry more than empty lists.
async fn seed(fleet: &Fleet, leader: u64) -> anyhow::Result<Seeded> {
    let kube = fleet.cluster_server("eu-west").to_string();
    let http = reqwest::Client::new();
    for (path, body) in [
        (
            "/api/v1/namespaces",
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}),
        ),
        (
            "/api/v1/namespaces/shop/configmaps",
            json!({"apiVersion":"v1","kind":"ConfigMap",
                "metadata":{"name":"cfg","namespace":"shop"},"data":{"k":"v"}}),
        ),
        (
            "/apis/apps/v1/namespaces/shop/deployments",
            json!({"apiVersion":"apps/v1","kind":"Deployment",
                "metadata":{"name":"api","namespace":"shop","labels":{"app":"api"}},
                "spec":{"replicas":1,"selector":{"matchLabels":{"app":"api"}},
                    "template":{"metadata":{"labels":{"app":"api"}},
                        "spec":{"containers":[{"name":"api","image":"shop/api:1.0"}]}}}}),
        ),
    ] {
        http.post(format!("{kube}{path}"))
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    for i in 0..3 {
        fleet
            .put(leader, &format!("fuzz/{i}"), json!({ "i": i }))
            .await?;
    }
    for (name, yaml) in [("fuzz-drill", DRILL), ("fuzz-gated", GATED)] {
        let r = fleet
            .request(leader, Method::PUT, &format!("/v1/runbooks/{name}"))
            .body(yaml)
            .send()
            .await?;
        let status = r.status();
        anyhow::ensure!(
            status.is_success(),
            "runbook {name}: {status} {}",
            r.text().await?
        );
    }
    let sched = json!({"cluster": "eu-west", "cron": "0 0 3 * * *"});
    call(
        fleet,
        leader,
        Method::PUT,
        "/v1/schedules/nightly",
        Some(sched),
    )
    .await;
    let body = json!({"cluster": "eu-west"});
    call(fleet, leader, Method::POST, "/v1/snapshots", Some(body)).await;
    let snapshot = wait_until("the snapshot to be listed", LONG, || async {
        let v = call(fleet, leader, Method::GET, "/v1/snapshots", None).await;
        v["snapshots"][0]["id"].as_str().map(str::to_string)
    })
    .await?;
    let body = json!({"snapshot": snapshot, "target_cluster": "eu-west", "dry_run": true});
    let v = call(fleet, leader, Method::POST, "/v1/restores", Some(body)).await;
    let restore = v["restore"].as_str().context("restore id")?.to_string();
    let body = json!({"runbook": "fuzz-drill"});
    let v = call(fleet, leader, Method::POST, "/v1/drills", Some(body)).await;
    let drill = v["id"].as_str().context("drill id")?.to_string();
    let mut gated = Vec::new();
    for _ in 0..3 {
        let body = json!({"runbook": "fuzz-gated"});
        let v = call(fleet, leader, Method::POST, "/v1/runs", Some(body)).await;
        gated.push(v["id"].as_str().context("run id")?.to_string());
    }
    wait_until("the restore and the drill to finish", LONG, || async {
        let r = call(
            fleet,
            leader,
            Method::GET,
            &format!("/v1/restores/{restore}"),
            None,
        )
        .await;
        let d = call(
            fleet,
            leader,
            Method::GET,
            &format!("/v1/drills/{drill}"),
            None,
        )
        .await;
        let done = r["restore"]["state"]["state"] != "running"
            && matches!(d["state"].as_str(), Some("succeeded" | "failed"));
        done.then_some(())
    })
    .await?;
    Ok(Seeded {
        snapshot,
        restore,
        drill,
        gated,
    })
}

/// A schemathesis config that points operations at the seeded records (by operation
/// id: fixed parameters), so they answer with real records instead of 404s; and the
/// operation ids it covers.
fn real_records_config(s: &Seeded) -> (String, String) {
    let ops: &[(&str, &[(&str, &str)])] = &[
        ("show_cluster", &[("path.name", "eu-west")]),
        ("show_snapshot", &[("path.id", &s.snapshot)]),
        ("show_restore", &[("path.id", &s.restore)]),
        ("show_run", &[("path.id", &s.gated[0])]),
        ("approve_run", &[("path.id", &s.gated[0])]),
        ("reject_run", &[("path.id", &s.gated[1])]),
        ("cancel_run", &[("path.id", &s.gated[2])]),
        ("show_drill", &[("path.id", &s.drill)]),
        ("drill_report", &[("path.id", &s.drill)]),
        ("show_runbook", &[("path.name", "fuzz-drill")]),
        ("put_runbook", &[("path.name", "fuzz-drill")]),
        ("kv_get", &[("path.key", "fuzz/0")]),
        ("kv_put", &[("path.key", "fuzz/1")]),
        (
            "put_schedule",
            &[
                ("path.id", "hourly"),
                ("body.cluster", "eu-west"),
                ("body.cron", "0 0 * * * *"),
            ],
        ),
        ("delete_schedule", &[("path.id", "nightly")]),
        ("take_snapshot", &[("body.cluster", "eu-west")]),
        ("start_run", &[("body.runbook", "fuzz-gated")]),
        ("start_drill", &[("body.runbook", "fuzz-drill")]),
        (
            "start_restore",
            &[
                ("body.snapshot", &s.snapshot),
                ("body.target_cluster", "eu-west"),
            ],
        ),
    ];
    let mut config = String::new();
    for (op, params) in ops {
        let params: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
            .collect();
        config.push_str(&format!(
            "[[operations]]\ninclude-operation-id = \"{op}\"\nparameters = {{ {} }}\n\n",
            params.join(", ")
        ));
    }
    let names: Vec<&str> = ops.iter().map(|(op, _)| *op).collect();
    (config, format!("^({})$", names.join("|")))
}

/// Makes schemathesis send generated bytes as `application/wasm` (`PUT /v1/plugins`).
const HOOKS: &str = "import schemathesis\n\
                     schemathesis.serializer.alias(\"application/wasm\", \"application/octet-stream\")\n";

/// One schemathesis run against `url`; its output, or why it failed.
async fn run_schemathesis(
    fleet: &Fleet,
    url: &str,
    name: &str,
    examples: u32,
    extra: &[&str],
) -> anyhow::Result<String> {
    let dir = fleet.dir();
    std::fs::write(dir.join("hooks.py"), HOOKS)?;
    let log_path = dir.join(format!("schemathesis-{name}.log"));
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = tokio::process::Command::new("st");
    if let Some(cfg) = extra.first().filter(|a| a.ends_with(".toml")) {
        cmd.args(["--config-file", cfg]);
    }
    let checks = std::env::var("LIFEBOAT_FUZZ_CHECKS").unwrap_or_else(|_| CHECKS.into());
    let started = Instant::now();
    let mut child = cmd
        .args(["run", url, "--no-color", "--seed", "7"])
        .args(["--checks", &checks])
        .args(["--max-examples", &examples.to_string()])
        .args(["--exclude-path-regex", EXCLUDED_PATHS])
        // One worker: with two threads, Python 3.11.7's compiler sometimes fails inside
        // schemathesis ("AST constructor recursion depth mismatch", a CPython bug).
        .args(["--workers", "1", "--request-timeout", "15"])
        .args(["--generation-database", "none"])
        .args(extra.iter().filter(|a| !a.ends_with(".toml")))
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", fleet.admin_token))
        .env("SCHEMATHESIS_HOOKS", dir.join("hooks.py"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting schemathesis")?;
    let status = tokio::time::timeout(BUDGET, child.wait()).await;
    let took = started.elapsed();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines[lines.len().saturating_sub(150)..].join("\n");
    eprintln!("== schemathesis ({name}), {examples} examples per operation: {took:.1?}\n{tail}");
    match status {
        Err(_) => {
            let _ = child.kill().await;
            anyhow::bail!("schemathesis ({name}) ran over its {BUDGET:?} budget\n{tail}");
        }
        Ok(status) => {
            // The operations that failed, from the headers of the failure report.
            let failed: Vec<&str> = lines
                .iter()
                .filter(|l| l.starts_with("___") && l.ends_with("___"))
                .map(|l| l.trim_matches(|c| c == '_' || c == ' '))
                .collect();
            anyhow::ensure!(
                status?.success(),
                "schemathesis ({name}) found problems in {failed:?}:\n{tail}"
            );
        }
    }
    Ok(output)
}

/// Every node answers, all agree on one leader, and a write commits.
async fn assert_healthy(fleet: &Fleet) -> anyhow::Result<()> {
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    for id in fleet.ids() {
        let status = fleet.status(id).await.context("status answers")?;
        assert_eq!(status["leader"]["id"], leader, "node {id}: {status}");
        let ready = reqwest::get(format!("{}/readyz", fleet.node(id).api)).await?;
        assert_eq!(ready.status().as_u16(), 200, "node {id} ready");
    }
    fleet.put(leader, "fuzz/after", json!(true)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() -> anyhow::Result<()> {
    schemathesis().await?;
    let fleet = Fleet::start(FleetOptions {
        clusters: vec!["eu-west".into()],
        ..FleetOptions::default()
    })
    .await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let seeded = seed(&fleet, leader).await?;
    let examples = std::env::var("LIFEBOAT_FUZZ_EXAMPLES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(EXAMPLES);
    let url = format!("{}/v1/openapi.json", fleet.node(leader).api);
    // Served without a token, and the same as the checked-in copy.
    let served = reqwest::get(&url).await?.error_for_status()?.text().await?;
    let checked_in = include_str!("../../docs/openapi.json");
    assert!(
        served == checked_in,
        "/v1/openapi.json differs from docs/openapi.json: rebuild the lifeboat binary, or \
         regenerate with `cargo run -p lifeboat -- openapi > docs/openapi.json`"
    );

    // First the operations on one thing, pointed at the seeded records.
    let (config, ids) = real_records_config(&seeded);
    let path = fleet.dir().join("real-records.toml");
    std::fs::write(&path, config)?;
    let path = path.display().to_string();
    let extra = [path.as_str(), "--include-operation-id-regex", ids.as_str()];
    run_schemathesis(&fleet, &url, "real-records", examples, &extra).await?;
    // Then every operation with generated parameters: mostly unknown ids and bad bodies,
    // plus what the stateful phase links (it deletes what it lists, for one).
    run_schemathesis(&fleet, &url, "generated", examples, &[]).await?;

    assert_healthy(&fleet).await
}

const DRILL: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: fuzz-drill
spec:
  triggers: [drill, manual]
  concurrency:
    key: "drill/eu-west"
  objectives:
    rto: 10m
    rpo: 1h
  steps:
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: eu-west
        targetCluster: eu-west
        namespaces: [shop]
        namespaceSuffix: "{{ run.namespaceSuffix }}"
      timeout: 5m
    - id: ready
      uses: k8s.waitReady
      with: {cluster: eu-west, namespace: "shop{{ run.namespaceSuffix }}"}
      timeout: 2m
    - id: note
      uses: log
      with: {message: "drill {{ run.id }} done"}
  drill:
    namespaceSuffix: -drill
    cleanup:
      - id: dropNamespace
        uses: k8s.delete
        with:
          cluster: eu-west
          apiVersion: v1
          kind: Namespace
          name: "shop{{ run.namespaceSuffix }}"
        timeout: 1m
"#;

const GATED: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: fuzz-gated
spec:
  triggers: [manual]
  steps:
    - id: gate
      uses: approval
      with:
        approvers: {roles: [operator, admin]}
        message: "go ahead?"
      timeout: 30m
      onTimeout: reject
    - id: after
      uses: log
      with: {message: "approved"}
"#;
