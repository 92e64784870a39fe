//! `log`: plugin lines into `tracing` and the run journal, capped per step.

use crate::bindings::log::{Host, Level};
use crate::describe::Capability;
use crate::services::{LogLevel, LogLine};
use crate::state::StoreState;

impl Host for StoreState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.require(Capability::Log)?;
        if self.log_truncated {
            return Ok(());
        }
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let cap = self.limits.max_log_bytes;
        let line = if self.log_bytes + message.len() > cap {
            self.log_truncated = true;
            LogLine {
                level: LogLevel::Warn,
                message: format!("log truncated: this step wrote more than {cap} bytes of logs"),
            }
        } else {
            self.log_bytes += message.len();
            LogLine { level, message }
        };
        let (p, r, s) = (&self.call.plugin, &self.call.run_id, &self.call.step_id);
        let m = &line.message;
        match line.level {
            LogLevel::Trace => tracing::trace!(plugin = %p, run_id = %r, step = %s, "{m}"),
            LogLevel::Debug => tracing::debug!(plugin = %p, run_id = %r, step = %s, "{m}"),
            LogLevel::Info => tracing::info!(plugin = %p, run_id = %r, step = %s, "{m}"),
            LogLevel::Warn => tracing::warn!(plugin = %p, run_id = %r, step = %s, "{m}"),
            LogLevel::Error => tracing::error!(plugin = %p, run_id = %r, step = %s, "{m}"),
        }
        self.services.journal.record(&self.call, &line);
        self.logs.push(line);
        Ok(())
    }
}
