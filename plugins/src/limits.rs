//! [`Limits`]: what one plugin step may consume (time, CPU fuel, memory, output, logs).

use std::time::Duration;

/// Per-step resource limits. [`Limits::default`] holds the safe defaults
/// ([`Limits::DEFAULTS`]); a runbook step's `timeout` usually overrides `deadline`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline for the whole step (instantiate + `run`), enforced by epoch
    /// interruption for guest code and by async timeouts around host calls.
    pub deadline: Duration,
    /// Optional CPU budget in wasmtime fuel units (about one per wasm instruction).
    /// Needs [`crate::HostConfig::fuel_metering`].
    pub fuel: Option<u64>,
    /// Linear-memory cap for the plugin instance, in bytes (all its memories together).
    pub max_memory_bytes: u64,
    /// Cap on the JSON output returned by `run` (and on a plugin error's message).
    pub max_output_bytes: usize,
    /// Cap on the total bytes logged by one step; later lines are dropped (one marker
    /// line says so).
    pub max_log_bytes: usize,
}

impl Limits {
    /// The safe defaults: 30 s, no fuel budget, 256 MiB, 1 MiB of output, 64 KiB of logs.
    pub const DEFAULTS: Limits = Limits {
        deadline: Duration::from_secs(30),
        fuel: None,
        max_memory_bytes: 256 << 20,
        max_output_bytes: 1 << 20,
        max_log_bytes: 64 << 10,
    };

    /// Upper bound accepted for `deadline` (a step longer than this is a runbook bug).
    pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);

    /// Check that the limits make sense.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.deadline.is_zero() || self.deadline > Self::MAX_DEADLINE {
            return Err(LimitsError::Deadline(self.deadline));
        }
        if self.fuel == Some(0) {
            return Err(LimitsError::Fuel);
        }
        if self.max_memory_bytes < (1 << 20) {
            return Err(LimitsError::Memory(self.max_memory_bytes));
        }
        if self.max_output_bytes == 0 {
            return Err(LimitsError::Output);
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

/// An invalid [`Limits`] value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// Deadline zero or above [`Limits::MAX_DEADLINE`].
    #[error("limits.deadline {0:?} must be > 0 and <= 24h")]
    Deadline(Duration),
    /// A fuel budget of zero.
    #[error("limits.fuel must be > 0 when set")]
    Fuel,
    /// Memory cap below 1 MiB.
    #[error("limits.max_memory_bytes {0} must be >= 1 MiB")]
    Memory(u64),
    /// Output cap of zero.
    #[error("limits.max_output_bytes must be > 0")]
    Output,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        Limits::default().validate().unwrap();
        let bad = Limits {
            deadline: Duration::ZERO,
            ..Limits::DEFAULTS
        };
        assert!(bad.validate().unwrap_err().to_string().contains("deadline"));
        let bad = Limits {
            max_memory_bytes: 10,
            ..Limits::DEFAULTS
        };
        assert!(matches!(bad.validate(), Err(LimitsError::Memory(10))));
    }
}
