//! Lifeboat orchestrator: assembles the Raft-replicated catalog, the HTTP API and the
//! command line into the `lifeboat` binary.
//!
//! Start reading at [`node::serve`] (what one node runs) and [`catalog`] (what the group
//! agrees on). See `ARCHITECTURE.md` at the repository root for the whole picture.

pub mod api;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod client;
pub mod config;
pub mod dev;
pub mod executor;
pub mod kubeclient;
pub mod leader;
pub mod metrics;
pub mod node;
pub mod plugins;
pub mod prober;
pub mod snapshots;
