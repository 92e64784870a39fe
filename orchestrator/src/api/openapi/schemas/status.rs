//! Bodies of `GET /v1/status` (this node's view: Raft, members, clusters, catalog) and
//! `GET /v1/audit`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ClusterView;

/// `GET /v1/status`: this node's own view.
#[derive(Serialize, ToSchema)]
pub struct StatusView {
    /// This node's id.
    pub node_id: u64,
    /// The binary's version.
    pub version: String,
    /// Seconds since the process started.
    pub uptime_s: u64,
    /// Raft state as this node sees it.
    pub raft: RaftStatus,
    /// The leader, if one is known.
    pub leader: Option<LeaderRef>,
    /// Voters and learners.
    pub members: Vec<crate::api::handlers::MemberView>,
    /// Protected clusters as this node has applied them.
    pub clusters: Vec<ClusterView>,
    /// Catalog counters.
    pub catalog: CatalogCounters,
}

/// One node's Raft state.
#[derive(Serialize, ToSchema)]
pub struct RaftStatus {
    /// This node.
    pub node_id: u64,
    /// `Leader`, `Follower`, `Candidate`, `Learner` or `Shutdown`.
    pub state: String,
    /// Current term.
    pub current_term: u64,
    /// The leader this node knows of.
    pub leader_id: Option<u64>,
    /// That leader's Raft base URL.
    pub leader_addr: Option<String>,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last committed entry this node knows of.
    pub committed_index: Option<u64>,
    /// Index of the last entry applied to the state machine.
    pub last_applied_index: Option<u64>,
    /// Last log index covered by the current snapshot.
    pub snapshot_index: Option<u64>,
    /// Voters as `[id, raft URL]` pairs.
    #[schema(value_type = Vec<Vec<Value>>)]
    pub voters: Vec<Value>,
    /// Learners as `[id, raft URL]` pairs.
    #[schema(value_type = Vec<Vec<Value>>)]
    pub learners: Vec<Value>,
}

/// The leader as `/v1/status` names it.
#[derive(Serialize, ToSchema)]
pub struct LeaderRef {
    /// Its id.
    pub id: u64,
    /// Its API URL, when this node's config knows it.
    pub api: Option<String>,
}

/// Catalog counters in `/v1/status`.
#[derive(Serialize, ToSchema)]
pub struct CatalogCounters {
    /// Last log index applied to the catalog.
    pub last_index: u64,
    /// Audit entries kept.
    pub audit_entries: u64,
}

/// `GET /v1/audit`.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries in sequence order.
    pub entries: Vec<AuditEntry>,
}

/// One audit log entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// Sequence number, gap-free and increasing.
    pub seq: u64,
    /// Log index of the command that produced it.
    pub index: u64,
    /// Leader time, ms since the epoch.
    pub at_ms: u64,
    /// Who.
    pub actor: String,
    /// What, e.g. `cluster.registered`.
    pub action: String,
    /// On what.
    pub target: String,
    /// Structured details.
    pub details: Value,
}
