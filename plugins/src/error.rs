//! Errors: [`PluginError`] for loading a plugin, [`StepFailure`] for running a step.

use serde::{Deserialize, Serialize};

use crate::describe::Capability;
use crate::services::LogLine;

/// Why a plugin could not be loaded (or found).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a valid WebAssembly component (or failed to compile).
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// Built against a WIT version this host does not speak, or imports something the
    /// host does not provide.
    #[error("incompatible plugin: {0}")]
    Incompatible(String),
    /// `describe` trapped, timed out or returned something unusable.
    #[error("plugin describe() failed: {0}")]
    BadDescribe(String),
    /// No plugin with this digest is loaded.
    #[error("plugin {0} is not loaded")]
    NotLoaded(String),
    /// Host configuration problem (engine, cache directory).
    #[error("plugin host configuration: {0}")]
    Config(String),
    /// Reading plugin files.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The kind of a failed plugin step (what the executor and the journal key on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum FailureKind {
    /// The guest trapped (unreachable, out-of-bounds access, abort, ...).
    Trap,
    /// The step's wall-clock deadline passed.
    Deadline,
    /// The step's fuel budget ran out.
    OutOfFuel,
    /// The guest tried to grow its memory past the cap.
    OutOfMemory,
    /// `run` returned more than `max_output_bytes`.
    OutputTooLarge,
    /// `run` returned something that is not JSON.
    InvalidOutput,
    /// The guest called a capability the step does not grant, or went outside its scope.
    Denied {
        /// Which capability.
        capability: Capability,
    },
    /// The plugin returned an error itself.
    PluginError {
        /// Whether a retry may succeed.
        retryable: bool,
    },
    /// The plugin's WIT version is not compatible with this host.
    Incompatible,
    /// No plugin with this digest is loaded, or the request's limits are invalid.
    NotRunnable,
    /// The host could not run the step for its own reasons (e.g. instance pool full).
    Host,
}

/// A failed plugin step: a kind, a message for humans, and the logs it wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct StepFailure {
    /// What went wrong, typed.
    pub kind: FailureKind,
    /// What went wrong, for humans (names the plugin, the limit, the capability).
    pub message: String,
    /// Logs written before the failure (also sent to the journal).
    pub logs: Vec<LogLine>,
}

impl StepFailure {
    /// Whether the runbook's `retry` policy should try again: plugin errors that say so,
    /// deadlines and host-side trouble. Traps, denials and limits are deterministic.
    #[must_use]
    pub fn retryable(&self) -> bool {
        match self.kind {
            FailureKind::PluginError { retryable } => retryable,
            FailureKind::Deadline | FailureKind::Host => true,
            _ => false,
        }
    }

    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            logs: Vec::new(),
        }
    }
}
