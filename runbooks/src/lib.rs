//! Lifeboat runbooks: the YAML schema, the linter and the pure planner.
//!
//! Entry points: [`parse_and_lint`] (YAML text to a typed [`Runbook`] plus positioned
//! [`Diagnostic`]s), [`lint_command`] (the `lifeboat runbook lint` CLI behaviour),
//! [`plan`] (given a run's [`Journal`] and the clock, what happens next) and
//! [`runbook_digest`]. No I/O except reading the files given to [`lint_command`].

pub mod catalogue;
pub mod cli;
pub mod diagnostic;
pub mod duration;
mod graph;
pub mod journal;
pub mod lint;
mod parse;
pub mod planner;
pub mod schema;
pub mod spans;
pub mod template;

use sha2::{Digest, Sha256};

pub use catalogue::{NoPlugins, PluginSchema, PluginSchemas};
pub use cli::lint_command;
pub use diagnostic::{Diagnostic, LintReport, Severity, render_human};
pub use duration::Duration;
pub use journal::{Journal, JournalEvent};
pub use lint::parse_and_lint;
pub use planner::{Action, Plan, RunContext, RunStatus, plan};
pub use schema::{Runbook, json_schema};

/// The content digest of a runbook (`sha256:<hex>` of the exact bytes), for pinning runs.
#[must_use]
pub fn runbook_digest(yaml: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(yaml.as_bytes())))
}
