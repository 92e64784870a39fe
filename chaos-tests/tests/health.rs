//! Health-quorum chaos tests on real processes: orchestrator nodes, kubesim clusters,
//! and fault proxies on every node-to-node and node-to-cluster path.
//!
//! Settings are scaled down (probe every 300 ms, window 1.5 s) so each test runs in
//! seconds; the logic is the same as with the defaults.

use std::time::{Duration, Instant};

use chaos_tests::{Fleet, FleetOptions, wait_until};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(40);
const WINDOW: Duration = Duration::from_millis(1500);

fn options(nodes: u64, clusters: &[&str], proxied: bool) -> FleetOptions {
    let mut o = FleetOptions {
        nodes,
        proxied,
        clusters: clusters.iter().map(|c| c.to_string()).collect(),
        ..FleetOptions::default()
    };
    o.extra_yaml.push_str(
        "health:\n  interval: 300ms\n  timeout: 250ms\n  window: 1500ms\n  recovery: 900ms\n  \
         vote_ttl: 1200ms\n  cooldown: 30m\n",
    );
    o
}

fn lost_events(view: &Value) -> usize {
    view["events"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| e["to"] == "Lost").count())
}

/// Poll cluster `name` through node `via` for `span`, failing if it is ever `Lost`.
async fn never_lost(fleet: &Fleet, via: u64, name: &str, span: Duration) -> anyhow::Result<Value> {
    let end = Instant::now() + span;
    let mut last = Value::Null;
    while Instant::now() < end {
        if let Some(v) = fleet.cluster_view(via, name).await {
            anyhow::ensure!(
                v["verdict"] != "Lost" && lost_events(&v) == 0,
                "declared Lost: {v}"
            );
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_that_goes_down_or_hangs_is_lost_exactly_once() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a", "b", "c"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    for name in ["a", "b", "c"] {
        fleet.wait_verdict(leader, name, "Healthy", LONG).await?;
    }
    for (name, mode) in [("a", "down"), ("b", "hang")] {
        let t0 = Instant::now();
        fleet.cluster_fault(name, mode).await?;
        let v = fleet.wait_verdict(leader, name, "Lost", LONG).await?;
        println!(
            "cluster {name} ({mode}): Lost after {} ms wall, detection {} ms leader time",
            t0.elapsed().as_millis(),
            v["detection_ms"]
        );
        assert!(v["detection_ms"].as_u64().unwrap() >= WINDOW.as_millis() as u64);
        let votes = v["votes"].as_array().unwrap();
        assert!(
            votes
                .iter()
                .filter(|v| v["observation"] == "unhealthy")
                .count()
                >= 2,
            "{v}"
        );
        // Several more windows: still exactly one Lost.
        let later = never_changes_from(&fleet, leader, name, "Lost", WINDOW * 3).await?;
        assert_eq!(lost_events(&later), 1, "{later}");
        assert_eq!(later["failover"]["state"], "pending");
    }
    fleet.wait_verdict(leader, "c", "Healthy", LONG).await?;
    Ok(())
}

/// Read `n` events from `GET /v1/events?after=0` (Server-Sent Events); their `to`.
async fn read_verdict_stream(fleet: &Fleet, via: u64, n: usize) -> anyhow::Result<Vec<String>> {
    let mut resp = fleet
        .request(via, reqwest::Method::GET, "/v1/events?after=0")
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "events: {}", resp.status());
    let ctype = resp.headers()["content-type"].to_str()?.to_string();
    anyhow::ensure!(ctype.starts_with("text/event-stream"), "{ctype}");
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + LONG;
    while out.len() < n && Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await??;
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk));
        out = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .map(|e| e["to"].as_str().unwrap_or_default().to_string())
            .collect();
    }
    Ok(out)
}

/// Poll for `span`; the verdict must stay `verdict` throughout.
async fn never_changes_from(
    fleet: &Fleet,
    via: u64,
    name: &str,
    verdict: &str,
    span: Duration,
) -> anyhow::Result<Value> {
    let end = Instant::now() + span;
    let mut last = Value::Null;
    while Instant::now() < end {
        if let Some(v) = fleet.cluster_view(via, name).await {
            anyhow::ensure!(v["verdict"] == verdict, "left {verdict}: {v}");
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_losing_its_path_to_a_cluster_never_makes_it_lost() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    fleet.cut_cluster_path(1, "a");
    let last = never_lost(&fleet, leader, "a", WINDOW * 8).await?;
    let node1 = last["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["node"] == 1)
        .cloned()
        .unwrap();
    assert_eq!(
        node1["observation"], "unhealthy",
        "the cut must be visible in node 1's vote: {last}"
    );
    assert_eq!(last["verdict"], "Suspect");
    fleet.heal_cluster_path(1, "a");
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_off_minority_declares_nothing_and_changes_nothing() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(5, &["a"], true)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    // The minority: two nodes that are not the leader, cut off from everyone, and who
    // also lose their paths to the cluster.
    let minority: Vec<u64> = fleet
        .ids()
        .into_iter()
        .filter(|i| *i != leader)
        .take(2)
        .collect();
    let majority: Vec<u64> = fleet
        .ids()
        .into_iter()
        .filter(|i| !minority.contains(i))
        .collect();
    let before = fleet.cluster_view(leader, "a").await.unwrap();
    for m in &minority {
        fleet.isolate(*m);
        fleet.cut_cluster_path(*m, "a");
    }
    let new_leader = fleet.wait_for_leader(&minority, LONG).await?;
    assert!(majority.contains(&new_leader));
    let last = never_changes_from(&fleet, new_leader, "a", "Healthy", WINDOW * 6).await?;
    for m in &minority {
        let theirs = last["votes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["node"] == *m)
            .cloned();
        let theirs = theirs.unwrap_or(Value::Null);
        assert_ne!(
            theirs["observation"], "unhealthy",
            "minority node {m}'s view was committed: {last}"
        );
    }
    assert_eq!(
        last["events"].as_array().map(Vec::len),
        before["events"].as_array().map(Vec::len),
        "no verdict change"
    );
    // A write through the minority fails cleanly.
    let r = fleet
        .request(minority[0], reqwest::Method::PUT, "/v1/kv/minority")
        .json(&serde_json::json!({ "value": 1 }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 503);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flapping_cluster_is_never_lost() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    // Down and up faster than the window, 10 times.
    for i in 0..10 {
        fleet
            .cluster_fault("a", if i % 2 == 0 { "down" } else { "healthy" })
            .await?;
        never_lost(&fleet, leader, "a", WINDOW / 2).await?;
    }
    fleet.cluster_fault("a", "healthy").await?;
    let view = fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    let suspected = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["to"] == "Suspect");
    assert!(suspected, "the flaps must have been seen: {view}");
    assert_eq!(lost_events(&view), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_cluster_that_returns_stays_fenced_until_unfenced() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.cluster_fault("a", "down").await?;
    fleet.wait_verdict(leader, "a", "Lost", LONG).await?;
    let metrics = reqwest::get(format!("{}/metrics", fleet.node(leader).api))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("lifeboat_cluster_verdict{cluster=\"a\",verdict=\"Lost\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lifeboat_cluster_detection_seconds{cluster=\"a\"}"),
        "{metrics}"
    );
    fleet.cluster_fault("a", "healthy").await?;
    fleet.wait_verdict(leader, "a", "Fenced", LONG).await?;
    never_changes_from(&fleet, leader, "a", "Fenced", WINDOW * 4).await?;
    // The verdict stream replays every change from the start, in order.
    let seen = read_verdict_stream(&fleet, leader, 3).await?;
    assert_eq!(seen, ["Suspect", "Lost", "Fenced"], "verdict stream");
    // A viewer may not unfence; an operator may.
    let url = format!("{}/v1/clusters/a/unfence", fleet.node(leader).api);
    let http = reqwest::Client::new();
    let r = http
        .post(&url)
        .bearer_auth(&fleet.viewer_token)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403);
    let r = http
        .post(&url)
        .bearer_auth(&fleet.operator_token)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_own_network_is_broken_abstains() -> anyhow::Result<()> {
    let names = ["a", "b", "c"];
    let fleet = Fleet::start(options(3, &names, false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    for n in names {
        fleet.wait_verdict(leader, n, "Healthy", LONG).await?;
    }
    let sick = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    for n in names {
        fleet.cut_cluster_path(sick, n);
    }
    wait_until("the cut-off node to abstain", LONG, || async {
        let v = fleet.cluster_view(leader, "a").await?;
        let mine = v["votes"]
            .as_array()?
            .iter()
            .find(|v| v["node"] == sick)?
            .clone();
        (mine["abstain"] == true).then_some(())
    })
    .await?;
    for n in names {
        never_lost(&fleet, leader, n, WINDOW * 2).await?;
    }
    for n in names {
        fleet.heal_cluster_path(sick, n);
    }
    for n in names {
        fleet.wait_verdict(leader, n, "Healthy", LONG).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_leader_dying_while_a_cluster_goes_down_gives_one_verdict() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    fleet.cluster_fault("a", "down").await?;
    fleet.wait_verdict(leader, "a", "Suspect", LONG).await?;
    fleet.kill(leader)?;
    let new_leader = fleet.wait_for_leader(&[leader], LONG).await?;
    let v = fleet.wait_verdict(new_leader, "a", "Lost", LONG).await?;
    let later = never_changes_from(&fleet, new_leader, "a", "Lost", WINDOW * 3).await?;
    assert_eq!(lost_events(&later), 1, "{later}");
    let survivor = fleet
        .ids()
        .into_iter()
        .find(|i| *i != leader && *i != new_leader)
        .unwrap();
    let there = fleet.cluster_view(survivor, "a").await.unwrap();
    assert_eq!(
        there["lost_at_ms"], v["lost_at_ms"],
        "every node holds the same verdict"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_kubeconfig_is_a_credential_problem_not_a_dead_cluster() -> anyhow::Result<()> {
    let fleet = Fleet::start(options(3, &["a"], false)).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.wait_verdict(leader, "a", "Healthy", LONG).await?;
    let broken = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    std::fs::write(
        fleet.dir().join(format!("node-{broken}-a.kubeconfig")),
        "{ this is not a kubeconfig",
    )?;
    fleet.kill(broken)?;
    fleet.restart(broken).await?;
    let vote = wait_until("the broken node's vote to say unknown", LONG, || async {
        let v = fleet.cluster_view(leader, "a").await?;
        let mine = v["votes"]
            .as_array()?
            .iter()
            .find(|v| v["node"] == broken)?
            .clone();
        (mine["observation"] == "unknown").then_some(mine)
    })
    .await?;
    assert!(
        vote["reason"].as_str().unwrap().contains("kubeconfig"),
        "{vote}"
    );
    never_changes_from(&fleet, leader, "a", "Healthy", WINDOW * 2).await?;
    Ok(())
}
