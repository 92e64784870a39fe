//! Diagnostics: what the linter reports (severity, stable code, message, file:line:column,
//! fix hint) and their rustc/miette-like human rendering.

use serde::Serialize;

use crate::schema::Runbook;

/// How bad a diagnostic is: errors fail `lint`, warnings only with `--deny-warnings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The runbook is rejected.
    Error,
    /// Suspicious but accepted.
    Warning,
}

/// One finding, with a 1-based line and column in `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code, e.g. `RB012` (see the README for the list).
    pub code: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The source name given to the linter (usually the file path).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Width of the offending text on that line, for underlining (at least 1).
    #[serde(skip_serializing_if = "is_one")]
    pub len: usize,
    /// A short fix hint.
    pub hint: Option<String>,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// The result of [`crate::parse_and_lint`].
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// The parsed runbook, when the YAML matched the schema (even if lint rules failed).
    #[serde(skip)]
    pub runbook: Option<Runbook>,
    /// Every finding, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl LintReport {
    /// Number of error diagnostics.
    #[must_use]
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warning diagnostics.
    #[must_use]
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// True when there is no error (warnings allowed).
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.error_count() == 0
    }

    /// True when the report contains a diagnostic with this code.
    #[must_use]
    pub fn has(&self, code: &str) -> bool {
        self.diagnostics.iter().any(|d| d.code == code)
    }
}

/// Renders every diagnostic of `report` in the rustc style, quoting `source`.
///
/// ```text
/// error[RB012]: step `restore` needs unknown step `snap`
///   --> failover.yaml:12:13
///    |
/// 12 |     needs: [snap]
///    |             ^^^^
///    = help: ...
/// ```
#[must_use]
pub fn render_human(report: &LintReport, source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for d in &report.diagnostics {
        render_one(d, &lines, &mut out);
        out.push('\n');
    }
    out
}

fn render_one(d: &Diagnostic, lines: &[&str], out: &mut String) {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let gutter = d.line.to_string().len();
    let pad = " ".repeat(gutter);
    out.push_str(&format!("{level}[{}]: {}\n", d.code, d.message));
    out.push_str(&format!("{pad}--> {}:{}:{}\n", d.file, d.line, d.column));
    if let Some(text) = d.line.checked_sub(1).and_then(|i| lines.get(i)) {
        out.push_str(&format!("{pad} |\n"));
        out.push_str(&format!("{} | {}\n", d.line, text));
        let indent: String = text
            .chars()
            .take(d.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = d.len.max(1);
        out.push_str(&format!("{pad} | {indent}{}\n", "^".repeat(width)));
    }
    if let Some(hint) = &d.hint {
        out.push_str(&format!("{pad} = help: {hint}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rustc_style() {
        let report = LintReport {
            runbook: None,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                code: "RB012".into(),
                message: "step `b` needs unknown step `x`".into(),
                file: "f.yaml".into(),
                line: 2,
                column: 10,
                len: 1,
                hint: Some("declare it".into()),
            }],
        };
        let text = render_human(&report, "a: 1\n  needs: [x]\n");
        assert_eq!(
            text,
            "error[RB012]: step `b` needs unknown step `x`\n --> f.yaml:2:10\n  |\n2 |   needs: [x]\n  |          ^\n  = help: declare it\n\n"
        );
    }
}
