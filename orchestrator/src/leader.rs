//! The leader's duties: what a node does each time it becomes leader.
//!
//! On every new leader term it records `leader.elected` in the audit log and registers
//! (or updates) the clusters named in its config. Later issues add the scheduler and
//! the run executor here. Every write retries with backoff while this node stays leader.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::catalog::Op;
use crate::node::Node;

/// Watch Raft state and run the duties of each new leader term until `stop`.
pub async fn run(node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let mut metrics = node.raft.metrics();
    let mut led_term = None;
    loop {
        let (is_leader, term) = {
            let m = metrics.borrow_and_update();
            (m.current_leader == Some(node.cfg.node_id), m.current_term)
        };
        if is_leader && led_term != Some(term) {
            led_term = Some(term);
            info!(node_id = node.cfg.node_id, term, "became leader");
            on_elected(&node, term).await;
        }
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn on_elected(node: &Node, term: u64) {
    let actor = format!("node-{}", node.cfg.node_id);
    let elected = Op::Audit {
        action: "leader.elected".into(),
        target: actor.clone(),
        details: serde_json::json!({ "term": term }),
    };
    if !write_with_retry(node, &actor, elected).await {
        return;
    }
    let registered = node.raft.read_local(|c| c.clusters.clone());
    for c in &node.cfg.clusters {
        let known = registered
            .get(&c.name.value)
            .is_some_and(|r| r.context == c.context);
        if !known {
            let op = Op::RegisterCluster {
                name: c.name.value.clone(),
                context: c.context.clone(),
            };
            if !write_with_retry(node, &actor, op).await {
                return;
            }
        }
    }
}

/// Write while this node is leader, retrying transient failures. False when leadership
/// was lost (the next leader takes over the duty).
async fn write_with_retry(node: &Node, actor: &str, op: Op) -> bool {
    let mut delay = Duration::from_millis(100);
    for _ in 0..10 {
        match node.write(actor, op.clone()).await {
            Ok(_) => return true,
            Err(crate::api::ApiError::NotLeader { .. }) => return false,
            Err(e) => {
                warn!(error = %e, "leader duty write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    false
}
