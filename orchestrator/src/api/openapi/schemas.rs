//! Documentation types: the shapes of the API's JSON bodies as the OpenAPI document
//! describes them.
//!
//! Handlers build most answers with `json!` from catalog records; these types mirror
//! those answers field by field (names, JSON types, nullability) and are never
//! serialised by a handler. A field is required here only when every answer carries
//! it; `Option` fields may be absent or `null`. The schemathesis fuzz test
//! (`chaos-tests/tests/openapi_fuzz.rs`) checks real answers against them, so a handler
//! that changes its answer must change its type here too.

#![allow(dead_code)] // Never built: these types exist for their schemas.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::{ToResponse, ToSchema};

// ---------------------------------------------------------------------------------
// Errors

/// Every error: `{"error": {"code", "message", "details"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// What was wrong and what to do, for people.
    pub message: String,
    /// Structured details (`null` when there are none): linter diagnostics for
    /// `invalid`, `{"current_version"}` for a key `conflict`, `{"leader"}` for
    /// `no_leader`.
    pub details: Value,
}

/// The error codes, one per HTTP status class the API uses.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no or an unknown bearer token.
    Unauthenticated,
    /// 403: the token's role is too low.
    Forbidden,
    /// 404: no such thing (or no such route).
    NotFound,
    /// 400: malformed request (body, query, key).
    BadRequest,
    /// 422: well-formed but refused by the rules.
    Unprocessable,
    /// 422: refused by a validator that lists its findings in `details`.
    Invalid,
    /// 409: a version or concurrency precondition failed.
    Conflict,
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 503: no leader is known right now.
    NoLeader,
    /// 503: no quorum, timeout, object store unreachable.
    Unavailable,
    /// 500: a bug.
    Internal,
}

/// Malformed request: body, query, key (`bad_request`).
#[derive(ToResponse)]
pub struct BadRequest(ErrorBody);

/// No or an unknown bearer token (`unauthenticated`).
#[derive(ToResponse)]
pub struct Unauthenticated(ErrorBody);

/// The token's role is too low for this route (`forbidden`).
#[derive(ToResponse)]
pub struct Forbidden(ErrorBody);

/// No such thing (`not_found`).
#[derive(ToResponse)]
pub struct NotFound(ErrorBody);

/// A version or concurrency precondition failed (`conflict`).
#[derive(ToResponse)]
pub struct Conflict(ErrorBody);

/// The body is larger than the configured limit (`payload_too_large`).
#[derive(ToResponse)]
pub struct PayloadTooLarge(ErrorBody);

/// Well-formed but refused by the rules (`unprocessable`).
#[derive(ToResponse)]
pub struct Unprocessable(ErrorBody);

/// No leader is known or no quorum answered in time (`no_leader`, `unavailable`); retry.
#[derive(ToResponse)]
pub struct Unavailable(ErrorBody);

// ---------------------------------------------------------------------------------
// Probes

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Healthz {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
    /// The leader's id.
    pub leader: Option<u64>,
}

/// `GET /readyz` when not ready (503).
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    /// `not_ready`.
    pub status: String,
    /// Why.
    pub reason: String,
}

// ---------------------------------------------------------------------------------
// Status and audit

/// `GET /v1/status`: this node's own view.
#[derive(Serialize, ToSchema)]
pub struct StatusView {
    /// This node's id.
    pub node_id: u64,
    /// The binary's version.
    pub version: String,
    /// Seconds since the process started.
    pub uptime_s: u64,
    /// Raft state as this node sees it.
    pub raft: RaftStatus,
    /// The leader, if one is known.
    pub leader: Option<LeaderRef>,
    /// Voters and learners.
    pub members: Vec<super::super::handlers::MemberView>,
    /// Protected clusters as this node has applied them.
    pub clusters: Vec<ClusterView>,
    /// Catalog counters.
    pub catalog: CatalogCounters,
}

/// One node's Raft state.
#[derive(Serialize, ToSchema)]
pub struct RaftStatus {
    /// This node.
    pub node_id: u64,
    /// `Leader`, `Follower`, `Candidate`, `Learner` or `Shutdown`.
    pub state: String,
    /// Current term.
    pub current_term: u64,
    /// The leader this node knows of.
    pub leader_id: Option<u64>,
    /// That leader's Raft base URL.
    pub leader_addr: Option<String>,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last committed entry this node knows of.
    pub committed_index: Option<u64>,
    /// Index of the last entry applied to the state machine.
    pub last_applied_index: Option<u64>,
    /// Last log index covered by the current snapshot.
    pub snapshot_index: Option<u64>,
    /// Voters as `[id, raft URL]` pairs.
    #[schema(value_type = Vec<Vec<Value>>)]
    pub voters: Vec<Value>,
    /// Learners as `[id, raft URL]` pairs.
    #[schema(value_type = Vec<Vec<Value>>)]
    pub learners: Vec<Value>,
}

/// The leader as `/v1/status` names it.
#[derive(Serialize, ToSchema)]
pub struct LeaderRef {
    /// Its id.
    pub id: u64,
    /// Its API URL, when this node's config knows it.
    pub api: Option<String>,
}

/// Catalog counters in `/v1/status`.
#[derive(Serialize, ToSchema)]
pub struct CatalogCounters {
    /// Last log index applied to the catalog.
    pub last_index: u64,
    /// Audit entries kept.
    pub audit_entries: u64,
}

/// `GET /v1/audit`.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries in sequence order.
    pub entries: Vec<AuditEntry>,
}

/// One audit log entry.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// Sequence number, gap-free and increasing.
    pub seq: u64,
    /// Log index of the command that produced it.
    pub index: u64,
    /// Leader time, ms since the epoch.
    pub at_ms: u64,
    /// Who.
    pub actor: String,
    /// What, e.g. `cluster.registered`.
    pub action: String,
    /// On what.
    pub target: String,
    /// Structured details.
    pub details: Value,
}

// ---------------------------------------------------------------------------------
// Clusters and verdicts

/// A cluster's verdict (`null` until the leader first evaluates it).
#[derive(Serialize, ToSchema)]
pub enum Verdict {
    /// No valid vote says unhealthy.
    Healthy,
    /// Some valid votes say unhealthy.
    Suspect,
    /// A quorum said unhealthy for the whole window.
    Lost,
    /// Lost, then seen again: kept out of service until unfenced.
    Fenced,
}

/// What one node saw.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The probe succeeded.
    Healthy,
    /// The probe failed.
    Unhealthy,
    /// The node could not probe (kubeconfig, context or credentials broken).
    Unknown,
}

/// The failover decision about a lost cluster.
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Failover {
    /// Nothing to do.
    None,
    /// Automatic failover may start.
    Pending,
    /// Held for an operator's approval.
    Held {
        /// Why.
        reason: String,
    },
    /// Not started: another failover of this cluster happened within the cooldown.
    Suppressed {
        /// When the cooldown ends.
        until_ms: u64,
    },
}

/// One cluster with its verdict and the votes behind it. Before the first evaluation
/// only `name`, `context` and `verdict` (`null`) are present.
#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// Cluster name.
    pub name: String,
    /// Kubeconfig context.
    pub context: Option<String>,
    /// Current verdict.
    pub verdict: Option<Verdict>,
    /// Since when (leader time, ms).
    pub since_ms: Option<u64>,
    /// The failover decision of the last loss.
    pub failover: Option<Failover>,
    /// When it was last declared lost.
    pub lost_at_ms: Option<u64>,
    /// First counted unhealthy vote to `Lost`, last time.
    pub detection_ms: Option<u64>,
    /// One vote per node.
    pub votes: Option<Vec<VoteView>>,
}

/// One node's vote about a cluster.
#[derive(Serialize, ToSchema)]
pub struct VoteView {
    /// Node id.
    pub node: u64,
    /// What it saw.
    pub observation: Observation,
    /// Why (the probe's error, or `ok`).
    pub reason: String,
    /// The node suspects itself and abstains.
    pub abstain: bool,
    /// Age of the vote (ms).
    pub age_ms: u64,
    /// How long the node has seen this (ms).
    pub for_ms: u64,
    /// Fresh and not abstaining.
    pub counted: bool,
    /// Latency of its last probe (ms).
    pub latency_ms: Option<u64>,
}

/// `GET /v1/clusters`.
#[derive(Serialize, ToSchema)]
pub struct ClusterList {
    /// Every protected cluster.
    pub clusters: Vec<ClusterView>,
    /// The leader's clock (ms) when read.
    pub leader_time_ms: u64,
}

/// `GET /v1/clusters/{name}`: the cluster and its recent verdict changes.
#[derive(Serialize, ToSchema)]
pub struct ClusterDetail {
    /// The cluster.
    #[schema(inline)]
    #[serde(flatten)]
    pub cluster: ClusterView,
    /// Its recent verdict changes, oldest first.
    pub events: Vec<VerdictEvent>,
}

/// A verdict change (also the `data` of `event: verdict` on `/v1/events`).
#[derive(Serialize, ToSchema)]
pub struct VerdictEvent {
    /// Gap-free sequence number.
    pub seq: u64,
    /// The cluster.
    pub cluster: String,
    /// Old verdict.
    pub from: Verdict,
    /// New verdict.
    pub to: Verdict,
    /// Leader time.
    pub at_ms: u64,
    /// The failover decision.
    pub failover: Failover,
    /// The votes behind it.
    pub votes: Vec<VoteSummary>,
}

/// One vote as cited by a verdict change.
#[derive(Serialize, ToSchema)]
pub struct VoteSummary {
    /// Node id.
    pub node: u64,
    /// What it saw.
    pub observation: Observation,
    /// For how long (ms).
    pub for_ms: u64,
    /// Whether it counted.
    pub counted: bool,
    /// Its reason.
    pub reason: String,
}

// ---------------------------------------------------------------------------------
// Snapshots, captures, restores, schedules

/// State of a capture or restore: `{"state": "running"|"succeeded"}` or
/// `{"state": "failed", "reason": ...}`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Running.
    Running,
    /// Done.
    Succeeded,
    /// Failed; nothing partial is visible.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A completed snapshot.
#[derive(Serialize, ToSchema)]
pub struct SnapshotRecord {
    /// Snapshot id.
    pub id: String,
    /// Source cluster.
    pub cluster: String,
    /// The manifest's object-store key.
    pub manifest_key: String,
    /// Objects in the snapshot.
    pub object_count: u64,
    /// Objects not stored before.
    pub new_objects: u64,
    /// Bytes this capture uploaded.
    pub bytes_uploaded: u64,
    /// Source Kubernetes version.
    pub kubernetes_version: String,
    /// Capture start (ms since the epoch).
    pub started_at_ms: u64,
    /// Capture end: the point in time the snapshot represents.
    pub completed_at_ms: u64,
    /// The capture that made it.
    pub capture_id: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
}

/// One capture attempt.
#[derive(Serialize, ToSchema)]
pub struct CaptureRecord {
    /// Capture id.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// `manual` or `schedule:<id>`.
    pub trigger: String,
    /// The schedule firing it serves.
    pub firing_key: Option<String>,
    /// Node running it.
    pub node: u64,
    /// Who asked.
    pub by: String,
    /// Leader time at start.
    pub started_at_ms: u64,
    /// Leader time at the end.
    pub finished_at_ms: Option<u64>,
    /// State.
    pub state: JobState,
    /// The snapshot it produced.
    pub snapshot_id: Option<String>,
}

/// Phase of a running capture or restore.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started.
    Pending,
    /// Discovering resource types.
    Discovering,
    /// Listing and storing objects (capture).
    Capturing,
    /// Writing the manifest (capture).
    Committing,
    /// Reading and verifying stored objects (restore).
    Verifying,
    /// Writing objects to the target (restore).
    Applying,
    /// Finished successfully.
    Done,
    /// Finished with an error.
    Failed,
}

/// Progress of a job the answering node runs (`null` elsewhere or when finished long ago).
#[derive(Serialize, ToSchema)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Objects discovered.
    pub discovered: u64,
    /// Objects done.
    pub done: u64,
    /// Bytes written to the store so far.
    pub bytes_uploaded: u64,
    /// Per resource type (`plural.group`): `{discovered, done}`.
    pub types: BTreeMap<String, TypeProgress>,
}

/// Counts for one resource type.
#[derive(Serialize, ToSchema)]
pub struct TypeProgress {
    /// Objects known so far.
    pub discovered: u64,
    /// Objects processed.
    pub done: u64,
}

/// `GET /v1/snapshots`.
#[derive(Serialize, ToSchema)]
pub struct SnapshotList {
    /// Completed snapshots, newest first.
    pub snapshots: Vec<SnapshotRecord>,
    /// Captures running or failed.
    pub captures: Vec<CaptureRecord>,
}

/// `POST /v1/snapshots` (202).
#[derive(Serialize, ToSchema)]
pub struct CaptureStarted {
    /// The capture id (`GET /v1/snapshots/{capture}` follows it).
    pub capture: String,
    /// The cluster.
    pub cluster: String,
}

/// `GET /v1/snapshots/{id}`: `{snapshot}` for a snapshot id, or
/// `{capture, progress, snapshot}` for a capture id.
#[derive(Serialize, ToSchema)]
pub struct SnapshotDetail {
    /// The snapshot (`null` while its capture runs or when it failed).
    pub snapshot: Option<SnapshotRecord>,
    /// The capture (capture ids only).
    pub capture: Option<CaptureRecord>,
    /// The capture's progress (capture ids only).
    pub progress: Option<Progress>,
}

/// `DELETE /v1/snapshots/{id}`, `DELETE /v1/schedules/{id}`.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    /// The id deleted.
    pub deleted: String,
}

/// Body of `POST /v1/restores`.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Snapshot id.
    pub snapshot: String,
    /// Target cluster (the source or another).
    pub target_cluster: String,
    /// Source namespace -> target namespace.
    #[serde(default)]
    pub namespace_map: BTreeMap<String, String>,
    /// What to do with objects that exist in the target (anything else is a 422).
    #[serde(default)]
    pub policy: RestorePolicy,
    /// Plan and diff only; no writes.
    #[serde(default)]
    pub dry_run: bool,
    /// Stop at the first type the target does not serve (default: report and go on).
    #[serde(default)]
    pub abort_on_unsupported: bool,
}

/// What a restore does with objects that already exist in the target.
#[derive(Serialize, serde::Deserialize, Default, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestorePolicy {
    /// Leave them (the default).
    #[default]
    Skip,
    /// Update them in place.
    Update,
    /// Delete and create them again.
    Recreate,
}

/// `POST /v1/restores` (202).
#[derive(Serialize, ToSchema)]
pub struct RestoreStarted {
    /// The restore id.
    pub restore: String,
}

/// One object that a restore could not restore.
#[derive(Serialize, ToSchema)]
pub struct ObjectFailure {
    /// group/version/kind.
    pub gvk: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// One restore (or dry run).
#[derive(Serialize, ToSchema)]
pub struct RestoreRecord {
    /// Restore id.
    pub id: String,
    /// Snapshot restored.
    pub snapshot: String,
    /// Target cluster.
    pub target_cluster: String,
    /// Source namespace -> target namespace.
    pub namespace_map: BTreeMap<String, String>,
    /// `skip`, `update` or `recreate`.
    pub policy: String,
    /// Plan and diff only.
    pub dry_run: bool,
    /// Node running it.
    pub node: u64,
    /// Who asked.
    pub by: String,
    /// Leader time at start.
    pub started_at_ms: u64,
    /// Leader time at the end.
    pub finished_at_ms: Option<u64>,
    /// State.
    pub state: JobState,
    /// Objects by outcome (`created`, `updated`, `skipped`, `failed`, `would_create`...).
    pub counts: BTreeMap<String, u64>,
    /// Objects that failed (at most 1000 kept).
    pub failures: Vec<ObjectFailure>,
    /// Snapshot age when the restore began (RPO), ms.
    pub rpo_ms: Option<u64>,
    /// Where the full per-object report is in the object store.
    pub report_key: Option<String>,
}

/// `GET /v1/restores/{id}`.
#[derive(Serialize, ToSchema)]
pub struct RestoreDetail {
    /// The restore.
    pub restore: RestoreRecord,
    /// Its progress, on the node running it.
    pub progress: Option<Progress>,
    /// The full per-object report (`?report=true`, once written).
    pub report: Option<Value>,
}

/// A snapshot schedule: from a node's config (`source: config`) or set through the API
/// (`source: api`, which adds `missed`, `jitter_secs` and `by`).
#[derive(Serialize, ToSchema)]
pub struct ScheduleView {
    /// Schedule id.
    pub id: String,
    /// Cluster captured.
    pub cluster: String,
    /// Cron expression with a seconds field.
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// `config` or `api`.
    pub source: String,
    /// Nominal time (ms) of its latest firing.
    pub last_fired_ms: Option<u64>,
    /// `skip` or `run-once` (API schedules).
    pub missed: Option<String>,
    /// Maximum jitter, seconds (API schedules).
    pub jitter_secs: Option<u64>,
    /// Who set it (API schedules).
    pub by: Option<String>,
}

/// `GET /v1/schedules`.
#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    /// Config schedules first, then API schedules.
    pub schedules: Vec<ScheduleView>,
}

/// `PUT /v1/schedules/{id}`: the stored schedule and its next firing.
#[derive(Serialize, ToSchema)]
pub struct ScheduleStored {
    /// Schedule id.
    pub id: String,
    /// Cluster to capture.
    pub cluster: String,
    /// Cron expression with a seconds field.
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// `skip` or `run-once`.
    pub missed: String,
    /// Maximum jitter, seconds.
    pub jitter_secs: u64,
    /// Who set it.
    pub by: String,
    /// Next nominal firing (RFC 3339).
    pub next_firing: Option<String>,
}

// ---------------------------------------------------------------------------------
// Runbooks and plugins

/// A stored runbook.
#[derive(Serialize, ToSchema)]
pub struct StoredRunbook {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>` of its YAML.
    pub digest: String,
    /// Leader time of the last change.
    pub updated_at_ms: u64,
    /// Who changed it.
    pub updated_by: String,
}

/// `GET /v1/runbooks`.
#[derive(Serialize, ToSchema)]
pub struct RunbookList {
    /// Every stored runbook.
    pub runbooks: Vec<StoredRunbook>,
}

/// `GET /v1/runbooks/{name}`: metadata and the YAML.
#[derive(Serialize, ToSchema)]
pub struct RunbookDetail {
    /// Metadata.
    #[schema(inline)]
    #[serde(flatten)]
    pub runbook: StoredRunbook,
    /// The YAML as stored.
    pub yaml: String,
}

/// A linter finding (also in `details.diagnostics` of a 422 `invalid`).
#[derive(Serialize, ToSchema)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code, e.g. `RB012`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The source name.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Width of the offending text (absent when 1).
    pub len: Option<u64>,
    /// A short fix hint.
    pub hint: Option<String>,
}

/// `PUT /v1/runbooks/{name}`.
#[derive(Serialize, ToSchema)]
pub struct RunbookStored {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>` of the stored YAML.
    pub digest: String,
    /// The linter's warnings.
    pub warnings: Vec<Diagnostic>,
}

/// `DELETE /v1/runbooks/{name}`.
#[derive(Serialize, ToSchema)]
pub struct RunbookDeleted {
    /// Its name.
    pub name: String,
    /// Always `true`.
    pub deleted: bool,
}

/// A registered plugin.
#[derive(Serialize, ToSchema)]
pub struct PluginRecord {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// Its name (from `describe()`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// What `describe()` returned, whole.
    pub describe: Value,
    /// Capabilities it asks for.
    pub capabilities: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Object-store key of its bytes.
    pub object_key: String,
    /// Leader time of registration.
    pub registered_at_ms: u64,
    /// Who registered it.
    pub registered_by: String,
}

/// The body of `PUT /v1/plugins`: a WebAssembly component's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct WasmComponent(Vec<u8>);

/// `GET /v1/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginList {
    /// Every registered plugin.
    pub plugins: Vec<PluginRecord>,
}

/// `PUT /v1/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginRegistered {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The `uses:` line for runbooks (`plugin/NAME@DIGEST`).
    pub uses: String,
    /// The record.
    pub plugin: PluginRecord,
}

// ---------------------------------------------------------------------------------
// Runs and drills

/// What started a run.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunTrigger {
    /// A person, through the API or CLI.
    Manual,
    /// A drill, through the API or CLI.
    Drill,
    /// A `Lost` verdict.
    ClusterLost {
        /// The lost cluster.
        cluster: String,
        /// When the verdict was committed.
        lost_at_ms: u64,
        /// The verdict event's sequence number.
        verdict_seq: u64,
    },
}

/// A run's state name.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStateName {
    /// Waiting for an approval of its start.
    Held,
    /// Waiting for the run holding its concurrency key.
    Queued,
    /// Being executed.
    Running,
    /// Done.
    Succeeded,
    /// Done, failed.
    Failed,
    /// Cancelled, or rejected before it started.
    Cancelled,
}

/// A fencing token: `(term, index)` of the attempt an effect belongs to.
#[derive(Serialize, ToSchema)]
pub struct FencingToken {
    /// Raft term of the leader that started the attempt.
    pub term: u64,
    /// Log index of the `StepStarted` entry.
    pub index: u64,
}

/// An attempt that started and has no result yet.
#[derive(Serialize, ToSchema)]
pub struct OpenAttempt {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<u64>,
    /// Attempt number.
    pub attempt: u64,
    /// Its fencing token.
    pub token: FencingToken,
    /// The step's `uses`.
    pub uses: String,
    /// When it started.
    pub started_at_ms: u64,
    /// Approvals given so far (approval steps).
    pub approved_by: Vec<String>,
}

/// A run without its journal and log (also the `data` of `event: state` on
/// `/v1/runs/{id}/events`).
#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    /// `run-<index>`.
    pub id: String,
    /// Runbook name.
    pub runbook: String,
    /// The runbook version the run is pinned to.
    pub digest: String,
    /// Drill mode.
    pub drill: bool,
    /// State.
    pub state: RunStateName,
    /// Why it is held or failed.
    pub reason: Option<String>,
    /// What started it.
    pub trigger: RunTrigger,
    /// Params as rendered at start.
    pub params: BTreeMap<String, Value>,
    /// The concurrency key it holds or waits for.
    pub concurrency_key: Option<String>,
    /// A cancel was asked for.
    pub cancel_requested: bool,
    /// Who started it.
    pub created_by: String,
    /// Leader time of its creation.
    pub created_at_ms: u64,
    /// When its first step started.
    pub first_step_at_ms: Option<u64>,
    /// When it finished.
    pub finished_at_ms: Option<u64>,
    /// How many times a new leader took it over.
    pub resumes: u64,
    /// Attempts started and not finished.
    pub open: Vec<OpenAttempt>,
}

/// `GET /v1/runs`.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunSummary>,
}

/// `GET /v1/drills`.
#[derive(Serialize, ToSchema)]
pub struct DrillList {
    /// Newest first.
    pub drills: Vec<RunSummary>,
}

/// Kinds of journal entries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum JournalEventType {
    /// An attempt started.
    StepStarted,
    /// An attempt succeeded.
    StepSucceeded,
    /// An attempt (or the step) failed.
    StepFailed,
    /// The step was skipped.
    StepSkipped,
    /// A person decided an approval.
    ApprovalDecided,
    /// A new leader took the run over.
    Resumed,
}

/// A journal entry (camelCase fields, as the journal stores them) with its log index.
/// Also the `data` of `event: journal` on `/v1/runs/{id}/events`.
#[derive(Serialize, ToSchema)]
pub struct JournalEntry {
    /// Kind of entry; the other fields depend on it (`stepId`, `item`, `attempt`,
    /// `result`, `kind`, `error`, `reason`, `approved`, `by`).
    #[serde(rename = "type")]
    pub kind: JournalEventType,
    /// When.
    #[serde(rename = "atMs")]
    pub at_ms: u64,
    /// Raft log index of the entry.
    pub index: u64,
    /// The rendered inputs of a started attempt.
    pub with: Option<Value>,
}

/// A line of a run's log (also the `data` of `event: log`).
#[derive(Serialize, ToSchema)]
pub struct LogLine {
    /// Leader time.
    pub at_ms: u64,
    /// Step id, if any.
    pub step_id: Option<String>,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// `GET /v1/runs/{id}`, `GET /v1/drills/{id}`: summary, journal and log.
#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    /// The summary.
    #[schema(inline)]
    #[serde(flatten)]
    pub run: RunSummary,
    /// Journal entries in commit order.
    pub journal: Vec<JournalEntry>,
    /// Log lines.
    pub log: Vec<LogLine>,
}

/// `POST /v1/runs`, `POST /v1/drills` (201).
#[derive(Serialize, ToSchema)]
pub struct RunCreated {
    /// The run id.
    pub id: String,
    /// Its state right after creation.
    pub state: RunStateName,
}

/// `POST /v1/runs/{id}/approve|reject`.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    /// The run id.
    pub id: String,
    /// Its state after the decision.
    pub state: RunStateName,
    /// The approval step decided (`null`: the held run's start).
    pub step: Option<String>,
    /// Approved or rejected.
    pub approved: bool,
    /// Who decided (token name).
    pub by: String,
}

/// `POST /v1/runs/{id}/cancel`.
#[derive(Serialize, ToSchema)]
pub struct CancelAnswer {
    /// The run id.
    pub id: String,
    /// Its state now (the run stops at its next step boundary).
    pub state: RunStateName,
    /// A cancel is pending or done.
    pub cancel_requested: bool,
}

/// The forms of a drill report (`?format=`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// JSON (the default).
    Json,
    /// Markdown.
    Md,
    /// Markdown (`md`).
    Markdown,
    /// HTML.
    Html,
}

/// A measured figure against its objective.
#[derive(Serialize, ToSchema)]
pub struct Measure {
    /// What was measured, ms (`null`: could not be measured; `basis` says why).
    pub measured_ms: Option<u64>,
    /// The runbook's objective, ms.
    pub objective_ms: Option<u64>,
    /// `measured <= objective`.
    pub met: Option<bool>,
    /// How it was measured, or why it could not be.
    pub basis: String,
}

/// How a step instance ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its last attempt succeeded.
    Succeeded,
    /// It failed.
    Failed,
    /// Skipped.
    Skipped,
    /// Simulated in the drill.
    Simulated,
    /// Started and not finished.
    Running,
    /// Never started.
    NotRun,
}

/// One step instance in a drill report.
#[derive(Serialize, ToSchema)]
pub struct StepReport {
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<u64>,
    /// The step's `uses`.
    pub uses: Option<String>,
    /// Attempts started.
    pub attempts: u64,
    /// Start of the first attempt.
    pub started_at_ms: Option<u64>,
    /// End of the last attempt.
    pub ended_at_ms: Option<u64>,
    /// First start to last end.
    pub duration_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// The last error.
    pub error: Option<String>,
    /// The kind of the last failure (`error`, `timeout`, `cancelled`, `render`,
    /// `rejected`).
    pub failure_kind: Option<String>,
    /// Why it was skipped, or who decided an approval.
    pub detail: Option<String>,
    /// An attempt was cut short by a leader change.
    pub resumed: bool,
}

/// `GET /v1/drills/{id}/report` as JSON.
#[derive(Serialize, ToSchema)]
pub struct DrillReport {
    /// Report format version.
    pub format: u64,
    /// Run id.
    pub run_id: String,
    /// Runbook name.
    pub runbook: String,
    /// Runbook version.
    pub digest: String,
    /// Drill mode.
    pub drill: bool,
    /// Run state name.
    pub state: String,
    /// Why it failed or is held.
    pub reason: Option<String>,
    /// Params as supplied.
    pub params: BTreeMap<String, Value>,
    /// Suffix of the namespaces a drill restores into.
    pub namespace_suffix: Option<String>,
    /// Run creation (ms since the epoch).
    pub started_at_ms: u64,
    /// Run creation, ISO 8601.
    pub started_at: String,
    /// When the first step started.
    pub first_step_at_ms: Option<u64>,
    /// When the run finished.
    pub finished_at_ms: Option<u64>,
    /// When the run finished, ISO 8601.
    pub finished_at: Option<String>,
    /// Creation to finish.
    pub duration_ms: Option<u64>,
    /// Leader takeovers.
    pub resumes: u64,
    /// One entry per step instance.
    pub steps: Vec<StepReport>,
    /// Recovery time.
    pub rto: Measure,
    /// Recovery point.
    pub rpo: Measure,
    /// Every objective was measured and met.
    pub objectives_met: Option<bool>,
    /// What the figures rest on: `{restores: [...], readiness: [...]}`.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// Things a reader should know.
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------
// Key/value

/// `GET /v1/kv`.
#[derive(Serialize, ToSchema)]
pub struct KvList {
    /// Number of entries.
    pub count: u64,
    /// Keys and versions (values omitted).
    pub entries: Vec<KvKeyVersion>,
    /// The catalog index the list was read at.
    pub applied_index: u64,
}

/// A key and its version.
#[derive(Serialize, ToSchema)]
pub struct KvKeyVersion {
    /// The key.
    pub key: String,
    /// Its version (log index of the last write).
    pub version: u64,
}

/// `GET /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Its version.
    pub version: u64,
}

/// `PUT /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvWritten {
    /// The key.
    pub key: String,
    /// Its new version.
    pub version: u64,
}

/// `DELETE /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvDeleted {
    /// The key.
    pub key: String,
    /// Log index of the delete.
    pub deleted_at_index: u64,
}
