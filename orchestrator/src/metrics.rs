//! Prometheus metrics of a node: API requests (count and latency by route) and Raft
//! state (term, leader, log indices), rendered in the Prometheus text format.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use lifeboat_raft::RaftStatus;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    cluster: String,
    observation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    cluster: String,
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunOutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    uses: String,
    outcome: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn step_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 22))
}

/// A node's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    raft: RaftGauges,
    probes: Family<ProbeLabels, Counter>,
    probe_latency: Family<ClusterLabels, Histogram, fn() -> Histogram>,
    verdicts: Family<VerdictLabels, Gauge>,
    detection: Family<ClusterLabels, Gauge<f64, AtomicU64>>,
    captures: Family<OutcomeLabels, Counter>,
    capture_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram>,
    capture_objects: Family<ClusterLabels, Gauge>,
    capture_bytes: Family<ClusterLabels, Counter>,
    restores: Family<OutcomeLabels, Counter>,
    restore_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram>,
    last_success: Family<ClusterLabels, Gauge<f64, AtomicU64>>,
    runs: Family<RunOutcomeLabels, Counter>,
    steps: Family<StepLabels, Histogram, fn() -> Histogram>,
    lost_to_first_step: Histogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    cluster: String,
    outcome: String,
}

#[derive(Default)]
struct RaftGauges {
    term: Gauge,
    leader: Gauge,
    is_leader: Gauge,
    last_log: Gauge,
    committed: Gauge,
    applied: Gauge,
    snapshot: Gauge,
    voters: Gauge,
    node_id: Gauge<u64, AtomicU64>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lifeboat");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "api_requests",
            "API requests by method, route and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "api_request_duration_seconds",
            "API request latency by route",
            latency.clone(),
        );
        let raft = RaftGauges::default();
        let gauges: [(&str, &str, &Gauge); 8] = [
            ("raft_term", "Current Raft term", &raft.term),
            (
                "raft_leader_id",
                "Leader node id (0 when unknown)",
                &raft.leader,
            ),
            (
                "raft_is_leader",
                "1 when this node is the leader",
                &raft.is_leader,
            ),
            (
                "raft_last_log_index",
                "Index of the last log entry",
                &raft.last_log,
            ),
            (
                "raft_commit_index",
                "Index of the last committed entry",
                &raft.committed,
            ),
            (
                "raft_applied_index",
                "Index of the last applied entry",
                &raft.applied,
            ),
            (
                "raft_snapshot_index",
                "Index covered by the last snapshot",
                &raft.snapshot,
            ),
            (
                "raft_voters",
                "Number of voters in the membership",
                &raft.voters,
            ),
        ];
        for (name, help, g) in gauges {
            registry.register(name, help, g.clone());
        }
        registry.register("node_id", "This node's id", raft.node_id.clone());
        let probes = Family::<ProbeLabels, Counter>::default();
        registry.register(
            "probes",
            "Cluster probes by this node, by observation",
            probes.clone(),
        );
        let probe_latency: Family<ClusterLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "probe_duration_seconds",
            "Probe latency by cluster",
            probe_latency.clone(),
        );
        let verdicts = Family::<VerdictLabels, Gauge>::default();
        registry.register(
            "cluster_verdict",
            "1 for each cluster's current verdict",
            verdicts.clone(),
        );
        let detection = Family::<ClusterLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "cluster_detection_seconds",
            "From the first counted unhealthy vote to Lost, at the last loss",
            detection.clone(),
        );
        let captures = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "snapshots",
            "Snapshot captures run by this node, by outcome",
            captures.clone(),
        );
        let capture_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "snapshot_duration_seconds",
            "Capture duration",
            capture_seconds.clone(),
        );
        let capture_objects = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "snapshot_objects",
            "Objects in the last snapshot",
            capture_objects.clone(),
        );
        let capture_bytes = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "snapshot_bytes_written",
            "Bytes uploaded by captures",
            capture_bytes.clone(),
        );
        let restores = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "restores",
            "Restores run by this node, by outcome",
            restores.clone(),
        );
        let restore_seconds: Family<ClusterLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "restore_duration_seconds",
            "Restore duration",
            restore_seconds.clone(),
        );
        let last_success = Family::<ClusterLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "snapshot_last_success_timestamp_seconds",
            "Completion time of the newest snapshot per cluster (from the catalog)",
            last_success.clone(),
        );
        let runs = Family::<RunOutcomeLabels, Counter>::default();
        registry.register(
            "runs_finished",
            "Runs finished by this node's executor, by outcome",
            runs.clone(),
        );
        let steps: Family<StepLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(step_histogram);
        registry.register(
            "step_duration_seconds",
            "Step attempt duration by `uses` and outcome",
            steps.clone(),
        );
        let lost_to_first_step = Histogram::new(exponential_buckets(0.005, 2.0, 16));
        registry.register(
            "failover_lost_to_first_step_seconds",
            "Time from a Lost verdict to the first step of its failover run",
            lost_to_first_step.clone(),
        );
        Self {
            runs,
            steps,
            lost_to_first_step,
            registry,
            requests,
            latency,
            raft,
            probes,
            probe_latency,
            verdicts,
            detection,
            captures,
            capture_seconds,
            capture_objects,
            capture_bytes,
            restores,
            restore_seconds,
            last_success,
        }
    }

    /// Record one API request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        let route = RouteLabels {
            route: route.to_string(),
        };
        self.latency
            .get_or_create(&route)
            .observe(took.as_secs_f64());
    }

    /// Record one probe by this node.
    pub fn observe_probe(
        &self,
        cluster: &str,
        observation: crate::catalog::Observation,
        took: Duration,
    ) {
        let labels = ProbeLabels {
            cluster: cluster.to_string(),
            observation: format!("{observation:?}").to_lowercase(),
        };
        self.probes.get_or_create(&labels).inc();
        let c = ClusterLabels {
            cluster: cluster.to_string(),
        };
        self.probe_latency
            .get_or_create(&c)
            .observe(took.as_secs_f64());
    }

    /// Record a finished capture.
    pub fn observe_capture(
        &self,
        cluster: &str,
        ok: bool,
        took: Duration,
        objects: u64,
        bytes: u64,
    ) {
        let outcome = OutcomeLabels {
            cluster: cluster.to_string(),
            outcome: if ok { "success" } else { "failure" }.into(),
        };
        self.captures.get_or_create(&outcome).inc();
        let c = ClusterLabels {
            cluster: cluster.to_string(),
        };
        self.capture_seconds
            .get_or_create(&c)
            .observe(took.as_secs_f64());
        if ok {
            self.capture_objects.get_or_create(&c).set(objects as i64);
            self.capture_bytes.get_or_create(&c).inc_by(bytes);
        }
    }

    /// Record a finished run.
    pub fn observe_run_finished(&self, outcome: &str) {
        let l = RunOutcomeLabels {
            outcome: outcome.to_string(),
        };
        self.runs.get_or_create(&l).inc();
    }

    /// Record a finished step attempt.
    pub fn observe_step(&self, uses: &str, ok: bool, took: Duration) {
        // Plugin digests would explode the label set: keep `plugin/NAME`.
        let uses = uses.split('@').next().unwrap_or(uses);
        let l = StepLabels {
            uses: uses.to_string(),
            outcome: if ok { "success" } else { "failure" }.into(),
        };
        self.steps.get_or_create(&l).observe(took.as_secs_f64());
    }

    /// Record the time from a `Lost` verdict to its failover's first step.
    pub fn observe_lost_to_first_step(&self, ms: u64) {
        self.lost_to_first_step.observe(ms as f64 / 1000.0);
    }

    /// Record a finished restore.
    pub fn observe_restore(&self, cluster: &str, ok: bool, took: Duration) {
        let outcome = OutcomeLabels {
            cluster: cluster.to_string(),
            outcome: if ok { "success" } else { "failure" }.into(),
        };
        self.restores.get_or_create(&outcome).inc();
        let c = ClusterLabels {
            cluster: cluster.to_string(),
        };
        self.restore_seconds
            .get_or_create(&c)
            .observe(took.as_secs_f64());
    }

    /// Set the last-success gauges from the catalog's snapshots.
    pub fn set_snapshots(&self, s: &crate::catalog::SnapshotState) {
        let mut newest: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for snap in s.snapshots.values() {
            let t = newest.entry(snap.cluster.as_str()).or_default();
            *t = (*t).max(snap.completed_at_ms);
        }
        for (cluster, ms) in newest {
            let c = ClusterLabels {
                cluster: cluster.to_string(),
            };
            self.last_success.get_or_create(&c).set(ms as f64 / 1000.0);
        }
    }

    /// Set the verdict gauges from the catalog's health state.
    pub fn set_health(&self, health: &crate::catalog::HealthState) {
        use crate::catalog::Verdict;
        for (name, h) in &health.clusters {
            for v in [
                Verdict::Healthy,
                Verdict::Suspect,
                Verdict::Lost,
                Verdict::Fenced,
            ] {
                let labels = VerdictLabels {
                    cluster: name.clone(),
                    verdict: format!("{v:?}"),
                };
                self.verdicts
                    .get_or_create(&labels)
                    .set(i64::from(h.verdict == v));
            }
            if let Some(ms) = h.detection_ms {
                let c = ClusterLabels {
                    cluster: name.clone(),
                };
                self.detection.get_or_create(&c).set(ms as f64 / 1000.0);
            }
        }
    }

    /// Render every metric, with the Raft gauges read from `raft` now.
    pub fn render(&self, raft: &RaftStatus, node_id: u64) -> String {
        let g = &self.raft;
        let as_i64 = |v: Option<u64>| v.map_or(0, |v| v as i64);
        g.term.set(raft.current_term as i64);
        g.leader.set(as_i64(raft.leader_id));
        g.is_leader.set(i64::from(raft.leader_id == Some(node_id)));
        g.last_log.set(as_i64(raft.last_log_index));
        g.committed.set(as_i64(raft.committed_index));
        g.applied.set(as_i64(raft.last_applied_index));
        g.snapshot.set(as_i64(raft.snapshot_index));
        g.voters.set(raft.voters.len() as i64);
        g.node_id.set(node_id);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
