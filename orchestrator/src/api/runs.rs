//! `/v1/runs` and `/v1/drills`: start, list, show, watch (SSE), approve, reject, cancel.
//!
//! Runs are created through Raft (`RunOp::Create`): the catalog pins the runbook's
//! current digest and applies the concurrency key, so a second start with a busy key is
//! refused (`409`) or queued as the runbook says. The leader's executor does the rest.
//! A drill is a run in drill mode; `/v1/drills/{id}` shows the same record and
//! `/v1/drills/{id}/report` its report.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{ApiError, ApiJson, Operator, Viewer};
use crate::auth::Principal;
use crate::catalog::{Op, RunOp, RunRecord, RunState};
use crate::node::Node;

/// Body of `POST /v1/runs` and `POST /v1/drills`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Runbook name.
    pub runbook: String,
    /// Params (`name: value`); the runbook's defaults fill the rest.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

/// `POST /v1/runs` (operator): `201 {id, state}`; `409` when the concurrency key is busy.
#[utoipa::path(
    post,
    path = "/v1/runs",
    operation_id = "start_run",
    tag = "runs",
    request_body = StartBody,
    responses(
        (status = 201, description = "Created", body = doc::RunCreated),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, description = "No such runbook", body = doc::ErrorBody),
        (status = 409, description = "The concurrency key is busy", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Bad params, or refused by the rules", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn start(
    State(node): State<Arc<Node>>,
    who: Operator,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(&node, &who.who.name, body, false).await
}

/// `POST /v1/drills` (operator): a run in drill mode.
#[utoipa::path(
    post,
    path = "/v1/drills",
    operation_id = "start_drill",
    tag = "runs",
    request_body = StartBody,
    responses(
        (status = 201, description = "Created", body = doc::RunCreated),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, description = "No such runbook", body = doc::ErrorBody),
        (status = 409, description = "The concurrency key is busy", body = doc::ErrorBody),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Bad params, or refused by the rules", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn start_drill(
    State(node): State<Arc<Node>>,
    who: Operator,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(&node, &who.who.name, body, true).await
}

async fn create(
    node: &Node,
    by: &str,
    body: StartBody,
    drill: bool,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let exists = node
        .read(|c| c.runbooks.contains_key(&body.runbook))
        .await?;
    if !exists {
        return Err(ApiError::NotFound(format!(
            "no runbook `{}` (store it with `lifeboat runbook apply FILE`)",
            body.runbook
        )));
    }
    let op = Op::Run(RunOp::Create {
        runbook: body.runbook,
        params: body.params,
        drill,
    });
    match node.write(by, op).await {
        Ok(crate::catalog::Response::RunCreated { id }) => {
            let run = node.read(|c| c.runs.runs.get(&id).cloned()).await?;
            let state = run.map(|r| r.state.name()).unwrap_or("running");
            Ok((StatusCode::CREATED, Json(json!({"id": id, "state": state}))))
        }
        Ok(other) => Err(ApiError::Internal(format!(
            "unexpected answer to a run start: {other:?}"
        ))),
        Err(ApiError::Unprocessable(reason)) if reason.contains("holds concurrency key") => {
            Err(ApiError::Conflict {
                message: reason,
                details: Value::Null,
            })
        }
        Err(e) => Err(e),
    }
}

/// Query of `GET /v1/runs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs in this state (`held`, `queued`, `running`, `succeeded`, `failed`,
    /// `cancelled`).
    #[serde(default)]
    pub state: Option<String>,
    /// Only runs of this runbook.
    #[serde(default)]
    pub runbook: Option<String>,
    /// At most this many (newest first; default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A run without its journal and log.
pub fn summary(r: &RunRecord) -> Value {
    json!({
        "id": r.id, "runbook": r.runbook, "digest": r.digest, "drill": r.drill,
        "state": r.state.name(), "reason": reason(&r.state), "trigger": r.trigger,
        "params": r.params, "concurrency_key": r.concurrency_key,
        "cancel_requested": r.cancel_requested, "created_by": r.created_by,
        "created_at_ms": r.created_at_ms, "first_step_at_ms": r.first_step_at_ms,
        "finished_at_ms": r.finished_at_ms, "resumes": r.resumes,
        "open": r.open.values().collect::<Vec<_>>(),
    })
}

fn reason(s: &RunState) -> Option<&str> {
    match s {
        RunState::Held { reason } | RunState::Failed { reason } => Some(reason),
        _ => None,
    }
}

fn list_runs(node: &Node, q: &ListQuery, drills_only: bool) -> Vec<Value> {
    let mut runs: Vec<Value> = node.raft.read_local(|c| {
        c.runs
            .runs
            .values()
            .filter(|r| !drills_only || r.drill)
            .filter(|r| q.state.as_deref().is_none_or(|s| r.state.name() == s))
            .filter(|r| q.runbook.as_deref().is_none_or(|n| r.runbook == n))
            .map(summary)
            .collect()
    });
    runs.sort_by_key(|r| std::cmp::Reverse(r["created_at_ms"].as_u64()));
    runs.truncate(q.limit.unwrap_or(100));
    runs
}

/// `GET /v1/runs[?state=&runbook=&limit=]`: newest first.
#[utoipa::path(
    get,
    path = "/v1/runs",
    operation_id = "list_runs",
    tag = "runs",
    params(ListQuery),
    responses(
        (status = 200, description = "Runs, newest first", body = doc::RunList),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    node.read(|_| ()).await?;
    Ok(Json(json!({ "runs": list_runs(&node, &q, false) })))
}

/// `GET /v1/drills`: drill runs, newest first.
#[utoipa::path(
    get,
    path = "/v1/drills",
    operation_id = "list_drills",
    tag = "runs",
    params(ListQuery),
    responses(
        (status = 200, description = "Drills, newest first", body = doc::DrillList),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list_drills(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    node.read(|_| ()).await?;
    Ok(Json(json!({ "drills": list_runs(&node, &q, true) })))
}

/// The full view of a run: summary, journal (with log indexes), log.
pub fn detail(r: &RunRecord) -> Value {
    let mut v = summary(r);
    let journal: Vec<Value> = r
        .journal
        .events
        .iter()
        .zip(r.journal_index.iter())
        .enumerate()
        .map(|(pos, (e, i))| {
            let mut e = serde_json::to_value(e).unwrap_or_default();
            e["index"] = json!(i);
            if let Some(with) = r.inputs.get(&pos) {
                e["with"] = with.clone();
            }
            e
        })
        .collect();
    v["journal"] = json!(journal);
    v["log"] = json!(r.log);
    v
}

async fn get_run(node: &Node, id: &str) -> Result<RunRecord, ApiError> {
    node.read(|c| c.runs.runs.get(id).cloned())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run `{id}` (see `lifeboat run list`)")))
}

/// `GET /v1/runs/{id}`.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}",
    operation_id = "show_run",
    tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses(
        (status = 200, description = "Summary, journal and log", body = doc::RunDetail),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn show(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(detail(&get_run(&node, &id).await?)))
}

/// `GET /v1/drills/{id}`.
#[utoipa::path(
    get,
    path = "/v1/drills/{id}",
    operation_id = "show_drill",
    tag = "runs",
    params(("id" = String, Path, description = "Drill (run) id")),
    responses(
        (status = 200, description = "Summary, journal and log", body = doc::RunDetail),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn show_drill(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = get_run(&node, &id).await?;
    if !run.drill {
        return Err(ApiError::NotFound(format!(
            "run `{id}` is not a drill (see `GET /v1/runs/{id}`)"
        )));
    }
    Ok(Json(detail(&run)))
}

/// Query of `GET /v1/drills/{id}/report`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default), `md` or `html`.
    #[serde(default)]
    #[param(value_type = Option<doc::ReportFormat>, inline)]
    pub format: Option<String>,
}

/// `GET /v1/drills/{id}/report[?format=json|md|html]`.
#[utoipa::path(
    get,
    path = "/v1/drills/{id}/report",
    operation_id = "drill_report",
    tag = "runs",
    params(("id" = String, Path, description = "Drill (run) id"), ReportQuery),
    responses(
        (status = 200, description = "The report as JSON, Markdown or HTML (`format`)", content(
            (doc::DrillReport = "application/json"),
            (String = "text/markdown"),
            (String = "text/html"),
        )),
        (status = 400, description = "Bad query or format", body = doc::ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn report(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let run = get_run(&node, &id).await?;
    if !run.drill {
        return Err(ApiError::NotFound(format!("run `{id}` is not a drill")));
    }
    let report = node
        .read(|c| crate::executor::report::build(c, &run))
        .await?;
    let format = q.format.as_deref().unwrap_or("json");
    let (ctype, body) = match format {
        "json" => {
            return Ok(Json(serde_json::to_value(&report).unwrap_or_default()).into_response());
        }
        "md" | "markdown" => ("text/markdown; charset=utf-8", report.to_markdown()),
        "html" => ("text/html; charset=utf-8", report.to_html()),
        other => {
            return Err(ApiError::bad_request(format!(
                "format `{other}` is not json, md or html"
            )));
        }
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// Body of approve/reject: which approval (default: the only one waiting, or the held
/// run itself).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// Approval step id.
    #[serde(default)]
    pub step: Option<String>,
    /// forEach index.
    #[serde(default, deserialize_with = "super::integer::opt_number")]
    pub item: Option<usize>,
}

/// `POST /v1/runs/{id}/approve` (operator).
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/approve",
    operation_id = "approve_run",
    tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    request_body(content = Option<DecideBody>, description = "Which approval (default: the only one waiting, or the held run); may be empty"),
    responses(
        (status = 200, description = "Approved", body = doc::Decided),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, description = "The role is too low, or the step names other approvers", body = doc::ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Nothing (or several things) waiting for approval", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn approve(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    decide(&node, &who.who, &id, decide_body(&body)?, true).await
}

/// `POST /v1/runs/{id}/reject` (operator).
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/reject",
    operation_id = "reject_run",
    tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    request_body(content = Option<DecideBody>, description = "Which approval (default: the only one waiting, or the held run); may be empty"),
    responses(
        (status = 200, description = "Rejected", body = doc::Decided),
        (status = 400, response = doc::BadRequest),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, description = "The role is too low, or the step names other approvers", body = doc::ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Nothing (or several things) waiting for approval", body = doc::ErrorBody),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn reject(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    decide(&node, &who.who, &id, decide_body(&body)?, false).await
}

/// An empty (or `null`) body means "the only approval waiting".
fn decide_body(body: &[u8]) -> Result<DecideBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
        return Ok(DecideBody::default());
    }
    super::extract::object_from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "body: {e} (expected {{\"step\": ID, \"item\": N}} or nothing)"
        ))
    })
}

async fn decide(
    node: &Node,
    who: &Principal,
    id: &str,
    body: DecideBody,
    approved: bool,
) -> Result<Json<Value>, ApiError> {
    let run = get_run(node, id).await?;
    let (step_id, item, min_approvals) = if matches!(run.state, RunState::Held { .. }) {
        (None, None, 1)
    } else {
        let waiting: Vec<_> = run
            .open
            .values()
            .filter(|a| a.uses == "approval")
            .filter(|a| body.step.as_deref().is_none_or(|s| s == a.step_id))
            .filter(|a| body.item.is_none() || body.item == a.item)
            .collect();
        let a = match waiting.as_slice() {
            [a] => *a,
            [] => {
                return Err(ApiError::Unprocessable(format!(
                    "run {id} is {} and has no approval waiting{}",
                    run.state.name(),
                    body.step
                        .as_deref()
                        .map(|s| format!(" at step `{s}`"))
                        .unwrap_or_default()
                )));
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|a| crate::catalog::instance_key(&a.step_id, a.item))
                    .collect();
                return Err(ApiError::Unprocessable(format!(
                    "run {id} has several approvals waiting ({}): name one with \
                     {{\"step\": ID, \"item\": N}}",
                    names.join(", ")
                )));
            }
        };
        let min = check_approver(node, &run, &a.step_id, who)?;
        (Some(a.step_id.clone()), a.item, min)
    };
    let op = Op::Run(RunOp::Decide {
        run_id: id.to_string(),
        step_id: step_id.clone(),
        item,
        approved,
        by: who.name.clone(),
        min_approvals,
    });
    node.write(&who.name, op).await?;
    let run = get_run(node, id).await?;
    Ok(Json(json!({
        "id": id, "state": run.state.name(), "step": step_id, "approved": approved,
        "by": who.name,
    })))
}

/// May `who` decide this approval step? Returns its `minApprovals`.
fn check_approver(
    node: &Node,
    run: &RunRecord,
    step_id: &str,
    who: &Principal,
) -> Result<u32, ApiError> {
    // Versions are never removed and a run is created only from one that parsed, so a
    // failure here is a bug (500), not the caller's mistake.
    let rb = node
        .raft
        .read_local(|c| c.runbook_of(run))
        .map_err(ApiError::Internal)?;
    let step = crate::executor::find_step(&rb, step_id)
        .ok_or_else(|| ApiError::Internal(format!("step `{step_id}` not in its runbook")))?;
    let approvers = step.with.get("approvers").cloned().unwrap_or(Value::Null);
    let listed = |k: &str| -> Vec<String> {
        approvers[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let (roles, tokens) = (listed("roles"), listed("tokens"));
    let role = who.role.to_string();
    let allowed = (roles.is_empty() && tokens.is_empty())
        || roles.contains(&role)
        || tokens.contains(&who.name)
        || (who.role == crate::auth::Role::Admin && roles.iter().any(|r| r == "operator"));
    if !allowed {
        return Err(ApiError::Forbidden(format!(
            "{} ({role}) may not decide approval `{step_id}`: it needs role {:?} or token {:?}",
            who.name, roles, tokens
        )));
    }
    let min = step
        .with
        .get("minApprovals")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    Ok(min.max(1) as u32)
}

/// `POST /v1/runs/{id}/cancel` (operator): stops at the next step boundary, runs `finally`.
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/cancel",
    operation_id = "cancel_run",
    tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses(
        (status = 200, description = "Cancel requested", body = doc::CancelAnswer),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 404, response = doc::NotFound),
        (status = 422, response = doc::Unprocessable),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn cancel(
    State(node): State<Arc<Node>>,
    who: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    get_run(&node, &id).await?;
    let op = Op::Run(RunOp::Cancel { run_id: id.clone() });
    node.write(&who.who.name, op).await?;
    let run = get_run(&node, &id).await?;
    Ok(Json(json!({
        "id": id, "state": run.state.name(), "cancel_requested": run.cancel_requested,
    })))
}

/// `GET /v1/runs/{id}/events` (SSE): `journal` events (each with its log index), `log`
/// lines, and `state` changes; the stream ends after the run's final state.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}/events",
    operation_id = "run_events",
    tag = "runs",
    params(("id" = String, Path, description = "Run id")),
    responses(
        (status = 200, description = "Server-Sent Events: `journal`, `log` and `state` events; ends after the final state", body = String, content_type = "text/event-stream"),
        (status = 401, response = doc::Unauthenticated),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn events(
    State(node): State<Arc<Node>>,
    _who: Viewer,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Served from this node's own state (a follower streams too, without forwarding):
    // wait briefly for a just-created run to be applied here.
    let mut applied = node.raft.subscribe_applied();
    let exists = |n: &Node| n.raft.read_local(|c| c.runs.runs.contains_key(&id));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !exists(&node) {
        match tokio::time::timeout_at(deadline, applied.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                return Err(ApiError::NotFound(format!(
                    "no run `{id}` (see `lifeboat run list`)"
                )));
            }
        }
    }
    // Cursor: journal entries sent, log lines sent (by time+text), last state sent.
    let start = (0usize, 0u64, String::new(), false);
    let stream = futures::stream::unfold(
        (node, applied, id, start),
        |(node, mut applied, id, (mut sent, mut log_ms, mut state, done))| async move {
            if done {
                return None;
            }
            loop {
                let run = node.raft.read_local(|c| c.runs.runs.get(&id).cloned())?;
                let mut batch: Vec<Result<Event, Infallible>> = Vec::new();
                for (e, i) in run
                    .journal
                    .events
                    .iter()
                    .zip(run.journal_index.iter())
                    .skip(sent)
                {
                    let mut v = serde_json::to_value(e).unwrap_or_default();
                    v["index"] = json!(i);
                    batch.push(Ok(Event::default()
                        .event("journal")
                        .id(i.to_string())
                        .data(v.to_string())));
                }
                sent = run.journal.events.len();
                for l in run.log.iter().filter(|l| l.at_ms > log_ms) {
                    let data = serde_json::to_string(l).unwrap_or_default();
                    batch.push(Ok(Event::default().event("log").data(data)));
                }
                log_ms = run.log.back().map_or(log_ms, |l| l.at_ms.max(log_ms));
                let now_state = run.state.name().to_string();
                let finished = run.state.is_final();
                if now_state != state {
                    state = now_state;
                    batch.push(Ok(Event::default()
                        .event("state")
                        .data(summary(&run).to_string())));
                }
                if !batch.is_empty() {
                    let next = (node, applied, id, (sent, log_ms, state, finished));
                    return Some((futures::stream::iter(batch), next));
                }
                if finished || applied.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    use futures::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::decide_body;

    #[test]
    fn a_decide_body_is_empty_null_or_an_object() {
        for empty in ["", "  \n", "null"] {
            let b = decide_body(empty.as_bytes()).expect(empty);
            assert_eq!((b.step, b.item), (None, None), "{empty:?}");
        }
        let b = decide_body(br#"{"step": "gate", "item": 2.0}"#).expect("object");
        assert_eq!((b.step.as_deref(), b.item), (Some("gate"), Some(2)));
        for bad in [
            r#"["gate", 2]"#,
            r#""gate""#,
            r#"{"item": 2.5}"#,
            r#"{"other": 1}"#,
        ] {
            let err = decide_body(bad.as_bytes()).expect_err(bad);
            assert!(
                err.to_string().contains("expected {\"step\""),
                "{bad}: {err}"
            );
        }
    }
}
