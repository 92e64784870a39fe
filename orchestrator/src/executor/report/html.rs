//! [`DrillReport::to_html`]: the report as one self-contained HTML page.

use std::fmt::Write as _;

use super::DrillReport;
use super::tables::{READY_HEAD, RESTORE_HEAD, STEP_HEAD};
use super::text::escape_html;

impl DrillReport {
    /// The report as one self-contained HTML page (inline CSS, every text escaped).
    #[must_use]
    pub fn to_html(&self) -> String {
        let t = self.tables();
        let title = escape_html(&self.title());
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{title}</title><style>{CSS}</style></head><body>\n<h1>{title}</h1>\n\
             <table class=\"summary\">\n"
        );
        for (k, v) in &t.summary {
            let class = match (*k, v.as_str()) {
                ("State" | "Objectives met", "succeeded" | "yes") => " class=\"ok\"",
                ("State" | "Objectives met", "failed" | "cancelled" | "NO") => " class=\"bad\"",
                _ => "",
            };
            let _ = writeln!(
                out,
                "<tr><th>{k}</th><td{class}>{}</td></tr>",
                escape_html(v)
            );
        }
        out.push_str("</table>\n<h2>Steps</h2>\n");
        html_table(&mut out, &STEP_HEAD, &t.steps, Some(7));
        out.push_str("<h2>Recovery objectives</h2>\n<ul>\n");
        for (name, m) in [("RTO", &self.rto), ("RPO", &self.rpo)] {
            let _ = writeln!(
                out,
                "<li><b>{name}</b>: {}. {}</li>",
                escape_html(&m.summary()),
                escape_html(&m.explain())
            );
        }
        out.push_str("</ul>\n<h2>Evidence</h2>\n<h3>Restores</h3>\n");
        if t.restores.is_empty() {
            out.push_str("<p>No restore ran.</p>\n");
        } else {
            html_table(&mut out, &RESTORE_HEAD, &t.restores, None);
        }
        out.push_str("<h3>Readiness checks</h3>\n");
        if t.readiness.is_empty() {
            out.push_str("<p>No readiness check ran.</p>\n");
        } else {
            html_table(&mut out, &READY_HEAD, &t.readiness, None);
        }
        if !self.notes.is_empty() {
            out.push_str("<h2>Notes</h2>\n<ul>\n");
            for n in &self.notes {
                let _ = writeln!(out, "<li>{}</li>", escape_html(n));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.ok{color:#176b2c;font-weight:600}\
.bad{color:#a31515;font-weight:600}.muted{color:#777}";

/// An HTML table; `outcome_col` gets a colour class by its value.
fn html_table<const N: usize>(
    out: &mut String,
    head: &[&str; N],
    rows: &[[String; N]],
    outcome_col: Option<usize>,
) {
    out.push_str("<table>\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape_html(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match (outcome_col == Some(i), cell.split(' ').next()) {
                (true, Some("succeeded")) => " class=\"ok\"",
                (true, Some("failed")) => " class=\"bad\"",
                (true, _) => " class=\"muted\"",
                _ => "",
            };
            let _ = write!(out, "<td{class}>{}</td>", escape_html(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}
