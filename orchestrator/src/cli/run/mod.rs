//! `lifeboat run start|list|show|watch|approve|reject|cancel` and
//! `lifeboat drill start|list|report`.
//!
//! `watch` follows `GET /v1/runs/{id}/events` (server-sent events: `journal`, `log`,
//! `state`), reconnecting when the stream drops (entries already shown are not shown
//! again), and exits 0 when the run succeeded, 1 otherwise.
//!
//! Files: the clap definitions and the dispatch are here; `params.rs` parses `--param`,
//! `actions.rs` starts runs and decides approvals, `list.rs` and `show.rs` render runs,
//! `report.rs` fetches a drill's report, `watch.rs` follows the event stream (parsed by
//! `sse.rs`, shown by `watcher.rs`).

mod actions;
mod list;
mod params;
mod report;
mod show;
mod sse;
#[cfg(test)]
mod tests;
mod watch;
mod watcher;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use actions::{decide, start};
use list::list;
use params::parse_param;
use report::report;
use show::render_show;
use watch::watch;

use crate::cli::table::Paint;
use crate::cli::{Output, ServerArgs, answered};
use crate::client::ApiClient;
use crate::executor::report::iso8601;

/// `lifeboat run ...`.
#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Start a run of a stored runbook (operator); prints its id.
    Start {
        /// Runbook name.
        runbook: String,
        /// A param, repeatable: `--param cluster=eu-west`. Values that parse as JSON
        /// (numbers, booleans, `["a","b"]`) are JSON, `[a,b]` is a list, anything else
        /// a string.
        #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
        params: Vec<(String, Value)>,
        /// Follow the run until it ends (exit 0 when it succeeded).
        #[arg(long)]
        watch: bool,
    },
    /// Runs, newest first.
    List {
        /// Only runs in this state (held, queued, running, succeeded, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// Only runs of this runbook.
        #[arg(long)]
        runbook: Option<String>,
    },
    /// One run: summary, steps (from its journal), approvals waiting.
    Show {
        /// Run id.
        id: String,
    },
    /// Follow a run's journal, log and state until it ends; exit 0 when it succeeded,
    /// 1 when it failed or was cancelled.
    Watch {
        /// Run id.
        id: String,
    },
    /// Approve a held run's start, or the approval step waiting (operator).
    Approve {
        /// Run id.
        id: String,
        /// Which approval.
        #[command(flatten)]
        which: Which,
    },
    /// Reject a held run's start, or the approval step waiting (operator).
    Reject {
        /// Run id.
        id: String,
        /// Which approval.
        #[command(flatten)]
        which: Which,
    },
    /// Cancel a run: it stops at the next step boundary and runs `finally` (operator).
    Cancel {
        /// Run id.
        id: String,
    },
}

/// Which approval to decide (default: the only one waiting).
#[derive(Debug, Clone, Args)]
pub struct Which {
    /// The approval step id.
    #[arg(long)]
    pub step: Option<String>,
    /// The forEach item of the approval step.
    #[arg(long)]
    pub item: Option<usize>,
}

/// `lifeboat drill ...`.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Start a drill of a stored runbook (operator); prints its id.
    Start {
        /// Runbook name.
        runbook: String,
        /// A param, repeatable (as for `run start`).
        #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
        params: Vec<(String, Value)>,
        /// Follow the drill until it ends, then print its report.
        #[arg(long)]
        wait: bool,
    },
    /// Drills, newest first.
    List,
    /// A drill's report (RTO, RPO, steps, evidence), written to stdout as is.
    Report {
        /// Drill (run) id.
        id: String,
        /// Report format (default: `md`, or `json` with `-o json`).
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
    },
}

/// Formats of `drill report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown.
    Md,
    /// JSON.
    Json,
    /// A self-contained HTML page.
    Html,
}

impl ReportFormat {
    fn name(self) -> &'static str {
        match self {
            ReportFormat::Md => "md",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
        }
    }
}

/// Run a `run` command; exit 0, or 1 on any failure.
pub async fn run(cmd: RunCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let json_out = args.output == Output::Json;
    match cmd {
        RunCommand::Start {
            runbook,
            params,
            watch: follow,
        } => {
            let Some(id) = start(&client, json_out, "/v1/runs", &runbook, params).await else {
                return Ok(1);
            };
            if follow {
                return watch(&args, &client, &id).await;
            }
            Ok(0)
        }
        RunCommand::List { state, runbook } => {
            let mut query = Vec::new();
            if let Some(s) = state {
                query.push(format!("state={}", encode(&s)));
            }
            if let Some(r) = runbook {
                query.push(format!("runbook={}", encode(&r)));
            }
            let path = if query.is_empty() {
                "/v1/runs".to_string()
            } else {
                format!("/v1/runs?{}", query.join("&"))
            };
            list(&client, json_out, &path, "runs").await
        }
        RunCommand::Show { id } => {
            let Some(v) = answered(client.get(&format!("/v1/runs/{}", encode(&id))).await) else {
                return Ok(1);
            };
            if json_out {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", render_show(&v, now_ms(), Paint::stdout()));
            }
            Ok(0)
        }
        RunCommand::Watch { id } => watch(&args, &client, &id).await,
        RunCommand::Approve { id, which } => decide(&client, json_out, &id, which, true).await,
        RunCommand::Reject { id, which } => decide(&client, json_out, &id, which, false).await,
        RunCommand::Cancel { id } => {
            let path = format!("/v1/runs/{}/cancel", encode(&id));
            let Some(v) = answered(client.post(&path).await) else {
                return Ok(1);
            };
            if json_out {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if v["state"] == "running" {
                println!(
                    "{id}: cancel requested; the run stops its current step and runs its \
                     `finally` steps (follow it with `lifeboat run watch {id}`)"
                );
            } else {
                println!("{id}: {}", v["state"].as_str().unwrap_or("?"));
            }
            Ok(0)
        }
    }
}

/// Run a `drill` command; exit 0, or 1 on any failure (or when a waited-for drill did
/// not succeed).
pub async fn drill(cmd: DrillCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let json_out = args.output == Output::Json;
    match cmd {
        DrillCommand::Start {
            runbook,
            params,
            wait,
        } => {
            let Some(id) = start(&client, json_out, "/v1/drills", &runbook, params).await else {
                return Ok(1);
            };
            if !wait {
                return Ok(0);
            }
            let code = watch(&args, &client, &id).await?;
            let format = if json_out {
                ReportFormat::Json
            } else {
                ReportFormat::Md
            };
            if !json_out {
                println!();
            }
            let report = report(&args, &id, format).await?;
            Ok(code.max(report))
        }
        DrillCommand::List => list(&client, json_out, "/v1/drills", "drills").await,
        DrillCommand::Report { id, format } => {
            let default = if json_out {
                ReportFormat::Json
            } else {
                ReportFormat::Md
            };
            report(&args, &id, format.unwrap_or(default)).await
        }
    }
}

/// Percent-encode a path segment or query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `12:34:56` (UTC).
fn clock(ms: u64) -> String {
    iso8601(ms).get(11..19).unwrap_or("?").to_string()
}
