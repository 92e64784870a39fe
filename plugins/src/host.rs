//! [`PluginHost`]: loads plugins (compile once per digest, cached on disk, one
//! `InstancePre` each) and runs steps in fresh stores under [`Limits`] and [`Grants`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tracing::instrument;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::bindings::{Plugin, PluginPre, types};
use crate::cache::{self, EngineOptions, spawn_ticker};
use crate::config::HostConfig;
use crate::describe::{Describe, LoadedPlugin};
use crate::digest::Digest;
use crate::error::{FailureKind, PluginError, StepFailure};
use crate::grants::Grants;
use crate::limits::Limits;
use crate::outcome::{classify, output, truncate};
use crate::request::{PreloadReport, RunRequest, StepOutput};
use crate::services::{CallInfo, HostServices};
use crate::state::StoreState;

/// Extra time past the deadline before the outer timeout drops a step whose guest is
/// stuck somewhere epochs cannot reach (the inner mechanisms normally fire first).
const GRACE: Duration = Duration::from_millis(500);

struct Entry {
    loaded: LoadedPlugin,
    pre: PluginPre<StoreState>,
}

struct Inner {
    engine: Engine,
    linker: Linker<StoreState>,
    config: HostConfig,
    pooling: bool,
    plugins: RwLock<HashMap<Digest, Arc<Entry>>>,
    http: reqwest::Client,
}

/// The plugin host. Cheap to clone (shared state); `Send + Sync`.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.inner.config)
            .field("pooling", &self.inner.pooling)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Build the engine (with the on-disk cache and, if asked, the pooling allocator),
    /// the linker (empty WASI + the Lifeboat imports) and the epoch ticker thread.
    pub fn new(config: HostConfig) -> Result<Self, PluginError> {
        config
            .defaults
            .validate()
            .map_err(|e| PluginError::Config(format!("defaults: {e}")))?;
        if config.epoch_tick < Duration::from_millis(1)
            || config.epoch_tick > Duration::from_secs(1)
        {
            return Err(PluginError::Config(format!(
                "epoch_tick {:?} must be between 1 ms and 1 s",
                config.epoch_tick
            )));
        }
        let (engine, pooling) = cache::engine(&EngineOptions {
            cache_dir: config.cache_dir.as_deref(),
            pooling: config.pooling,
            fuel_metering: config.fuel_metering,
            epochs: config.epoch_interruption,
            max_memory_bytes: config.defaults.max_memory_bytes,
            pool_instances: config.pool_instances,
        })?;
        let mut linker = Linker::new(&engine);
        let link_err = |e: wasmtime::Error| PluginError::Config(format!("linker: {e}"));
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_err)?;
        Plugin::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(link_err)?;
        if config.epoch_interruption {
            spawn_ticker(&engine, config.epoch_tick);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                pooling,
                config,
                plugins: RwLock::new(HashMap::new()),
                http: crate::imports::http_client(),
            }),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Whether the pooling allocator is in use (false after a fallback).
    #[must_use]
    pub fn pooling_active(&self) -> bool {
        self.inner.pooling
    }

    /// The plugin with this digest, if loaded.
    #[must_use]
    pub fn get(&self, digest: &Digest) -> Option<LoadedPlugin> {
        self.entry(digest).map(|e| e.loaded.clone())
    }

    /// Every loaded plugin, sorted by name then digest.
    #[must_use]
    pub fn plugins(&self) -> Vec<LoadedPlugin> {
        let mut v: Vec<_> = self
            .inner
            .plugins
            .read()
            .expect("plugins lock")
            .values()
            .map(|e| e.loaded.clone())
            .collect();
        v.sort_by(|a, b| (&a.describe.name, &a.digest).cmp(&(&b.describe.name, &b.digest)));
        v
    }

    /// Forget a plugin (its cached artifact stays on disk). Returns whether it was loaded.
    pub fn unload(&self, digest: &Digest) -> bool {
        self.inner
            .plugins
            .write()
            .expect("plugins lock")
            .remove(digest)
            .is_some()
    }

    fn entry(&self, digest: &Digest) -> Option<Arc<Entry>> {
        self.inner
            .plugins
            .read()
            .expect("plugins lock")
            .get(digest)
            .cloned()
    }

    /// Load a plugin: digest its bytes, compile (or fetch from the disk cache), check its
    /// WIT version, link it, call `describe`. Idempotent per digest.
    #[instrument(skip_all, fields(size = bytes.len()))]
    pub async fn load(&self, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let digest = Digest::of(bytes);
        if let Some(e) = self.entry(&digest) {
            return Ok(e.loaded.clone());
        }
        let started = Instant::now();
        let engine = self.inner.engine.clone();
        let owned = bytes.to_vec();
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &owned))
            .await
            .map_err(|e| PluginError::Invalid(format!("compile task failed: {e}")))?
            .map_err(|e| PluginError::Invalid(format!("{e:?}")))?;
        crate::version::check(&self.inner.engine, &component)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Incompatible(format!("{e}")))?;
        let pre = PluginPre::new(pre).map_err(|e| PluginError::Incompatible(format!("{e}")))?;
        let describe = self.describe(&pre, &digest).await?;
        let loaded = LoadedPlugin {
            digest: digest.clone(),
            size: bytes.len(),
            describe,
        };
        tracing::info!(plugin = %loaded.describe.name, %digest, elapsed_ms = started.elapsed().as_millis() as u64, "plugin loaded");
        let entry = Arc::new(Entry {
            loaded: loaded.clone(),
            pre,
        });
        self.inner
            .plugins
            .write()
            .expect("plugins lock")
            .insert(digest, entry);
        Ok(loaded)
    }

    /// Load every `*.wasm` file in `dir` (sorted by name). Unreadable directory: error;
    /// bad files: listed in the report.
    pub async fn preload_dir(&self, dir: &Path) -> Result<PreloadReport, PluginError> {
        let io = |source| PluginError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect();
        files.sort();
        let mut report = PreloadReport::default();
        for path in files {
            let res = match std::fs::read(&path) {
                Ok(bytes) => self.load(&bytes).await,
                Err(source) => Err(PluginError::Io {
                    path: path.clone(),
                    source,
                }),
            };
            match res {
                Ok(p) => report.loaded.push(p),
                Err(e) => report.failed.push((path, e)),
            }
        }
        Ok(report)
    }

    fn store(&self, state: StoreState) -> Result<Store<StoreState>, StepFailure> {
        let fuel = state.limits.fuel;
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        if self.inner.config.fuel_metering {
            store
                .set_fuel(fuel.unwrap_or(u64::MAX))
                .map_err(|e| StepFailure::new(FailureKind::Host, format!("set fuel: {e}")))?;
        } else if fuel.is_some() {
            return Err(StepFailure::new(
                FailureKind::NotRunnable,
                "limits.fuel is set but the plugin host runs without fuel metering (HostConfig.fuel_metering)",
            ));
        }
        if self.inner.config.epoch_interruption {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|mut ctx| {
                if Instant::now() >= ctx.data().deadline {
                    Err(ctx.data_mut().deadline_trap())
                } else {
                    // Yield every tick so that many plugins share the runtime fairly.
                    Ok(UpdateDeadline::Yield(1))
                }
            });
        }
        Ok(store)
    }

    async fn describe(
        &self,
        pre: &PluginPre<StoreState>,
        digest: &Digest,
    ) -> Result<Describe, PluginError> {
        let limits = Limits {
            deadline: self.inner.config.describe_deadline,
            fuel: None,
            ..self.inner.config.defaults.clone()
        };
        let call = CallInfo {
            plugin: format!("(loading {digest})"),
            digest: digest.clone(),
            run_id: String::new(),
            step_id: String::new(),
            attempt: 0,
            drill: false,
        };
        let state = StoreState::new(
            call,
            Grants::none(),
            limits.clone(),
            HostServices::unavailable(),
            self.inner.http.clone(),
        );
        let mut store = self
            .store(state)
            .map_err(|f| PluginError::BadDescribe(f.message))?;
        let res = tokio::time::timeout(limits.deadline + GRACE, async {
            let plugin = pre.instantiate_async(&mut store).await?;
            plugin
                .lifeboat_plugin_guest()
                .call_describe(&mut store)
                .await
        })
        .await;
        match res {
            Err(_) => Err(PluginError::BadDescribe(format!(
                "did not return within {:?}",
                limits.deadline
            ))),
            Ok(Err(e)) => Err(PluginError::BadDescribe(
                classify("describe()", &e, store.data()).message,
            )),
            Ok(Ok(d)) => Describe::from_wit(d),
        }
    }

    /// Run one step of plugin `digest` in a fresh store. Every failure — trap,
    /// deadline, memory, fuel, output size, denied capability, plugin error — comes back
    /// as a [`StepFailure`] with its kind; the host itself is unaffected.
    #[instrument(skip_all, fields(plugin = %digest, run_id = %req.ctx.run_id, step = %req.ctx.step_id, attempt = req.ctx.attempt))]
    pub async fn run(
        &self,
        digest: &Digest,
        req: RunRequest,
        services: &HostServices,
    ) -> Result<StepOutput, StepFailure> {
        let entry = self.entry(digest).ok_or_else(|| {
            StepFailure::new(
                FailureKind::NotRunnable,
                format!("plugin {digest} is not loaded on this node (load it first)"),
            )
        })?;
        req.limits
            .validate()
            .map_err(|e| StepFailure::new(FailureKind::NotRunnable, e.to_string()))?;
        let name = entry.loaded.describe.name.clone();
        let RunRequest {
            ctx,
            grants,
            limits,
        } = req;
        let call = CallInfo {
            plugin: name.clone(),
            digest: digest.clone(),
            run_id: ctx.run_id.clone(),
            step_id: ctx.step_id.clone(),
            attempt: ctx.attempt,
            drill: ctx.drill,
        };
        let wit_ctx = types::RunCtx {
            run_id: ctx.run_id,
            step_id: ctx.step_id,
            attempt: ctx.attempt,
            idempotency_key: ctx.idempotency_key,
            drill: ctx.drill,
            input: ctx.input.to_string(),
        };
        let state = StoreState::new(
            call,
            grants,
            limits.clone(),
            services.clone(),
            self.inner.http.clone(),
        );
        let mut store = self.store(state)?;
        let started = Instant::now();
        let res = tokio::time::timeout(limits.deadline + GRACE, async {
            let plugin = entry.pre.instantiate_async(&mut store).await?;
            plugin
                .lifeboat_plugin_guest()
                .call_run(&mut store, &wit_ctx)
                .await
        })
        .await;
        let elapsed = started.elapsed();
        let result = match res {
            Err(_) => Err(StepFailure::new(
                FailureKind::Deadline,
                format!(
                    "plugin {name} exceeded its deadline of {:?} (blocked; dropped)",
                    limits.deadline
                ),
            )),
            Ok(Err(e)) => Err(classify(&format!("plugin {name}"), &e, store.data())),
            Ok(Ok(Err(pe))) => {
                let mut msg = pe.message;
                truncate(&mut msg, limits.max_output_bytes.min(4096));
                Err(StepFailure::new(
                    FailureKind::PluginError {
                        retryable: pe.retryable,
                    },
                    format!("plugin {name} failed: {msg}"),
                ))
            }
            Ok(Ok(Ok(out))) => output(&name, &out, &limits),
        };
        let fuel_consumed = match (self.inner.config.fuel_metering, store.get_fuel()) {
            (true, Ok(left)) => Some(limits.fuel.unwrap_or(u64::MAX) - left),
            _ => None,
        };
        store.data_mut().forward_stdio();
        let stderr = store.data().stderr_tail(1024);
        let logs = std::mem::take(&mut store.data_mut().logs);
        match result {
            Ok(output) => Ok(StepOutput {
                output,
                logs,
                elapsed,
                fuel_consumed,
            }),
            Err(mut f) => {
                if let (Some(tail), FailureKind::Trap | FailureKind::OutOfMemory) =
                    (&stderr, &f.kind)
                {
                    f.message.push_str(&format!("; stderr: {tail}"));
                }
                tracing::warn!(kind = ?f.kind, elapsed_ms = elapsed.as_millis() as u64, "plugin step failed: {}", f.message);
                f.logs = logs;
                Err(f)
            }
        }
    }
}

impl PluginHost {
    /// Benchmark support: time `InstancePre::instantiate_async` alone in a fresh store
    /// (no grants). Not part of the stable API.
    #[doc(hidden)]
    pub async fn time_instantiate(&self, digest: &Digest) -> Result<Duration, StepFailure> {
        let entry = self.entry(digest).ok_or_else(|| {
            StepFailure::new(
                FailureKind::NotRunnable,
                format!("plugin {digest} is not loaded"),
            )
        })?;
        let call = CallInfo {
            plugin: entry.loaded.describe.name.clone(),
            digest: digest.clone(),
            run_id: String::new(),
            step_id: String::new(),
            attempt: 0,
            drill: false,
        };
        let limits = self.inner.config.defaults.clone();
        let state = StoreState::new(
            call,
            Grants::none(),
            limits,
            HostServices::unavailable(),
            self.inner.http.clone(),
        );
        let mut store = self.store(state)?;
        let started = Instant::now();
        entry
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| classify("instantiate", &e, store.data()))?;
        Ok(started.elapsed())
    }
}
