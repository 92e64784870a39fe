//! Verdict logic, driven with explicit leader times: no clocks, no sockets.

use super::*;

fn policy(voters: usize) -> HealthPolicy {
    HealthPolicy {
        interval_ms: 1_000,
        window_ms: 6_000,
        vote_ttl_ms: 5_000,
        recovery_ms: 3_000,
        blast_radius: 0.5,
        cooldown_ms: 60_000,
        voters: (1..=voters as u64).collect(),
        quorum: voters / 2 + 1,
    }
}

fn state(clusters: &[&str], voters: usize) -> HealthState {
    let mut s = HealthState {
        policy: Some(policy(voters)),
        ..HealthState::default()
    };
    for c in clusters {
        s.track(c, 0);
    }
    s
}

use Observation::{Healthy as H, Unhealthy as U};

/// Every node in `nodes` votes `obs` on `cluster` at `t`; returns the events.
fn votes(
    s: &mut HealthState,
    t: u64,
    cluster: &str,
    nodes: &[u64],
    obs: Observation,
) -> Vec<VerdictEvent> {
    nodes
        .iter()
        .flat_map(|n| s.vote(t, *n, cluster, obs, "x".into(), false, Some(3)))
        .collect()
}

fn verdict(s: &HealthState, c: &str) -> Verdict {
    s.clusters[c].verdict
}

#[test]
fn a_majority_unhealthy_for_the_window_is_lost_exactly_once() {
    let mut s = state(&["a"], 3);
    votes(&mut s, 1_000, "a", &[1, 2, 3], U);
    assert_eq!(verdict(&s, "a"), Verdict::Suspect);
    let mut lost = 0;
    for t in (2_000..=20_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], U);
        lost += s
            .evaluate(t)
            .iter()
            .filter(|e| e.to == Verdict::Lost)
            .count();
    }
    let lost_events = s.events.iter().filter(|e| e.to == Verdict::Lost).count();
    assert_eq!(lost_events, 1);
    assert!(lost <= 1);
    let c = &s.clusters["a"];
    assert_eq!(c.lost_at_ms, Some(7_000), "lost when the window has passed");
    assert_eq!(c.detection_ms, Some(6_000));
    assert_eq!(c.failover, Failover::Pending);
}

#[test]
fn one_observer_never_decides() {
    let mut s = state(&["a"], 3);
    for t in (0..60_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1], U);
        votes(&mut s, t, "a", &[2, 3], H);
    }
    assert_eq!(verdict(&s, "a"), Verdict::Suspect);
    assert!(s.events.iter().all(|e| e.to != Verdict::Lost));
}

#[test]
fn expired_votes_count_for_nothing() {
    let mut s = state(&["a"], 3);
    // Nodes 1 and 2 vote unhealthy once and then go silent (dead): their votes expire.
    votes(&mut s, 0, "a", &[1, 2], U);
    for t in (1_000..30_000).step_by(1_000) {
        votes(&mut s, t, "a", &[3], U);
    }
    assert!(
        s.events.iter().all(|e| e.to != Verdict::Lost),
        "a lone fresh vote decided"
    );
}

#[test]
fn abstaining_votes_count_for_nothing() {
    let mut s = state(&["a"], 3);
    for t in (0..30_000).step_by(1_000) {
        for n in [1, 2] {
            s.vote(t, n, "a", U, "x".into(), n == 2, None);
        }
        votes(&mut s, t, "a", &[3], H);
    }
    assert!(s.events.iter().all(|e| e.to != Verdict::Lost));
}

#[test]
fn flapping_faster_than_the_window_is_never_lost() {
    let mut s = state(&["a"], 3);
    for t in (0..60_000).step_by(1_000) {
        let obs = if (t / 2_000) % 2 == 0 { U } else { H };
        votes(&mut s, t, "a", &[1, 2, 3], obs);
    }
    assert!(s.events.iter().all(|e| e.to != Verdict::Lost));
}

#[test]
fn suspect_recovers_only_after_the_recovery_period() {
    let mut s = state(&["a"], 3);
    votes(&mut s, 0, "a", &[1, 2, 3], U);
    votes(&mut s, 1_000, "a", &[1, 2, 3], H);
    assert_eq!(verdict(&s, "a"), Verdict::Suspect, "no instant recovery");
    votes(&mut s, 3_000, "a", &[1, 2, 3], H);
    assert_eq!(verdict(&s, "a"), Verdict::Suspect);
    votes(&mut s, 4_000, "a", &[1, 2, 3], H);
    assert_eq!(verdict(&s, "a"), Verdict::Healthy);
}

#[test]
fn a_lost_cluster_that_returns_is_fenced_until_unfenced() {
    let mut s = state(&["a"], 3);
    for t in (0..=7_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], U);
    }
    assert_eq!(verdict(&s, "a"), Verdict::Lost);
    for t in (8_000..=40_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], H);
    }
    assert_eq!(verdict(&s, "a"), Verdict::Fenced);
    s.unfence("a", 41_000).unwrap();
    for t in (41_000..=45_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], H);
    }
    assert_eq!(verdict(&s, "a"), Verdict::Healthy);
}

#[test]
fn losing_too_many_clusters_at_once_holds_failover() {
    let mut s = state(&["a", "b", "c"], 3);
    for t in (0..=8_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], U);
        votes(&mut s, t, "b", &[1, 2, 3], U);
        votes(&mut s, t, "c", &[1, 2, 3], H);
    }
    for c in ["a", "b"] {
        assert_eq!(verdict(&s, c), Verdict::Lost);
        assert!(
            matches!(s.clusters[c].failover, Failover::Held { .. }),
            "{c}: {:?}",
            s.clusters[c].failover
        );
    }
}

#[test]
fn a_second_loss_within_the_cooldown_is_suppressed() {
    let mut s = state(&["a"], 3);
    let mut t = 0;
    let lose = |s: &mut HealthState, t: &mut u64| {
        for _ in 0..8 {
            votes(s, *t, "a", &[1, 2, 3], U);
            *t += 1_000;
        }
    };
    lose(&mut s, &mut t);
    assert_eq!(s.clusters["a"].failover, Failover::Pending);
    s.unfence("a", t);
    lose(&mut s, &mut t);
    assert_eq!(verdict(&s, "a"), Verdict::Lost);
    assert!(matches!(
        s.clusters["a"].failover,
        Failover::Suppressed { .. }
    ));
}

#[test]
fn five_voters_need_three_and_the_minority_cannot_decide() {
    let mut s = state(&["a"], 5);
    for t in (0..30_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2], U);
    }
    assert!(s.events.iter().all(|e| e.to != Verdict::Lost));
    for t in (30_000..=37_000).step_by(1_000) {
        votes(&mut s, t, "a", &[1, 2, 3], U);
    }
    assert_eq!(verdict(&s, "a"), Verdict::Lost);
}
