//! `executor-bench`: the runbook executor's latencies on real processes (3 nodes, one
//! kubesim cluster, fast health settings so trials are short).
//!
//! 1. `Lost` committed -> first step of the failover run started: both times are
//!    leader-stamped in the catalog (the verdict's `lost_at_ms`, the `StepStarted`
//!    entry's `at_ms`). `--trials` losses (default 20).
//! 2. Engine overhead per step: a run of a 50-step runbook of no-op `sleep 0s` steps,
//!    run duration / 50 (each step is two Raft entries plus planning). `--runs` runs
//!    (default 5).
//! 3. Leader killed -> in-flight run resumed: a run waits in a long step, the leader is
//!    SIGKILLed, and the time from the kill (this process's clock, same machine) to the
//!    new leader's `Resumed` entry is measured. `--kills` trials (default 3).
//!
//! `cargo run -p chaos-tests --bin executor-bench -- [--trials 20] [--runs 5] [--kills 3]`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chaos_tests::{Fleet, FleetOptions, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn arg(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    Ok(args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(default), |v| v.parse())?)
}

fn summary(name: &str, mut samples: Vec<u64>, unit: &str) {
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name}: n={} p50 {} {unit}, p99 {} {unit}, max {} {unit}, min {} {unit}",
        samples.len(),
        pct(0.5),
        pct(0.99),
        samples.last().unwrap(),
        samples[0]
    );
}

async fn api(fleet: &Fleet, id: u64, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut r = fleet.request(id, method, path);
    if let Some(b) = body {
        r = r.json(&b);
    }
    match r.send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

async fn put_runbook(fleet: &Fleet, id: u64, name: &str, yaml: &str) -> anyhow::Result<()> {
    let r = fleet
        .request(id, Method::PUT, &format!("/v1/runbooks/{name}"))
        .body(yaml.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "runbook {name}: {}",
        r.text().await?
    );
    Ok(())
}

async fn wait_final(fleet: &Fleet, via: &[u64], run: &str) -> anyhow::Result<Value> {
    wait_until(&format!("run {run} to finish"), LIMIT, || async {
        for id in via {
            let v = api(fleet, *id, Method::GET, &format!("/v1/runs/{run}"), None).await;
            if let Some(s) = v["state"].as_str() {
                return matches!(s, "succeeded" | "failed" | "cancelled").then_some(v);
            }
        }
        None
    })
    .await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (trials, runs, kills) = (
        arg(&args, "--trials", 20)?,
        arg(&args, "--runs", 5)?,
        arg(&args, "--kills", 3)?,
    );
    let mut opts = FleetOptions {
        clusters: vec!["a".into()],
        ..FleetOptions::default()
    };
    opts.extra_yaml.push_str(
        "health:\n  interval: 300ms\n  timeout: 250ms\n  window: 1500ms\n  recovery: 900ms\n  \
         vote_ttl: 1200ms\n  cooldown: 1ms\n",
    );
    let fleet = Fleet::start(opts).await?;
    let leader = fleet.wait_for_leader(&[], LIMIT).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LIMIT).await?;
    println!("executor-bench: 3 nodes, 1 kubesim cluster, dev profile");

    // 1. Lost -> first step.
    let on_loss = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: on-loss}\nspec:\n  \
        triggers:\n    - clusterLost: {cluster: a}\n  params:\n    cluster: {type: string}\n  \
        steps:\n    - {id: first, uses: sleep, with: {duration: 0s}}\n";
    put_runbook(&fleet, leader, "on-loss", on_loss).await?;
    let mut samples = Vec::new();
    for t in 1..=trials {
        let leader = fleet.wait_for_leader(&[], LIMIT).await?;
        fleet.cluster_fault("a", "down").await?;
        let v = fleet.wait_verdict(leader, "a", "Lost", LIMIT).await?;
        let lost_at = v["lost_at_ms"].as_u64().unwrap_or(0);
        let started = wait_until("the failover's first step", LIMIT, || async {
            let runs = api(
                &fleet,
                leader,
                Method::GET,
                "/v1/runs?runbook=on-loss",
                None,
            )
            .await;
            let run = runs["runs"]
                .as_array()?
                .iter()
                .find(|r| r["trigger"]["lost_at_ms"].as_u64() == Some(lost_at))?
                .clone();
            let id = run["id"].as_str()?;
            let full = api(&fleet, leader, Method::GET, &format!("/v1/runs/{id}"), None).await;
            full["journal"]
                .as_array()?
                .iter()
                .find(|e| e["type"] == "stepStarted")?["atMs"]
                .as_u64()
        })
        .await?;
        let ms = started.saturating_sub(lost_at);
        println!("loss {t:>2}: first step {ms} ms after Lost");
        samples.push(ms);
        fleet.cluster_fault("a", "healthy").await?;
        fleet.wait_verdict(leader, "a", "Fenced", LIMIT).await?;
        api(&fleet, leader, Method::POST, "/v1/clusters/a/unfence", None).await;
        fleet.wait_verdict(leader, "a", "Healthy", LIMIT).await?;
    }
    summary("Lost committed -> first step started", samples, "ms");

    // 2. Overhead per step.
    let mut yaml = String::from(
        "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: fifty}\nspec:\n  triggers: [manual]\n  steps:\n",
    );
    for i in 0..50 {
        yaml.push_str(&format!(
            "    - {{id: s{i}, uses: sleep, with: {{duration: 0s}}}}\n"
        ));
    }
    put_runbook(&fleet, leader, "fifty", &yaml).await?;
    let mut per_step = Vec::new();
    for r in 1..=runs {
        let leader = fleet.wait_for_leader(&[], LIMIT).await?;
        let v = api(
            &fleet,
            leader,
            Method::POST,
            "/v1/runs",
            Some(json!({"runbook": "fifty"})),
        )
        .await;
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let run = wait_final(&fleet, &[leader], &id).await?;
        anyhow::ensure!(run["state"] == "succeeded", "{run}");
        let took = run["finished_at_ms"].as_u64().unwrap_or(0)
            - run["created_at_ms"].as_u64().unwrap_or(0);
        println!(
            "run {r}: 50 steps in {took} ms ({} us/step)",
            took * 1000 / 50
        );
        per_step.push(took * 1000 / 50);
    }
    summary("engine overhead per no-op step", per_step, "us");

    // 3. Leader killed -> run resumed.
    let long = "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {name: long}\nspec:\n  \
        triggers: [manual]\n  steps:\n    - {id: wait, uses: sleep, with: {duration: 10m}}\n";
    put_runbook(&fleet, leader, "long", long).await?;
    let mut resumed = Vec::new();
    for k in 1..=kills {
        let leader = fleet.wait_for_leader(&[], LIMIT).await?;
        let v = api(
            &fleet,
            leader,
            Method::POST,
            "/v1/runs",
            Some(json!({"runbook": "long"})),
        )
        .await;
        let id = v["id"].as_str().unwrap_or_default().to_string();
        wait_until("the long step to start", LIMIT, || async {
            let run = api(&fleet, leader, Method::GET, &format!("/v1/runs/{id}"), None).await;
            (!run["open"].as_array()?.is_empty()).then_some(())
        })
        .await?;
        let t0 = now_ms();
        fleet.kill(leader)?;
        let others: Vec<u64> = fleet.ids().into_iter().filter(|i| *i != leader).collect();
        let at = wait_until("the run to be resumed", LIMIT, || async {
            for n in &others {
                let run = api(&fleet, *n, Method::GET, &format!("/v1/runs/{id}"), None).await;
                if let Some(e) = run["journal"]
                    .as_array()
                    .and_then(|j| j.iter().find(|e| e["type"] == "resumed"))
                {
                    return e["atMs"].as_u64();
                }
            }
            None
        })
        .await?;
        let ms = at.saturating_sub(t0);
        println!("kill {k}: run resumed {ms} ms after the leader was killed");
        resumed.push(ms);
        let new_leader = fleet.wait_for_leader(&[leader], LIMIT).await?;
        api(
            &fleet,
            new_leader,
            Method::POST,
            &format!("/v1/runs/{id}/cancel"),
            None,
        )
        .await;
        fleet.restart(leader).await?;
    }
    summary("leader killed -> in-flight run resumed", resumed, "ms");
    Ok(())
}
