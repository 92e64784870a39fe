//! kubesim: a simulated Kubernetes API server that real Kubernetes clients accept.
//!
//! It serves the Kubernetes REST API over plain HTTP from an in-memory store: discovery,
//! CRUD with resourceVersion/generation semantics, label and field selectors, paging,
//! watch, merge/JSON/strategic-merge patches, server-side apply, `status` and `scale`
//! subresources, CRDs, a workload readiness simulation, and run-time fault injection
//! through a separate admin listener. Start reading at [`server::start`].

pub mod admin;
pub mod api;
pub mod catalog;
pub mod config;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fields;
pub mod kubeconfig;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod persist;
pub mod seed;
pub mod selectors;
pub mod server;
pub mod store;
pub mod system;
pub mod watch;
pub mod workload;

pub use config::Config;
pub use error::ApiError;
