//! Every node probes every configured cluster and commits its view as votes.
//!
//! - One task per cluster probes every `interval` ([`probe::ClusterProbe`]) and records
//!   the result locally (and in metrics).
//! - A voter task turns the local views into votes: it proposes a `HealthVote` when its
//!   view of a cluster changes, and refreshes each vote before its lease (`vote_ttl`)
//!   runs out. Votes go through the leader (`Node::propose_as_node`).
//! - Self-suspicion: when this node sees at least half of the clusters unhealthy while
//!   the other nodes' fresh votes say they are healthy, and that lasts two intervals, it
//!   abstains (all its votes are marked and not counted) until its view agrees again.

pub mod probe;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio::time::MissedTickBehavior;
use tracing::{debug, info};

use crate::catalog::{HealthState, Observation, Op};
use crate::node::Node;
use probe::{ClusterProbe, ProbeResult};

type Views = Arc<Mutex<BTreeMap<String, ProbeResult>>>;

/// Start the probers and the voter; they stop when `stop` turns true.
pub fn spawn(node: Arc<Node>, stop: watch::Receiver<bool>) {
    let views: Views = Arc::default();
    let changed = Arc::new(Notify::new());
    let h = &node.cfg.health;
    for c in &node.cfg.clusters {
        let probe = ClusterProbe::new(
            c.kubeconfig.value.clone(),
            c.context.clone(),
            Duration::from_millis(h.timeout_ms),
            h.canary,
        );
        let task = probe_loop(
            node.clone(),
            c.name.value.clone(),
            probe,
            views.clone(),
            changed.clone(),
        );
        tokio::spawn(until_stopped(stop.clone(), task));
    }
    if !node.cfg.clusters.is_empty() {
        tokio::spawn(until_stopped(stop, vote_loop(node, views, changed)));
    }
}

async fn until_stopped(
    mut stop: watch::Receiver<bool>,
    task: impl std::future::Future<Output = ()>,
) {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => {},
        _ = task => {},
    }
}

async fn probe_loop(
    node: Arc<Node>,
    name: String,
    mut probe: ClusterProbe,
    views: Views,
    changed: Arc<Notify>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(node.cfg.health.interval_ms));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let r = probe.probe().await;
        node.metrics.observe_probe(&name, r.observation, r.latency);
        let previous = views
            .lock()
            .expect("views lock")
            .insert(name.clone(), r.clone());
        if previous.is_none_or(|p| p.observation != r.observation) {
            info!(cluster = %name, observation = ?r.observation, reason = %r.reason, "cluster view changed");
        }
        changed.notify_one();
    }
}

/// What this node last got committed for one cluster.
struct Sent {
    observation: Observation,
    abstain: bool,
    at: Instant,
}

async fn vote_loop(node: Arc<Node>, views: Views, changed: Arc<Notify>) {
    let h = node.cfg.health.clone();
    let me = node.cfg.node_id;
    let refresh = Duration::from_millis(h.vote_ttl_ms / 3);
    let mut sent: BTreeMap<String, Sent> = BTreeMap::new();
    let mut disagree_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = changed.notified() => {},
            _ = tokio::time::sleep(Duration::from_millis(h.interval_ms / 2)) => {},
        }
        let views = views.lock().expect("views lock").clone();
        let health = node.raft.read_local(|c| (c.health.clone(), c.clock_ms));
        let disagrees = views_disagree(&views, me, &health.0, health.1);
        disagree_since = if disagrees {
            disagree_since.or(Some(Instant::now()))
        } else {
            None
        };
        let abstain =
            disagree_since.is_some_and(|t| t.elapsed() >= Duration::from_millis(h.interval_ms * 2));
        for (cluster, view) in &views {
            let due = sent.get(cluster).is_none_or(|s| {
                s.observation != view.observation
                    || s.abstain != abstain
                    || s.at.elapsed() >= refresh
            });
            if !due {
                continue;
            }
            let op = Op::HealthVote {
                node: me,
                cluster: cluster.clone(),
                observation: view.observation,
                reason: view.reason.clone(),
                abstain,
                latency_ms: Some(view.latency.as_millis() as u64),
            };
            match node.propose_as_node(op).await {
                Ok(_) => {
                    let s = Sent {
                        observation: view.observation,
                        abstain,
                        at: Instant::now(),
                    };
                    sent.insert(cluster.clone(), s);
                }
                Err(e) => debug!(cluster = %cluster, error = %e, "vote not committed; retrying"),
            }
        }
    }
}

/// True when this node sees at least half of the clusters unhealthy and, for most of
/// those, the other nodes' fresh, counted votes say healthy.
fn views_disagree(
    views: &BTreeMap<String, ProbeResult>,
    me: u64,
    health: &HealthState,
    now: u64,
) -> bool {
    let total = views.len();
    let mine: Vec<&String> = views
        .iter()
        .filter(|(_, v)| v.observation == Observation::Unhealthy)
        .map(|(c, _)| c)
        .collect();
    if total < 2 || mine.len() * 2 < total {
        return false;
    }
    let ttl = health.policy.as_ref().map_or(u64::MAX, |p| p.vote_ttl_ms);
    let others_say_healthy = |cluster: &String| {
        let Some(c) = health.clusters.get(cluster) else {
            return false;
        };
        let fresh = c
            .votes
            .iter()
            .filter(|(n, v)| **n != me && !v.abstain && now.saturating_sub(v.refreshed_ms) <= ttl);
        let (mut healthy, mut unhealthy) = (0, 0);
        for (_, v) in fresh {
            match v.observation {
                Observation::Healthy => healthy += 1,
                Observation::Unhealthy => unhealthy += 1,
                Observation::Unknown => {}
            }
        }
        healthy > unhealthy
    };
    mine.iter().filter(|c| others_say_healthy(c)).count() * 2 > mine.len()
}
