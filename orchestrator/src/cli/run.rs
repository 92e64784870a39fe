//! `lifeboat run start|list|show|watch|approve|reject|cancel` and
//! `lifeboat drill start|list|report`.
//!
//! `watch` follows `GET /v1/runs/{id}/events` (server-sent events: `journal`, `log`,
//! `state`), reconnecting when the stream drops (entries already shown are not shown
//! again), and exits 0 when the run succeeded, 1 otherwise.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use futures::StreamExt;
use lifeboat_runbooks::journal::{FailureKind, JournalEvent};
use serde_json::{Value, json};

use super::table::{Cell, Paint, Table, fit, short_time};
use super::{Output, ServerArgs, answered};
use crate::client::{ApiClient, ClientError};
use crate::executor::report::{human_ms, iso8601};

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

/// `K=V` with V parsed as described on `--param`.
fn parse_param(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE (e.g. --param cluster=eu-west)"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("`{s}` has no param name before `=`"));
    }
    Ok((k.to_string(), parse_value(v)))
}

/// JSON when it parses; `[a,b]` as a list of values parsed the same way; else a string.
fn parse_value(v: &str) -> Value {
    if let Ok(json) = serde_json::from_str::<Value>(v) {
        return json;
    }
    let t = v.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Value::Array(
            split_top_level(inner)
                .into_iter()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_value)
                .collect(),
        );
    }
    Value::String(v.to_string())
}

/// Split on commas outside brackets, braces and double quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut parts = Vec::new();
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The params as a map; a name given twice is an error.
fn params_map(params: Vec<(String, Value)>) -> Result<BTreeMap<String, Value>, String> {
    let mut map = BTreeMap::new();
    for (k, v) in params {
        if map.insert(k.clone(), v).is_some() {
            return Err(format!("param `{k}` is given twice"));
        }
    }
    Ok(map)
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

/// POST a start; prints the id (or the JSON answer). None after printing an error.
async fn start(
    client: &ApiClient,
    json_out: bool,
    path: &str,
    runbook: &str,
    params: Vec<(String, Value)>,
) -> Option<String> {
    let params = params_map(params)
        .map_err(|e| eprintln!("error: {e}"))
        .ok()?;
    let body = json!({"runbook": runbook, "params": params});
    let v = answered(client.post_json(path, &body).await)?;
    let id = v["id"].as_str().unwrap_or_default().to_string();
    if json_out {
        println!("{v}");
    } else {
        println!("{id}");
        match v["state"].as_str() {
            Some("held") => eprintln!(
                "{id} is held: its start needs approval (`lifeboat run approve {id}` or \
                 `lifeboat run reject {id}`)"
            ),
            Some("queued") => {
                eprintln!("{id} is queued: it starts when the run holding its concurrency key ends")
            }
            _ => {}
        }
    }
    Some(id)
}

async fn list(client: &ApiClient, json_out: bool, path: &str, key: &str) -> anyhow::Result<i32> {
    let Some(v) = answered(client.get(path).await) else {
        return Ok(1);
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!(
            "{}",
            render_list(
                v[key].as_array().map_or(&[][..], |a| a),
                now_ms(),
                Paint::stdout()
            )
        );
    }
    Ok(0)
}

/// The runs table (at most 100 columns), states coloured.
fn render_list(runs: &[Value], now: u64, paint: Paint) -> String {
    if runs.is_empty() {
        return "(none)\n".into();
    }
    let mut t = Table::new(&[
        "ID",
        "RUNBOOK",
        "STATE",
        "TRIGGER",
        "CREATED (UTC)",
        "DURATION",
    ])
    .right(&[5])
    .keep(&[0, 4]);
    for r in runs {
        let created = r["created_at_ms"].as_u64().unwrap_or(0);
        let duration = match (r["finished_at_ms"].as_u64(), r["state"].as_str()) {
            (Some(f), _) => human_ms(f.saturating_sub(created)),
            (None, Some("running")) => human_ms(now.saturating_sub(created)),
            _ => "-".into(),
        };
        t.row(vec![
            r["id"].as_str().unwrap_or("?").into(),
            r["runbook"].as_str().unwrap_or("?").into(),
            Cell::state(r["state"].as_str().unwrap_or("?")),
            trigger(&r["trigger"]).into(),
            short_time(created).into(),
            duration.into(),
        ]);
    }
    t.render(paint)
}

fn trigger(t: &Value) -> String {
    match t["type"].as_str() {
        Some("cluster_lost") => format!("lost:{}", t["cluster"].as_str().unwrap_or("?")),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

/// One row of the steps table: one attempt.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    step: String,
    attempt: String,
    outcome: String,
    start: Option<u64>,
    end: Option<u64>,
    error: String,
}

fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Error | FailureKind::Render | FailureKind::Fatal => "failed",
        FailureKind::Timeout => "timed out",
        FailureKind::Cancelled => "cancelled",
        FailureKind::Rejected => "rejected",
    }
}

/// The journal as attempts, in order.
fn journal_rows(journal: &[Value]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let row = |rows: &mut Vec<Row>, open: &mut BTreeMap<String, usize>, step: String, a: u32| {
        open.remove(&step).unwrap_or_else(|| {
            rows.push(Row {
                step,
                attempt: a.to_string(),
                outcome: String::new(),
                start: None,
                end: None,
                error: String::new(),
            });
            rows.len() - 1
        })
    };
    for e in journal {
        let Ok(e) = serde_json::from_value::<JournalEvent>(e.clone()) else {
            continue;
        };
        match e {
            JournalEvent::StepStarted {
                step_id,
                item,
                attempt,
                at_ms,
                ..
            } => {
                let step = crate::catalog::instance_key(&step_id, item);
                rows.push(Row {
                    step: step.clone(),
                    attempt: attempt.to_string(),
                    outcome: "running".into(),
                    start: Some(at_ms),
                    end: None,
                    error: String::new(),
                });
                open.insert(step, rows.len() - 1);
            }
            JournalEvent::StepSucceeded {
                step_id,
                item,
                attempt,
                result,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance(&step_id, item), attempt);
                rows[i].end = Some(at_ms);
                rows[i].outcome = if result["simulated"] == true {
                    "simulated".into()
                } else {
                    "succeeded".into()
                };
            }
            JournalEvent::StepFailed {
                step_id,
                item,
                attempt,
                kind,
                error,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance(&step_id, item), attempt);
                rows[i].end = Some(at_ms);
                rows[i].outcome = kind_name(kind).into();
                rows[i].error = error;
            }
            JournalEvent::StepSkipped {
                step_id,
                reason,
                at_ms,
            } => rows.push(Row {
                step: step_id,
                attempt: "-".into(),
                outcome: "skipped".into(),
                start: None,
                end: Some(at_ms),
                error: reason,
            }),
            JournalEvent::ApprovalDecided {
                step_id,
                item,
                approved,
                by,
                at_ms,
            } => {
                let i = row(&mut rows, &mut open, instance(&step_id, item), 1);
                rows[i].end = Some(at_ms);
                rows[i].outcome = if approved { "approved" } else { "rejected" }.into();
                rows[i].error = format!("by {by}");
            }
            JournalEvent::Resumed { .. } => {
                for (_, i) in std::mem::take(&mut open) {
                    rows[i].outcome = "interrupted".into();
                    rows[i].error = "leader change: re-run by the new leader".into();
                }
            }
        }
    }
    rows
}

fn instance(step_id: &str, item: Option<usize>) -> String {
    crate::catalog::instance_key(step_id, item)
}

/// `run show` as text.
fn render_show(v: &Value, now: u64, paint: Paint) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let state = v["state"].as_str().unwrap_or("?");
    let mut out = format!(
        "{id}  {}  {}{}\n",
        v["runbook"].as_str().unwrap_or("?"),
        paint.state(state),
        if v["drill"] == true { "  (drill)" } else { "" }
    );
    let mut field = |k: &str, val: String| {
        out.push_str(&format!("{}\n", fit(&format!("  {k:<10} {val}"), 100)))
    };
    if let Some(r) = v["reason"].as_str() {
        field("reason:", r.to_string());
    }
    field("digest:", v["digest"].as_str().unwrap_or("?").to_string());
    field(
        "trigger:",
        format!(
            "{}, by {}",
            trigger(&v["trigger"]),
            v["created_by"].as_str().unwrap_or("?")
        ),
    );
    field("params:", v["params"].to_string());
    let created = v["created_at_ms"].as_u64().unwrap_or(0);
    field("created:", format!("{} UTC", short_time(created)));
    match v["finished_at_ms"].as_u64() {
        Some(f) => field(
            "finished:",
            format!(
                "{} UTC (took {})",
                short_time(f),
                human_ms(f.saturating_sub(created))
            ),
        ),
        None => field(
            "running:",
            format!("for {}", human_ms(now.saturating_sub(created))),
        ),
    }
    if let Some(n) = v["resumes"].as_u64().filter(|n| *n > 0) {
        field("resumed:", format!("{n} time(s) by a new leader"));
    }
    if v["cancel_requested"] == true && state == "running" {
        field(
            "cancel:",
            "requested (stops at the next step boundary)".into(),
        );
    }
    let rows = journal_rows(v["journal"].as_array().map_or(&[][..], |a| a));
    let mut steps = Table::new(&["STEP", "ATTEMPT", "OUTCOME", "DURATION", "ERROR"]).right(&[1, 3]);
    for r in &rows {
        let duration = match (r.start, r.end) {
            (Some(s), Some(e)) => human_ms(e.saturating_sub(s)),
            (Some(s), None) if r.outcome == "running" => human_ms(now.saturating_sub(s)),
            _ => "-".into(),
        };
        steps.row(vec![
            r.step.as_str().into(),
            r.attempt.as_str().into(),
            Cell::state(&r.outcome),
            duration.into(),
            r.error.as_str().into(),
        ]);
    }
    out.push('\n');
    out.push_str(&steps.render(paint));
    if rows.is_empty() {
        out.push_str("(no step started yet)\n");
    }
    out.push_str(&approvals(v));
    let log = v["log"].as_array().map_or(&[][..], |a| a);
    if !log.is_empty() {
        out.push_str(&format!(
            "\nlog (last {} of {}):\n",
            log.len().min(10),
            log.len()
        ));
        for l in &log[log.len().saturating_sub(10)..] {
            out.push_str(&format!("  {}\n", log_line(l)));
        }
    }
    out
}

/// What is waiting for a person, with the command to decide it.
fn approvals(v: &Value) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let mut out = String::new();
    if v["state"] == "held" {
        out.push_str(&format!(
            "\nheld: {}\n  approve its start: lifeboat run approve {id}   (or reject it)\n",
            v["reason"].as_str().unwrap_or("waiting for approval")
        ));
    }
    for a in v["open"].as_array().into_iter().flatten() {
        if a["uses"] != "approval" {
            continue;
        }
        let step = a["step_id"].as_str().unwrap_or("?");
        let item = a["item"].as_u64();
        let by: Vec<&str> = a["approved_by"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let so_far = if by.is_empty() {
            String::new()
        } else {
            format!(" (approved so far by {})", by.join(", "))
        };
        let item_arg = item.map(|i| format!(" --item {i}")).unwrap_or_default();
        out.push_str(&format!(
            "\nwaiting for approval: step {}{so_far}\n  lifeboat run approve {id} --step \
             {step}{item_arg}   (or reject)\n",
            instance(step, item.and_then(|i| usize::try_from(i).ok()))
        ));
    }
    out
}

fn log_line(l: &Value) -> String {
    let step = l["step_id"]
        .as_str()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    format!(
        "{} [{}] {step}{}",
        clock(l["at_ms"].as_u64().unwrap_or(0)),
        l["level"].as_str().unwrap_or("info"),
        l["message"].as_str().unwrap_or("")
    )
}

async fn decide(
    client: &ApiClient,
    json_out: bool,
    id: &str,
    which: Which,
    approve: bool,
) -> anyhow::Result<i32> {
    let verb = if approve { "approve" } else { "reject" };
    let path = format!("/v1/runs/{}/{verb}", encode(id));
    let answer = if which.step.is_none() && which.item.is_none() {
        client.post(&path).await
    } else {
        let mut body = serde_json::Map::new();
        if let Some(s) = &which.step {
            body.insert("step".into(), json!(s));
        }
        if let Some(i) = which.item {
            body.insert("item".into(), json!(i));
        }
        client.post_json(&path, &Value::Object(body)).await
    };
    let Some(v) = answered(answer) else {
        return Ok(1);
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let what = match v["step"].as_str() {
        Some(s) => format!("step `{s}`"),
        None => "its start".into(),
    };
    let done = if approve { "approved" } else { "rejected" };
    println!(
        "{id}: {done} {what} (run is {})",
        v["state"].as_str().unwrap_or("?")
    );
    Ok(0)
}

/// GET a raw (non-JSON) body; API errors are read from the JSON error shape.
async fn raw_get(args: &ServerArgs, path: &str) -> Result<String, ClientError> {
    let base = args.server.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let mut req = http.get(format!("{base}{path}"));
    if let Some(t) = &args.token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|source| ClientError::Unreachable {
            url: base.to_string(),
            source,
        })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| ClientError::Garbled {
        url: base.to_string(),
        why: e.to_string(),
    })?;
    if status >= 400 {
        return Err(api_error(status, &text));
    }
    Ok(text)
}

/// An error answer (`{"error":{"code","message"}}`, or anything else) as a client error.
fn api_error(status: u16, body: &str) -> ClientError {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let err = &v["error"];
    ClientError::Api {
        status,
        code: err["code"].as_str().unwrap_or("unknown").to_string(),
        message: err["message"]
            .as_str()
            .map_or_else(|| fit(body.trim(), 200), str::to_string),
    }
}

async fn report(args: &ServerArgs, id: &str, format: ReportFormat) -> anyhow::Result<i32> {
    let path = format!("/v1/drills/{}/report?format={}", encode(id), format.name());
    match raw_get(args, &path).await {
        Ok(body) => {
            print!("{body}");
            if !body.ends_with('\n') {
                println!();
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SseEvent {
    /// `event:` (default `message`).
    event: String,
    /// `data:` lines joined by newlines.
    data: String,
    /// `id:`, if any.
    id: Option<String>,
}

/// An incremental `text/event-stream` parser: feed it chunks as they arrive.
#[derive(Debug, Default)]
struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
    id: Option<String>,
}

impl SseParser {
    /// The events completed by this chunk.
    fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n' || *b == b'\r') {
            let len = match (self.buf[pos], self.buf.get(pos + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A CR at the end of the chunk may be the first half of CRLF.
                (b'\r', None) => break,
                _ => 1,
            };
            let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
            self.buf.drain(..pos + len);
            if let Some(e) = self.line(&line) {
                out.push(e);
            }
        }
        out
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            if self.data.is_empty() {
                return None;
            }
            return Some(SseEvent {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    event
                },
                data: std::mem::take(&mut self.data).join("\n"),
                id: self.id.clone(),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => self.data.push(value.to_string()),
            "id" => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

/// What `watch` has shown so far (so a reconnect shows nothing twice).
#[derive(Debug, Default)]
struct Watcher {
    json: bool,
    paint: Paint,
    journal_index: u64,
    logs: HashSet<(u64, String, String)>,
    state: Option<String>,
    final_state: Option<String>,
    starts: BTreeMap<String, u64>,
}

impl Watcher {
    /// Lines to print for one event (none when it was shown already).
    fn handle(&mut self, e: &SseEvent) -> Vec<String> {
        let Ok(v) = serde_json::from_str::<Value>(&e.data) else {
            return Vec::new();
        };
        let line = match e.event.as_str() {
            "journal" => {
                let index = v["index"].as_u64().unwrap_or(0);
                if index != 0 && index <= self.journal_index {
                    return Vec::new();
                }
                self.journal_index = self.journal_index.max(index);
                match serde_json::from_value::<JournalEvent>(v.clone()) {
                    Ok(j) => self.journal_line(&j),
                    Err(_) => return Vec::new(),
                }
            }
            "log" => {
                let key = (
                    v["at_ms"].as_u64().unwrap_or(0),
                    v["step_id"].as_str().unwrap_or("").to_string(),
                    v["message"].as_str().unwrap_or("").to_string(),
                );
                if !self.logs.insert(key) {
                    return Vec::new();
                }
                log_line(&v)
            }
            "state" => {
                let state = v["state"].as_str().unwrap_or("?").to_string();
                if self.state.as_deref() == Some(state.as_str()) {
                    return Vec::new();
                }
                self.state = Some(state.clone());
                if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                    self.final_state = Some(state.clone());
                }
                state_line(&v, &state, self.paint)
            }
            _ => return Vec::new(),
        };
        if self.json {
            vec![json!({"event": e.event, "data": v}).to_string()]
        } else {
            vec![line]
        }
    }

    fn journal_line(&mut self, j: &JournalEvent) -> String {
        match j {
            JournalEvent::StepStarted {
                step_id,
                item,
                attempt,
                at_ms,
                ..
            } => {
                let step = instance(step_id, *item);
                self.starts.insert(step.clone(), *at_ms);
                format!("{} {step}: attempt {attempt} started", clock(*at_ms))
            }
            JournalEvent::StepSucceeded {
                step_id,
                item,
                result,
                at_ms,
                ..
            } => {
                let step = instance(step_id, *item);
                let took = self
                    .starts
                    .get(&step)
                    .map(|s| format!(" ({})", human_ms(at_ms.saturating_sub(*s))))
                    .unwrap_or_default();
                let what = if result["simulated"] == true {
                    "simulated"
                } else {
                    "succeeded"
                };
                format!("{} {step}: {what}{took}", clock(*at_ms))
            }
            JournalEvent::StepFailed {
                step_id,
                item,
                attempt,
                kind,
                error,
                at_ms,
            } => format!(
                "{} {}: attempt {attempt} {}: {error}",
                clock(*at_ms),
                instance(step_id, *item),
                kind_name(*kind)
            ),
            JournalEvent::StepSkipped {
                step_id,
                reason,
                at_ms,
            } => format!("{} {step_id}: skipped ({reason})", clock(*at_ms)),
            JournalEvent::ApprovalDecided {
                step_id,
                item,
                approved,
                by,
                at_ms,
            } => format!(
                "{} {}: {} by {by}",
                clock(*at_ms),
                instance(step_id, *item),
                if *approved { "approved" } else { "rejected" }
            ),
            JournalEvent::Resumed { at_ms } => format!(
                "{} run taken over by a new leader: steps in flight are re-run",
                clock(*at_ms)
            ),
        }
    }
}

fn state_line(v: &Value, state: &str, paint: Paint) -> String {
    let id = v["id"].as_str().unwrap_or("?");
    let at = v["finished_at_ms"]
        .as_u64()
        .map_or_else(|| clock(now_ms()), clock);
    let extra = match (state, v["reason"].as_str()) {
        ("held", r) => format!(
            ": {} (approve its start with `lifeboat run approve {id}`)",
            r.unwrap_or("waiting for approval")
        ),
        ("queued", _) => ": waiting for the run holding its concurrency key".into(),
        (_, Some(r)) => format!(": {r}"),
        _ => String::new(),
    };
    format!("{at} run {id} is {}{extra}", paint.state(state))
}

/// Follow the run's events until it ends; exit 0 when it succeeded.
async fn watch(args: &ServerArgs, client: &ApiClient, id: &str) -> anyhow::Result<i32> {
    let json = args.output == Output::Json;
    let mut w = Watcher {
        json,
        paint: if json { Paint::OFF } else { Paint::stdout() },
        ..Watcher::default()
    };
    let mut hinted: HashSet<String> = HashSet::new();
    let mut failures = 0u32;
    let mut last_error = String::new();
    while w.final_state.is_none() {
        match follow(args, client, id, &mut w, &mut hinted).await {
            Ok(got_events) => {
                if got_events {
                    failures = 0;
                }
            }
            Err(Stop::Fatal(e)) => {
                eprintln!("error: {e}");
                return Ok(1);
            }
            Err(Stop::Retry(e)) => last_error = e,
        }
        if w.final_state.is_some() {
            break;
        }
        failures += 1;
        if failures > 10 {
            // The stream is gone; the run may still have ended.
            if let Ok(v) = client.get(&format!("/v1/runs/{}", encode(id))).await
                && let Some(s) = v["state"].as_str()
                && matches!(s, "succeeded" | "failed" | "cancelled")
            {
                println!("{}", state_line(&v, s, w.paint));
                return Ok(i32::from(s != "succeeded"));
            }
            eprintln!(
                "error: lost the event stream of run {id} at {}{}; the run goes on: follow it \
                 again with `lifeboat run watch {id}`",
                args.server,
                if last_error.is_empty() {
                    String::new()
                } else {
                    format!(" ({last_error})")
                }
            );
            return Ok(1);
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(failures.min(4)))).await;
    }
    Ok(i32::from(w.final_state.as_deref() != Some("succeeded")))
}

/// Why following the stream stopped.
enum Stop {
    /// Try again (connection lost or refused, server busy).
    Retry(String),
    /// Give up (unknown run, bad token...).
    Fatal(ClientError),
}

/// One connection to the event stream; Ok(true) when it delivered events.
async fn follow(
    args: &ServerArgs,
    client: &ApiClient,
    id: &str,
    w: &mut Watcher,
    hinted: &mut HashSet<String>,
) -> Result<bool, Stop> {
    let base = args.server.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut req = http
        .get(format!("{base}/v1/runs/{}/events", encode(id)))
        .header("accept", "text/event-stream");
    if let Some(t) = &args.token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| Stop::Retry(e.to_string()))?;
    let status = resp.status().as_u16();
    if status >= 400 {
        let body = resp.text().await.unwrap_or_default();
        let err = api_error(status, &body);
        return Err(if status >= 500 {
            Stop::Retry(err.to_string())
        } else {
            Stop::Fatal(err)
        });
    }
    let mut stream = resp.bytes_stream();
    let mut parser = SseParser::default();
    let mut got = false;
    // The server sends a keep-alive every 15 s: silence for longer means a dead link.
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(45), stream.next()).await {
        let chunk = match next {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(Stop::Retry(e.to_string())),
            None => return Ok(got),
        };
        for e in parser.push(&chunk) {
            got = true;
            for line in w.handle(&e) {
                println!("{line}");
            }
            if e.event == "journal" && e.data.contains("\"stepStarted\"") && !w.json {
                hint_approval(client, id, hinted).await;
            }
        }
    }
    Err(Stop::Retry("no data for 45 s".into()))
}

/// If an approval step is now waiting, say how to decide it (once per attempt).
async fn hint_approval(client: &ApiClient, id: &str, hinted: &mut HashSet<String>) {
    let Ok(v) = client.get(&format!("/v1/runs/{}", encode(id))).await else {
        return;
    };
    for a in v["open"].as_array().into_iter().flatten() {
        if a["uses"] != "approval" {
            continue;
        }
        let key = format!("{}#{}#{}", a["step_id"], a["item"], a["attempt"]);
        if hinted.insert(key) {
            let step = a["step_id"].as_str().unwrap_or("?");
            let item = a["item"]
                .as_u64()
                .map(|i| format!(" --item {i}"))
                .unwrap_or_default();
            println!(
                "         waiting for approval: lifeboat run approve {id} --step {step}{item} \
                 (or reject)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_values_are_json_when_they_parse() {
        assert_eq!(parse_param("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(parse_param("x=1.5").unwrap().1, json!(1.5));
        assert_eq!(parse_param("dry=true").unwrap().1, json!(true));
        assert_eq!(parse_param("c=eu-west").unwrap().1, json!("eu-west"));
        assert_eq!(parse_param("c=").unwrap().1, json!(""));
        assert_eq!(parse_param(r#"l=["a","b"]"#).unwrap().1, json!(["a", "b"]));
        assert_eq!(parse_param(r#"o={"a":1}"#).unwrap().1, json!({"a": 1}));
        // Only the first `=` splits.
        assert_eq!(
            parse_param("url=https://x/?a=b").unwrap(),
            ("url".into(), json!("https://x/?a=b"))
        );
    }

    #[test]
    fn bracket_lists_without_quotes_are_lists() {
        assert_eq!(parse_value("[a,b]"), json!(["a", "b"]));
        assert_eq!(parse_value("[shop, 2, true]"), json!(["shop", 2, true]));
        assert_eq!(parse_value("[a,[b,c]]"), json!(["a", ["b", "c"]]));
        assert_eq!(parse_value("[]"), json!([]));
        assert_eq!(parse_value("[a,]"), json!(["a"]));
        // Not a list: a string.
        assert_eq!(parse_value("[a"), json!("[a"));
    }

    #[test]
    fn bad_params_are_refused_with_the_fix() {
        let e = parse_param("cluster").unwrap_err();
        assert!(e.contains("NAME=VALUE"), "{e}");
        assert!(parse_param("=x").is_err());
        let e = params_map(vec![("a".into(), json!(1)), ("a".into(), json!(2))]).unwrap_err();
        assert!(e.contains("`a` is given twice"), "{e}");
    }

    #[test]
    fn sse_events_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: jour").is_empty());
        assert!(p.push(b"nal\nid: 7\ndata: {\"a\":").is_empty());
        let got = p.push(b"1}\n\nevent: state\ndata: {}\n\n");
        assert_eq!(
            got,
            vec![
                SseEvent {
                    event: "journal".into(),
                    data: "{\"a\":1}".into(),
                    id: Some("7".into())
                },
                SseEvent {
                    event: "state".into(),
                    data: "{}".into(),
                    id: Some("7".into())
                },
            ]
        );
    }

    #[test]
    fn sse_comments_crlf_multiline_data_and_defaults() {
        let mut p = SseParser::default();
        // A keep-alive comment and a blank line dispatch nothing.
        assert!(p.push(b":\n\n").is_empty());
        // CRLF split between chunks: no spurious blank line.
        assert!(p.push(b"data:one\r").is_empty());
        assert!(p.push(b"\ndata: two\r\n").is_empty());
        let got = p.push(b"\r\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event, "message");
        assert_eq!(got[0].data, "one\ntwo");
    }

    #[test]
    fn sse_keeps_utf8_split_across_chunks() {
        let mut p = SseParser::default();
        let bytes = "data: café\n\n".as_bytes();
        let (a, b) = bytes.split_at(9); // inside the two bytes of `é`
        assert!(p.push(a).is_empty());
        assert_eq!(p.push(b)[0].data, "café");
    }

    fn ev(event: &str, data: Value) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.to_string(),
            id: None,
        }
    }

    #[test]
    fn watcher_prints_each_thing_once_and_knows_the_end() {
        let mut w = Watcher::default();
        let started = ev(
            "journal",
            json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 1,
                   "idempotencyKey": "k", "atMs": 1_000, "index": 5}),
        );
        let done = ev(
            "journal",
            json!({"type": "stepSucceeded", "stepId": "restore", "item": null, "attempt": 1,
                   "result": {}, "atMs": 3_500, "index": 6}),
        );
        let line = w.handle(&started);
        assert_eq!(
            line,
            vec!["00:00:01 restore: attempt 1 started".to_string()]
        );
        assert_eq!(
            w.handle(&done),
            vec!["00:00:03 restore: succeeded (2.5s)".to_string()]
        );
        // After a reconnect the stream starts again from the beginning.
        assert!(w.handle(&started).is_empty());
        let log = ev(
            "log",
            json!({"at_ms": 2_000, "step_id": "restore", "level": "info", "message": "hi"}),
        );
        assert_eq!(w.handle(&log).len(), 1);
        assert!(w.handle(&log).is_empty());
        assert_eq!(w.final_state, None);
        let state = ev(
            "state",
            json!({"id": "run-1", "state": "failed", "reason": "restore: boom",
                   "finished_at_ms": 4_000}),
        );
        assert_eq!(
            w.handle(&state),
            vec!["00:00:04 run run-1 is failed: restore: boom".to_string()]
        );
        assert_eq!(w.final_state.as_deref(), Some("failed"));
    }

    #[test]
    fn journal_rows_show_attempts_and_takeovers() {
        let journal = vec![
            json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 1,
                   "idempotencyKey": "k", "atMs": 1_000, "index": 3}),
            json!({"type": "resumed", "atMs": 2_000, "index": 4}),
            json!({"type": "stepStarted", "stepId": "restore", "item": null, "attempt": 2,
                   "idempotencyKey": "k", "atMs": 2_500, "index": 5}),
            json!({"type": "stepFailed", "stepId": "restore", "item": null, "attempt": 2,
                   "kind": "timeout", "error": "deadline passed", "atMs": 9_500, "index": 6}),
            json!({"type": "stepSkipped", "stepId": "fence", "reason": "drill: skipped",
                   "atMs": 9_600, "index": 7}),
        ];
        let rows = journal_rows(&journal);
        let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
        assert_eq!(outcomes, ["interrupted", "timed out", "skipped"]);
        assert_eq!(rows[1].attempt, "2");
        assert_eq!(rows[1].error, "deadline passed");
        let v = json!({"id": "run-1", "runbook": "rb", "state": "failed", "journal": journal,
                       "created_at_ms": 0, "finished_at_ms": 10_000, "open": []});
        let text = render_show(&v, 10_000, Paint::OFF);
        assert!(
            text.contains("restore        2  timed out        7.0s  deadline passed"),
            "{text}"
        );
    }

    #[test]
    fn list_fits_in_100_columns() {
        let runs = vec![json!({
            "id": "run-123456", "runbook": "a-very-long-runbook-name-that-goes-on-and-on",
            "state": "cancelled", "trigger": {"type": "cluster_lost", "cluster": "eu-west-1-big"},
            "created_at_ms": 1_700_000_000_000u64, "finished_at_ms": 1_700_000_100_000u64,
        })];
        let text = render_list(&runs, 0, Paint::OFF);
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "{line}");
        }
        assert!(text.contains("lost:eu-west-1-big"), "{text}");
        assert!(text.contains("2023-11-14 22:13:20"), "{text}");
    }
}
