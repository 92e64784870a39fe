//! The node's WebAssembly plugins: a `lifeboat-plugins` host, the registry in the
//! catalog, and the bytes in the object store.
//!
//! Registering (`PUT /v1/plugins`, `lifeboat plugin push`, or a `plugins.dir` at start)
//! loads the component (which checks the WIT version and calls `describe()`), stores
//! its bytes under `plugins/<hex>.wasm` and commits a `RegisterPlugin` entry, so every
//! node can fetch and load it. The runbook linter checks plugin steps against the
//! registered `describe()`: input schema and capabilities.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use lifeboat_plugins::{HostConfig, LoadedPlugin, PluginError, PluginHost};
use lifeboat_runbooks::PluginSchema;
use object_store::ObjectStoreExt;
use tracing::{info, warn};

use crate::api::ApiError;
use crate::catalog::{Op, PluginRecord};
use crate::node::Node;

/// The node's plugin host and the components it preloaded from `plugins.dir`.
pub struct Plugins {
    /// The host (compiled-module cache under the data dir).
    pub host: PluginHost,
    preloaded: Mutex<Vec<Vec<u8>>>,
}

impl Plugins {
    /// A host caching compiled modules in `data_dir/plugin-cache`.
    pub fn new(data_dir: &Path) -> Result<Self, String> {
        let config = HostConfig {
            cache_dir: Some(data_dir.join("plugin-cache")),
            ..HostConfig::default()
        };
        let host = PluginHost::new(config).map_err(|e| format!("plugin host: {e}"))?;
        Ok(Self {
            host,
            preloaded: Mutex::default(),
        })
    }

    /// Load every `*.wasm` in `dir`; the leader registers them (see [`register_preloaded`]).
    pub async fn preload(&self, dir: &Path) -> Result<usize, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("plugins.dir {}: {e}", dir.display()))?;
        let mut n = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            match self.host.load(&bytes).await {
                Ok(p) => {
                    info!(plugin = %p.describe.name, digest = %p.digest.as_str(), "preloaded");
                    self.preloaded.lock().expect("preload lock").push(bytes);
                    n += 1;
                }
                Err(e) => warn!(file = %path.display(), error = %e, "plugin not loaded"),
            }
        }
        Ok(n)
    }
}

/// How a plugin error reaches an API client.
fn api_error(e: PluginError) -> ApiError {
    match e {
        PluginError::Invalid { .. }
        | PluginError::Incompatible { .. }
        | PluginError::BadDescribe { .. } => ApiError::Unprocessable(e.to_string()),
        PluginError::NotLoaded { .. } => ApiError::NotFound(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Load, store and register a component; returns its catalog record.
pub async fn register(node: &Node, bytes: Vec<u8>, by: &str) -> Result<PluginRecord, ApiError> {
    let loaded: LoadedPlugin = node.plugins.host.load(&bytes).await.map_err(api_error)?;
    let digest = loaded.digest.as_str().to_string();
    let known = node.read(|c| c.plugins.get(&digest).cloned()).await?;
    if let Some(existing) = known {
        return Ok(existing);
    }
    let hex = digest.trim_start_matches("sha256:");
    let object_key = format!("plugins/{hex}.wasm");
    let path = object_store::path::Path::from(object_key.as_str());
    node.snapshots
        .store
        .object_store()
        .put(&path, bytes.into())
        .await
        .map_err(|e| {
            ApiError::Unavailable(format!("storing the plugin in the object store: {e}"))
        })?;
    let d = &loaded.describe;
    let record = PluginRecord {
        digest: digest.clone(),
        name: d.name.clone(),
        version: d.version.clone(),
        describe: serde_json::to_value(d).unwrap_or_default(),
        capabilities: d
            .capabilities
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        size: loaded.size as u64,
        object_key,
        registered_at_ms: 0,
        registered_by: String::new(),
    };
    node.write(by, Op::RegisterPlugin { record }).await?;
    let stored = node.read(|c| c.plugins.get(&digest).cloned()).await?;
    stored.ok_or_else(|| ApiError::Internal("plugin registered but not found".into()))
}

/// Leader duty: register what this node preloaded from `plugins.dir`.
pub async fn register_preloaded(node: &Node) {
    let preloaded = node.plugins.preloaded.lock().expect("preload lock").clone();
    let actor = format!("node-{}", node.cfg.node_id);
    for bytes in preloaded {
        if let Err(e) = register(node, bytes, &actor).await {
            warn!(error = %e, "could not register a preloaded plugin");
        }
    }
}

/// The schema of registered plugin `name@digest`, for the runbook linter.
pub fn schema_of(
    registered: &BTreeMap<String, PluginRecord>,
    name: &str,
    digest: &str,
) -> Option<PluginSchema> {
    let p = registered.get(digest).filter(|p| p.name == name)?;
    // The record keeps `describe()` as the host produced it; read it back with its type.
    let d: lifeboat_plugins::Describe = serde_json::from_value(p.describe.clone()).ok()?;
    let s = d.runbook_schema();
    Some(PluginSchema {
        input_schema: s.input_schema,
        mutating: s.mutating,
        production_only: s.production_only,
        capabilities: p.capabilities.clone(),
    })
}
