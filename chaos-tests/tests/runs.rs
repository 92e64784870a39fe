//! The runbook executor on real processes: orchestrator nodes, kubesim clusters, a file
//! object store. Automatic failover on a loss, a leader killed mid-restore and while an
//! approval waits, one run per loss and per concurrency key, a drill with its report,
//! and a broken runbook refused with the linter's diagnostics.

use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(90);

fn options(clusters: &[&str], fast_health: bool) -> FleetOptions {
    let mut o = FleetOptions {
        nodes: 3,
        clusters: clusters.iter().map(|c| c.to_string()).collect(),
        ..FleetOptions::default()
    };
    if fast_health {
        o.extra_yaml.push_str(
            "health:\n  interval: 300ms\n  timeout: 250ms\n  window: 1500ms\n  recovery: 900ms\n  \
             vote_ttl: 1200ms\n  cooldown: 30m\n",
        );
    }
    o
}

/// A namespace `shop` with a deployment, config maps and a secret, through the REST API.
async fn seed(fleet: &Fleet, cluster: &str, configmaps: usize) -> anyhow::Result<()> {
    let base = fleet.cluster_server(cluster).to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    post(
        "/api/v1/namespaces",
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}),
    )
    .await?
    .error_for_status()?;
    for i in 0..configmaps {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":format!("cfg-{i}"),"namespace":"shop"},"data":{"i":i.to_string()}});
        post("/api/v1/namespaces/shop/configmaps", cm)
            .await?
            .error_for_status()?;
    }
    let secret = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"shop"},
        "stringData":{"password":"hunter2"}});
    post("/api/v1/namespaces/shop/secrets", secret)
        .await?
        .error_for_status()?;
    let deploy = json!({"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"api","namespace":"shop","labels":{"app":"api"}},
        "spec":{"replicas":2,"selector":{"matchLabels":{"app":"api"}},
            "template":{"metadata":{"labels":{"app":"api"}},
                "spec":{"containers":[{"name":"api","image":"shop/api:1.0"}]}}}});
    post("/apis/apps/v1/namespaces/shop/deployments", deploy)
        .await?
        .error_for_status()?;
    Ok(())
}

async fn get(fleet: &Fleet, id: u64, path: &str) -> anyhow::Result<Value> {
    let r = fleet.request(id, Method::GET, path).send().await?;
    let status = r.status();
    let v: Value = r.json().await?;
    anyhow::ensure!(status.is_success(), "GET {path}: {status} {v}");
    Ok(v)
}

async fn post(fleet: &Fleet, id: u64, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let r = fleet
        .request(id, Method::POST, path)
        .json(&body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn put_runbook(fleet: &Fleet, id: u64, name: &str, yaml: &str) -> anyhow::Result<()> {
    let r = fleet
        .request(id, Method::PUT, &format!("/v1/runbooks/{name}"))
        .body(yaml.to_string())
        .send()
        .await?;
    let status = r.status();
    let body = r.text().await?;
    anyhow::ensure!(status.is_success(), "PUT runbook {name}: {status} {body}");
    Ok(())
}

/// Take a snapshot of `cluster` and wait until it is listed; its id.
async fn snapshot(fleet: &Fleet, id: u64, cluster: &str) -> anyhow::Result<String> {
    let (status, v) = post(fleet, id, "/v1/snapshots", json!({ "cluster": cluster })).await?;
    anyhow::ensure!(status == 202, "snapshot: {status} {v}");
    wait_until("the snapshot to be listed", LONG, || async {
        let v = get(fleet, id, &format!("/v1/snapshots?cluster={cluster}"))
            .await
            .ok()?;
        v["snapshots"][0]["id"].as_str().map(str::to_string)
    })
    .await
}

/// Wait until run `run` (asked through any live node in `via`) is in a final state.
async fn wait_final(fleet: &Fleet, via: &[u64], run: &str) -> anyhow::Result<Value> {
    wait_until(&format!("run {run} to finish"), LONG, || async {
        for id in via {
            if let Ok(v) = get(fleet, *id, &format!("/v1/runs/{run}")).await {
                let s = v["state"].as_str().unwrap_or("");
                return matches!(s, "succeeded" | "failed" | "cancelled").then_some(v);
            }
        }
        None
    })
    .await
}

/// The journal entries of `run` of this type for this step.
fn entries<'a>(run: &'a Value, kind: &str, step: &str) -> Vec<&'a Value> {
    run["journal"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == kind && e["stepId"] == step)
        .collect()
}

async fn object(fleet: &Fleet, cluster: &str, path: &str) -> anyhow::Result<Option<Value>> {
    let r = reqwest::get(format!("{}{path}", fleet.cluster_server(cluster))).await?;
    if r.status() == 404 {
        return Ok(None);
    }
    Ok(Some(r.error_for_status()?.json().await?))
}

const FAILOVER: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: failover-eu-west
spec:
  triggers:
    - clusterLost: {cluster: eu-west, param: lost}
    - manual
  params:
    lost: {type: string}
    standby: {type: string, default: us-east}
  concurrency:
    key: "failover/{{ params.lost }}"
  steps:
    - id: fence
      uses: cluster.fence
      with: {cluster: "{{ params.lost }}", reason: "lost (run {{ run.id }})"}
      timeout: 1m
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: "{{ params.lost }}"
        targetCluster: "{{ params.standby }}"
        namespaces: [shop]
        policy: overwrite
      timeout: 5m
      retry: {maxAttempts: 3, backoff: {initial: 1s}}
      idempotencyKey: "{{ run.id }}/restore"
    - id: ready
      uses: k8s.waitReady
      with: {cluster: "{{ params.standby }}", namespace: shop}
      timeout: 2m
  finally:
    - id: note
      uses: log
      with: {message: "failover of {{ params.lost }}: restore {{ steps.restore.status }}"}
"#;

/// Issue test 1: kill a cluster -> Lost -> the failover runbook restores its latest
/// snapshot into the standby -> workloads ready there; the journal shows every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_cluster_fails_over_to_the_standby_automatically() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west", "us-east"], true)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    for c in ["eu-west", "us-east"] {
        fleet.wait_verdict(leader, c, "Healthy", LONG).await?;
    }
    seed(&fleet, "eu-west", 5).await?;
    snapshot(&fleet, leader, "eu-west").await?;
    put_runbook(&fleet, leader, "failover-eu-west", FAILOVER).await?;
    assert!(
        object(
            &fleet,
            "us-east",
            "/apis/apps/v1/namespaces/shop/deployments/api"
        )
        .await?
        .is_none(),
        "the standby must start without the workload"
    );

    fleet.cluster_fault("eu-west", "down").await?;
    let run_id = wait_until("the automatic failover run", LONG, || async {
        let v = get(&fleet, leader, "/v1/runs?runbook=failover-eu-west")
            .await
            .ok()?;
        v["runs"][0]["id"].as_str().map(str::to_string)
    })
    .await?;
    let run = wait_final(&fleet, &[leader], &run_id).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["trigger"]["type"], "cluster_lost");
    assert_eq!(run["trigger"]["cluster"], "eu-west");
    for step in ["fence", "restore", "ready", "note"] {
        assert_eq!(
            entries(&run, "stepStarted", step).len(),
            1,
            "{step} started once: {run:#}"
        );
        assert_eq!(entries(&run, "stepSucceeded", step).len(), 1, "{step}");
    }
    let restore = entries(&run, "stepSucceeded", "restore")[0];
    assert!(restore["result"]["restored"].as_u64().unwrap_or(0) >= 7);
    assert!(restore["result"]["rpoMs"].as_u64().is_some());
    assert_eq!(
        entries(&run, "stepSucceeded", "ready")[0]["result"]["ready"],
        json!(["Deployment/api"]),
    );
    // The workload now runs on the standby, stamped with the restore's fencing token.
    let d = object(
        &fleet,
        "us-east",
        "/apis/apps/v1/namespaces/shop/deployments/api",
    )
    .await?
    .expect("deployment restored on the standby");
    assert_eq!(d["status"]["readyReplicas"], 2);
    let token = d["metadata"]["annotations"]["lifeboat.dev/fencing-token"]
        .as_str()
        .unwrap_or_default();
    let started = entries(&run, "stepStarted", "restore")[0]["index"]
        .as_u64()
        .unwrap();
    assert!(
        token.ends_with(&format!(".{started}")),
        "token {token} is the restore attempt's (index {started})"
    );
    // Fenced by the run; one run only; the time from Lost to the first step is measured.
    let view = fleet.cluster_view(leader, "eu-west").await.unwrap();
    assert_eq!(view["verdict"], "Fenced");
    let runs = get(&fleet, leader, "/v1/runs?runbook=failover-eu-west").await?;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1));
    let metrics = fleet
        .request(leader, Method::GET, "/metrics")
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("lifeboat_failover_lost_to_first_step_seconds_count 1"),
        "{metrics}"
    );
    Ok(())
}

const SLOW_RESTORE: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: move-shop
spec:
  triggers: [manual]
  params:
    source: {type: string, default: eu-west}
    target: {type: string, default: us-east}
  concurrency:
    key: "move/{{ params.target }}"
  steps:
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: "{{ params.source }}"
        targetCluster: "{{ params.target }}"
        namespaces: [shop]
        policy: overwrite
      timeout: 5m
    - id: ready
      uses: k8s.waitReady
      with: {cluster: "{{ params.target }}", namespace: shop}
      timeout: 2m
"#;

/// Issue test 2: the leader dies during a long restore; the new leader re-runs it (same
/// idempotency key, next attempt) and the run completes; every restored object equals
/// its source.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_survives_its_leader_dying_mid_restore() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west", "us-east"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    seed(&fleet, "eu-west", 40).await?;
    snapshot(&fleet, leader, "eu-west").await?;
    put_runbook(&fleet, leader, "move-shop", SLOW_RESTORE).await?;
    // Every request to the target takes 150 ms: the restore lasts seconds.
    fleet
        .cluster_faults("us-east", json!({"latency_ms": 150}))
        .await?;
    let (status, v) = post(&fleet, leader, "/v1/runs", json!({"runbook": "move-shop"})).await?;
    assert_eq!(status, 201, "{v}");
    let run_id = v["id"].as_str().unwrap().to_string();
    wait_until("the restore step to start", LONG, || async {
        let run = get(&fleet, leader, &format!("/v1/runs/{run_id}"))
            .await
            .ok()?;
        (!entries(&run, "stepStarted", "restore").is_empty()).then_some(())
    })
    .await?;
    let before = get(&fleet, leader, &format!("/v1/runs/{run_id}")).await?;
    assert!(
        entries(&before, "stepSucceeded", "restore").is_empty(),
        "the restore must still be running when the leader dies: {before:#}"
    );
    fleet.kill(leader)?;
    let new_leader = fleet.wait_for_leader(&[leader], LONG).await?;
    let others: Vec<u64> = fleet.ids().into_iter().filter(|i| *i != leader).collect();
    let run = wait_final(&fleet, &others, &run_id).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert!(run["resumes"].as_u64().unwrap_or(0) >= 1, "{run:#}");
    let starts = entries(&run, "stepStarted", "restore");
    assert_eq!(
        starts.len(),
        2,
        "attempt 1 on the old leader, 2 on the new: {run:#}"
    );
    assert_eq!(starts[0]["attempt"], 1);
    assert_eq!(starts[1]["attempt"], 2);
    assert_eq!(starts[0]["idempotencyKey"], starts[1]["idempotencyKey"]);
    let journal = run["journal"].as_array().unwrap();
    let resumed = journal.iter().position(|e| e["type"] == "resumed");
    let second = journal
        .iter()
        .position(|e| e["type"] == "stepStarted" && e["attempt"] == 2);
    assert!(resumed.is_some() && resumed < second, "{run:#}");
    // Idempotent: each object on the target equals its source.
    fleet
        .cluster_faults("us-east", json!({"latency_ms": 0}))
        .await?;
    for i in 0..40 {
        let path = format!("/api/v1/namespaces/shop/configmaps/cfg-{i}");
        let target = object(&fleet, "us-east", &path).await?.expect("restored");
        let source = object(&fleet, "eu-west", &path).await?.unwrap();
        assert_eq!(target["data"], source["data"], "{path}");
    }
    let d = object(
        &fleet,
        "us-east",
        "/apis/apps/v1/namespaces/shop/deployments/api",
    )
    .await?
    .unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    // The old leader's restore was closed as failed; the run's second restore succeeded.
    let _ = new_leader;
    Ok(())
}

const APPROVAL: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: gated
spec:
  triggers: [manual]
  params:
    wait: {type: duration, default: 10m}
  steps:
    - id: gate
      uses: approval
      with:
        approvers: {roles: [operator, admin]}
        message: "go ahead?"
      timeout: 10m
      onTimeout: reject
    - id: after
      uses: log
      with: {message: "approved"}
"#;

const AUTO_APPROVE: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: auto-gated
spec:
  triggers: [manual]
  steps:
    - id: gate
      uses: approval
      with:
        approvers: {roles: [admin]}
      timeout: 2s
      onTimeout: approve
    - id: after
      uses: log
      with: {message: "went ahead"}
"#;

/// Issue test 3: an approval waiting when the leader dies is still pending on the new
/// leader and can be approved there; an approval that times out takes its `onTimeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_survive_a_leader_change_and_time_out_as_declared() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    put_runbook(&fleet, leader, "gated", APPROVAL).await?;
    put_runbook(&fleet, leader, "auto-gated", AUTO_APPROVE).await?;
    let (_, v) = post(&fleet, leader, "/v1/runs", json!({"runbook": "gated"})).await?;
    let run_id = v["id"].as_str().unwrap().to_string();
    let (_, v) = post(&fleet, leader, "/v1/runs", json!({"runbook": "auto-gated"})).await?;
    let auto_id = v["id"].as_str().unwrap().to_string();
    wait_until("the approval to wait", LONG, || async {
        let run = get(&fleet, leader, &format!("/v1/runs/{run_id}"))
            .await
            .ok()?;
        (run["open"][0]["uses"] == "approval").then_some(())
    })
    .await?;

    fleet.kill(leader)?;
    let new_leader = fleet.wait_for_leader(&[leader], LONG).await?;
    let pending = wait_until("the approval to wait on the new leader", LONG, || async {
        let run = get(&fleet, new_leader, &format!("/v1/runs/{run_id}"))
            .await
            .ok()?;
        (run["resumes"] == 1 && run["open"][0]["uses"] == "approval").then_some(run)
    })
    .await?;
    assert_eq!(pending["state"], "running");
    assert!(entries(&pending, "approvalDecided", "gate").is_empty());
    let (status, v) = post(
        &fleet,
        new_leader,
        &format!("/v1/runs/{run_id}/approve"),
        Value::Null,
    )
    .await?;
    assert_eq!(status, 200, "{v}");
    let others: Vec<u64> = fleet.ids().into_iter().filter(|i| *i != leader).collect();
    let run = wait_final(&fleet, &others, &run_id).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let decided = entries(&run, "approvalDecided", "gate");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["approved"], true);
    assert_ne!(decided[0]["by"], "timeout");
    assert_eq!(entries(&run, "stepSucceeded", "after").len(), 1);

    // Nobody decides the other one: after 2 s it is approved by `timeout`.
    let auto = wait_final(&fleet, &others, &auto_id).await?;
    assert_eq!(auto["state"], "succeeded", "{auto:#}");
    let decided = entries(&auto, "approvalDecided", "gate");
    assert_eq!(decided.len(), 1, "{auto:#}");
    assert_eq!(decided[0]["by"], "timeout");
    // Deciding a finished run is refused with a clear message, not a 5xx.
    let (status, v) = post(
        &fleet,
        new_leader,
        &format!("/v1/runs/{auto_id}/approve"),
        Value::Null,
    )
    .await?;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no approval waiting")
    );
    Ok(())
}

/// Issue test 4: two losses of one cluster within the cooldown start one run; two manual
/// starts with the same concurrency key start one run (the second is a 409).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_run_per_loss_in_the_cooldown_and_per_concurrency_key() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west", "us-east"], true)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    for c in ["eu-west", "us-east"] {
        fleet.wait_verdict(leader, c, "Healthy", LONG).await?;
    }
    let gated = APPROVAL
        .replace("name: gated", "name: failover-gated")
        .replace(
            "triggers: [manual]",
            "triggers:\n    - clusterLost: {cluster: eu-west}\n    - manual",
        )
        .replace(
            "  params:\n    wait: {type: duration, default: 10m}\n",
            "  params:\n    cluster: {type: string, default: eu-west}\n  concurrency:\n    key: \"failover/{{ params.cluster }}\"\n",
        );
    put_runbook(&fleet, leader, "failover-gated", &gated).await?;

    // Two manual starts with the same key: the first waits at its approval, the second
    // is refused.
    let (status, first) = post(
        &fleet,
        leader,
        "/v1/runs",
        json!({"runbook": "failover-gated"}),
    )
    .await?;
    assert_eq!(status, 201, "{first}");
    let (status, second) = post(
        &fleet,
        leader,
        "/v1/runs",
        json!({"runbook": "failover-gated"}),
    )
    .await?;
    assert_eq!(status, 409, "{second}");
    assert!(
        second["error"]["message"]
            .as_str()
            .unwrap()
            .contains("failover/eu-west")
    );
    let first_id = first["id"].as_str().unwrap();
    post(
        &fleet,
        leader,
        &format!("/v1/runs/{first_id}/cancel"),
        Value::Null,
    )
    .await?;
    wait_final(&fleet, &[leader], first_id).await?;

    // Loss 1 starts a run.
    fleet.cluster_fault("eu-west", "down").await?;
    fleet.wait_verdict(leader, "eu-west", "Lost", LONG).await?;
    let auto = wait_until("the failover run", LONG, || async {
        let v = get(&fleet, leader, "/v1/runs?runbook=failover-gated")
            .await
            .ok()?;
        let runs = v["runs"].as_array()?.clone();
        runs.into_iter()
            .find(|r| r["trigger"]["type"] == "cluster_lost")
    })
    .await?;
    // The cluster comes back (fenced), is released, and is lost again within the
    // cooldown: no second run.
    fleet.cluster_fault("eu-west", "healthy").await?;
    fleet
        .wait_verdict(leader, "eu-west", "Fenced", LONG)
        .await?;
    let (status, v) = post(&fleet, leader, "/v1/clusters/eu-west/unfence", Value::Null).await?;
    assert_eq!(status, 200, "{v}");
    fleet
        .wait_verdict(leader, "eu-west", "Healthy", LONG)
        .await?;
    fleet.cluster_fault("eu-west", "down").await?;
    let lost_again = fleet.wait_verdict(leader, "eu-west", "Lost", LONG).await?;
    assert_eq!(
        lost_again["failover"]["state"], "suppressed",
        "{lost_again:#}"
    );
    let runs = get(&fleet, leader, "/v1/runs?runbook=failover-gated").await?;
    let automatic: Vec<&Value> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"]["type"] == "cluster_lost")
        .collect();
    assert_eq!(automatic.len(), 1, "{runs:#}");
    assert_eq!(automatic[0]["id"], auto["id"]);
    let audit = get(&fleet, leader, "/v1/audit?limit=1000").await?;
    let suppressed = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "failover.suppressed" && e["target"] == "eu-west")
        .count();
    assert_eq!(suppressed, 1, "{audit:#}");
    Ok(())
}

const DRILL: &str = r#"apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: drill-eu-west
spec:
  triggers: [drill, manual]
  params:
    source: {type: string, default: eu-west}
    target: {type: string, default: eu-west}
  concurrency:
    key: "drill/{{ params.target }}"
  objectives:
    rto: 10m
    rpo: 1h
  steps:
    - id: fence
      uses: cluster.fence
      with: {cluster: "{{ params.source }}"}
      timeout: 1m
    - id: restore
      uses: snapshot.restore
      with:
        snapshot: latest
        sourceCluster: "{{ params.source }}"
        targetCluster: "{{ params.target }}"
        namespaces: [shop]
        namespaceSuffix: "{{ run.namespaceSuffix }}"
      timeout: 5m
    - id: ready
      uses: k8s.waitReady
      with: {cluster: "{{ params.target }}", namespace: "shop{{ run.namespaceSuffix }}"}
      timeout: 2m
  drill:
    namespaceSuffix: -drill
    skip: [fence]
    cleanup:
      - id: dropNamespace
        uses: k8s.delete
        with:
          cluster: "{{ params.target }}"
          apiVersion: v1
          kind: Namespace
          name: "shop{{ run.namespaceSuffix }}"
        timeout: 1m
"#;

/// The production namespace's objects: name, and what a write would change (for config
/// maps and secrets their resourceVersion; for workloads, whose status the simulator
/// updates on its own, their generation and spec).
async fn production(fleet: &Fleet, cluster: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/namespaces/shop/configmaps",
        "/api/v1/namespaces/shop/secrets",
        "/apis/apps/v1/namespaces/shop/deployments",
    ] {
        let list = object(fleet, cluster, path).await?.unwrap_or_default();
        for o in list["items"].as_array().into_iter().flatten() {
            let version = if path.contains("deployments") {
                format!("{} {}", o["metadata"]["generation"], o["spec"])
            } else {
                o["metadata"]["resourceVersion"].to_string()
            };
            out.push((
                format!("{path}/{}", o["metadata"]["name"].as_str().unwrap_or("")),
                version,
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// Issue test 5: a drill through the API produces a report with RTO and RPO, restores
/// into suffixed namespaces, cleans up, and leaves production untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drill_reports_rto_and_rpo_and_leaves_production_untouched() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    seed(&fleet, "eu-west", 5).await?;
    snapshot(&fleet, leader, "eu-west").await?;
    put_runbook(&fleet, leader, "drill-eu-west", DRILL).await?;
    let before = production(&fleet, "eu-west").await?;
    assert!(before.len() >= 7, "{before:?}");

    let (status, v) = post(
        &fleet,
        leader,
        "/v1/drills",
        json!({"runbook": "drill-eu-west"}),
    )
    .await?;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let run = wait_final(&fleet, &[leader], &id).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert!(run["drill"].as_bool().unwrap());
    // Production-only step skipped; the cluster was never fenced.
    assert_eq!(run["journal"][0]["type"], "stepSkipped", "{run:#}");
    assert_eq!(
        fleet.cluster_view(leader, "eu-west").await.unwrap()["verdict"],
        "Healthy"
    );
    // Cleaned up, and production untouched (same objects, same resourceVersions).
    let drill_ns = object(&fleet, "eu-west", "/api/v1/namespaces/shop-drill").await?;
    assert!(
        drill_ns
            .as_ref()
            .is_none_or(|n| n["metadata"]["deletionTimestamp"].is_string()),
        "drill namespace left behind: {drill_ns:?}"
    );
    assert_eq!(production(&fleet, "eu-west").await?, before);

    let report = get(&fleet, leader, &format!("/v1/drills/{id}/report")).await?;
    let rto = report["rto"]["measured_ms"].as_u64().expect("RTO measured");
    let rpo = report["rpo"]["measured_ms"].as_u64().expect("RPO measured");
    let total = run["finished_at_ms"].as_u64().unwrap() - run["created_at_ms"].as_u64().unwrap();
    assert!(
        rto > 0 && rto <= total,
        "rto {rto} within the run ({total} ms)"
    );
    assert!(
        rpo < 3_600_000,
        "the snapshot was minutes old at most: {rpo}"
    );
    assert_eq!(report["rto"]["met"], true, "{report:#}");
    assert_eq!(report["rpo"]["met"], true, "{report:#}");
    let evidence = report.to_string();
    assert!(evidence.contains("shop-drill"), "{report:#}");
    for format in ["md", "html"] {
        let r = fleet
            .request(
                leader,
                Method::GET,
                &format!("/v1/drills/{id}/report?format={format}"),
            )
            .send()
            .await?;
        assert!(r.status().is_success());
        let text = r.text().await?;
        assert!(
            text.contains(&id) && text.contains("RTO"),
            "{format}: {text}"
        );
    }
    // Also written to the object store.
    let stored = fleet.dir().join(format!("store/reports/drills/{id}.json"));
    wait_until("the report in the object store", LONG, || async {
        stored.exists().then_some(())
    })
    .await?;
    let stored: Value = serde_json::from_slice(&std::fs::read(&stored)?)?;
    assert_eq!(stored["rto"]["measured_ms"], rto);
    Ok(())
}

/// Issue test 6: a broken runbook is answered 422 with the linter's positioned
/// diagnostics, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_runbook_is_refused_with_diagnostics_and_not_stored() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(&["eu-west"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let broken = DRILL.replace("uses: k8s.waitReady", "uses: k8s.waitReddy");
    let r = fleet
        .request(leader, Method::PUT, "/v1/runbooks/drill-eu-west")
        .body(broken)
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await?;
    let diags = v["error"]["details"]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    let d = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("waitReddy"))
        .unwrap_or_else(|| panic!("no diagnostic names the bad step: {v:#}"));
    assert_eq!(d["line"], 30, "{d}");
    assert!(d["column"].as_u64().unwrap() > 0);
    let r = fleet
        .request(leader, Method::GET, "/v1/runbooks/drill-eu-west")
        .send()
        .await?;
    assert_eq!(r.status(), 404);
    let (status, _) = post(
        &fleet,
        leader,
        "/v1/runs",
        json!({"runbook": "drill-eu-west"}),
    )
    .await?;
    assert_eq!(status, 404);
    Ok(())
}
