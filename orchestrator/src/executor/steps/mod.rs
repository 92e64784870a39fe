//! Built-in step effects, and the seam to plugin steps.
//!
//! [`perform`] carries out one attempt of one step: the executor has already committed
//! its `StepStarted` entry (so the attempt has a [`FencingToken`]) and will commit the
//! result. Every built-in is idempotent: re-running an attempt with the same input (as a
//! new leader does after a takeover) reaches the same end state.

mod builtin;
pub mod http;
pub mod kube;
pub mod plugin;
pub mod scale;
pub use builtin::{StepEnv, perform, str_in};

use serde_json::Value;

use crate::catalog::FencingToken;

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What went wrong (what, where, how to fix).
    pub message: String,
    /// Retried per the step's `retry` when true; journaled as `fatal` (not retried) when
    /// false.
    pub retryable: bool,
}

impl StepError {
    /// A failure a retry cannot fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        StepError {
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<String> for StepError {
    /// Most failures (an unreachable cluster, a 5xx) may pass: retryable.
    fn from(message: String) -> Self {
        StepError {
            message,
            retryable: true,
        }
    }
}

/// The annotation that carries a step's fencing token on the objects it writes.
pub const FENCING_ANNOTATION: &str = "lifeboat.dev/fencing-token";

/// One attempt of one step, as the executor hands it over.
#[derive(Debug, Clone)]
pub struct StepCall {
    /// Run id.
    pub run_id: String,
    /// Step id.
    pub step_id: String,
    /// forEach index.
    pub item: Option<usize>,
    /// Attempt (1-based).
    pub attempt: u32,
    /// Stable across attempts.
    pub idempotency_key: String,
    /// The attempt's fencing token.
    pub token: FencingToken,
    /// The step's `uses`.
    pub uses: String,
    /// The rendered `with` block, secrets resolved.
    pub with: Value,
    /// Drill run?
    pub drill: bool,
    /// The runbook's `drill.httpAllowlist` (drills only).
    pub drill_allowlist: Option<Vec<String>>,
    /// The step's `permissions` block (plugin steps).
    pub permissions: Value,
    /// The attempt's deadline (journaled start + the step's `timeout`), if it has one.
    pub deadline_ms: Option<u64>,
    /// When the instance's first attempt started (leader time, ms): `sleep` waits from it.
    pub first_started_at_ms: u64,
    /// Actor name for the writes it makes (`run:<id>`).
    pub actor: String,
}
