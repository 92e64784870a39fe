//! Plugin steps: `uses: plugin/NAME@sha256:HEX`, run in this node's WebAssembly host.
//!
//! [`run`] finds the plugin in the catalog, loads it into the host if needed (its bytes
//! come from the object store, the compiled artifact from the host's disk cache), turns
//! the step's `permissions:` block into [`Grants`] and runs it with the host's default
//! [`lifeboat_plugins::Limits`]. The plugin reaches the orchestrator only through the
//! [`HostServices`] built here: clusters through the orchestrator's own kube client
//! (every object written carries the attempt's fencing token), state in the replicated
//! KV under `plugin/<NAME>/`, and log lines into the run's journal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use lifeboat_plugins::{
    BoxFuture, CallInfo, Digest, FailureKind, Grants, HostServices, Journal, KubeAccess, LogLevel,
    LogLine, ObjectRef, PluginKv, RunCtx, RunRequest, ServiceError, ServiceErrorKind, StepFailure,
};
use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{info, instrument, warn};

use super::{FENCING_ANNOTATION, StepCall};
use crate::catalog::{FencingToken, Op, PluginRecord, Response, RunOp};
use crate::node::Node;

/// Log lines of one step committed to the run journal; the rest go to `tracing` only
/// (the host already caps a step's logs by bytes, this bounds the Raft entries).
pub const MAX_JOURNAL_LINES: usize = 256;

/// How much earlier than the step's deadline a plugin is stopped.
const PLUGIN_DEADLINE_MARGIN_MS: u64 = 250;

/// The host's default limits, with the deadline set to what is left of the step's own
/// `timeout` (journaled start + timeout) when the runbook declares one.
fn limits_for(
    mut limits: lifeboat_plugins::Limits,
    deadline_ms: Option<u64>,
    now_ms: u64,
) -> lifeboat_plugins::Limits {
    // A little before the step's own deadline, so the plugin's typed failure ("exceeded
    // its deadline") is what the journal shows, with the executor's timeout as backstop.
    if let Some(d) = deadline_ms {
        let left = d.saturating_sub(now_ms);
        let margin = (left / 10).min(PLUGIN_DEADLINE_MARGIN_MS);
        limits.deadline = std::time::Duration::from_millis(left.saturating_sub(margin).max(1));
    }
    limits
}

/// Run a plugin step: Ok with the plugin's JSON output, Err with the failure's message
/// and kind (`..., (deadline, retryable)`); failures the host calls not retryable (denied
/// capability, trap, out of memory...) are not retried.
#[instrument(skip_all, fields(run_id = %call.run_id, step = %call.step_id, attempt = call.attempt))]
pub async fn run(node: &Arc<Node>, call: &StepCall) -> Result<Value, super::StepError> {
    let (name, digest) = parse_uses(&call.uses)?;
    let record = node
        .raft
        .read_local(|c| c.plugins.get(digest.as_str()).cloned());
    let record = check_record(record, name, &digest)?;
    ensure_loaded(node, &record, &digest).await?;
    let grants = grants_from(&call.permissions)?;
    let host = &node.plugins.host;
    let req = RunRequest {
        ctx: RunCtx {
            run_id: call.run_id.clone(),
            step_id: call.step_id.clone(),
            attempt: call.attempt,
            idempotency_key: call.idempotency_key.clone(),
            drill: call.drill,
            input: call.with.clone(),
        },
        grants,
        limits: limits_for(
            host.config().defaults.clone(),
            call.deadline_ms,
            crate::node::now_ms(),
        ),
    };
    let (journal, writer) = RunJournal::start(node.clone(), call);
    let services = HostServices {
        kube: Arc::new(OrchestratorKube::new(node.clone(), call.token)),
        kv: Arc::new(CatalogKv {
            node: node.clone(),
            actor: call.actor.clone(),
        }),
        journal: journal.clone(),
    };
    let result = host.run(&digest, req, &services).await;
    journal.close();
    if writer.await.is_err() {
        warn!("the plugin journal writer panicked; some log lines may be missing");
    }
    match result {
        Ok(out) => Ok(out.output),
        Err(f) => Err(super::StepError {
            message: failure_message(&f),
            retryable: f.retryable(),
        }),
    }
}

/// Split `plugin/NAME@sha256:HEX` into its name and digest.
fn parse_uses(uses: &str) -> Result<(&str, Digest), String> {
    let rest = uses
        .strip_prefix("plugin/")
        .ok_or_else(|| format!("`{uses}` is not a plugin step (`plugin/NAME@sha256:HEX`)"))?;
    let (name, digest) = rest.split_once('@').ok_or_else(|| {
        format!("`{uses}` names no digest: plugin steps are `plugin/NAME@sha256:HEX`")
    })?;
    let digest = digest
        .parse::<Digest>()
        .map_err(|e| format!("`{uses}`: {e}"))?;
    Ok((name, digest))
}

/// The catalog record for `name@digest`, or why the step cannot use it.
fn check_record(
    record: Option<PluginRecord>,
    name: &str,
    digest: &Digest,
) -> Result<PluginRecord, String> {
    let record = record.ok_or_else(|| {
        format!(
            "plugin {name}@{digest} is not registered: push it with `lifeboat plugin push \
             {name}.wasm` (or put it in a node's plugins.dir)"
        )
    })?;
    if record.name != name {
        return Err(format!(
            "plugin {digest} is registered as `{}`, not `{name}`: fix the step's `uses`",
            record.name
        ));
    }
    Ok(record)
}

/// Load the plugin into this node's host unless it already is: bytes from the object
/// store (checked against the digest), compiled artifact from the disk cache.
async fn ensure_loaded(node: &Node, record: &PluginRecord, digest: &Digest) -> Result<(), String> {
    let host = &node.plugins.host;
    if host.get(digest).is_some() {
        return Ok(());
    }
    let path = object_store::path::Path::from(record.object_key.as_str());
    let store = node.snapshots.store.object_store();
    let fetch = |e: object_store::Error| {
        format!(
            "plugin {}@{digest}: fetching `{}` from the object store: {e}",
            record.name, record.object_key
        )
    };
    let bytes = store
        .get(&path)
        .await
        .map_err(fetch)?
        .bytes()
        .await
        .map_err(fetch)?;
    if Digest::of(&bytes) != *digest {
        return Err(format!(
            "plugin {}: the object `{}` does not hash to {digest} (corrupt or replaced; push \
             the plugin again)",
            record.name, record.object_key
        ));
    }
    let loaded = host
        .load(&bytes)
        .await
        .map_err(|e| format!("plugin {}@{digest}: {e}", record.name))?;
    info!(plugin = %loaded.describe.name, %digest, "plugin loaded for a step");
    Ok(())
}

/// The step's `permissions:` block as [`Grants`]; absent or null grants nothing.
fn grants_from(permissions: &Value) -> Result<Grants, String> {
    if permissions.is_null() {
        return Ok(Grants::none());
    }
    serde_json::from_value(permissions.clone()).map_err(|e| format!("step `permissions`: {e}"))
}

/// A failure as the executor records it: the host's message, then kind and retryability.
fn failure_message(f: &StepFailure) -> String {
    let kind = match &f.kind {
        FailureKind::Trap => "trap".to_string(),
        FailureKind::Deadline => "deadline".to_string(),
        FailureKind::OutOfFuel => "out of fuel".to_string(),
        FailureKind::OutOfMemory => "out of memory".to_string(),
        FailureKind::OutputTooLarge => "output too large".to_string(),
        FailureKind::InvalidOutput => "invalid output".to_string(),
        FailureKind::Denied { capability } => format!("denied {}", capability.as_str()),
        FailureKind::PluginError { .. } => "plugin error".to_string(),
        FailureKind::Incompatible => "incompatible".to_string(),
        FailureKind::NotRunnable => "not runnable".to_string(),
        FailureKind::Host => "host".to_string(),
    };
    let retry = if f.retryable() {
        "retryable"
    } else {
        "not retryable"
    };
    format!("{} ({kind}, {retry})", f.message)
}

/// The catalog KV key of a plugin's `key`.
fn kv_key(plugin: &str, key: &str) -> String {
    format!("plugin/{plugin}/{key}")
}

/// A plugin KV value as the plugin sees it (a string; other JSON as its text).
fn kv_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ServiceErrorKind::Unavailable, format!("{what}: {e}"))
}

/// [`PluginKv`] over the replicated catalog KV (`plugin/<NAME>/<key>`).
struct CatalogKv {
    node: Arc<Node>,
    actor: String,
}

impl PluginKv for CatalogKv {
    fn get<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ServiceError>> {
        let k = kv_key(plugin, key);
        let v = self
            .node
            .raft
            .read_local(|c| c.kv.get(&k).map(|e| kv_value(&e.value)));
        Box::pin(async move { Ok(v) })
    }

    fn set<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let op = Op::KvPut {
                key: kv_key(plugin, key),
                value: Value::String(value.to_string()),
                expected_version: None,
            };
            self.node
                .write(&self.actor, op)
                .await
                .map(|_| ())
                .map_err(|e| unavailable("kv set", e))
        })
    }

    fn delete<'a>(
        &'a self,
        plugin: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ServiceError>> {
        Box::pin(async move {
            let op = Op::KvDelete {
                key: kv_key(plugin, key),
            };
            // An absent key answers `Conflict`: fine for a delete.
            match self.node.write(&self.actor, op).await {
                Ok(Response::Applied { .. } | Response::Conflict { .. }) => Ok(()),
                Ok(other) => Err(unavailable("kv delete", format!("{other:?}"))),
                Err(e) => Err(unavailable("kv delete", e)),
            }
        })
    }
}

/// [`Journal`] into the run's log: lines go through a channel to one task that commits
/// them in order (`record` is synchronous), at most [`MAX_JOURNAL_LINES`] per step, info
/// and above (the host sends every line to `tracing` itself).
struct RunJournal {
    tx: Mutex<Option<mpsc::UnboundedSender<LogLine>>>,
}

impl RunJournal {
    /// The journal and its writer task (which ends once [`RunJournal::close`] is called
    /// and every queued line is committed).
    fn start(node: Arc<Node>, call: &StepCall) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<LogLine>();
        let (actor, run_id, step_id) = (
            call.actor.clone(),
            call.run_id.clone(),
            call.step_id.clone(),
        );
        let writer = tokio::spawn(async move {
            let mut written = 0usize;
            let mut dropped = 0usize;
            while let Some(line) = rx.recv().await {
                let Some(level) = level_name(line.level) else {
                    continue;
                };
                if written >= MAX_JOURNAL_LINES {
                    dropped += 1;
                    continue;
                }
                written += 1;
                commit_log(&node, &actor, &run_id, &step_id, level, line.message).await;
            }
            if dropped > 0 {
                let message = format!(
                    "{dropped} more plugin log line(s) not journaled (over {MAX_JOURNAL_LINES} \
                     per step); see the node's logs"
                );
                commit_log(&node, &actor, &run_id, &step_id, "warn", message).await;
            }
        });
        let journal = Arc::new(Self {
            tx: Mutex::new(Some(tx)),
        });
        (journal, writer)
    }

    /// No more lines: the writer drains the queue and ends.
    fn close(&self) {
        self.tx.lock().expect("journal lock").take();
    }
}

impl Journal for RunJournal {
    fn record(&self, _call: &CallInfo, line: &LogLine) {
        // The host has already sent the line to `tracing` (with plugin, run and step).
        if let Some(tx) = self.tx.lock().expect("journal lock").as_ref() {
            let _ = tx.send(line.clone());
        }
    }
}

/// The run-log level of a plugin line; `None` for trace and debug lines, which stay in
/// the node's logs (the run log keeps `info`, `warn` and `error`).
fn level_name(level: LogLevel) -> Option<&'static str> {
    match level {
        LogLevel::Trace | LogLevel::Debug => None,
        LogLevel::Info => Some("info"),
        LogLevel::Warn => Some("warn"),
        LogLevel::Error => Some("error"),
    }
}

async fn commit_log(
    node: &Node,
    actor: &str,
    run_id: &str,
    step_id: &str,
    level: &str,
    message: String,
) {
    let op = Op::Run(RunOp::Log {
        run_id: run_id.to_string(),
        step_id: Some(step_id.to_string()),
        level: level.to_string(),
        message,
    });
    if let Err(e) = node.write(actor, op).await {
        warn!(run_id, step = step_id, error = %e, "plugin log line not journaled");
    }
}

/// [`KubeAccess`] through the orchestrator's own clients (one per cluster per step).
/// The host has checked the grant's clusters, namespaces and verbs; this refuses a
/// namespace on a cluster-scoped kind, which that check cannot see.
struct OrchestratorKube {
    node: Arc<Node>,
    token: FencingToken,
    clients: Mutex<HashMap<String, kube::Client>>,
}

impl OrchestratorKube {
    fn new(node: Arc<Node>, token: FencingToken) -> Self {
        Self {
            node,
            token,
            clients: Mutex::default(),
        }
    }

    async fn client(&self, cluster: &str) -> Result<kube::Client, ServiceError> {
        if let Some(c) = self.clients.lock().expect("clients lock").get(cluster) {
            return Ok(c.clone());
        }
        let c = crate::snapshots::client(&self.node, cluster, None)
            .await
            .map_err(|e| unavailable(&format!("cluster `{cluster}`"), e))?;
        self.clients
            .lock()
            .expect("clients lock")
            .insert(cluster.to_string(), c.clone());
        Ok(c)
    }

    /// The typed API for `api_version`/`kind` in `namespace` (`""`: cluster-scoped, or
    /// every namespace when `all_namespaces`).
    async fn api(
        &self,
        cluster: &str,
        api_version: &str,
        kind: &str,
        namespace: &str,
        all_namespaces: bool,
    ) -> Result<(Api<DynamicObject>, ApiResource), ServiceError> {
        let client = self.client(cluster).await?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) =
            kube::discovery::pinned_kind(&client, &gvk)
                .await
                .map_err(|e| match e {
                    kube::Error::Discovery(_) => ServiceError::new(
                        ServiceErrorKind::Invalid,
                        format!("cluster `{cluster}` does not serve {api_version} {kind}"),
                    ),
                    other => kube_error(other),
                })?;
        let api = match (caps.scope, namespace.is_empty()) {
            (Scope::Namespaced, false) => Api::namespaced_with(client, namespace, &ar),
            (Scope::Namespaced, true) if all_namespaces => Api::all_with(client, &ar),
            (Scope::Namespaced, true) => {
                return Err(ServiceError::new(
                    ServiceErrorKind::Invalid,
                    format!("{kind} is namespaced: give its namespace"),
                ));
            }
            (Scope::Cluster, true) => Api::all_with(client, &ar),
            (Scope::Cluster, false) => {
                return Err(ServiceError::new(
                    ServiceErrorKind::Invalid,
                    format!(
                        "{kind} is cluster-scoped: the namespace must be empty (and the step \
                         must grant namespaces [\"*\"])"
                    ),
                ));
            }
        };
        Ok((api, ar))
    }
}

/// A kube error as the plugin sees it.
fn kube_error(e: kube::Error) -> ServiceError {
    match e {
        kube::Error::Api(s) => {
            let kind = match s.code {
                404 => ServiceErrorKind::NotFound,
                409 => ServiceErrorKind::Conflict,
                400 | 422 => ServiceErrorKind::Invalid,
                413 => ServiceErrorKind::TooLarge,
                408 | 504 => ServiceErrorKind::Timeout,
                _ => ServiceErrorKind::Unavailable,
            };
            ServiceError::new(kind, format!("{} {}: {}", s.code, s.reason, s.message))
        }
        other => unavailable("kube", other),
    }
}

fn to_value(o: DynamicObject) -> Result<Value, ServiceError> {
    serde_json::to_value(o).map_err(|e| unavailable("encoding the object", e))
}

/// `patch` with the fencing-token annotation merged into `metadata.annotations`.
fn with_fencing_token(patch: &Value, token: FencingToken) -> Result<Value, ServiceError> {
    let mut patch = patch.clone();
    let obj = patch.as_object_mut().ok_or_else(|| {
        ServiceError::new(
            ServiceErrorKind::Invalid,
            "the object must be a JSON object",
        )
    })?;
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    let annotations = meta
        .as_object_mut()
        .ok_or_else(|| ServiceError::new(ServiceErrorKind::Invalid, "metadata is not an object"))?
        .entry("annotations")
        .or_insert_with(|| json!({}));
    let annotations = annotations.as_object_mut().ok_or_else(|| {
        ServiceError::new(
            ServiceErrorKind::Invalid,
            "metadata.annotations is not an object",
        )
    })?;
    annotations.insert(
        FENCING_ANNOTATION.to_string(),
        Value::String(token.to_string()),
    );
    Ok(patch)
}

/// The server-side-apply field manager of a plugin.
fn field_manager(plugin: &str) -> String {
    format!("lifeboat-plugin-{plugin}")
}

impl KubeAccess for OrchestratorKube {
    fn get<'a>(
        &'a self,
        _call: &'a CallInfo,
        t: &'a ObjectRef,
    ) -> BoxFuture<'a, Result<Option<Value>, ServiceError>> {
        Box::pin(async move {
            let (api, _) = self
                .api(&t.cluster, &t.api_version, &t.kind, &t.namespace, false)
                .await?;
            match api.get_opt(&t.name).await.map_err(kube_error)? {
                Some(o) => to_value(o).map(Some),
                None => Ok(None),
            }
        })
    }

    fn list<'a>(
        &'a self,
        _call: &'a CallInfo,
        t: &'a ObjectRef,
        label_selector: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Value>, ServiceError>> {
        Box::pin(async move {
            let (api, _) = self
                .api(&t.cluster, &t.api_version, &t.kind, &t.namespace, true)
                .await?;
            let mut lp = ListParams::default();
            if !label_selector.is_empty() {
                lp = lp.labels(label_selector);
            }
            let list = api.list(&lp).await.map_err(kube_error)?;
            list.items.into_iter().map(to_value).collect()
        })
    }

    fn apply<'a>(
        &'a self,
        call: &'a CallInfo,
        cluster: &'a str,
        manifest: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            let field = |p: &str| manifest.pointer(p).and_then(Value::as_str).unwrap_or("");
            let (api_version, kind, name) = (
                field("/apiVersion"),
                field("/kind"),
                field("/metadata/name"),
            );
            if api_version.is_empty() || kind.is_empty() || name.is_empty() {
                return Err(ServiceError::new(
                    ServiceErrorKind::Invalid,
                    "the manifest needs apiVersion, kind and metadata.name",
                ));
            }
            let namespace = field("/metadata/namespace");
            let (api, _) = self
                .api(cluster, api_version, kind, namespace, false)
                .await?;
            let body = with_fencing_token(manifest, self.token)?;
            let pp = PatchParams::apply(&field_manager(&call.plugin)).force();
            let o = api
                .patch(name, &pp, &Patch::Apply(&body))
                .await
                .map_err(kube_error)?;
            to_value(o)
        })
    }

    fn patch<'a>(
        &'a self,
        _call: &'a CallInfo,
        t: &'a ObjectRef,
        patch: &'a Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            let (api, _) = self
                .api(&t.cluster, &t.api_version, &t.kind, &t.namespace, false)
                .await?;
            let body = with_fencing_token(patch, self.token)?;
            let o = api
                .patch(&t.name, &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map_err(kube_error)?;
            to_value(o)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_step_timeout_becomes_the_plugin_deadline() {
        let defaults = lifeboat_plugins::Limits::DEFAULTS;
        let l = super::limits_for(defaults.clone(), Some(125_000), 5_000);
        assert_eq!(l.deadline, std::time::Duration::from_millis(120_000 - 250));
        let l = super::limits_for(defaults.clone(), None, 5_000);
        assert_eq!(l.deadline, defaults.deadline);
    }

    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn record(name: &str) -> PluginRecord {
        PluginRecord {
            digest: format!("sha256:{HEX}"),
            name: name.into(),
            version: "0.1.0".into(),
            describe: json!({}),
            capabilities: vec![],
            size: 1,
            object_key: format!("plugins/{HEX}.wasm"),
            registered_at_ms: 0,
            registered_by: "t".into(),
        }
    }

    #[test]
    fn uses_splits_into_name_and_digest() {
        let uses = format!("plugin/dns-switch@sha256:{HEX}");
        let (name, digest) = parse_uses(&uses).unwrap();
        assert_eq!(name, "dns-switch");
        assert_eq!(digest.hex(), HEX);
        assert!(
            parse_uses("plugin/dns-switch")
                .unwrap_err()
                .contains("digest")
        );
        assert!(
            parse_uses("plugin/dns-switch@sha256:xyz")
                .unwrap_err()
                .contains("invalid plugin digest")
        );
        assert!(parse_uses("k8s.apply").is_err());
    }

    #[test]
    fn unknown_or_misnamed_plugin_says_what_to_do() {
        let digest: Digest = format!("sha256:{HEX}").parse().unwrap();
        let e = check_record(None, "dns-switch", &digest).unwrap_err();
        assert!(e.contains("lifeboat plugin push"), "{e}");
        let e = check_record(Some(record("notify")), "dns-switch", &digest).unwrap_err();
        assert!(e.contains("registered as `notify`"), "{e}");
        assert!(check_record(Some(record("dns-switch")), "dns-switch", &digest).is_ok());
    }

    #[test]
    fn permissions_become_grants_and_absent_denies_everything() {
        assert_eq!(grants_from(&Value::Null).unwrap(), Grants::none());
        let g = grants_from(&json!({
            "log": true,
            "kv": true,
            "http": {"allowHosts": ["127.0.0.1:8053"], "timeout": "5s"},
        }))
        .unwrap();
        assert!(g.log && g.kv && !g.clock && g.kube.is_none());
        assert!(
            g.http
                .unwrap()
                .allows_url("http://127.0.0.1:8053/records/x")
        );
        let e = grants_from(&json!({"filesystem": true})).unwrap_err();
        assert!(e.contains("permissions") && e.contains("filesystem"), "{e}");
    }

    #[test]
    fn run_log_keeps_info_and_above() {
        assert_eq!(level_name(LogLevel::Debug), None);
        assert_eq!(level_name(LogLevel::Info), Some("info"));
        assert_eq!(level_name(LogLevel::Error), Some("error"));
    }

    #[test]
    fn kv_keys_are_prefixed_per_plugin() {
        assert_eq!(kv_key("dns-switch", "last/x"), "plugin/dns-switch/last/x");
        assert_eq!(kv_value(&json!("abc")), "abc");
        assert_eq!(kv_value(&json!({"a": 1})), r#"{"a":1}"#);
    }

    #[test]
    fn fencing_token_is_stamped_without_losing_annotations() {
        let token = FencingToken { term: 3, index: 7 };
        let out = with_fencing_token(
            &json!({"metadata": {"annotations": {"a": "b"}}, "spec": {"replicas": 2}}),
            token,
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"]["a"], "b");
        assert_eq!(
            out["metadata"]["annotations"][FENCING_ANNOTATION],
            token.to_string()
        );
        assert_eq!(out["spec"]["replicas"], 2);
        assert!(with_fencing_token(&json!([1]), token).is_err());
    }

    #[test]
    fn failures_carry_kind_and_retryability() {
        let f: StepFailure = serde_json::from_value(json!({
            "kind": {"kind": "deadline"},
            "message": "plugin spin exceeded its deadline of 1s and was stopped",
            "logs": [],
        }))
        .unwrap();
        assert_eq!(
            failure_message(&f),
            "plugin spin exceeded its deadline of 1s and was stopped (deadline, retryable)"
        );
        let f: StepFailure = serde_json::from_value(json!({
            "kind": {"kind": "denied", "capability": "http"},
            "message": "plugin x was denied: ...",
            "logs": [],
        }))
        .unwrap();
        assert!(failure_message(&f).ends_with("(denied http, not retryable)"));
    }
}
