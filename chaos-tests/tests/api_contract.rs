//! The HTTP API contract on a real 3-node group: authentication and roles on every
//! route, the error shape, bad bodies, forwarding to the leader, metrics, audit, and
//! a restart that never re-initialises the group.

use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions};
use reqwest::Method;
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(30);

/// (method, path, least role)
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/v1/status", "viewer"),
    ("GET", "/v1/audit", "viewer"),
    ("GET", "/v1/clusters", "viewer"),
    ("GET", "/v1/kv", "viewer"),
    ("GET", "/v1/kv/some/key", "viewer"),
    ("PUT", "/v1/kv/some/key", "operator"),
    ("DELETE", "/v1/kv/some/key", "operator"),
    ("GET", "/v1/runbooks", "viewer"),
    ("GET", "/v1/runbooks/x", "viewer"),
    ("PUT", "/v1/runbooks/x", "admin"),
    ("DELETE", "/v1/runbooks/x", "admin"),
    ("GET", "/v1/clusters", "viewer"),
    ("POST", "/v1/clusters/x/fence", "operator"),
    ("POST", "/v1/clusters/x/unfence", "operator"),
    ("GET", "/v1/events", "viewer"),
    ("GET", "/v1/no-such-route", "viewer"),
];

async fn call(
    fleet: &Fleet,
    id: u64,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let url = format!("{}{path}", fleet.node(id).api);
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(m, url)
        .json(&json!({ "value": 1 }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "error shape: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"].get("details").is_some(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_needs_a_valid_token_and_enough_role() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    for (method, path, role) in ROUTES {
        let (s, body) = call(&fleet, 1, method, path, None).await;
        assert_eq!(s, 401, "{method} {path} without token");
        assert_error(&body, "unauthenticated");
        let (s, body) = call(&fleet, 1, method, path, Some("not-a-token")).await;
        assert_eq!(s, 401, "{method} {path} with a wrong token");
        assert_error(&body, "unauthenticated");
        let too_low: &[&str] = match *role {
            "operator" => &["viewer"],
            "admin" => &["viewer", "operator"],
            _ => &[],
        };
        for low in too_low {
            let token = if *low == "viewer" {
                &fleet.viewer_token
            } else {
                &fleet.operator_token
            };
            let (s, body) = call(&fleet, 1, method, path, Some(token)).await;
            assert_eq!(s, 403, "{method} {path} as {low}");
            assert_error(&body, "forbidden");
            assert!(body["error"]["message"].as_str().unwrap().contains(role));
        }
        // (The event stream never ends: its success is checked in the health tests.)
        if *path != "/v1/events" {
            let (s, _) = call(&fleet, 1, method, path, Some(&fleet.admin_token)).await;
            assert!(s != 401 && s != 403, "{method} {path} as admin got {s}");
        }
    }
    // The probes need no token.
    for probe in ["/healthz", "/readyz", "/metrics"] {
        let r = reqwest::get(format!("{}{probe}", fleet.node(1).api)).await?;
        assert_eq!(r.status().as_u16(), 200, "{probe}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_and_oversized_bodies_get_4xx_and_the_node_keeps_serving() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let http = reqwest::Client::new();
    let put = |body: Vec<u8>| {
        http.put(format!("{}/v1/kv/x", fleet.node(2).api))
            .bearer_auth(&fleet.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = put(b"{{{ not json".to_vec()).await?;
    assert_eq!(r.status().as_u16(), 400);
    assert_error(&r.json().await?, "bad_request");
    let r = put(br#"{"value": 1, "surprise": true}"#.to_vec()).await?;
    assert_eq!(r.status().as_u16(), 400, "unknown body fields are refused");
    let r = put(vec![b'a'; 2 * 1024 * 1024]).await?;
    assert_eq!(r.status().as_u16(), 413);
    let r = http
        .get(format!("{}/v1/audit?limit=lots", fleet.node(2).api))
        .bearer_auth(&fleet.admin_token)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 400);

    // Raft routes: the cluster secret is required, garbage is refused.
    let raft_url = |id: u64| {
        let cfg = std::fs::read_to_string(&fleet.node(id).config).unwrap();
        let line = cfg
            .lines()
            .find(|l| l.trim_start().starts_with("raft: 127."))
            .unwrap()
            .to_string();
        format!(
            "http://{}/raft/append",
            line.trim().trim_start_matches("raft: ")
        )
    };
    let secret = std::fs::read_to_string(fleet.dir().join("cluster.secret"))?;
    let r = http.post(raft_url(2)).body("{}").send().await?;
    assert_eq!(
        r.status().as_u16(),
        401,
        "raft RPC without the cluster secret"
    );
    let r = http
        .post(raft_url(2))
        .bearer_auth(&fleet.admin_token)
        .body("{}")
        .send()
        .await?;
    assert_eq!(
        r.status().as_u16(),
        401,
        "an API token is not the cluster secret"
    );
    let r = http
        .post(raft_url(2))
        .bearer_auth(secret.trim())
        .body("garbage")
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 400);

    // Still serving, still committing.
    assert!(
        reqwest::get(format!("{}/healthz", fleet.node(2).api))
            .await?
            .status()
            .is_success()
    );
    fleet.put(2, "after/garbage", json!(1)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follower_writes_are_forwarded_and_reads_are_linearizable() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let followers: Vec<u64> = fleet.ids().into_iter().filter(|i| *i != leader).collect();
    for i in 0..20 {
        let via = followers[i % 2];
        let read_on = followers[(i + 1) % 2];
        let r = fleet
            .request(via, Method::PUT, &format!("/v1/kv/lin/{i}"))
            .json(&json!({ "value": i }))
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 200);
        let served_by = r.headers()["x-lifeboat-served-by"].to_str()?.to_string();
        assert_eq!(
            served_by,
            leader.to_string(),
            "a follower's write is served by the leader"
        );
        // Read immediately on the other follower: linearizable, so it sees the write.
        let got: Value = fleet
            .request(read_on, Method::GET, &format!("/v1/kv/lin/{i}"))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(
            got["value"],
            json!(i),
            "stale read on node {read_on}: {got}"
        );
    }
    // Compare-and-set through a follower.
    let r = fleet
        .request(followers[0], Method::PUT, "/v1/kv/lin/0")
        .json(&json!({ "value": 0, "expected_version": 1 }))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 409);
    assert_error(&r.json().await?, "conflict");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_and_audit_show_raft_state_and_elections() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.put(leader, "m/1", json!(1)).await?;
    let text = reqwest::get(format!("{}/metrics", fleet.node(leader).api))
        .await?
        .text()
        .await?;
    for needle in [
        "lifeboat_raft_term ",
        "lifeboat_raft_is_leader 1",
        &format!("lifeboat_raft_leader_id {leader}"),
        "lifeboat_raft_commit_index ",
        "lifeboat_raft_applied_index ",
        "lifeboat_api_requests_total{method=\"PUT\",route=\"/v1/kv/{*key}\",status=\"200\"}",
        "lifeboat_api_request_duration_seconds_bucket{",
    ] {
        assert!(text.contains(needle), "metrics lack `{needle}`:\n{text}");
    }
    let audit: Value = fleet
        .request(leader, Method::GET, "/v1/audit")
        .send()
        .await?
        .json()
        .await?;
    let elected = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "leader.elected" && e["target"] == format!("node-{leader}"));
    assert!(
        elected,
        "no leader.elected audit entry for node {leader}: {audit}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_restart_resumes_the_group_without_reinitialising() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.put(leader, "keep/1", json!("kept")).await?;
    let term_before = fleet.status(leader).await.unwrap()["raft"]["current_term"]
        .as_u64()
        .unwrap();
    let index_before = fleet.status(leader).await.unwrap()["raft"]["last_log_index"]
        .as_u64()
        .unwrap();
    for id in fleet.ids() {
        fleet.kill(id)?;
    }
    for id in fleet.ids() {
        fleet.restart(id).await?;
    }
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let got: Value = fleet
        .request(leader, Method::GET, "/v1/kv/keep/1")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got["value"], "kept");
    let status = fleet.status(leader).await.unwrap();
    // The term never goes back (openraft may resume the old leader in its own term).
    assert!(status["raft"]["current_term"].as_u64().unwrap() >= term_before);
    assert!(status["raft"]["last_log_index"].as_u64().unwrap() >= index_before);
    assert_eq!(status["members"].as_array().unwrap().len(), 3);
    for id in fleet.ids() {
        let log = std::fs::read_to_string(&fleet.node(id).log)?;
        assert_eq!(
            log.matches("node starting").count(),
            2,
            "node {id} started twice"
        );
        assert!(
            log.matches("initialised the group").count() <= 1,
            "node {id} bootstrapped twice"
        );
        let second_start = log.rsplit("node starting").next().unwrap_or_default();
        assert!(
            !second_start.contains("initialised the group"),
            "node {id} re-initialised"
        );
        assert!(
            second_start.contains("group already initialised"),
            "node {id}: {second_start}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_never_reach_the_logs() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    fleet.put(leader, "s/1", json!(1)).await?;
    let _ = call(
        &fleet,
        1,
        "GET",
        "/v1/status",
        Some("wrong-token-value-xyz"),
    )
    .await;
    let secret = std::fs::read_to_string(fleet.dir().join("cluster.secret"))?;
    for id in fleet.ids() {
        let log = std::fs::read_to_string(&fleet.node(id).log)?;
        for (what, s) in [
            ("admin token", fleet.admin_token.as_str()),
            ("viewer token", fleet.viewer_token.as_str()),
            ("cluster secret", secret.trim()),
            ("presented token", "wrong-token-value-xyz"),
        ] {
            assert!(!log.contains(s), "node {id} logged the {what}");
        }
    }
    Ok(())
}

const BROKEN_RUNBOOK: &str = "apiVersion: lifeboat.dev/v1
kind: Runbook
metadata:
  name: broken
spec:
  steps:
    - id: wait
      uses: sleep
      with: {duration: 1s}
      needs: [nowhere]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runbooks_are_linted_before_they_are_stored() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    let put = |id: u64, name: &str, body: &str| {
        fleet
            .request(id, Method::PUT, &format!("/v1/runbooks/{name}"))
            .header("content-type", "application/yaml")
            .body(body.to_string())
            .send()
    };
    // Broken: 422 with the linter's diagnostics (line and column), nothing stored.
    let r = put(follower, "broken", BROKEN_RUNBOOK).await?;
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().await?;
    assert_error(&body, "invalid");
    let diag = body["error"]["details"]["diagnostics"].as_array().unwrap();
    let rb012 = diag
        .iter()
        .find(|d| d["code"] == "RB012")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (rb012["line"].as_u64(), rb012["column"].as_u64()),
        (Some(10), Some(15)),
        "{rb012}"
    );
    let list: Value = fleet
        .request(leader, Method::GET, "/v1/runbooks")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        list["runbooks"].as_array().unwrap().len(),
        0,
        "nothing stored: {list}"
    );
    // Garbage YAML is a 422 too, and the node keeps serving.
    let r = put(leader, "junk", "{{{: [").await?;
    assert_eq!(r.status().as_u16(), 422);
    // A good runbook, through a follower: stored with its digest, readable back.
    let good = include_str!("../../runbooks/examples/failover.yaml");
    let r = put(follower, "failover-eu-west", good).await?;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await?);
    let got: Value = fleet
        .request(follower, Method::GET, "/v1/runbooks/failover-eu-west")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got["yaml"], good);
    assert!(got["digest"].as_str().unwrap().starts_with("sha256:"));
    // The URL must match metadata.name.
    let r = put(leader, "other-name", good).await?;
    assert_eq!(r.status().as_u16(), 422);
    Ok(())
}
