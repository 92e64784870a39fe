//! The shapes of one step: [`RunRequest`] (context, grants, limits) in, [`StepOutput`]
//! out; and [`PreloadReport`].

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::describe::LoadedPlugin;
use crate::error::PluginError;
use crate::grants::Grants;
use crate::limits::Limits;

/// The invocation context of one step attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct RunCtx {
    /// Run id.
    pub run_id: String,
    /// Step id.
    pub step_id: String,
    /// Attempt, 1-based.
    pub attempt: u32,
    /// Idempotency key (stable across attempts).
    pub idempotency_key: String,
    /// Drill run: the plugin must not change production.
    pub drill: bool,
    /// The rendered `with:` input.
    pub input: Value,
}

/// One step to run: context, grants, limits.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// Context.
    pub ctx: RunCtx,
    /// What the step grants.
    pub grants: Grants,
    /// Limits (use `host.config().defaults.clone()` for the defaults).
    pub limits: Limits,
}

/// A successful step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutput {
    /// The JSON the plugin returned (the step's `result`).
    pub output: Value,
    /// Its log lines (also sent to the journal).
    pub logs: Vec<crate::services::LogLine>,
    /// Wall time of instantiate + run.
    pub elapsed: Duration,
    /// Fuel consumed, when fuel metering is on.
    pub fuel_consumed: Option<u64>,
}

/// What [`crate::PluginHost::preload_dir`] did.
#[derive(Debug, Default)]
pub struct PreloadReport {
    /// Plugins loaded.
    pub loaded: Vec<LoadedPlugin>,
    /// Files that failed, with why.
    pub failed: Vec<(PathBuf, PluginError)>,
}
