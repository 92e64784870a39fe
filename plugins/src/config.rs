//! [`HostConfig`]: how the plugin host is set up (cache, allocator, metering, defaults).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::PluginError;
use crate::limits::Limits;

/// Host configuration. [`HostConfig::default`] is safe; set `cache_dir` in production.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where compiled artifacts are cached (`None`: compile on every host start).
    pub cache_dir: Option<PathBuf>,
    /// Use the pooling instance allocator (faster instantiation). Falls back to
    /// on-demand allocation, with a warning, when the host cannot reserve the memory.
    pub pooling: bool,
    /// Concurrent instances the pool holds (when `pooling`).
    pub pool_instances: u32,
    /// Enable fuel metering so that `Limits::fuel` can be used (costs some speed).
    pub fuel_metering: bool,
    /// Enforce deadlines on guest code through epoch interruption. Only turn this off to
    /// measure its cost: without it a guest loop runs until the outer timeout drops it.
    pub epoch_interruption: bool,
    /// Epoch tick: deadline precision and how often guests yield to other tasks.
    pub epoch_tick: Duration,
    /// Limits used for steps that do not say otherwise, and the memory cap of the pool.
    pub defaults: Limits,
    /// Deadline for `describe` at load time.
    pub describe_deadline: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            pooling: false,
            pool_instances: 64,
            fuel_metering: true,
            epoch_interruption: true,
            epoch_tick: Duration::from_millis(10),
            defaults: Limits::DEFAULTS,
            describe_deadline: Duration::from_secs(10),
        }
    }
}

impl HostConfig {
    /// Check the configuration (the defaults' limits, the epoch tick).
    pub fn validate(&self) -> Result<(), PluginError> {
        self.defaults
            .validate()
            .map_err(|e| PluginError::Config(format!("defaults: {e}")))?;
        if self.epoch_tick < Duration::from_millis(1) || self.epoch_tick > Duration::from_secs(1) {
            return Err(PluginError::Config(format!(
                "epoch_tick {:?} must be between 1 ms and 1 s",
                self.epoch_tick
            )));
        }
        Ok(())
    }
}
