//! Lifeboat plugins: custom runbook steps as sandboxed WebAssembly components.
//!
//! A plugin is a WebAssembly component built against the WIT package in `plugins/wit/`
//! (`lifeboat:plugin@0.1.0`). It is identified by the SHA-256 of its bytes
//! ([`Digest`], `sha256:<hex>`), exports `describe` and `run`, and may import `log`,
//! `http`, `kube`, `kv` and `clock` — each only when the runbook step grants it
//! ([`Grants`]). Everything else (filesystem, environment, sockets, real clocks) is
//! absent: the WASI context is empty.
//!
//! Start reading at [`PluginHost`]: [`PluginHost::load`] compiles (once per digest,
//! cached on disk) and describes a plugin; [`PluginHost::run`] runs one step under
//! [`Limits`] and returns a [`StepOutput`] or a typed [`StepFailure`].
//!
//! The orchestrator provides cluster access and plugin state through the narrow traits
//! [`KubeAccess`] and [`PluginKv`], and receives plugin logs through [`Journal`];
//! [`fakes`] holds in-memory implementations for tests.

mod bindings;
mod cache;
mod config;
mod describe;
mod digest;
mod error;
pub mod fakes;
mod grants;
mod host;
mod imports;
mod limits;
mod outcome;
mod request;
mod services;
mod state;
mod version;

#[cfg(feature = "componentize")]
pub mod componentize;
pub mod conformance;

pub use config::HostConfig;
pub use describe::{Capability, Describe, LoadedPlugin, RunbookSchema};
pub use digest::Digest;
pub use error::{FailureKind, PluginError, StepFailure};
pub use grants::{Grants, HttpGrant, KubeGrant, KubeVerb};
pub use host::PluginHost;
pub use limits::{Limits, LimitsError};
pub use request::{PreloadReport, RunCtx, RunRequest, StepOutput};
pub use services::{
    BoxFuture, CallInfo, HostServices, Journal, KubeAccess, LogLevel, LogLine, ObjectRef, PluginKv,
    ServiceError, ServiceErrorKind,
};
pub use version::{WIT_PACKAGE, WIT_VERSION};
