//! WebAssembly plugins: the records and bodies of `/v1/plugins`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A registered plugin.
#[derive(Serialize, ToSchema)]
pub struct PluginRecord {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// Its name (from `describe()`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// What `describe()` returned, whole.
    pub describe: Value,
    /// Capabilities it asks for.
    pub capabilities: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// Object-store key of its bytes.
    pub object_key: String,
    /// Leader time of registration.
    pub registered_at_ms: u64,
    /// Who registered it.
    pub registered_by: String,
}

/// The body of `PUT /v1/plugins`: a WebAssembly component's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct WasmComponent(Vec<u8>);

/// `GET /v1/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginList {
    /// Every registered plugin.
    pub plugins: Vec<PluginRecord>,
}

/// `PUT /v1/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginRegistered {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// The `uses:` line for runbooks (`plugin/NAME@DIGEST`).
    pub uses: String,
    /// The record.
    pub plugin: PluginRecord,
}
