//! lifeboat-raft: openraft 0.9 wiring generic over an application state machine.
//!
//! The crate owns everything between "a deterministic state machine" and "a replicated,
//! durable Raft group reachable over HTTP":
//!
//! - [`StateMachine`]: the trait the application implements.
//! - [`RaftNode`]: the handle the application uses (`open`, `bootstrap`, `write`,
//!   `linearizable_read`, membership changes, status).
//! - `log_store` / `state_machine` / `snapshot_file`: durable storage (redb for the log,
//!   vote and committed id; versioned snapshot files in `data_dir/snapshots/`).
//! - `network` (client) / `server` (axum routes under `/raft/`): the HTTP transport,
//!   authenticated with a shared bearer secret.

mod db;
mod error;
mod log_store;
mod network;
mod node;
mod options;
mod server;
mod snapshot_file;
mod state_machine;
mod status;
#[cfg(test)]
mod storage_suite_test;
mod type_config;
mod wire;

pub use error::{RaftNodeError, ReadError, WriteError};
pub use node::{Bootstrap, RaftNode};
pub use openraft::BasicNode;
pub use options::RaftOptions;
pub use status::RaftStatus;
pub use type_config::TypeConfig;

/// Raft node identifier.
pub type NodeId = u64;

/// The application state machine. Must be deterministic: the same commands applied in the
/// same order must produce the same state and responses on every node.
pub trait StateMachine:
    serde::Serialize + serde::de::DeserializeOwned + Default + Send + Sync + 'static
{
    /// A command proposed through [`RaftNode::write`] and stored in the Raft log.
    type Command: Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static;
    /// The result of applying one command.
    type Response: Clone
        + std::fmt::Debug
        + Default
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static;
    /// Apply one committed command at log `index` of `term`.
    fn apply(&mut self, index: u64, term: u64, cmd: Self::Command) -> Self::Response;
}
