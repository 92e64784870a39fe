//! The narrow traits the orchestrator implements for plugins: [`KubeAccess`] (its own
//! cluster client), [`PluginKv`] (per-plugin state in the catalog) and [`Journal`]
//! (where plugin logs go), bundled in [`HostServices`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::Digest;

/// A boxed, `Send` future (the traits here must be object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is calling: passed to every service method, for scoping and audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// The plugin's name (from `describe`).
    pub plugin: String,
    /// The plugin's digest.
    pub digest: Digest,
    /// Run id.
    pub run_id: String,
    /// Step id.
    pub step_id: String,
    /// Attempt number (1-based).
    pub attempt: u32,
    /// Drill run.
    pub drill: bool,
}

/// One Kubernetes object (or, for `list`, a kind in a namespace).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Cluster name as the catalog knows it.
    pub cluster: String,
    /// e.g. `apps/v1`.
    pub api_version: String,
    /// e.g. `Deployment`.
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name (ignored by `list`).
    pub name: String,
}

/// Kinds of service failure, mirrored to the guest as WIT `host-error-kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceErrorKind {
    /// Took too long.
    Timeout,
    /// Value or response too big.
    TooLarge,
    /// Backend unreachable or failing.
    Unavailable,
    /// Bad request (malformed JSON, unknown kind, ...).
    Invalid,
    /// Object not found.
    NotFound,
    /// Conflict (resource version, field manager).
    Conflict,
}

/// A failed service call, returned to the guest (it is not a step failure by itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ServiceError {
    /// Kind.
    pub kind: ServiceErrorKind,
    /// Message for the plugin (and its logs).
    pub message: String,
}

impl ServiceError {
    /// A new error.
    pub fn new(kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Cluster access through the orchestrator's own client. The host has already checked
/// the step's [`crate::KubeGrant`] before any call reaches this trait.
pub trait KubeAccess: Send + Sync {
    /// Get one object; `Ok(None)` when it does not exist.
    fn get<'a>(
        &'a self,
        call: &'a CallInfo,
        target: &'a ObjectRef,
    ) -> BoxFuture<'a, Result<Option<Value>, ServiceError>>;
    /// List a kind in a namespace, optionally by label selector (may be empty).
    fn list<'a>(
        &'a self,
        call: &'a CallInfo,
        target: &'a ObjectRef,
        label_selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, ServiceError>>;
    /// Server-side apply `manifest` (its `metadata.namespace` is set) to `cluster`.
    fn apply<'a>(
        &'a self,
        call: &'a CallInfo,
        cluster: &'a str,
        manifest: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>>;
    /// JSON merge patch one object.
    fn patch<'a>(
        &'a self,
        call: &'a CallInfo,
        target: &'a ObjectRef,
        patch: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>>;
}

/// Small per-plugin state kept in the catalog, keyed by plugin name.
pub trait PluginKv: Send + Sync {
    /// Read a key.
    fn get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ServiceError>>;
    /// Write a key.
    fn set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
    /// Delete a key (absent is fine).
    fn delete<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
}

/// Level of a plugin log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// One log line written by a plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Level.
    pub level: LogLevel,
    /// Text (capped by `Limits::max_log_bytes` over the whole step).
    pub message: String,
}

/// Where plugin logs go besides `tracing`: the run journal. Called synchronously from
/// the host call; implementations should buffer, not block.
pub trait Journal: Send + Sync {
    /// Record one line.
    fn record(&self, call: &CallInfo, line: &LogLine);
}

/// The orchestrator's services for one step (cheap to clone).
#[derive(Clone)]
pub struct HostServices {
    /// Cluster access.
    pub kube: Arc<dyn KubeAccess>,
    /// Plugin state.
    pub kv: Arc<dyn PluginKv>,
    /// Log sink.
    pub journal: Arc<dyn Journal>,
}

impl HostServices {
    /// Services that refuse everything (used for `describe`, which has no grants).
    #[must_use]
    pub fn unavailable() -> Self {
        let f = Arc::new(crate::fakes::Unavailable);
        Self {
            kube: f.clone(),
            kv: f.clone(),
            journal: f,
        }
    }
}

impl std::fmt::Debug for HostServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostServices { .. }")
    }
}
