//! [`RaftStatus`]: a serialisable summary of one node's Raft state, built from openraft
//! metrics.

use openraft::{BasicNode, RaftMetrics, ServerState};
use serde::Serialize;

use crate::NodeId;

/// Summary of one node's view of the cluster.
#[derive(Clone, Debug, Serialize)]
pub struct RaftStatus {
    /// This node.
    pub node_id: NodeId,
    /// "Leader", "Follower", "Candidate", "Learner" or "Shutdown".
    pub state: String,
    /// Current term.
    pub current_term: u64,
    /// Leader this node knows of.
    pub leader_id: Option<NodeId>,
    /// That leader's raft base URL.
    pub leader_addr: Option<String>,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last committed entry this node knows of.
    pub committed_index: Option<u64>,
    /// Index of the last entry applied to the state machine.
    pub last_applied_index: Option<u64>,
    /// Last log index covered by the current snapshot.
    pub snapshot_index: Option<u64>,
    /// Voters (id, raft base URL).
    pub voters: Vec<(NodeId, String)>,
    /// Learners (id, raft base URL).
    pub learners: Vec<(NodeId, String)>,
}

impl RaftStatus {
    /// Build from metrics and the committed index published by the log store.
    pub(crate) fn from_metrics(
        m: &RaftMetrics<NodeId, BasicNode>,
        committed_index: Option<u64>,
    ) -> Self {
        let membership = m.membership_config.membership();
        let addr = |id: &NodeId| membership.get_node(id).map(|n| n.addr.clone());
        let with_addr = |ids: Vec<NodeId>| -> Vec<(NodeId, String)> {
            ids.into_iter()
                .map(|id| (id, addr(&id).unwrap_or_default()))
                .collect()
        };
        let state = if m.running_state.is_err() {
            ServerState::Shutdown
        } else {
            m.state
        };
        Self {
            node_id: m.id,
            state: format!("{state:?}"),
            current_term: m.current_term,
            leader_id: m.current_leader,
            leader_addr: m.current_leader.as_ref().and_then(addr),
            last_log_index: m.last_log_index,
            committed_index,
            last_applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            voters: with_addr(membership.voter_ids().collect()),
            learners: with_addr(membership.learner_ids().collect()),
        }
    }
}
