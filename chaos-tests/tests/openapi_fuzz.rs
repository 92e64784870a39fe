//! Schema-driven fuzzing of the HTTP API: schemathesis reads `/v1/openapi.json` from the
//! leader of a real 3-node fleet (one simulated cluster, seeded with a snapshot, a
//! restore, a schedule, runbooks, a finished drill, a run waiting for approval and some
//! keys, so that list and show answers carry real records) and sends generated valid
//! and invalid requests to every operation. It fails on any 5xx and on any answer that
//! does not match the document; afterwards the fleet must still be healthy.
//!
//! Needs schemathesis (`bash scripts/deps/schemathesis.sh`, which `scripts/test.sh`
//! runs). Bounded: a few examples per operation, a fixed seed, and a wall-clock limit.
//! Set `LIFEBOAT_FUZZ_EXAMPLES` to fuzz harder locally.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use chaos_tests::{Fleet, FleetOptions, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

/// The schemathesis release `scripts/deps/schemathesis.sh` installs.
const SCHEMATHESIS: &str = "4.32.5";
/// Test cases per operation and phase (schemathesis `--max-examples`).
const EXAMPLES: u32 = 8;
/// The whole schemathesis run must end within this.
const BUDGET: Duration = Duration::from_secs(240);
const LONG: Duration = Duration::from_secs(60);

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
    gated: String,
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
    let body = json!({"runbook": "fuzz-gated"});
    let v = call(fleet, leader, Method::POST, "/v1/runs", Some(body)).await;
    let gated = v["id"].as_str().context("run id")?.to_string();
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
/// id: parameter name = value), so they answer with real records instead of 404s.
fn real_records_config(s: &Seeded) -> String {
    let ops: &[(&str, &str, &str)] = &[
        ("show_cluster", "path.name", "eu-west"),
        ("show_snapshot", "path.id", &s.snapshot),
        ("show_restore", "path.id", &s.restore),
        ("show_run", "path.id", &s.gated),
        ("approve_run", "path.id", &s.gated),
        ("reject_run", "path.id", &s.gated),
        ("cancel_run", "path.id", &s.gated),
        ("show_drill", "path.id", &s.drill),
        ("drill_report", "path.id", &s.drill),
        ("show_runbook", "path.name", "fuzz-drill"),
        ("put_runbook", "path.name", "fuzz-drill"),
        ("kv_get", "path.key", "fuzz/0"),
        ("kv_put", "path.key", "fuzz/1"),
        ("put_schedule", "body.cluster", "eu-west"),
        ("take_snapshot", "body.cluster", "eu-west"),
        ("start_run", "body.runbook", "fuzz-gated"),
    ];
    let mut out = String::new();
    for (op, key, value) in ops {
        out.push_str(&format!(
            "[[operations]]\ninclude-operation-id = \"{op}\"\nparameters = {{ \"{key}\" = \"{value}\" }}\n\n"
        ));
    }
    out.push_str(&format!(
        "[[operations]]\ninclude-operation-id = \"start_restore\"\nparameters = {{ \"body.snapshot\" = \"{}\", \"body.target_cluster\" = \"eu-west\" }}\n",
        s.snapshot
    ));
    out
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
    let started = Instant::now();
    let mut child = cmd
        .args(["run", url, "--no-color", "--seed", "7"])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--exclude-path-regex", EXCLUDED_PATHS])
        .args(["--workers", "2", "--request-timeout", "15"])
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
        Ok(status) => anyhow::ensure!(
            status?.success(),
            "schemathesis ({name}) found problems (full log: {}):\n{tail}",
            log_path.display()
        ),
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

    // Every operation with generated parameters: mostly unknown ids, bad bodies.
    run_schemathesis(&fleet, &url, "generated", examples, &[]).await?;
    // The operations on one thing, pointed at the seeded records.
    let config = fleet.dir().join("real-records.toml");
    std::fs::write(&config, real_records_config(&seeded))?;
    let config = config.display().to_string();
    let ids = "^(show_cluster|show_snapshot|show_restore|show_run|approve_run|reject_run|\
               cancel_run|show_drill|drill_report|show_runbook|put_runbook|kv_get|kv_put|\
               put_schedule|take_snapshot|start_run|start_restore)$";
    let extra = [config.as_str(), "--include-operation-id-regex", ids];
    run_schemathesis(&fleet, &url, "real-records", examples, &extra).await?;

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
