//! Cluster health in the catalog: committed votes, the policy they are judged by, and
//! the verdicts computed from them — deterministically, at leader-stamped times.
//!
//! Verdicts move `Healthy -> Suspect -> Lost -> Fenced`:
//! - `Suspect` as soon as one valid vote says unhealthy;
//! - `Lost` when a quorum (by default a majority of **all configured voters**) has voted
//!   unhealthy continuously for the failure `window`;
//! - back to `Healthy` from `Suspect` only when no valid vote says unhealthy and a quorum
//!   has voted healthy for the `recovery` period (hysteresis);
//! - `Lost -> Fenced` when a quorum sees it healthy again for `recovery`; `Fenced` stays
//!   until an operator (or a failback runbook) unfences it.
//!
//! A vote is valid while it is fresh (refreshed within `vote_ttl`) and not abstaining, so
//! a dead or partitioned orchestrator neither accuses nor acquits. A vote of
//! `Unknown` (the node cannot even build a client: kubeconfig or credentials) counts for
//! nothing either way.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many verdict events the catalog keeps.
pub const EVENT_CAPACITY: usize = 1_000;

/// The committed rules for judging health; every node judges by the same numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthPolicy {
    /// Probe interval.
    pub interval_ms: u64,
    /// Unhealthy for this long, by a quorum, means lost.
    pub window_ms: u64,
    /// A vote not refreshed within this counts for nothing.
    pub vote_ttl_ms: u64,
    /// Healthy for this long, by a quorum, to recover (hysteresis).
    pub recovery_ms: u64,
    /// If more than this share of all clusters (and at least two) would be lost within
    /// one window, automatic failover is held for approval.
    pub blast_radius: f64,
    /// At most one automatic failover per cluster per cooldown.
    pub cooldown_ms: u64,
    /// Every configured voter.
    pub voters: Vec<u64>,
    /// Votes needed to declare a cluster lost or recovered.
    pub quorum: usize,
}

/// A cluster's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The probe succeeded.
    Healthy,
    /// The probe failed: refused, timed out, not ready, server errors.
    Unhealthy,
    /// The node could not probe: kubeconfig, context or credentials are broken.
    Unknown,
}

/// One node's committed vote about one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// What it saw.
    pub observation: Observation,
    /// Why (the probe's error, or "ok").
    pub reason: String,
    /// The node suspects itself (its view disagrees with everyone's) and abstains.
    pub abstain: bool,
    /// Leader time since which this observation (and abstention) holds.
    pub since_ms: u64,
    /// Leader time of the last refresh.
    pub refreshed_ms: u64,
    /// Latency of its last probe.
    pub latency_ms: Option<u64>,
}

/// What happens about failing over a lost cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Failover {
    /// Nothing to do.
    #[default]
    None,
    /// Automatic failover may start (the run executor consumes this).
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

/// Health of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterHealth {
    /// Current verdict.
    pub verdict: Verdict,
    /// Since when (leader time).
    pub since_ms: u64,
    /// Votes by node id.
    pub votes: BTreeMap<u64, Vote>,
    /// When it was last declared lost.
    pub lost_at_ms: Option<u64>,
    /// From the first unhealthy vote that counted to the `Lost` verdict, last time.
    pub detection_ms: Option<u64>,
    /// The failover decision of the last loss.
    pub failover: Failover,
    /// When an automatic failover was last allowed (for the cooldown).
    pub last_failover_ms: Option<u64>,
}

impl ClusterHealth {
    fn new(now: u64) -> Self {
        Self {
            verdict: Verdict::Healthy,
            since_ms: now,
            votes: BTreeMap::new(),
            lost_at_ms: None,
            detection_ms: None,
            failover: Failover::None,
            last_failover_ms: None,
        }
    }
}

/// A verdict change, as consumers (API stream, run executor) see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The failover decision (for `Lost`).
    pub failover: Failover,
    /// The votes behind it: `(node, observation, age_ms, valid)`.
    pub votes: Vec<VoteSummary>,
}

/// One vote as cited by a verdict change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteSummary {
    /// Node id.
    pub node: u64,
    /// What it saw.
    pub observation: Observation,
    /// For how long (ms) it has seen that.
    pub for_ms: u64,
    /// Whether it counted (fresh and not abstaining).
    pub counted: bool,
    /// Its reason.
    pub reason: String,
}

/// All health state in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthState {
    /// The committed policy (set by the leader from its config).
    pub policy: Option<HealthPolicy>,
    /// Per registered cluster.
    pub clusters: BTreeMap<String, ClusterHealth>,
    /// Recent verdict changes.
    pub events: VecDeque<VerdictEvent>,
    /// Next event sequence number.
    pub next_event_seq: u64,
}

impl HealthState {
    /// Make sure `name` is tracked.
    pub fn track(&mut self, name: &str, now: u64) {
        self.clusters
            .entry(name.to_string())
            .or_insert_with(|| ClusterHealth::new(now));
    }

    /// Record a vote (creating or refreshing it), then re-judge that cluster.
    #[allow(clippy::too_many_arguments)]
    pub fn vote(
        &mut self,
        now: u64,
        node: u64,
        cluster: &str,
        observation: Observation,
        reason: String,
        abstain: bool,
        latency_ms: Option<u64>,
    ) -> Vec<VerdictEvent> {
        let Some(c) = self.clusters.get_mut(cluster) else {
            return Vec::new();
        };
        let since_ms = match c.votes.get(&node) {
            Some(v) if v.observation == observation && v.abstain == abstain => v.since_ms,
            _ => now,
        };
        let vote = Vote {
            observation,
            reason,
            abstain,
            since_ms,
            refreshed_ms: now,
            latency_ms,
        };
        c.votes.insert(node, vote);
        self.evaluate(now)
    }

    /// Re-judge every cluster at `now`; returns the verdict changes.
    pub fn evaluate(&mut self, now: u64) -> Vec<VerdictEvent> {
        let Some(policy) = self.policy.clone() else {
            return Vec::new();
        };
        let names: Vec<String> = self.clusters.keys().cloned().collect();
        let mut events = Vec::new();
        for name in names {
            // A cluster may pass through several verdicts at once (e.g. after a gap).
            for _ in 0..3 {
                match self.step(&name, now, &policy) {
                    Some(e) => events.push(e),
                    None => break,
                }
            }
        }
        events
    }

    /// One transition of `name`, if its votes call for one.
    fn step(&mut self, name: &str, now: u64, p: &HealthPolicy) -> Option<VerdictEvent> {
        let c = self.clusters.get(name)?;
        let counted = |v: &Vote| !v.abstain && now.saturating_sub(v.refreshed_ms) <= p.vote_ttl_ms;
        let lasting = |obs: Observation, for_ms: u64| {
            c.votes
                .values()
                .filter(|v| {
                    counted(v) && v.observation == obs && now.saturating_sub(v.since_ms) >= for_ms
                })
                .count()
        };
        let unhealthy_now = lasting(Observation::Unhealthy, 0);
        let to = match c.verdict {
            Verdict::Healthy if unhealthy_now > 0 => Verdict::Suspect,
            Verdict::Suspect if lasting(Observation::Unhealthy, p.window_ms) >= p.quorum => {
                Verdict::Lost
            }
            Verdict::Suspect
                if unhealthy_now == 0
                    && lasting(Observation::Healthy, p.recovery_ms) >= p.quorum =>
            {
                Verdict::Healthy
            }
            Verdict::Lost if lasting(Observation::Healthy, p.recovery_ms) >= p.quorum => {
                Verdict::Fenced
            }
            _ => return None,
        };
        let detection = c
            .votes
            .values()
            .filter(|v| counted(v) && v.observation == Observation::Unhealthy)
            .map(|v| now.saturating_sub(v.since_ms))
            .max();
        let failover = if to == Verdict::Lost {
            self.decide_failover(name, now, p)
        } else {
            Failover::None
        };
        let c = self.clusters.get_mut(name)?;
        let from = c.verdict;
        c.verdict = to;
        c.since_ms = now;
        if to == Verdict::Lost {
            c.lost_at_ms = Some(now);
            c.detection_ms = detection;
            if failover == Failover::Pending {
                c.last_failover_ms = Some(now);
            }
            c.failover = failover.clone();
        }
        let votes = c
            .votes
            .iter()
            .map(|(node, v)| VoteSummary {
                node: *node,
                observation: v.observation,
                for_ms: now.saturating_sub(v.since_ms),
                counted: counted(v),
                reason: v.reason.clone(),
            })
            .collect();
        Some(self.push_event(name, from, to, now, failover, votes))
    }

    /// Cooldown first, then the blast-radius guard (which may also hold the other
    /// clusters lost within the same window whose failover has not started).
    fn decide_failover(&mut self, name: &str, now: u64, p: &HealthPolicy) -> Failover {
        let c = &self.clusters[name];
        if let Some(last) = c.last_failover_ms
            && now.saturating_sub(last) < p.cooldown_ms
        {
            return Failover::Suppressed {
                until_ms: last + p.cooldown_ms,
            };
        }
        let total = self.clusters.len();
        let recent: Vec<String> = self
            .clusters
            .iter()
            .filter(|(n, h)| {
                n.as_str() == name
                    || h.lost_at_ms
                        .is_some_and(|t| now.saturating_sub(t) <= p.window_ms)
            })
            .map(|(n, _)| n.clone())
            .collect();
        // One loss alone is never "all at once": the guard needs two or more.
        if recent.len() >= 2 && recent.len() as f64 > p.blast_radius * total as f64 {
            let reason = format!(
                "{} of {total} clusters lost within one window ({} ms): it may be us; \
                 approve failover by hand",
                recent.len(),
                p.window_ms
            );
            for other in recent.iter().filter(|n| n.as_str() != name) {
                let h = self.clusters.get_mut(other).expect("listed above");
                if h.failover == Failover::Pending {
                    h.failover = Failover::Held {
                        reason: reason.clone(),
                    };
                    h.last_failover_ms = None;
                }
            }
            return Failover::Held { reason };
        }
        Failover::Pending
    }

    /// Operator fence: the cluster is treated as lost and kept out of service.
    pub fn fence(&mut self, name: &str, now: u64) -> Option<VerdictEvent> {
        let c = self.clusters.get_mut(name)?;
        if c.verdict == Verdict::Fenced {
            return None;
        }
        let from = c.verdict;
        c.verdict = Verdict::Fenced;
        c.since_ms = now;
        Some(self.push_event(name, from, Verdict::Fenced, now, Failover::None, Vec::new()))
    }

    /// Operator unfence: back to `Suspect` (and judged again from there), so a cluster
    /// that is still failing is not declared healthy by the release.
    pub fn unfence(&mut self, name: &str, now: u64) -> Option<VerdictEvent> {
        let c = self.clusters.get_mut(name)?;
        if !matches!(c.verdict, Verdict::Fenced | Verdict::Lost) {
            return None;
        }
        let from = c.verdict;
        c.verdict = Verdict::Suspect;
        c.since_ms = now;
        c.failover = Failover::None;
        Some(self.push_event(
            name,
            from,
            Verdict::Suspect,
            now,
            Failover::None,
            Vec::new(),
        ))
    }

    fn push_event(
        &mut self,
        cluster: &str,
        from: Verdict,
        to: Verdict,
        at_ms: u64,
        failover: Failover,
        votes: Vec<VoteSummary>,
    ) -> VerdictEvent {
        let e = VerdictEvent {
            seq: self.next_event_seq + 1,
            cluster: cluster.to_string(),
            from,
            to,
            at_ms,
            failover,
            votes,
        };
        self.next_event_seq += 1;
        self.events.push_back(e.clone());
        while self.events.len() > EVENT_CAPACITY {
            self.events.pop_front();
        }
        e
    }
}

#[cfg(test)]
#[path = "health_test.rs"]
mod tests;
