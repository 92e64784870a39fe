//! The YAML schema of a node's config file, as typed structs.
//!
//! Every struct denies unknown keys, so a typo is an error rather than a silently ignored
//! setting. Fields that validation may complain about are wrapped in [`Spanned`] so the
//! error can name the line and column. Defaults live in one place per section: the
//! `Default` impls (e.g. [`RaftTuning`], [`ApiTuning`], [`ExecutorConfig`]).

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::auth::Role;

/// A node's whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This node's identity and storage.
    pub node: NodeSection,
    /// Where this node listens.
    pub listen: ListenConfig,
    /// Every voter of the group, this node included.
    pub peers: Vec<PeerConfig>,
    /// API tokens and the node-to-node secret.
    pub auth: AuthConfig,
    /// The Kubernetes clusters this group protects.
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    /// Where snapshots and reports are stored.
    pub store: StoreConfig,
    /// Raft timing and log compaction.
    #[serde(default)]
    pub raft: RaftTuning,
    /// HTTP API limits.
    #[serde(default)]
    pub api: ApiTuning,
    /// Cluster health probing and the quorum that judges it.
    #[serde(default)]
    pub health: HealthTuning,
    /// Snapshot schedules, retention and encryption.
    #[serde(default)]
    pub snapshots: SnapshotsConfig,
    /// WebAssembly plugins.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// The runbook executor: outbound HTTP, notification channels, secrets, limits.
    #[serde(default)]
    pub executor: ExecutorConfig,
}

/// `executor:`: what runbook steps may reach and how much the executor keeps. Every field
/// has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    /// URL prefixes (`https://hooks.example.com/`) `http.request` may call; empty refuses
    /// every call. Scheme, host and port must match exactly, the path by prefix.
    pub http_allowlist: Vec<Spanned<String>>,
    /// Timeout of one `http.request` or webhook call, e.g. `30s` (the default).
    pub http_timeout: Spanned<String>,
    /// Largest response body read from a call (default 1 MiB); a larger one fails the step.
    pub http_max_response_bytes: usize,
    /// Named channels for the `notify` step.
    pub notify: NotifyConfig,
    /// Directory of secret files: `secret:NAME/KEY` is read from `<secrets_dir>/NAME/KEY`.
    pub secrets_dir: Option<PathBuf>,
    /// Steps of one run executed at the same time, at most (default 64).
    pub max_parallel_steps: usize,
    /// Deadline of a step attempt whose runbook step sets no `timeout` (default `1h`), so
    /// that no run stays running forever. Approvals always need their own `timeout`.
    pub default_step_timeout: Spanned<String>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        let unknown = serde_saphyr::Location::UNKNOWN;
        Self {
            http_allowlist: Vec::new(),
            http_timeout: Spanned::new("30s".into(), unknown, unknown),
            http_max_response_bytes: 1024 * 1024,
            notify: NotifyConfig::default(),
            secrets_dir: None,
            max_parallel_steps: 64,
            default_step_timeout: Spanned::new("1h".into(), unknown, unknown),
        }
    }
}

/// `executor.notify:`: the channels the `notify` step can name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Channels by name.
    #[serde(default)]
    pub channels: BTreeMap<String, NotifyChannel>,
}

/// One notification channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NotifyChannel {
    /// POST a JSON `{"channel","title","message","run","step"}` to this URL.
    Webhook(Spanned<String>),
    /// Write the message to this node's log (`log: {}`).
    Log(LogChannel),
}

/// The `log` channel: no settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogChannel {}

/// `plugins:`: the WebAssembly plugin host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginsConfig {
    /// A directory of `*.wasm` components to load at start and register (leader).
    pub dir: Option<PathBuf>,
    /// Largest accepted plugin upload (`PUT /v1/plugins`).
    pub max_bytes: usize,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            dir: None,
            max_bytes: 128 * 1024 * 1024,
        }
    }
}

/// `snapshots:`: schedules, retention, encryption.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotsConfig {
    /// Client-side encryption key file (mode 0600; 32 bytes, hex or base64).
    #[serde(default)]
    pub encryption_key_file: Option<Spanned<PathBuf>>,
    /// Environment variable holding the encryption key instead.
    #[serde(default)]
    pub encryption_key_env: Option<String>,
    /// Cron schedules (seconds field first), fired by the leader only.
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    /// What to keep; the rest is deleted after each capture of that cluster.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Unreferenced packs younger than this are never collected (protects captures in
    /// flight); default 1h.
    #[serde(default)]
    pub gc_grace: Option<String>,
    /// zstd level for packs, 1..=22 (default 7). Higher stores less and captures slower:
    /// see BENCHMARKS.md.
    #[serde(default)]
    pub compression_level: Option<i32>,
}

/// One snapshot schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The cluster to capture.
    pub cluster: Spanned<String>,
    /// Cron expression with a seconds field, e.g. `0 */15 * * * *`.
    pub cron: Spanned<String>,
    /// IANA timezone for the expression (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    /// After downtime: `skip` missed firings (default) or `run-once`.
    #[serde(default)]
    pub missed: Option<String>,
    /// Random delay up to this, deterministic per firing (e.g. `30s`).
    #[serde(default)]
    pub jitter: Option<String>,
}

/// Retention counts; unset means unlimited for that rule, all unset keeps everything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep the newest N.
    pub keep_last: Option<usize>,
    /// Keep the newest per hour, for N hours.
    pub hourly: Option<usize>,
    /// Keep the newest per day, for N days.
    pub daily: Option<usize>,
    /// Keep the newest per week, for N weeks.
    pub weekly: Option<usize>,
}

/// `node:`: identity and data directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Node id, unique in the group, > 0.
    pub id: Spanned<u64>,
    /// Raft log, vote and snapshots live here (relative to the config file).
    pub data_dir: Spanned<PathBuf>,
}

/// `listen:`: socket addresses this node binds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// The HTTP API (`IP:PORT`).
    pub api: Spanned<String>,
    /// Node-to-node Raft traffic (`IP:PORT`).
    pub raft: Spanned<String>,
}

/// One voter of the group, as this node reaches it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's node id.
    pub id: Spanned<u64>,
    /// Base URL of its HTTP API, e.g. `http://10.0.0.1:7101`.
    pub api: Spanned<String>,
    /// Base URL of its Raft endpoint, e.g. `http://10.0.0.1:7111`. This is the address
    /// recorded in the Raft membership, the same in every node's config.
    pub raft: Spanned<String>,
    /// Reach its API through this base URL instead (a tunnel or proxy on this node's path).
    #[serde(default)]
    pub api_via: Option<Spanned<String>>,
    /// Reach its Raft endpoint through this base URL instead; the membership keeps `raft`.
    #[serde(default)]
    pub raft_via: Option<Spanned<String>>,
}

/// `auth:`: bearer tokens for the API and the secret between nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// File holding the node-to-node secret (mode 0600).
    #[serde(default)]
    pub cluster_secret_file: Option<Spanned<PathBuf>>,
    /// Name of an environment variable holding the node-to-node secret.
    #[serde(default)]
    pub cluster_secret_env: Option<Spanned<String>>,
    /// API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
}

/// One API token: a name (for the audit log), a role, and the token as a file or a hash.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds this token; shown in the audit log, never the token itself.
    pub name: Spanned<String>,
    /// `viewer`, `operator` or `admin`.
    pub role: Role,
    /// A file holding the token (mode 0600).
    #[serde(default)]
    pub token_file: Option<Spanned<PathBuf>>,
    /// The hex SHA-256 of the token.
    #[serde(default)]
    pub sha256: Option<Spanned<String>>,
}

/// One protected Kubernetes cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Cluster name, a DNS label (`eu-west`).
    pub name: Spanned<String>,
    /// Path of its kubeconfig (relative to the config file).
    pub kubeconfig: Spanned<PathBuf>,
    /// Context inside the kubeconfig; the current context when absent.
    #[serde(default)]
    pub context: Option<String>,
}

/// `store:`: the object store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `file:///path`, `memory://`, `s3://bucket/prefix`, `gs://...` or `az://...`.
    pub url: Spanned<String>,
    /// object_store options (e.g. `aws_endpoint`, `aws_region`, `aws_allow_http`).
    /// Credentials come from the environment (`AWS_ACCESS_KEY_ID`, ...), never from here.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

/// `raft:`: timing and compaction. Every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftTuning {
    /// Leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomised election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomised election timeout.
    pub election_timeout_max_ms: u64,
    /// Build a state-machine snapshot every N applied entries.
    pub snapshot_logs_since_last: u64,
    /// Log entries kept behind a snapshot.
    pub max_in_snapshot_log_to_keep: u64,
    /// A write that cannot commit within this fails (no quorum) instead of hanging.
    pub write_timeout_ms: u64,
}

impl Default for RaftTuning {
    fn default() -> Self {
        Self {
            heartbeat_ms: 150,
            election_timeout_min_ms: 600,
            election_timeout_max_ms: 1200,
            snapshot_logs_since_last: 5000,
            max_in_snapshot_log_to_keep: 1000,
            write_timeout_ms: 5000,
        }
    }
}

/// `health:`: probing and judging clusters. Durations are written `2s`, `500ms`, `30m`.
/// Every field has a default. The leader commits its values to the catalog, so every
/// node judges by the same policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthTuning {
    /// How often every node probes every cluster.
    pub interval: String,
    /// A probe slower than this failed.
    pub timeout: String,
    /// Unhealthy by a quorum for this long: the cluster is lost.
    pub window: String,
    /// Healthy by a quorum for this long: recovered (hysteresis).
    pub recovery: String,
    /// A vote not refreshed within this counts for nothing (default 3 x interval).
    pub vote_ttl: Option<String>,
    /// At most one automatic failover per cluster per cooldown.
    pub cooldown: String,
    /// Share of clusters lost within one window above which failover waits for approval.
    pub blast_radius: f64,
    /// Votes needed to decide (default: a majority of the configured voters).
    pub quorum: Option<usize>,
    /// Also list one namespace through the API (catches an API that answers /readyz but
    /// cannot serve reads).
    pub canary: bool,
}

impl Default for HealthTuning {
    fn default() -> Self {
        Self {
            interval: "2s".into(),
            timeout: "1500ms".into(),
            window: "6s".into(),
            recovery: "4s".into(),
            vote_ttl: None,
            cooldown: "30m".into(),
            blast_radius: 0.5,
            quorum: None,
            canary: true,
        }
    }
}

/// `api:`: HTTP API limits. Every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiTuning {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Timeout of a request forwarded to the leader.
    pub forward_timeout_ms: u64,
}

impl Default for ApiTuning {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            forward_timeout_ms: 10_000,
        }
    }
}
