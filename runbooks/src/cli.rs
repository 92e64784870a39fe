//! `lifeboat runbook lint FILE...`: the whole CLI behaviour, writing to any `Write`.
//! The only I/O in this crate: reading the files named on the command line.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::catalogue::NoPlugins;
use crate::diagnostic::{Diagnostic, Severity, render_human};
use crate::lint::parse_and_lint;

/// The JSON document printed by `-o json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonOutput {
    /// Every diagnostic of every file.
    pub diagnostics: Vec<Diagnostic>,
    /// Files that could not be read: `(path, error)`.
    pub unreadable: Vec<(String, String)>,
    /// Error count.
    pub errors: usize,
    /// Warning count.
    pub warnings: usize,
}

/// Lints `files` offline and prints human (rustc-style) or JSON output to `out`.
/// Returns the exit code: 0 clean, 1 errors (or warnings with `deny_warnings`),
/// 2 when a file could not be read.
pub fn lint_command(
    files: &[PathBuf],
    json: bool,
    deny_warnings: bool,
    out: &mut dyn Write,
) -> i32 {
    let mut all = Vec::new();
    let mut unreadable = Vec::new();
    let mut human = String::new();
    for file in files {
        let name = file.display().to_string();
        let source = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                human.push_str(&format!("error: cannot read {name}: {e}\n\n"));
                unreadable.push((name, e.to_string()));
                continue;
            }
        };
        let report = parse_and_lint(&name, &source, &NoPlugins);
        human.push_str(&render_human(&report, &source));
        all.extend(report.diagnostics);
    }
    let errors = all.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = all.len() - errors;
    let write_result = if json {
        let doc = JsonOutput {
            diagnostics: all,
            unreadable: unreadable.clone(),
            errors,
            warnings,
        };
        serde_json::to_string_pretty(&doc)
            .map_err(std::io::Error::other)
            .and_then(|s| writeln!(out, "{s}"))
    } else {
        human.push_str(&format!(
            "{} file(s): {errors} error(s), {warnings} warning(s)\n",
            files.len()
        ));
        out.write_all(human.as_bytes())
    };
    if write_result.is_err() || !unreadable.is_empty() {
        2
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        1
    } else {
        0
    }
}
