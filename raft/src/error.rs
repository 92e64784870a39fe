//! Error types of the public API. Each message says what happened and what to do.

use crate::NodeId;

/// Errors opening, bootstrapping, snapshotting or stopping a node.
#[derive(Debug, thiserror::Error)]
pub enum RaftNodeError {
    /// A [`crate::RaftOptions`] field is invalid.
    #[error("invalid raft option `{field}`: {reason}")]
    InvalidOptions {
        /// The offending field.
        field: &'static str,
        /// What is wrong and what to change.
        reason: String,
    },
    /// The durable store (redb database or snapshot files) could not be used.
    #[error(
        "raft storage error at {path}: {reason} (check permissions and free space, and that no other process has the data dir open)"
    )]
    Storage {
        /// The file or directory involved.
        path: std::path::PathBuf,
        /// The underlying error.
        reason: String,
    },
    /// Bootstrap was refused.
    #[error("cannot bootstrap raft node {node_id}: {reason}")]
    Bootstrap {
        /// This node.
        node_id: NodeId,
        /// Why, and what to do.
        reason: String,
    },
    /// The Raft core stopped or failed (shut down, or a fatal storage error).
    #[error("raft node {node_id} is not running: {reason} (reopen the node; check earlier logs)")]
    Fatal {
        /// This node.
        node_id: NodeId,
        /// The underlying error.
        reason: String,
    },
}

/// Errors of [`crate::RaftNode::write`] and membership changes.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// This node is not the leader; retry on the leader, if known.
    #[error("this node is not the raft leader; {}", leader_hint(leader))]
    NotLeader {
        /// The current leader's id and raft base URL, if known.
        leader: Option<(NodeId, String)>,
    },
    /// The write did not commit in time.
    #[error(
        "could not commit within {timeout_ms} ms: no quorum reachable from node {node_id} (is a majority of voters up and connected?)"
    )]
    Timeout {
        /// The node the write was proposed on.
        node_id: NodeId,
        /// The configured `write_timeout_ms`.
        timeout_ms: u64,
    },
    /// A new learner did not catch up with the leader's log in time.
    #[error(
        "learner {learner} was added but did not catch up within {timeout_ms} ms (is it running and reachable at its address?)"
    )]
    LearnerCatchUpTimeout {
        /// The learner being added.
        learner: NodeId,
        /// How long we waited.
        timeout_ms: u64,
    },
    /// The membership change was rejected by openraft.
    #[error("membership change rejected: {reason}")]
    Membership {
        /// Why (e.g. another change in progress, unknown learner, empty voter set).
        reason: String,
    },
    /// The Raft core stopped or failed.
    #[error("raft node {node_id} is not running: {reason} (reopen the node)")]
    Fatal {
        /// This node.
        node_id: NodeId,
        /// The underlying error.
        reason: String,
    },
}

/// Errors of [`crate::RaftNode::linearizable_read`].
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// This node is not the leader; read on the leader, if known.
    #[error("this node is not the raft leader; {}", leader_hint(leader))]
    NotLeader {
        /// The current leader's id and raft base URL, if known.
        leader: Option<(NodeId, String)>,
    },
    /// Leadership could not be confirmed (or the read index applied) in time.
    #[error(
        "could not confirm leadership within {timeout_ms} ms: no quorum reachable from node {node_id} (is a majority of voters up and connected?)"
    )]
    Timeout {
        /// The node the read ran on.
        node_id: NodeId,
        /// The configured `write_timeout_ms`.
        timeout_ms: u64,
    },
    /// The Raft core stopped or failed.
    #[error("raft node {node_id} is not running: {reason} (reopen the node)")]
    Fatal {
        /// This node.
        node_id: NodeId,
        /// The underlying error.
        reason: String,
    },
}

fn leader_hint(leader: &Option<(NodeId, String)>) -> String {
    match leader {
        Some((id, addr)) => format!("retry on leader {id} at {addr}"),
        None => "no leader is known yet (an election may be in progress); retry shortly".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_leader_names_the_leader() {
        let e = WriteError::NotLeader {
            leader: Some((2, "http://127.0.0.1:7102".into())),
        };
        assert!(
            e.to_string().contains("leader 2 at http://127.0.0.1:7102"),
            "{e}"
        );
        let e = ReadError::NotLeader { leader: None };
        assert!(e.to_string().contains("no leader is known"), "{e}");
    }

    #[test]
    fn timeout_message_matches_contract() {
        let e = WriteError::Timeout {
            node_id: 3,
            timeout_ms: 5000,
        };
        assert_eq!(
            e.to_string(),
            "could not commit within 5000 ms: no quorum reachable from node 3 (is a majority of voters up and connected?)"
        );
    }
}
