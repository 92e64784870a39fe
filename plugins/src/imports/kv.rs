//! `kv`: the plugin's own small state, through [`crate::PluginKv`], keyed by plugin name.

use crate::bindings::kv::Host;
use crate::bindings::types::{HostError, HostErrorKind};
use crate::describe::Capability;
use crate::imports::host_error;
use crate::state::{StoreState, until};

/// Longest key, in bytes.
const MAX_KEY: usize = 256;
/// Largest value, in bytes.
const MAX_VALUE: usize = 64 << 10;

fn check_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(host_error(
            HostErrorKind::Invalid,
            format!("kv keys are 1..={MAX_KEY} bytes"),
        ));
    }
    Ok(())
}

impl Host for StoreState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        self.require(Capability::Kv)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        let kv = self.services.kv.clone();
        match until(self.deadline, kv.get(&self.call.plugin, &key)).await {
            Some(r) => Ok(r.map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), HostError>> {
        self.require(Capability::Kv)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        if value.len() > MAX_VALUE {
            return Ok(Err(host_error(
                HostErrorKind::TooLarge,
                format!(
                    "kv values are at most {MAX_VALUE} bytes (got {})",
                    value.len()
                ),
            )));
        }
        let kv = self.services.kv.clone();
        match until(self.deadline, kv.set(&self.call.plugin, &key, &value)).await {
            Some(r) => Ok(r.map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        self.require(Capability::Kv)?;
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        let kv = self.services.kv.clone();
        match until(self.deadline, kv.delete(&self.call.plugin, &key)).await {
            Some(r) => Ok(r.map_err(Into::into)),
            None => Err(self.deadline_trap()),
        }
    }
}
