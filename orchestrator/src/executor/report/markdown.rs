//! [`DrillReport::to_markdown`]: the report as Markdown.

use std::fmt::Write as _;

use super::DrillReport;
use super::tables::{READY_HEAD, RESTORE_HEAD, STEP_HEAD};

impl DrillReport {
    /// The report as Markdown: a summary table, the steps, objectives, evidence, notes.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let t = self.tables();
        let mut out = format!("# {}\n\n| | |\n|---|---|\n", md_cell(&self.title()));
        for (k, v) in &t.summary {
            let _ = writeln!(out, "| {k} | {} |", md_cell(v));
        }
        out.push_str("\n## Steps\n\n");
        md_table(&mut out, &STEP_HEAD, &t.steps);
        out.push_str("\n## Recovery objectives\n\n");
        for (name, m) in [("RTO", &self.rto), ("RPO", &self.rpo)] {
            let _ = writeln!(out, "- **{name}**: {}. {}", m.summary(), m.explain());
        }
        out.push_str("\n## Evidence\n\n### Restores\n\n");
        if t.restores.is_empty() {
            out.push_str("No restore ran.\n");
        } else {
            md_table(&mut out, &RESTORE_HEAD, &t.restores);
        }
        out.push_str("\n### Readiness checks\n\n");
        if t.readiness.is_empty() {
            out.push_str("No readiness check ran.\n");
        } else {
            md_table(&mut out, &READY_HEAD, &t.readiness);
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {}", n.replace(['\r', '\n'], " "));
            }
        }
        out
    }
}

/// Make text safe inside a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn md_table<const N: usize>(out: &mut String, head: &[&str; N], rows: &[[String; N]]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}
