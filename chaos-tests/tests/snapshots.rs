//! Snapshots through the whole product: real nodes, real kubesim clusters, a file
//! object store. Capture, list, dry-run and real restore with namespace mapping,
//! failures named and nothing partial visible, schedules firing once across a leader
//! change.

use std::collections::BTreeSet;
use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

/// Create `objects` in a cluster through its REST API (as any client would).
async fn seed(fleet: &Fleet, cluster: &str) -> anyhow::Result<()> {
    let base = fleet.cluster_server(cluster).to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    post(
        "/api/v1/namespaces",
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}),
    )
    .await?
    .error_for_status()?;
    for i in 0..5 {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("cfg-{i}"),"namespace":"shop"},"data":{"i":i.to_string()}});
        post("/api/v1/namespaces/shop/configmaps", cm)
            .await?
            .error_for_status()?;
    }
    let secret = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"shop"},"stringData":{"password":"hunter2"}});
    post("/api/v1/namespaces/shop/secrets", secret)
        .await?
        .error_for_status()?;
    Ok(())
}

async fn get(fleet: &Fleet, id: u64, path: &str) -> anyhow::Result<Value> {
    Ok(fleet
        .request(id, Method::GET, path)
        .send()
        .await?
        .json()
        .await?)
}

/// Wait until a capture or restore leaves `running`; its view.
async fn wait_done(fleet: &Fleet, id: u64, path: &str, field: &str) -> anyhow::Result<Value> {
    wait_until(&format!("{path} to finish"), LONG, || async {
        let v = get(fleet, id, path).await.ok()?;
        (v[field]["state"]["state"] != "running").then_some(v)
    })
    .await
}

async fn names_in(fleet: &Fleet, cluster: &str, path: &str) -> BTreeSet<String> {
    let url = format!("{}{path}", fleet.cluster_server(cluster));
    let v: Value = reqwest::get(url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capture_then_restore_elsewhere_with_a_namespace_map() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions {
        clusters: vec!["src".into(), "dst".into()],
        ..FleetOptions::default()
    })
    .await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    seed(&fleet, "src").await?;

    // Capture through a follower (forwarded to the leader, which runs it).
    let r = fleet
        .request(follower, Method::POST, "/v1/snapshots")
        .json(&json!({"cluster": "src"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 202);
    let cap = r.json::<Value>().await?["capture"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(&fleet, follower, &format!("/v1/snapshots/{cap}"), "capture").await?;
    assert_eq!(v["capture"]["state"]["state"], "succeeded", "{v}");
    let snap = v["snapshot"]["id"].as_str().unwrap().to_string();
    assert!(v["snapshot"]["object_count"].as_u64().unwrap() >= 7, "{v}");
    let list = get(&fleet, follower, "/v1/snapshots?cluster=src").await?;
    assert_eq!(list["snapshots"][0]["id"], snap.as_str());

    // Dry run: a plan, and nothing written.
    let body = json!({"snapshot": snap, "target_cluster": "dst", "namespace_map": {"shop": "shop-dr"}, "dry_run": true});
    let r = fleet
        .request(leader, Method::POST, "/v1/restores")
        .json(&body)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 202);
    let rid = r.json::<Value>().await?["restore"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(
        &fleet,
        leader,
        &format!("/v1/restores/{rid}?report=true"),
        "restore",
    )
    .await?;
    assert_eq!(v["restore"]["state"]["state"], "succeeded", "{v}");
    assert!(
        v["restore"]["counts"]["would_create"].as_u64().unwrap() >= 7,
        "{v}"
    );
    let plan = v["report"]["results"].as_array().unwrap();
    assert!(
        plan.iter()
            .any(|o| o["namespace"] == "shop-dr" && o["name"] == "cfg-3"),
        "mapped in the plan"
    );
    assert!(
        names_in(&fleet, "dst", "/api/v1/namespaces/shop-dr/configmaps")
            .await
            .is_empty(),
        "dry run wrote"
    );

    // The real restore.
    let body =
        json!({"snapshot": snap, "target_cluster": "dst", "namespace_map": {"shop": "shop-dr"}});
    let r = fleet
        .request(follower, Method::POST, "/v1/restores")
        .json(&body)
        .send()
        .await?;
    let rid = r.json::<Value>().await?["restore"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(&fleet, follower, &format!("/v1/restores/{rid}"), "restore").await?;
    assert_eq!(v["restore"]["state"]["state"], "succeeded", "{v}");
    assert!(v["restore"]["rpo_ms"].as_u64().is_some());
    let cms = names_in(&fleet, "dst", "/api/v1/namespaces/shop-dr/configmaps").await;
    for i in 0..5 {
        assert!(
            cms.contains(&format!("cfg-{i}")),
            "cfg-{i} missing in dst: {cms:?}"
        );
    }
    assert!(
        names_in(&fleet, "dst", "/api/v1/namespaces/shop-dr/secrets")
            .await
            .contains("db")
    );
    // Restoring again with the default policy skips everything: idempotent.
    let r = fleet
        .request(leader, Method::POST, "/v1/restores")
        .json(&body)
        .send()
        .await?;
    let rid = r.json::<Value>().await?["restore"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(&fleet, leader, &format!("/v1/restores/{rid}"), "restore").await?;
    assert!(
        v["restore"]["counts"].get("created").is_none(),
        "second restore created objects: {v}"
    );

    // Metrics and audit saw it.
    let m = reqwest::get(format!("{}/metrics", fleet.node(leader).api))
        .await?
        .text()
        .await?;
    assert!(
        m.contains("lifeboat_snapshots_total{cluster=\"src\",outcome=\"success\"} 1"),
        "{m}"
    );
    assert!(m.contains("lifeboat_snapshot_last_success_timestamp_seconds{cluster=\"src\"}"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_captures_are_named_and_leave_nothing_visible() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions {
        clusters: vec!["src".into()],
        ..FleetOptions::default()
    })
    .await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    seed(&fleet, "src").await?;
    fleet
        .cluster_faults("src", json!({"error_rate": 1.0, "error_code": 500}))
        .await?;
    let r = fleet
        .request(leader, Method::POST, "/v1/snapshots")
        .json(&json!({"cluster": "src"}))
        .send()
        .await?;
    let cap = r.json::<Value>().await?["capture"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(&fleet, leader, &format!("/v1/snapshots/{cap}"), "capture").await?;
    assert_eq!(v["capture"]["state"]["state"], "failed");
    let reason = v["capture"]["state"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("500") || reason.to_lowercase().contains("list"),
        "reason names the failure: {reason}"
    );
    let list = get(&fleet, leader, "/v1/snapshots").await?;
    assert_eq!(
        list["snapshots"].as_array().unwrap().len(),
        0,
        "nothing partial visible: {list}"
    );
    assert_eq!(list["captures"][0]["state"]["state"], "failed");

    // Bad input: unknown cluster, unknown snapshot, bad policy.
    let r = fleet
        .request(leader, Method::POST, "/v1/snapshots")
        .json(&json!({"cluster": "nope"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    let r = fleet
        .request(leader, Method::POST, "/v1/restores")
        .json(&json!({"snapshot": "nope", "target_cluster": "src"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    let r = fleet
        .request(leader, Method::POST, "/v1/restores")
        .json(
            &json!({"snapshot": "nope", "target_cluster": "src", "policy": "overwrite-everything"}),
        )
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 422);

    // Healed, a retry succeeds.
    fleet
        .cluster_faults("src", json!({"error_rate": 0.0}))
        .await?;
    let r = fleet
        .request(leader, Method::POST, "/v1/snapshots")
        .json(&json!({"cluster": "src"}))
        .send()
        .await?;
    let cap = r.json::<Value>().await?["capture"]
        .as_str()
        .unwrap()
        .to_string();
    let v = wait_done(&fleet, leader, &format!("/v1/snapshots/{cap}"), "capture").await?;
    assert_eq!(v["capture"]["state"]["state"], "succeeded", "{v}");
    Ok(())
}

/// The firing keys of every scheduled capture start in an audit page.
fn firings(audit: &Value) -> Vec<String> {
    audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "snapshot.capture_started")
        .filter_map(|e| e["details"]["firing"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_fires_once_per_firing_across_a_leader_change() -> anyhow::Result<()> {
    let mut opts = FleetOptions {
        clusters: vec!["src".into()],
        ..FleetOptions::default()
    };
    opts.extra_yaml.push_str(
        "snapshots:\n  schedules:\n    - cluster: src\n      cron: \"*/2 * * * * *\"\n  retention:\n    keep_last: 3\n",
    );
    let fleet = Fleet::start(opts).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    wait_until("two scheduled snapshots", LONG, || async {
        let v = get(&fleet, leader, "/v1/snapshots").await.ok()?;
        (v["snapshots"].as_array()?.len() >= 2).then_some(())
    })
    .await?;
    fleet.kill(leader)?;
    let new_leader = fleet.wait_for_leader(&[leader], LONG).await?;
    let before = get(&fleet, new_leader, "/v1/audit?limit=1000").await?;
    let started_before = firings(&before).len();
    wait_until("the new leader to keep firing", LONG, || async {
        let v = get(&fleet, new_leader, "/v1/audit?limit=1000").await.ok()?;
        (firings(&v).len() >= started_before + 2).then_some(())
    })
    .await?;
    // Retention (keep 3) runs after each capture: wait for a moment after it ran.
    wait_until("retention to have deleted old snapshots", LONG, || async {
        let audit = get(&fleet, new_leader, "/v1/audit?limit=1000").await.ok()?;
        let deleted = audit["entries"]
            .as_array()?
            .iter()
            .any(|e| e["action"] == "snapshot.deleted");
        let state = get(&fleet, new_leader, "/v1/snapshots").await.ok()?;
        (deleted && state["snapshots"].as_array()?.len() <= 3).then_some(())
    })
    .await?;
    // Every firing key was captured at most once, whichever leader fired it.
    let audit = get(&fleet, new_leader, "/v1/audit?limit=1000").await?;
    let firings = firings(&audit);
    assert!(firings.len() >= started_before + 2, "{firings:?}");
    let unique: BTreeSet<_> = firings.iter().collect();
    assert_eq!(
        unique.len(),
        firings.len(),
        "a firing was captured twice: {firings:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedules_set_through_the_api_fire_and_stop_when_deleted() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions {
        clusters: vec!["src".into()],
        ..FleetOptions::default()
    })
    .await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    let put = |id: &str, body: Value| {
        fleet
            .request(follower, Method::PUT, &format!("/v1/schedules/{id}"))
            .json(&body)
            .send()
    };
    // Bad input: a cron without seconds, an unknown cluster, a bad id.
    let r = put("every", json!({"cluster": "src", "cron": "* * * * *"})).await?;
    assert_eq!(r.status().as_u16(), 422, "{}", r.text().await?);
    let r = put("every", json!({"cluster": "nope", "cron": "*/2 * * * * *"})).await?;
    assert_eq!(r.status().as_u16(), 404);
    let r = put("Bad#Id", json!({"cluster": "src", "cron": "*/2 * * * * *"})).await?;
    assert_eq!(r.status().as_u16(), 422);
    // A good one fires.
    let r = put("every", json!({"cluster": "src", "cron": "*/2 * * * * *"})).await?;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await?);
    assert!(r.json::<Value>().await?["next_firing"].is_string());
    let list = get(&fleet, leader, "/v1/schedules").await?;
    assert_eq!(list["schedules"][0]["source"], "api");
    wait_until("two snapshots from the API schedule", LONG, || async {
        let v = get(&fleet, leader, "/v1/snapshots").await.ok()?;
        let from_schedule = v["snapshots"]
            .as_array()?
            .iter()
            .filter(|s| s["trigger"] == "schedule:every")
            .count();
        (from_schedule >= 2).then_some(())
    })
    .await?;
    // Deleted, it stops: after the in-flight capture settles, the count stays put for
    // several periods.
    let r = fleet
        .request(leader, Method::DELETE, "/v1/schedules/every")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let settled = wait_until("captures to settle", LONG, || async {
        let v = get(&fleet, leader, "/v1/snapshots").await.ok()?;
        let running = v["captures"]
            .as_array()?
            .iter()
            .any(|c| c["state"]["state"] == "running");
        (!running).then(|| v["snapshots"].as_array().map_or(0, Vec::len))
    })
    .await?;
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < end {
        let v = get(&fleet, leader, "/v1/snapshots").await?;
        assert_eq!(
            v["snapshots"].as_array().unwrap().len(),
            settled,
            "fired after delete"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}
