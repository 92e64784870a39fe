//! `clock`: wall-clock time and sleeping (bounded by the step deadline).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bindings::clock::Host;
use crate::describe::Capability;
use crate::state::{StoreState, until};

impl Host for StoreState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        self.require(Capability::Clock)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
    }

    async fn sleep_ms(&mut self, ms: u32) -> wasmtime::Result<()> {
        self.require(Capability::Clock)?;
        let sleep = tokio::time::sleep(Duration::from_millis(u64::from(ms)));
        match until(self.deadline, sleep).await {
            Some(()) => Ok(()),
            None => Err(self.deadline_trap()),
        }
    }
}
