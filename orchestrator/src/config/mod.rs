//! Node configuration: the typed YAML schema, its validation and the loading of secrets.
//!
//! A config is read in three steps, each with its own error kind but one error shape
//! ([`ConfigError`]: file, key, line/column where known, the problem and the fix):
//! 1. `schema` parses the YAML into typed structs (unknown keys are errors);
//! 2. [`Config::validate`] checks everything that needs no I/O (addresses, ids, quorum);
//! 3. [`load()`] resolves paths, reads the secret files (refusing world-readable ones) and
//!    produces the [`LoadedConfig`] a node runs with.
//!
//! Secrets never appear in a `Debug` or log line: tokens are kept as SHA-256 hashes and
//! the cluster secret is wrapped in [`Secret`].

mod error;
mod load;
mod schema;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use load::{LoadedConfig, Peer, Secret, load, load_str};
pub use schema::{
    ApiTuning, AuthConfig, ClusterConfig, Config, ExecutorConfig, HealthTuning, ListenConfig,
    LogChannel, NodeSection, NotifyChannel, NotifyConfig, PeerConfig, PluginsConfig, RaftTuning,
    RetentionConfig, ScheduleConfig, SnapshotsConfig, StoreConfig, TokenConfig,
};
pub use validate::{HealthSettings, is_dns_label};
