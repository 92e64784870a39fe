//! Raft fault tests on real `lifeboat serve` processes: leader killed under load,
//! restart and catch-up, minority isolation, catch-up through snapshot install.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chaos_tests::{Fleet, FleetOptions, wait_until};
use serde_json::json;

const LONG: Duration = Duration::from_secs(30);

/// Writes `prefix/N` keys round-robin through every node not marked dead, recording the
/// acknowledged ones, until `stop`, `max` attempts or 60 s.
async fn writer(
    fleet: Arc<Fleet>,
    prefix: &str,
    dead: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    max: u64,
) -> Vec<String> {
    let mut acked = Vec::new();
    let ids = fleet.ids();
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..max {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        let id = ids[i as usize % ids.len()];
        if id == dead.load(Ordering::SeqCst) {
            continue;
        }
        let key = format!("{prefix}/{i:05}");
        match fleet.put(id, &key, json!(i)).await {
            Ok(_) => acked.push(key),
            // Refused during the election: pace the retries instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    acked
}

/// Wait until node `id`'s own applied state holds every key in `keys`.
async fn wait_has_all(fleet: &Fleet, id: u64, prefix: &str, keys: &[String]) -> anyhow::Result<()> {
    let what = format!("node {id} to hold all {} acknowledged keys", keys.len());
    wait_until(&what, LONG, || async move {
        let have = fleet.local_keys(id, prefix).await?;
        keys.iter().all(|k| have.contains(k)).then_some(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n--- node {id} log ---\n{}", fleet.log_tail(id, 30)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_leader_under_writes_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let fleet = Arc::new(Fleet::start(FleetOptions::default()).await?);
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let dead = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let w = tokio::spawn(writer(
        fleet.clone(),
        "w",
        dead.clone(),
        stop.clone(),
        2_000,
    ));

    // Let some writes land, then kill -9 the leader mid-stream.
    wait_until("30 writes before the kill", LONG, || async {
        (fleet.local_keys(leader, "w/").await?.len() >= 30).then_some(())
    })
    .await?;
    dead.store(leader, Ordering::SeqCst);
    fleet.kill(leader)?;
    let new_leader = fleet.wait_for_leader(&[leader], LONG).await?;
    assert_ne!(new_leader, leader);

    // The survivors keep committing.
    let before = fleet
        .local_keys(new_leader, "w/")
        .await
        .unwrap_or_default()
        .len();
    wait_until("30 more writes after the kill", LONG, || async {
        (fleet.local_keys(new_leader, "w/").await?.len() >= before + 30).then_some(())
    })
    .await?;
    stop.store(true, Ordering::SeqCst);
    let acked = w.await?;
    assert!(
        acked.len() >= 60,
        "only {} writes acknowledged",
        acked.len()
    );

    for id in fleet.ids().into_iter().filter(|i| *i != leader) {
        wait_has_all(&fleet, id, "w/", &acked).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_restarts_from_its_data_dir_and_catches_up() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let victim = fleet
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    let mut keys = Vec::new();
    for i in 0..20 {
        let k = format!("r/{i:03}");
        fleet.put(leader, &k, json!(i)).await?;
        keys.push(k);
    }
    wait_has_all(&fleet, victim, "r/", &keys).await?;
    fleet.kill(victim)?;
    for i in 20..60 {
        let k = format!("r/{i:03}");
        fleet.put(leader, &k, json!(i)).await?;
        keys.push(k);
    }
    fleet.restart(victim).await?;
    // What it had before the kill is there as soon as it serves (read from its data dir).
    let early = fleet.local_keys(victim, "r/").await.unwrap_or_default();
    assert!(
        early.len() >= 20,
        "node lost its own data: {} keys after restart",
        early.len()
    );
    wait_has_all(&fleet, victim, "r/", &keys).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_leader_cannot_commit_while_the_majority_does() -> anyhow::Result<()> {
    let opts = FleetOptions {
        proxied: true,
        ..FleetOptions::default()
    };
    let fleet = Fleet::start(opts).await?;
    let old = fleet.wait_for_leader(&[], LONG).await?;
    fleet.put(old, "p/before", json!(0)).await?;
    fleet.isolate(old);

    // A write on the isolated node fails with a clear error instead of hanging.
    let r = fleet
        .request(old, reqwest::Method::PUT, "/v1/kv/p/isolated")
        .json(&json!({ "value": 1 }))
        .send()
        .await?;
    assert_eq!(
        r.status().as_u16(),
        503,
        "isolated write must fail with 503"
    );
    let body: serde_json::Value = r.json().await?;
    let msg = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("commit") || msg.contains("leader"),
        "unclear error: {body}"
    );

    // The majority elects a new leader and keeps committing.
    let new = fleet.wait_for_leader(&[old], LONG).await?;
    assert_ne!(new, old);
    let mut keys = vec!["p/before".to_string()];
    for i in 0..10 {
        let k = format!("p/majority-{i}");
        fleet.put(new, &k, json!(i)).await?;
        keys.push(k);
    }
    let on_old = fleet.local_keys(old, "p/").await.unwrap_or_default();
    assert!(
        !on_old.iter().any(|k| k.starts_with("p/majority")),
        "isolated node saw majority writes"
    );

    // After healing, the old leader converges on the majority's log; the write it could
    // not commit is gone everywhere.
    fleet.heal(old);
    for id in fleet.ids() {
        wait_has_all(&fleet, id, "p/", &keys).await?;
        let have = fleet.local_keys(id, "p/").await.unwrap_or_default();
        assert!(
            !have.contains(&"p/isolated".to_string()),
            "uncommitted write visible on node {id}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_behind_a_compacted_log_catches_up_by_snapshot() -> anyhow::Result<()> {
    let mut opts = FleetOptions::default();
    opts.extra_yaml
        .push_str("  snapshot_logs_since_last: 20\n  max_in_snapshot_log_to_keep: 0\n");
    let fleet = Fleet::start(opts).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let victim = fleet
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    fleet.kill(victim)?;
    let mut keys = Vec::new();
    for i in 0..120 {
        let k = format!("s/{i:03}");
        fleet.put(leader, &k, json!(i)).await?;
        keys.push(k);
    }
    let leader_snapshot = wait_until("the leader to snapshot and compact", LONG, || async {
        let s = fleet.status(leader).await?;
        s["raft"]["snapshot_index"].as_u64().filter(|i| *i >= 100)
    })
    .await?;
    fleet.restart(victim).await?;
    wait_has_all(&fleet, victim, "s/", &keys).await?;
    let s = fleet.status(victim).await.expect("status");
    let got = s["raft"]["snapshot_index"].as_u64().unwrap_or(0);
    assert!(
        got >= leader_snapshot,
        "victim snapshot index {got} < leader's {leader_snapshot}: no snapshot install"
    );
    Ok(())
}
