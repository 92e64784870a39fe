//! Compaction and snapshot install: a node restarted after the leader purged its log
//! catches up through chunked InstallSnapshot; a single node restarted from its data dir
//! recovers snapshot + log.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use common::{Set, TestNode, WAIT, start_nodes, voters, wait_leader};
use lifeboat_raft::Bootstrap;

const VALUE_BYTES: usize = 16 * 1024;

fn big(i: usize) -> Set {
    Set(
        format!("k{i:03}"),
        format!("{i:03}").repeat(VALUE_BYTES / 3),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_node_catches_up_via_chunked_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_nodes(root.path(), 3, |o| {
        o.snapshot_logs_since_last = 20;
        o.max_in_snapshot_log_to_keep = 0;
    })
    .await;
    let members = voters(&nodes);
    for n in &nodes {
        n.node.bootstrap(members.clone()).await.unwrap();
    }
    let l = wait_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let f = (l + 1) % 3;
    for i in 0..5 {
        nodes[l].node.write(big(i)).await.unwrap();
    }
    let applied = nodes[l].node.status().last_applied_index.unwrap();
    nodes[f].wait_applied(applied).await;
    let lagging_last_log = nodes[f].node.status().last_log_index.unwrap();
    nodes[f].stop().await;

    // ~1.2 MiB of state, well past the 20-entry snapshot threshold.
    for i in 5..75 {
        nodes[l].node.write(big(i)).await.unwrap();
    }
    let purged = nodes[l]
        .node
        .raft()
        .wait(Some(WAIT))
        .metrics(
            |m| m.purged.is_some_and(|p| p.index > lagging_last_log + 20),
            "leader purged",
        )
        .await
        .expect("leader compacted its log")
        .purged
        .unwrap();

    let mut opts = common::test_opts(nodes[f].id, &nodes[f].dir);
    opts.snapshot_logs_since_last = 20;
    opts.max_in_snapshot_log_to_keep = 0;
    nodes[f] = TestNode::start(opts, nodes[f].port).await;
    let applied = nodes[l].node.status().last_applied_index.unwrap();
    nodes[f].wait_applied(applied).await;

    let st = nodes[f].node.status();
    assert!(
        st.snapshot_index >= Some(purged.index),
        "follower installed no snapshot: {st:?}"
    );
    let chunks = nodes[f].snapshot_requests.load(Ordering::SeqCst);
    assert!(
        chunks >= 2,
        "a snapshot of ~1 MiB must arrive in several 512 KiB chunks, got {chunks}"
    );
    let leader_state = nodes[l].node.read_local(|kv| kv.map.clone());
    let follower_state = nodes[f].node.read_local(|kv| kv.map.clone());
    assert_eq!(leader_state.len(), 75);
    assert!(
        leader_state == follower_state,
        "follower state differs after catch-up"
    );

    for n in &mut nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_restart_recovers_snapshot_and_log() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_nodes(root.path(), 1, |_| {}).await;
    let members = voters(&nodes);
    assert_eq!(
        nodes[0].node.bootstrap(members.clone()).await.unwrap(),
        Bootstrap::Initialized
    );
    wait_leader(&[&nodes[0]]).await;
    let mut expected = BTreeMap::new();
    for i in 0..10 {
        let Set(k, v) = Set(format!("k{i}"), format!("v{i}"));
        nodes[0]
            .node
            .write(Set(k.clone(), v.clone()))
            .await
            .unwrap();
        expected.insert(k, v);
        if i == 5 {
            nodes[0].node.trigger_snapshot().await.unwrap();
        }
    }
    let before = nodes[0].node.status();
    assert!(before.snapshot_index.is_some(), "{before:?}");
    nodes[0].stop().await;

    let opts = common::test_opts(1, &nodes[0].dir);
    let port = nodes[0].port;
    nodes[0] = TestNode::start(opts, port).await;
    // The snapshot file is found again on open.
    let want = before.snapshot_index;
    nodes[0]
        .node
        .raft()
        .wait(Some(WAIT))
        .metrics(|m| m.snapshot.map(|s| s.index) >= want, "snapshot reloaded")
        .await
        .expect("snapshot reloaded");
    assert_eq!(
        nodes[0].node.bootstrap(members).await.unwrap(),
        Bootstrap::AlreadyInitialized
    );
    nodes[0]
        .wait_applied(before.last_applied_index.unwrap())
        .await;
    assert_eq!(nodes[0].node.read_local(|kv| kv.map.clone()), expected);
    nodes[0].stop().await;
}
