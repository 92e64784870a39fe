//! Lifeboat snapshots: capture the Kubernetes resources of a cluster into object storage
//! as content-addressed, zstd-compressed (optionally encrypted) packs plus a manifest per
//! snapshot, and restore them, verified, into the same or another cluster.
//!
//! Entry points (see `README.md` for the contract and `FORMAT.md` for the format):
//! [`SnapshotStore::open`], [`capture()`], [`restore()`], [`verify()`], [`gc()`],
//! [`retention::plan`], [`schedule::Schedule`].
//!
//! Binaries using this crate with an `s3://` store must install a rustls crypto provider
//! before building any client (both ring and aws-lc-rs are compiled in):
//! `let _ = rustls::crypto::ring::default_provider().install_default();`
//! ([`install_crypto_provider`] does exactly that).

pub mod capture;
pub mod chunk;
pub mod crypto;
pub mod discover;
pub mod error;
pub mod filter;
pub mod gc;
pub mod id;
pub mod index;
pub mod manifest;
pub mod normalize;
pub mod pack;
pub mod progress;
pub mod reader;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod store;

pub use capture::{CaptureOptions, CaptureSummary, DEFAULT_COMPRESSION_LEVEL, capture};
pub use crypto::EncryptionKey;
pub use error::{CaptureError, RestoreError, ScheduleError, StoreError};
pub use filter::Filters;
pub use gc::{GcOptions, GcReport, gc};
pub use manifest::{Manifest, ManifestHeader};
pub use progress::{Phase, Progress, ProgressReport};
pub use reader::{VerifyReport, verify};
pub use restore::{
    ExistingPolicy, ObjectResult, OnUnsupported, Outcome, RestoreOptions, RestoreReport, restore,
};
pub use retention::{RetentionPlan, RetentionPolicy, SnapshotMeta};
pub use schedule::{Firing, MissedPolicy, Schedule, ScheduleSpec};
pub use store::{SnapshotStore, StoreOptions};

/// Install ring as the process-wide rustls provider unless one is installed already
/// (idempotent); true when a provider is in place. Call it before building a
/// `kube::Client` in a process that links this crate ([`SnapshotStore::open`] calls it
/// for cloud stores itself).
pub fn install_crypto_provider() -> bool {
    let _ = rustls::crypto::ring::default_provider().install_default();
    rustls::crypto::CryptoProvider::get_default().is_some()
}
