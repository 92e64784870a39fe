//! Test harness: a key/value state machine and in-process nodes served over real HTTP on
//! 127.0.0.1 ephemeral ports.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lifeboat_raft::{NodeId, RaftNode, RaftOptions, StateMachine};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Shared secret used by every test node.
pub const SECRET: &str = "test-cluster-secret";
/// Upper bound for any awaited condition.
pub const WAIT: Duration = Duration::from_secs(20);

/// Deterministic key/value state machine.
#[derive(Default, Serialize, Deserialize)]
pub struct Kv {
    pub map: BTreeMap<String, String>,
}

/// Kv command: set key to value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Set(pub String, pub String);

impl StateMachine for Kv {
    type Command = Set;
    type Response = Option<String>;

    fn apply(&mut self, _index: u64, _term: u64, Set(k, v): Set) -> Option<String> {
        self.map.insert(k, v)
    }
}

/// Fast timings for tests.
pub fn test_opts(id: NodeId, dir: &Path) -> RaftOptions {
    let mut o = RaftOptions::new(id, dir.to_path_buf(), SECRET.into());
    o.heartbeat_interval_ms = 50;
    o.election_timeout_min_ms = 300;
    o.election_timeout_max_ms = 600;
    o.rpc_timeout_ms = 1000;
    o.write_timeout_ms = 5000;
    o
}

/// A node plus the HTTP server in front of it.
pub struct TestNode {
    pub id: NodeId,
    pub addr: String,
    pub port: u16,
    pub dir: PathBuf,
    pub node: RaftNode<Kv>,
    /// Number of `/raft/snapshot` requests this server received.
    pub snapshot_requests: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestNode {
    /// Open a node from `opts` and serve it on `port` (0 = ephemeral).
    pub async fn start(opts: RaftOptions, port: u16) -> TestNode {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let id = opts.node_id;
        let dir = opts.data_dir.clone();
        let node = RaftNode::<Kv>::open(opts).await.expect("open node");
        let snapshot_requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&snapshot_requests);
        let app = node.router().layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                if req.uri().path() == "/raft/snapshot" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                next.run(req)
            },
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
        });
        TestNode {
            id,
            addr: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            node,
            snapshot_requests,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stop serving and shut the Raft core down.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
        self.node.shutdown().await.expect("shutdown");
    }

    /// Current value of `key` in the local state machine.
    pub fn get(&self, key: &str) -> Option<String> {
        self.node.read_local(|kv| kv.map.get(key).cloned())
    }

    /// Wait until the local state machine applied at least `index`.
    pub async fn wait_applied(&self, index: u64) {
        self.node
            .raft()
            .wait(Some(WAIT))
            .applied_index_at_least(Some(index), "applied")
            .await
            .unwrap_or_else(|e| panic!("node {} did not apply {index}: {e}", self.id));
    }
}

/// Start `n` nodes (ids 1..=n) in fresh dirs under `root`.
pub async fn start_nodes(root: &Path, n: u64, tweak: impl Fn(&mut RaftOptions)) -> Vec<TestNode> {
    let mut nodes = Vec::new();
    for id in 1..=n {
        let mut o = test_opts(id, &root.join(format!("n{id}")));
        tweak(&mut o);
        nodes.push(TestNode::start(o, 0).await);
    }
    nodes
}

/// The voter map (id -> addr) of `nodes`.
pub fn voters(nodes: &[TestNode]) -> BTreeMap<NodeId, String> {
    nodes.iter().map(|n| (n.id, n.addr.clone())).collect()
}

/// Wait until one node is leader and every node in `nodes` follows it; return the
/// leader's position in `nodes`.
pub async fn wait_leader(nodes: &[&TestNode]) -> usize {
    let mut rxs: Vec<_> = nodes.iter().map(|n| n.node.metrics()).collect();
    type Metrics = openraft::RaftMetrics<NodeId, lifeboat_raft::BasicNode>;
    let agreed = |rxs: &[tokio::sync::watch::Receiver<Metrics>]| -> Option<usize> {
        let ms: Vec<Metrics> = rxs.iter().map(|r| r.borrow().clone()).collect();
        let pos = ms
            .iter()
            .position(|m| m.state == openraft::ServerState::Leader)?;
        let id = ms[pos].id;
        ms.iter()
            .all(|m| m.current_leader == Some(id))
            .then_some(pos)
    };
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(pos) = agreed(&rxs) {
                return pos;
            }
            let changed = rxs.iter_mut().map(|r| Box::pin(r.changed()));
            let _ = futures::future::select_all(changed).await;
        }
    })
    .await
    .expect("nodes agree on a leader")
}
