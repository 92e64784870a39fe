//! Cron schedules (pure): parse and validate, next fire time, firing keys, missed-firing
//! policy and deterministic jitter. The orchestrator's leader calls [`Schedule::due_firings`]
//! on each tick and records the firing key in the catalog (dedup: one capture per key).
//!
//! Expressions have a seconds field (6 or 7 fields: `sec min hour dom month dow [year]`)
//! and are evaluated in the schedule's IANA timezone (DST handled by `chrono-tz`).
//!
//! Missed firings (after downtime, or a tick arriving late):
//! - `skip`: fire the latest due time only if it is *on time*, i.e. at most `window` late;
//!   older or late times are dropped and the schedule waits for its next time.
//! - `run_once`: fire the latest due time however late; earlier missed times are dropped
//!   (never a burst of catch-up captures).
//!
//! With no previous firing, only times within the last `window` count (a new schedule does
//! not back-fill). Jitter delays each firing by a deterministic offset in `[0, jitter]`
//! derived from the schedule id and the nominal time, so every node computes the same.

use crate::error::ScheduleError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::time::Duration;

/// How missed firings are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    /// Drop late firings (see the module docs).
    #[default]
    Skip,
    /// Fire once for all missed times.
    RunOnce,
}

/// A schedule as written in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Unique id (part of the firing key).
    pub id: String,
    /// Cron expression with seconds.
    pub cron: String,
    /// IANA timezone (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Missed-firing policy (default `skip`).
    #[serde(default)]
    pub missed: MissedPolicy,
    /// Maximum jitter in seconds (default 0).
    #[serde(default)]
    pub jitter_secs: u64,
    /// How late a firing may be and still count as on time, in seconds (default 60).
    #[serde(default = "sixty")]
    pub window_secs: u64,
}

fn utc() -> String {
    "UTC".into()
}
fn sixty() -> u64 {
    60
}

/// One firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Firing {
    /// Schedule id.
    pub schedule_id: String,
    /// The cron time.
    pub nominal: DateTime<Utc>,
    /// When to run (nominal + jitter).
    pub run_at: DateTime<Utc>,
    /// Dedup key: `<schedule-id>@<nominal RFC 3339>`.
    pub key: String,
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    spec: ScheduleSpec,
    cron: cron::Schedule,
    tz: Tz,
}

/// Longest look-back when searching for missed times.
const MAX_LOOKBACK_DAYS: i64 = 400;
/// Bound on cron iterations per call.
const MAX_STEPS: usize = 2_000_000;

impl Schedule {
    /// Parse and validate.
    pub fn parse(spec: &ScheduleSpec) -> Result<Schedule, ScheduleError> {
        let id = spec.id.clone();
        if id.is_empty() || id.contains('@') {
            return Err(ScheduleError::Invalid {
                id,
                reason: "id must be non-empty and must not contain '@'".into(),
            });
        }
        let cron = cron::Schedule::from_str(spec.cron.trim()).map_err(|e| ScheduleError::Cron {
            id: id.clone(),
            expr: spec.cron.clone(),
            reason: e.to_string(),
        })?;
        let tz = Tz::from_str(&spec.timezone).map_err(|_| ScheduleError::Timezone {
            id: id.clone(),
            tz: spec.timezone.clone(),
        })?;
        if spec.jitter_secs > 24 * 3600 {
            return Err(ScheduleError::Invalid {
                id,
                reason: "jitter_secs must be at most 86400".into(),
            });
        }
        let s = Schedule {
            spec: spec.clone(),
            cron,
            tz,
        };
        if s.cron
            .after(&Utc::now().with_timezone(&tz))
            .next()
            .is_none()
        {
            return Err(ScheduleError::NeverFires {
                id,
                expr: spec.cron.clone(),
            });
        }
        Ok(s)
    }

    /// Shorthand: id, expression, timezone; other fields default.
    pub fn new(id: &str, cron: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        Self::parse(&ScheduleSpec {
            id: id.into(),
            cron: cron.into(),
            timezone: timezone.into(),
            missed: MissedPolicy::Skip,
            jitter_secs: 0,
            window_secs: 60,
        })
    }

    /// The spec.
    pub fn spec(&self) -> &ScheduleSpec {
        &self.spec
    }

    /// Deterministic jitter for a nominal time.
    pub fn jitter(&self, nominal: DateTime<Utc>) -> Duration {
        if self.spec.jitter_secs == 0 {
            return Duration::ZERO;
        }
        let h = Sha256::new()
            .chain_update(self.spec.id.as_bytes())
            .chain_update(nominal.timestamp().to_le_bytes())
            .finalize();
        let n = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        Duration::from_secs(n % (self.spec.jitter_secs + 1))
    }

    /// The firing for a nominal time.
    pub fn firing(&self, nominal: DateTime<Utc>) -> Firing {
        Firing {
            schedule_id: self.spec.id.clone(),
            nominal,
            run_at: nominal + chrono::Duration::from_std(self.jitter(nominal)).unwrap_or_default(),
            key: format!(
                "{}@{}",
                self.spec.id,
                nominal.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }

    /// The first firing with a nominal time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<Firing> {
        self.cron
            .after(&t.with_timezone(&self.tz))
            .next()
            .map(|n| self.firing(n.with_timezone(&Utc)))
    }

    /// Firings due at `now` given the nominal time of the last firing (see the module
    /// docs for the policies). Returns at most one firing.
    pub fn due_firings(
        &self,
        last_fired: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<Firing> {
        let window = chrono::Duration::seconds(self.spec.window_secs as i64);
        let jitter = chrono::Duration::seconds(self.spec.jitter_secs as i64);
        let floor = now - chrono::Duration::days(MAX_LOOKBACK_DAYS);
        let start = match last_fired {
            Some(t) => t.max(floor),
            None => now - window - jitter - chrono::Duration::seconds(1),
        };
        let mut latest: Option<Firing> = None;
        for n in self
            .cron
            .after(&start.with_timezone(&self.tz))
            .take(MAX_STEPS)
        {
            let n = n.with_timezone(&Utc);
            if n > now {
                break;
            }
            let f = self.firing(n);
            if f.run_at <= now {
                latest = Some(f);
            }
        }
        let Some(f) = latest else { return vec![] };
        let on_time = now - f.run_at <= window;
        match self.spec.missed {
            MissedPolicy::RunOnce => vec![f],
            MissedPolicy::Skip if on_time => vec![f],
            MissedPolicy::Skip => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, h, m, s).unwrap()
    }

    fn spec(cron: &str, missed: MissedPolicy) -> ScheduleSpec {
        ScheduleSpec {
            id: "hourly".into(),
            cron: cron.into(),
            timezone: "UTC".into(),
            missed,
            jitter_secs: 0,
            window_secs: 60,
        }
    }

    #[test]
    fn parse_errors_are_clear() {
        let e = Schedule::new("x", "* * *", "UTC").unwrap_err();
        assert!(matches!(e, ScheduleError::Cron { .. }));
        assert!(e.to_string().contains("sec min hour"), "{e}");
        let e = Schedule::new("x", "0 0 * * * *", "Mars/Olympus").unwrap_err();
        assert!(e.to_string().contains("unknown timezone"), "{e}");
        let e = Schedule::new("x", "0 0 0 1 1 * 2001", "UTC").unwrap_err();
        assert!(matches!(e, ScheduleError::NeverFires { .. }), "{e}");
        assert!(Schedule::new("a@b", "0 0 * * * *", "UTC").is_err());
    }

    #[test]
    fn next_after_with_seconds_and_timezone() {
        let s = Schedule::new("s", "30 0 * * * *", "UTC").unwrap();
        assert_eq!(s.next_after(at(10, 0, 30)).unwrap().nominal, at(11, 0, 30));
        // 09:00 in Paris (UTC+2 in June) is 07:00 UTC.
        let p = Schedule::new("p", "0 0 9 * * *", "Europe/Paris").unwrap();
        assert_eq!(p.next_after(at(0, 0, 0)).unwrap().nominal, at(7, 0, 0));
        assert_eq!(
            p.next_after(at(0, 0, 0)).unwrap().key,
            "p@2025-06-01T07:00:00Z"
        );
    }

    #[test]
    fn due_on_time_and_not_twice() {
        let s = Schedule::parse(&spec("0 0 * * * *", MissedPolicy::Skip)).unwrap();
        let due = s.due_firings(Some(at(9, 0, 0)), at(10, 0, 5));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].nominal, at(10, 0, 0));
        assert!(s.due_firings(Some(at(10, 0, 0)), at(10, 0, 30)).is_empty());
        assert!(
            s.due_firings(None, at(10, 30, 0)).is_empty(),
            "new schedule does not back-fill"
        );
        assert_eq!(s.due_firings(None, at(10, 0, 10)).len(), 1);
    }

    #[test]
    fn missed_policies_after_downtime() {
        let skip = Schedule::parse(&spec("0 0 * * * *", MissedPolicy::Skip)).unwrap();
        let once = Schedule::parse(&spec("0 0 * * * *", MissedPolicy::RunOnce)).unwrap();
        // Down from 09:00 to 13:20: 10, 11, 12, 13 o'clock missed.
        assert!(
            skip.due_firings(Some(at(9, 0, 0)), at(13, 20, 0))
                .is_empty()
        );
        let due = once.due_firings(Some(at(9, 0, 0)), at(13, 20, 0));
        assert_eq!(
            due.iter().map(|f| f.nominal).collect::<Vec<_>>(),
            [at(13, 0, 0)]
        );
        // Back up just in time: skip fires the on-time one only.
        assert_eq!(
            skip.due_firings(Some(at(9, 0, 0)), at(13, 0, 30))[0].nominal,
            at(13, 0, 0)
        );
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let mut sp = spec("0 0 * * * *", MissedPolicy::Skip);
        sp.jitter_secs = 300;
        let a = Schedule::parse(&sp).unwrap();
        let b = Schedule::parse(&sp).unwrap();
        let mut distinct = std::collections::HashSet::new();
        for h in 0..24 {
            let j = a.jitter(at(h, 0, 0));
            assert_eq!(j, b.jitter(at(h, 0, 0)));
            assert!(j <= Duration::from_secs(300));
            distinct.insert(j);
        }
        assert!(distinct.len() > 5, "jitter varies between firings");
        let f = a.firing(at(10, 0, 0));
        // Not due before its jittered time, due after it.
        let before = f.run_at - chrono::Duration::seconds(1);
        assert!(
            a.due_firings(Some(at(9, 0, 0)), before)
                .iter()
                .all(|x| x.nominal != at(10, 0, 0))
        );
        assert_eq!(a.due_firings(Some(at(9, 0, 0)), f.run_at)[0].key, f.key);
    }
}
