//! The leader's duties: what a node does each time it becomes leader.
//!
//! On every new leader term it records `leader.elected` in the audit log, registers (or
//! updates) the clusters named in its config, commits its health policy, fails the
//! captures and restores nobody runs any more, and registers the plugins it preloaded.
//! While leader, on every tick (each second, or half a probe interval if shorter) it
//! proposes a `Tick` so verdicts advance with leader time even when no vote changes, and
//! fires the snapshot schedules that are due. The run executor (issue 7) joins here.
//! Writes retry with backoff while this node stays leader.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::catalog::{HealthPolicy, Op};
use crate::node::Node;

/// Watch Raft state and run the duties of each new leader term until `stop`.
pub async fn run(node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let mut metrics = node.raft.metrics();
    let mut led_term = None;
    let mut executor: Option<tokio::task::JoinHandle<()>> = None;
    let tick_ms = node.cfg.health.interval_ms.div_ceil(2).min(1000);
    let mut ticker = tokio::time::interval(Duration::from_millis(tick_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (is_leader, term) = {
            let m = metrics.borrow_and_update();
            (m.current_leader == Some(node.cfg.node_id), m.current_term)
        };
        if !is_leader || led_term != Some(term) {
            // Deposed (or a new term): stop every run driver and effect of the old term.
            if let Some(h) = executor.take() {
                h.abort();
            }
        }
        if is_leader && led_term != Some(term) {
            led_term = Some(term);
            info!(node_id = node.cfg.node_id, term, "became leader");
            executor = Some(tokio::spawn(crate::executor::lead(node.clone(), term)));
            on_elected(&node, term).await;
            crate::snapshots::on_elected(&node).await;
            crate::plugins::register_preloaded(&node).await;
        }
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() {
                if let Some(h) = executor.take() {
                    h.abort();
                }
                return;
            },
            _ = ticker.tick(), if is_leader => {
                tick(&node).await;
                crate::snapshots::fire_schedules(&node).await;
            }
            // The guard `wait_for` returns is not Send: drop it inside the branch.
            () = async { let _ = stop.wait_for(|s| *s).await; } => {
                if let Some(h) = executor.take() {
                    h.abort();
                }
                return;
            }
        }
    }
}

/// The health policy this node's config asks for.
pub fn configured_policy(node: &Node) -> HealthPolicy {
    let h = &node.cfg.health;
    HealthPolicy {
        interval_ms: h.interval_ms,
        window_ms: h.window_ms,
        vote_ttl_ms: h.vote_ttl_ms,
        recovery_ms: h.recovery_ms,
        blast_radius: h.blast_radius,
        cooldown_ms: h.cooldown_ms,
        voters: node.cfg.peers.keys().copied().collect(),
        quorum: h.quorum,
    }
}

async fn tick(node: &Node) {
    let judging = node
        .raft
        .read_local(|c| c.health.policy.is_some() && !c.health.clusters.is_empty());
    if judging
        && let Err(e) = node
            .write(&format!("node-{}", node.cfg.node_id), Op::Tick)
            .await
    {
        tracing::debug!(error = %e, "tick not committed");
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
    let policy = configured_policy(node);
    let committed = node.raft.read_local(|c| c.health.policy.clone());
    if committed.as_ref() != Some(&policy)
        && !write_with_retry(node, &actor, Op::SetHealthPolicy { policy }).await
    {
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
