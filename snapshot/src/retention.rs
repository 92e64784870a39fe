//! Retention (pure): which snapshots to delete under a keep-last / hourly / daily / weekly /
//! monthly policy, per cluster.
//!
//! Semantics (as restic's `forget`): snapshots of each cluster are taken newest first;
//! `keep_last` keeps the N newest; `hourly` keeps the newest snapshot of each of the N most
//! recent hours that have one (likewise `daily`, `weekly` (ISO weeks), `monthly`; buckets
//! in UTC). A snapshot is kept if any rule keeps it. A policy with no rule keeps everything;
//! the newest snapshot of a cluster is always kept.

use crate::manifest::ManifestHeader;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Retention policy (per cluster).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Keep the N newest.
    pub keep_last: u32,
    /// Keep the newest of each of the last N hours.
    pub hourly: u32,
    /// Keep the newest of each of the last N days.
    pub daily: u32,
    /// Keep the newest of each of the last N ISO weeks.
    pub weekly: u32,
    /// Keep the newest of each of the last N months.
    pub monthly: u32,
}

impl RetentionPolicy {
    /// Whether the policy has no rule (then nothing is ever deleted).
    pub fn is_empty(&self) -> bool {
        *self == RetentionPolicy::default()
    }
}

/// What retention needs to know about a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Snapshot id.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// Point in time.
    pub time: DateTime<Utc>,
}

impl From<&ManifestHeader> for SnapshotMeta {
    fn from(h: &ManifestHeader) -> Self {
        SnapshotMeta {
            id: h.id.clone(),
            cluster: h.cluster.clone(),
            time: h.completed_at,
        }
    }
}

/// Decision for every snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionPlan {
    /// Kept ids with the rules that keep them.
    pub keep: BTreeMap<String, Vec<&'static str>>,
    /// Ids to delete, oldest first.
    pub delete: Vec<String>,
}

type Bucket = fn(&DateTime<Utc>) -> (i32, u32, u32, u32);

fn hour(t: &DateTime<Utc>) -> (i32, u32, u32, u32) {
    (t.year(), t.month(), t.day(), t.hour())
}
fn day(t: &DateTime<Utc>) -> (i32, u32, u32, u32) {
    (t.year(), t.month(), t.day(), 0)
}
fn week(t: &DateTime<Utc>) -> (i32, u32, u32, u32) {
    let w = t.iso_week();
    (w.year(), w.week(), 0, 0)
}
fn month(t: &DateTime<Utc>) -> (i32, u32, u32, u32) {
    (t.year(), t.month(), 0, 0)
}

/// Decide which snapshots to keep and delete.
pub fn plan(snapshots: &[SnapshotMeta], policy: &RetentionPolicy) -> RetentionPlan {
    let mut out = RetentionPlan::default();
    let mut by_cluster: BTreeMap<&str, Vec<&SnapshotMeta>> = BTreeMap::new();
    for s in snapshots {
        by_cluster.entry(&s.cluster).or_default().push(s);
    }
    let mut delete: Vec<&SnapshotMeta> = vec![];
    for (_, mut snaps) in by_cluster {
        snaps.sort_by(|a, b| (b.time, &b.id).cmp(&(a.time, &a.id)));
        let mut keep: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
        if policy.is_empty() {
            for s in &snaps {
                keep.entry(&s.id).or_default().push("no-policy");
            }
        }
        if let Some(newest) = snaps.first() {
            keep.entry(&newest.id).or_default().push("newest");
        }
        for s in snaps.iter().take(policy.keep_last as usize) {
            keep.entry(&s.id).or_default().push("keep-last");
        }
        let rules: [(&'static str, u32, Bucket); 4] = [
            ("hourly", policy.hourly, hour),
            ("daily", policy.daily, day),
            ("weekly", policy.weekly, week),
            ("monthly", policy.monthly, month),
        ];
        for (name, n, bucket) in rules {
            let mut seen = HashSet::new();
            for s in &snaps {
                if seen.len() >= n as usize {
                    break;
                }
                if seen.insert(bucket(&s.time)) {
                    keep.entry(&s.id).or_default().push(name);
                }
            }
        }
        for s in &snaps {
            match keep.get(s.id.as_str()) {
                Some(r) => {
                    out.keep.insert(s.id.clone(), r.clone());
                }
                None => delete.push(s),
            }
        }
    }
    delete.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    out.delete = delete.into_iter().map(|s| s.id.clone()).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snaps(cluster: &str, hours: &[i64]) -> Vec<SnapshotMeta> {
        let base = Utc.with_ymd_and_hms(2025, 3, 10, 0, 0, 0).unwrap();
        hours
            .iter()
            .map(|h| SnapshotMeta {
                id: format!("{cluster}-{h}"),
                cluster: cluster.into(),
                time: base + chrono::Duration::minutes(h * 30),
            })
            .collect()
    }

    #[test]
    fn empty_policy_keeps_everything() {
        let s = snaps("a", &[0, 1, 2]);
        assert!(plan(&s, &RetentionPolicy::default()).delete.is_empty());
    }

    #[test]
    fn keep_last_n_per_cluster() {
        let mut s = snaps("a", &[0, 1, 2, 3]);
        s.extend(snaps("b", &[0, 1]));
        let p = plan(
            &s,
            &RetentionPolicy {
                keep_last: 2,
                ..Default::default()
            },
        );
        assert_eq!(p.delete, ["a-0", "a-1"]);
        assert!(p.keep.contains_key("b-0") && p.keep.contains_key("b-1"));
    }

    #[test]
    fn hourly_keeps_newest_per_hour() {
        // Half-hourly snapshots 0..6 = hours 0,0,1,1,2,2.
        let s = snaps("a", &[0, 1, 2, 3, 4, 5]);
        let p = plan(
            &s,
            &RetentionPolicy {
                hourly: 2,
                ..Default::default()
            },
        );
        let kept: Vec<&String> = p.keep.keys().collect();
        assert_eq!(kept, ["a-3", "a-5"]);
        assert_eq!(p.delete, ["a-0", "a-1", "a-2", "a-4"]);
    }

    #[test]
    fn daily_weekly_monthly_and_reasons() {
        let s: Vec<SnapshotMeta> = (0..60)
            .map(|d| SnapshotMeta {
                id: format!("s{d:02}"),
                cluster: "c".into(),
                time: Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
                    + chrono::Duration::days(d),
            })
            .collect();
        let p = plan(
            &s,
            &RetentionPolicy {
                daily: 3,
                weekly: 2,
                monthly: 3,
                ..Default::default()
            },
        );
        assert_eq!(p.keep["s59"], ["newest", "daily", "weekly", "monthly"]);
        assert!(p.keep.contains_key("s57"), "third day");
        assert!(p.keep.contains_key("s30"), "newest of January (2025-01-31)");
        assert!(p.keep.contains_key("s58") && !p.keep.contains_key("s56"));
        assert_eq!(p.keep.len() + p.delete.len(), 60);
    }
}
