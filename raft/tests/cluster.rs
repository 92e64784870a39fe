//! 3-node cluster over real HTTP: concurrent bootstrap, writes, NotLeader with the leader's
//! address, linearizable reads, learner add / promote / remove, restart with idempotent
//! bootstrap.

mod common;

use std::collections::BTreeSet;

use common::{Set, TestNode, start_nodes, voters, wait_leader};
use lifeboat_raft::{Bootstrap, ReadError, WriteError};

fn set(k: &str, v: &str) -> Set {
    Set(k.into(), v.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_node_cluster_lifecycle() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_nodes(root.path(), 3, |_| {}).await;
    let members = voters(&nodes);

    // Bootstrap all three concurrently: exactly consistent, no error.
    let (a, b, c) = tokio::join!(
        nodes[0].node.bootstrap(members.clone()),
        nodes[1].node.bootstrap(members.clone()),
        nodes[2].node.bootstrap(members.clone()),
    );
    let results = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert!(results.contains(&Bootstrap::Initialized), "{results:?}");

    let l = wait_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let f = (l + 1) % 3;
    let leader = &nodes[l];

    // Writes on the leader return the state machine's response.
    assert_eq!(leader.node.write(set("a", "1")).await.unwrap(), None);
    assert_eq!(
        leader.node.write(set("a", "2")).await.unwrap(),
        Some("1".into())
    );

    // A follower refuses writes and names the leader and its address.
    match nodes[f].node.write(set("b", "1")).await {
        Err(WriteError::NotLeader {
            leader: Some((id, addr)),
        }) => {
            assert_eq!((id, addr.as_str()), (leader.id, leader.addr.as_str()));
        }
        other => panic!("expected NotLeader with leader, got {other:?}"),
    }
    let msg = nodes[f]
        .node
        .write(set("b", "1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&leader.addr), "{msg}");

    // Linearizable reads on the leader; NotLeader on a follower.
    let v = leader
        .node
        .linearizable_read(|kv| kv.map.get("a").cloned())
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("2"));
    assert!(matches!(
        nodes[f].node.linearizable_read(|kv| kv.map.len()).await,
        Err(ReadError::NotLeader { leader: Some(_) })
    ));

    // Followers apply the same state; subscribe_applied reports progress.
    let applied = leader.node.status().last_applied_index.unwrap();
    let mut rx = nodes[f].node.subscribe_applied();
    tokio::time::timeout(common::WAIT, rx.wait_for(|i| *i >= applied))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nodes[f].get("a").as_deref(), Some("2"));
    let st = leader.node.status();
    assert_eq!(st.state, "Leader");
    assert_eq!(st.leader_addr.as_deref(), Some(leader.addr.as_str()));
    assert!(st.committed_index >= Some(applied), "{st:?}");
    assert_eq!(st.voters.len(), 3);

    // Add a 4th node as learner: it catches up before add_learner returns.
    let mut o4 = common::test_opts(4, &root.path().join("n4"));
    o4.write_timeout_ms = 5000;
    nodes.push(TestNode::start(o4, 0).await);
    let (leader, n4) = (&nodes[l], &nodes[3]);
    leader.node.add_learner(4, n4.addr.clone()).await.unwrap();
    n4.wait_applied(applied).await;
    assert_eq!(n4.get("a").as_deref(), Some("2"));
    assert_eq!(leader.node.status().learners, vec![(4, n4.addr.clone())]);
    assert_eq!(n4.node.status().state, "Learner");

    // Promote it.
    leader
        .node
        .change_membership(BTreeSet::from([1, 2, 3, 4]))
        .await
        .unwrap();
    let st = leader.node.status();
    assert_eq!(st.voters.len(), 4, "{st:?}");
    assert!(st.learners.is_empty(), "{st:?}");

    // Remove follower f.
    let removed = nodes[f].id;
    let keep: BTreeSet<_> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != removed)
        .collect();
    leader.node.change_membership(keep.clone()).await.unwrap();
    let st = leader.node.status();
    assert_eq!(
        st.voters.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        keep
    );
    assert!(st.learners.is_empty());
    assert_eq!(leader.node.write(set("c", "3")).await.unwrap(), None);
    nodes[f].stop().await;

    // Restart another follower g from its data dir: state kept, bootstrap is a no-op.
    let g = (0..3).find(|i| *i != l && *i != f).unwrap();
    nodes[g].stop().await;
    nodes[l].node.write(set("d", "4")).await.unwrap();
    let opts = common::test_opts(nodes[g].id, &nodes[g].dir);
    let restarted = TestNode::start(opts, nodes[g].port).await;
    nodes[g] = restarted;
    let again = nodes[g].node.bootstrap(members.clone()).await.unwrap();
    assert_eq!(again, Bootstrap::AlreadyInitialized);
    let applied = nodes[l].node.status().last_applied_index.unwrap();
    nodes[g].wait_applied(applied).await;
    assert_eq!(nodes[g].get("a").as_deref(), Some("2"));
    assert_eq!(nodes[g].get("d").as_deref(), Some("4"));
    // Bootstrap on the leader did not re-initialize anything either.
    assert_eq!(
        nodes[l].node.bootstrap(members).await.unwrap(),
        Bootstrap::AlreadyInitialized
    );
    assert_eq!(nodes[l].node.status().voters.len(), 3);

    for (i, n) in nodes.iter_mut().enumerate() {
        if i != f {
            n.stop().await;
        }
    }
}
