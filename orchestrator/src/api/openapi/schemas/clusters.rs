//! Clusters and verdicts: the verdict, votes and failover decision of each cluster, and
//! the verdict changes of `/v1/clusters/{name}` and `/v1/events`.

use serde::Serialize;
use utoipa::ToSchema;

/// A cluster's verdict (`null` until the leader first evaluates it).
#[derive(Serialize, ToSchema)]
pub enum Verdict {
    /// No valid vote says unhealthy.
    Healthy,
    /// Some valid votes say unhealthy.
    Suspect,
    /// A quorum said unhealthy for the whole window.
    Lost,
    /// Lost, then seen again: kept out of service until unfenced.
    Fenced,
}

/// What one node saw.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The probe succeeded.
    Healthy,
    /// The probe failed.
    Unhealthy,
    /// The node could not probe (kubeconfig, context or credentials broken).
    Unknown,
}

/// The failover decision about a lost cluster.
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Failover {
    /// Nothing to do.
    None,
    /// Automatic failover may start.
    Pending,
    /// Held for an operator's approval.
    Held {
        /// Why.
        reason: String,
    },
    /// Not started: another failover of this cluster happened within the cooldown.
    Suppressed {
        /// When the cooldown ends.
        until_ms: u64,
    },
}

/// One cluster with its verdict and the votes behind it. Before the first evaluation
/// only `name`, `context` and `verdict` (`null`) are present.
#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// Cluster name.
    pub name: String,
    /// Kubeconfig context.
    pub context: Option<String>,
    /// Current verdict.
    pub verdict: Option<Verdict>,
    /// Since when (leader time, ms).
    pub since_ms: Option<u64>,
    /// The failover decision of the last loss.
    pub failover: Option<Failover>,
    /// When it was last declared lost.
    pub lost_at_ms: Option<u64>,
    /// First counted unhealthy vote to `Lost`, last time.
    pub detection_ms: Option<u64>,
    /// One vote per node.
    pub votes: Option<Vec<VoteView>>,
}

/// One node's vote about a cluster.
#[derive(Serialize, ToSchema)]
pub struct VoteView {
    /// Node id.
    pub node: u64,
    /// What it saw.
    pub observation: Observation,
    /// Why (the probe's error, or `ok`).
    pub reason: String,
    /// The node suspects itself and abstains.
    pub abstain: bool,
    /// Age of the vote (ms).
    pub age_ms: u64,
    /// How long the node has seen this (ms).
    pub for_ms: u64,
    /// Fresh and not abstaining.
    pub counted: bool,
    /// Latency of its last probe (ms).
    pub latency_ms: Option<u64>,
}

/// `GET /v1/clusters`.
#[derive(Serialize, ToSchema)]
pub struct ClusterList {
    /// Every protected cluster.
    pub clusters: Vec<ClusterView>,
    /// The leader's clock (ms) when read.
    pub leader_time_ms: u64,
}

/// `GET /v1/clusters/{name}`: the cluster and its recent verdict changes.
#[derive(Serialize, ToSchema)]
pub struct ClusterDetail {
    /// The cluster.
    #[schema(inline)]
    #[serde(flatten)]
    pub cluster: ClusterView,
    /// Its recent verdict changes, oldest first.
    pub events: Vec<VerdictEvent>,
}

/// A verdict change (also the `data` of `event: verdict` on `/v1/events`).
#[derive(Serialize, ToSchema)]
pub struct VerdictEvent {
    /// Gap-free sequence number.
    pub seq: u64,
    /// The cluster.
    pub cluster: String,
    /// Old verdict.
    pub from: Verdict,
    /// New verdict.
    pub to: Verdict,
    /// Leader time.
    pub at_ms: u64,
    /// The failover decision.
    pub failover: Failover,
    /// The votes behind it.
    pub votes: Vec<VoteSummary>,
}

/// One vote as cited by a verdict change.
#[derive(Serialize, ToSchema)]
pub struct VoteSummary {
    /// Node id.
    pub node: u64,
    /// What it saw.
    pub observation: Observation,
    /// For how long (ms).
    pub for_ms: u64,
    /// Whether it counted.
    pub counted: bool,
    /// Its reason.
    pub reason: String,
}
