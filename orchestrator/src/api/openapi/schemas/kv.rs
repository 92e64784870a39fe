//! The key/value namespace: the bodies of `/v1/kv`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `GET /v1/kv`.
#[derive(Serialize, ToSchema)]
pub struct KvList {
    /// Number of entries.
    pub count: u64,
    /// Keys and versions (values omitted).
    pub entries: Vec<KvKeyVersion>,
    /// The catalog index the list was read at.
    pub applied_index: u64,
}

/// A key and its version.
#[derive(Serialize, ToSchema)]
pub struct KvKeyVersion {
    /// The key.
    pub key: String,
    /// Its version (log index of the last write).
    pub version: u64,
}

/// `GET /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// Its version.
    pub version: u64,
}

/// `PUT /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvWritten {
    /// The key.
    pub key: String,
    /// Its new version.
    pub version: u64,
}

/// `DELETE /v1/kv/{key}`.
#[derive(Serialize, ToSchema)]
pub struct KvDeleted {
    /// The key.
    pub key: String,
    /// Log index of the delete.
    pub deleted_at_index: u64,
}
