//! Error types of the crate: one enum per entry point (store, capture, restore,
//! schedule), each variant saying what failed, where, and what to do.

use thiserror::Error;

/// Errors of the snapshot store (object storage, format, integrity, encryption).
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store URL could not be understood or configured.
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The object store answered with an error (unreachable, denied, ...).
    #[error(
        "object store {op} of {key:?} failed: {source}; check the store is reachable and the credentials are valid, then retry"
    )]
    Backend {
        /// The operation (`put`, `get`, `list`, `delete`, ...).
        op: &'static str,
        /// The key concerned.
        key: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// No snapshot with this id exists (no manifest).
    #[error("snapshot {0:?} not found (no manifest in the store)")]
    NotFound(String),
    /// Stored data failed verification (hash mismatch, truncation, bad framing, missing pack).
    #[error("corrupt snapshot data: {what}: {reason}")]
    Corrupt {
        /// What is corrupt, naming the object and pack or manifest.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// The stored data uses a format version this build cannot read.
    #[error(
        "{key}: format version {found} is not supported (this build reads up to version {supported}); upgrade lifeboat"
    )]
    UnsupportedVersion {
        /// The key of the manifest or pack.
        key: String,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// Encryption or decryption failed, or the key is wrong or missing.
    #[error("encryption: {0}")]
    Crypto(String),
    /// Serialisation of a manifest or index failed.
    #[error("encoding {what}: {reason}")]
    Encoding {
        /// What was being encoded or decoded.
        what: String,
        /// Details.
        reason: String,
    },
}

/// Errors of [`crate::capture()`].
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The options are invalid.
    #[error("invalid capture options: {0}")]
    InvalidOptions(String),
    /// API discovery failed.
    #[error(
        "discovery of the cluster's resource types failed: {0}; check the cluster is reachable"
    )]
    Discovery(#[source] kube::Error),
    /// Listing one resource type failed (after retries).
    #[error(
        "listing {resource} failed after {attempts} attempt(s): {source}; nothing was recorded, retry the capture"
    )]
    List {
        /// The resource type (`plural.group/version`).
        resource: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        #[source]
        source: kube::Error,
    },
    /// A listed object could not be read.
    #[error("object of {resource} could not be decoded: {reason}")]
    BadObject {
        /// The resource type.
        resource: String,
        /// Why.
        reason: String,
    },
    /// Writing to the store failed; no manifest was written, so the snapshot is not visible.
    #[error("store error during capture (no snapshot was recorded; retry): {0}")]
    Store(#[from] StoreError),
}

/// Errors of [`crate::restore()`] that stop a restore as a whole (per-object failures are in
/// the report instead).
#[derive(Debug, Error)]
pub enum RestoreError {
    /// Reading or verifying the snapshot failed; nothing was written to the target.
    #[error("snapshot cannot be restored, nothing was written to the target: {0}")]
    Store(#[from] StoreError),
    /// Discovery on the target cluster failed.
    #[error("discovery on the target cluster failed: {0}")]
    Discovery(#[source] kube::Error),
    /// The target does not serve some types and the policy is `Abort`.
    #[error(
        "the target cluster does not serve {types:?} ({objects} object(s)); nothing was written (use on_unsupported=continue to restore the rest)"
    )]
    Unsupported {
        /// The unsupported types (`Kind.group/version`).
        types: Vec<String>,
        /// Number of objects concerned.
        objects: usize,
    },
    /// A CRD did not become Established in time; later tiers were not applied.
    #[error("CustomResourceDefinition {name} was not Established within {timeout_secs} s")]
    CrdNotEstablished {
        /// CRD name.
        name: String,
        /// Timeout.
        timeout_secs: u64,
    },
    /// The options are invalid.
    #[error("invalid restore options: {0}")]
    InvalidOptions(String),
}

/// Errors of [`crate::schedule`].
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// The cron expression is invalid.
    #[error(
        "schedule {id:?}: invalid cron expression {expr:?}: {reason} (expected 6 or 7 fields: sec min hour day-of-month month day-of-week [year], e.g. \"0 0 * * * *\")"
    )]
    Cron {
        /// Schedule id.
        id: String,
        /// The expression.
        expr: String,
        /// Parser message.
        reason: String,
    },
    /// The timezone is unknown.
    #[error(
        "schedule {id:?}: unknown timezone {tz:?} (use an IANA name such as \"UTC\" or \"Europe/Paris\")"
    )]
    Timezone {
        /// Schedule id.
        id: String,
        /// The timezone as given.
        tz: String,
    },
    /// The expression never fires.
    #[error("schedule {id:?}: cron expression {expr:?} never fires")]
    NeverFires {
        /// Schedule id.
        id: String,
        /// The expression.
        expr: String,
    },
    /// Another field is invalid.
    #[error("schedule {id:?}: {reason}")]
    Invalid {
        /// Schedule id.
        id: String,
        /// Why.
        reason: String,
    },
}
