//! [`Describe`]: what a plugin says about itself (from its `describe` export), and the
//! conversion into the runbooks linter's schema shape ([`RunbookSchema`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bindings::types as wit;
use crate::digest::Digest;
use crate::error::PluginError;

/// A capability a plugin asks for (mirror of the WIT `capability` enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// `log` import.
    Log,
    /// `http` import.
    Http,
    /// `kube` import.
    Kube,
    /// `kv` import.
    Kv,
    /// `clock` import.
    Clock,
}

impl Capability {
    /// The lowercase name used in WIT, YAML and messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Http => "http",
            Self::Kube => "kube",
            Self::Kv => "kv",
            Self::Clock => "clock",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<wit::Capability> for Capability {
    fn from(c: wit::Capability) -> Self {
        match c {
            wit::Capability::Log => Self::Log,
            wit::Capability::Http => Self::Http,
            wit::Capability::Kube => Self::Kube,
            wit::Capability::Kv => Self::Kv,
            wit::Capability::Clock => Self::Clock,
        }
    }
}

/// A plugin's self-description, validated at load time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    /// DNS label, e.g. `dns-switch` (the `NAME` in `uses: plugin/NAME@sha256:...`).
    pub name: String,
    /// The plugin's own version string.
    pub version: String,
    /// One line for humans.
    pub description: String,
    /// JSON Schema (subset) of the step's `with:` input.
    pub input_schema: Value,
    /// Capabilities it asks for.
    pub capabilities: Vec<Capability>,
    /// Whether the step changes the world.
    pub mutating: bool,
    /// Whether the step must never run in a drill.
    pub production_only: bool,
}

/// The shape the runbooks crate's `PluginSchemas` trait returns (`PluginSchema`), without
/// depending on that crate: the orchestrator copies the three fields across.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookSchema {
    /// JSON Schema of `with:`.
    pub input_schema: Value,
    /// Mutating step.
    pub mutating: bool,
    /// Never run in a drill.
    pub production_only: bool,
}

impl Describe {
    /// Validate and convert the guest's raw descriptor.
    pub(crate) fn from_wit(d: wit::Descriptor) -> Result<Self, PluginError> {
        let bad = |why: String| PluginError::BadDescribe(why);
        let name_ok = !d.name.is_empty()
            && d.name.len() <= 63
            && d.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !d.name.starts_with('-')
            && !d.name.ends_with('-');
        if !name_ok {
            return Err(bad(format!(
                "name {:?} is not a DNS label ([a-z0-9-], <= 63)",
                d.name
            )));
        }
        if d.version.is_empty() || d.version.len() > 64 {
            return Err(bad(format!(
                "version {:?} must be 1..=64 characters",
                d.version
            )));
        }
        let input_schema: Value = serde_json::from_str(&d.input_schema)
            .map_err(|e| bad(format!("input-schema is not JSON: {e}")))?;
        if input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(bad(
                r#"input-schema must be a JSON Schema with "type": "object""#.into(),
            ));
        }
        let mut capabilities: Vec<Capability> =
            d.capabilities.into_iter().map(Into::into).collect();
        capabilities.sort();
        capabilities.dedup();
        Ok(Self {
            name: d.name,
            version: d.version,
            description: d.description,
            input_schema,
            capabilities,
            mutating: d.mutating,
            production_only: d.production_only,
        })
    }

    /// The schema the runbook linter checks `with:` against.
    #[must_use]
    pub fn runbook_schema(&self) -> RunbookSchema {
        RunbookSchema {
            input_schema: self.input_schema.clone(),
            mutating: self.mutating,
            production_only: self.production_only,
        }
    }
}

/// A plugin the host has compiled and described, ready to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadedPlugin {
    /// SHA-256 of its bytes: its registry identity.
    pub digest: Digest,
    /// Size of the component in bytes.
    pub size: usize,
    /// What `describe` returned.
    pub describe: Describe,
}

impl LoadedPlugin {
    /// `plugin/NAME@sha256:HEX`, what a runbook writes in `uses:`.
    #[must_use]
    pub fn uses(&self) -> String {
        format!("plugin/{}@{}", self.describe.name, self.digest)
    }
}
