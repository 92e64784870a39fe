//! The wasmtime [`Engine`] configuration, the on-disk compile cache, and the epoch
//! ticker that drives deadlines.
//!
//! Compiled artifacts are cached through wasmtime's own cache, keyed by a hash of the
//! component bytes (hence its digest), the wasmtime version and the engine/compiler
//! configuration, under `HostConfig::cache_dir`. We use it rather than
//! `Component::deserialize`, which is `unsafe` (it trusts the artifact) and forbidden in
//! this workspace. Loading from it skips Cranelift entirely; the host then keeps an
//! `InstancePre` per digest in memory, so runs touch neither disk nor compiler.

use std::path::Path;
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use crate::error::PluginError;

/// Engine options that matter for the artifacts and limits.
#[derive(Clone, Debug)]
pub(crate) struct EngineOptions<'a> {
    pub cache_dir: Option<&'a Path>,
    pub pooling: bool,
    pub fuel_metering: bool,
    pub epochs: bool,
    pub max_memory_bytes: u64,
    pub pool_instances: u32,
}

fn base_config(o: &EngineOptions<'_>) -> Result<Config, PluginError> {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(o.epochs);
    c.consume_fuel(o.fuel_metering);
    if let Some(dir) = o.cache_dir {
        std::fs::create_dir_all(dir).map_err(|source| PluginError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut cc = CacheConfig::new();
        cc.with_directory(dir)
            .with_cleanup_interval(Duration::from_secs(3600));
        let cache = Cache::new(cc)
            .map_err(|e| PluginError::Config(format!("compile cache in {}: {e}", dir.display())))?;
        c.cache(Some(cache));
    }
    Ok(c)
}

/// Build the engine; returns whether the pooling allocator is in use. When pooling was
/// asked for but the host cannot reserve its address space, fall back to on-demand.
pub(crate) fn engine(o: &EngineOptions<'_>) -> Result<(Engine, bool), PluginError> {
    if o.pooling {
        let mut c = base_config(o)?;
        let mut p = PoolingAllocationConfig::default();
        let n = o.pool_instances.max(1);
        p.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 4)
            .total_tables(n * 8)
            .max_memory_size(usize::try_from(o.max_memory_bytes).unwrap_or(usize::MAX));
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
        match Engine::new(&c) {
            Ok(e) => return Ok((e, true)),
            Err(e) => {
                tracing::warn!("pooling allocator unavailable, falling back to on-demand: {e}")
            }
        }
    }
    let c = base_config(o)?;
    let e = Engine::new(&c).map_err(|e| PluginError::Config(format!("wasmtime engine: {e}")))?;
    Ok((e, false))
}

/// Increment the engine's epoch every `tick` until the engine is dropped.
pub(crate) fn spawn_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("lifeboat-plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(
            "cannot start the plugin epoch thread: {e}; deadlines fall back to the outer timeout"
        );
    }
}
