//! The table rows shared by the Markdown and HTML forms, and their headings.

use super::DrillReport;
use super::text::{iso8601, opt_ms};

/// The table rows shared by the Markdown and HTML forms.
pub(super) struct Tables {
    pub(super) summary: Vec<(&'static str, String)>,
    pub(super) steps: Vec<[String; 10]>,
    pub(super) restores: Vec<[String; 8]>,
    pub(super) readiness: Vec<[String; 6]>,
}

pub(super) const STEP_HEAD: [&str; 10] = [
    "Step", "Item", "Uses", "Attempts", "Started", "Ended", "Duration", "Outcome", "Resumed",
    "Error",
];
pub(super) const RESTORE_HEAD: [&str; 8] = [
    "Step",
    "Restore",
    "Snapshot",
    "Objects in snapshot",
    "Restored",
    "Counts",
    "Target cluster",
    "Namespaces",
];
pub(super) const READY_HEAD: [&str; 6] =
    ["Step", "Cluster", "Namespace", "Checked", "Ready", "Waited"];

impl DrillReport {
    pub(super) fn title(&self) -> String {
        let kind = if self.drill { "Drill" } else { "Run" };
        format!("{kind} report: {} ({})", self.runbook, self.run_id)
    }

    pub(super) fn tables(&self) -> Tables {
        let dash = || "-".to_string();
        let opt = |v: Option<String>| v.unwrap_or_else(dash);
        let mut summary = vec![
            ("Run", self.run_id.clone()),
            ("Runbook", format!("{} ({})", self.runbook, self.digest)),
            ("State", self.state.clone()),
        ];
        if let Some(r) = &self.reason {
            summary.push(("Reason", r.clone()));
        }
        summary.extend([
            (
                "Params",
                serde_json::to_string(&self.params).unwrap_or_default(),
            ),
            ("Namespace suffix", opt(self.namespace_suffix.clone())),
            (
                "Started",
                format!("{} ({} ms)", self.started_at, self.started_at_ms),
            ),
            (
                "Finished",
                self.finished_at
                    .as_ref()
                    .zip(self.finished_at_ms)
                    .map_or_else(dash, |(t, ms)| format!("{t} ({ms} ms)")),
            ),
            ("Duration", opt_ms(self.duration_ms)),
            ("RTO", self.rto.summary()),
            ("RPO", self.rpo.summary()),
            (
                "Objectives met",
                match self.objectives_met {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "unknown",
                }
                .to_string(),
            ),
        ]);
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let outcome = match &s.detail {
                    Some(d) => format!("{} ({d})", s.outcome.name()),
                    None => s.outcome.name().to_string(),
                };
                [
                    s.step_id.clone(),
                    s.item.map_or_else(dash, |i| i.to_string()),
                    opt(s.uses.clone()),
                    s.attempts.to_string(),
                    s.started_at_ms.map_or_else(dash, iso8601),
                    s.ended_at_ms.map_or_else(dash, iso8601),
                    opt_ms(s.duration_ms),
                    outcome,
                    if s.resumed { "yes".into() } else { dash() },
                    s.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let restores = self
            .evidence
            .restores
            .iter()
            .map(|r| {
                let counts: Vec<String> =
                    r.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let namespaces: Vec<String> = r
                    .namespace_map
                    .iter()
                    .map(|(k, v)| format!("{k} -> {v}"))
                    .collect();
                [
                    crate::catalog::instance_key(&r.step_id, r.item),
                    opt(r.restore_id.clone()),
                    opt(r.snapshot_id.clone()),
                    r.snapshot_objects.map_or_else(dash, |n| n.to_string()),
                    r.restored.map_or_else(dash, |n| n.to_string()),
                    counts.join(", "),
                    opt(r.target_cluster.clone()),
                    namespaces.join(", "),
                ]
            })
            .collect();
        let readiness = self
            .evidence
            .readiness
            .iter()
            .map(|r| {
                [
                    crate::catalog::instance_key(&r.step_id, r.item),
                    opt(r.cluster.clone()),
                    opt(r.namespace.clone()),
                    r.checked.map_or_else(dash, |n| n.to_string()),
                    r.ready.join(", "),
                    opt_ms(r.waited_ms),
                ]
            })
            .collect();
        Tables {
            summary,
            steps,
            restores,
            readiness,
        }
    }
}
