//! Failure handling: RPC authentication and body errors map to 401/400/413 without
//! hurting the node; a leader cut off from quorum times out instead of hanging.

mod common;

use std::time::{Duration, Instant};

use common::{SECRET, Set, start_nodes, voters, wait_leader};
use lifeboat_raft::{ReadError, WriteError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_rejections_do_not_hurt_the_node() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_nodes(root.path(), 1, |o| o.max_rpc_body_bytes = 128 * 1024).await;
    nodes[0].node.bootstrap(voters(&nodes)).await.unwrap();
    wait_leader(&[&nodes[0]]).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", nodes[0].addr);
    let vote = serde_json::json!({"vote": {"leader_id": {"term": 0, "node_id": 9}, "committed": false}, "last_log_id": null});
    let post = |path: &str, auth: Option<&str>, body: Vec<u8>| {
        let mut req = http.post(url(path)).body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let good = format!("Bearer {SECRET}");
    let body = serde_json::to_vec(&vote).unwrap();

    for path in ["/raft/append", "/raft/vote", "/raft/snapshot"] {
        let r = post(path, None, body.clone()).await.unwrap();
        assert_eq!(r.status(), 401, "{path} without secret");
        let r = post(path, Some("Bearer wrong"), body.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with wrong secret");
        let r = post(path, Some(&good), b"\x00garbage{".to_vec())
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} with garbage");
        let r = post(path, Some(&good), vec![b'x'; 200 * 1024])
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path} oversized");
    }
    let chunk = serde_json::json!({
        "vote": {"leader_id": {"term": 0, "node_id": 9}, "committed": false},
        "meta": {"last_log_id": null, "last_membership": {"log_id": null, "membership": {"configs": [], "nodes": {}}}, "snapshot_id": "x"},
        "offset": 0, "done": true, "data": "!!not base64!!"
    });
    let r = post(
        "/raft/snapshot",
        Some(&good),
        serde_json::to_vec(&chunk).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());

    // A well-formed, authenticated vote (stale term) is answered, and the node still works.
    let r = post("/raft/vote", Some(&good), body).await.unwrap();
    assert_eq!(r.status(), 200);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["Ok"]["vote_granted"], false, "{answer}");
    assert_eq!(
        nodes[0]
            .node
            .write(Set("k".into(), "v".into()))
            .await
            .unwrap(),
        None
    );
    nodes[0].stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_without_quorum_times_out() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_nodes(root.path(), 3, |o| o.write_timeout_ms = 800).await;
    let members = voters(&nodes);
    for n in &nodes {
        n.node.bootstrap(members.clone()).await.unwrap();
    }
    let l = wait_leader(&nodes.iter().collect::<Vec<_>>()).await;
    nodes[l]
        .node
        .write(Set("a".into(), "1".into()))
        .await
        .unwrap();
    for (i, n) in nodes.iter_mut().enumerate() {
        if i != l {
            n.stop().await;
        }
    }
    let started = Instant::now();
    let err = nodes[l]
        .node
        .write(Set("b".into(), "2".into()))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            WriteError::Timeout {
                timeout_ms: 800,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(
        err.to_string().contains("could not commit within 800 ms"),
        "{err}"
    );

    let err = nodes[l]
        .node
        .linearizable_read(|kv| kv.map.len())
        .await
        .unwrap_err();
    assert!(matches!(err, ReadError::Timeout { .. }), "{err:?}");
    nodes[l].stop().await;
}
