//! `log`: plugin lines into `tracing` and the run journal, capped per step. The guest's
//! stdout (info) and stderr (warn) are forwarded the same way when `log` is granted.

use crate::bindings::log::{Host, Level};
use crate::describe::Capability;
use crate::services::{LogLevel, LogLine};
use crate::state::StoreState;

impl Host for StoreState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.require(Capability::Log)?;
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.push_log(level, message);
        Ok(())
    }
}

impl StoreState {
    /// Record one line (tracing, journal, step logs) unless the step's log cap is spent;
    /// the first line over the cap is replaced by a marker.
    fn push_log(&mut self, level: LogLevel, message: String) {
        if self.log_truncated {
            return;
        }
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
    }

    /// After the guest returned: forward what it wrote to stdout/stderr as log lines,
    /// when `log` is granted (otherwise it is dropped).
    pub(crate) fn forward_stdio(&mut self) {
        if !self.grants.log {
            return;
        }
        for (pipe, level) in [
            (self.stdout.clone(), LogLevel::Info),
            (self.stderr.clone(), LogLevel::Warn),
        ] {
            let text = pipe.contents();
            for line in String::from_utf8_lossy(&text)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                self.push_log(level, line.to_owned());
            }
        }
    }

    /// The last `max` bytes of the guest's stderr, if it wrote any (for failure messages).
    pub(crate) fn stderr_tail(&self, max: usize) -> Option<String> {
        let text = self.stderr.contents();
        let text = String::from_utf8_lossy(&text);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let mut start = text.len().saturating_sub(max);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        Some(text[start..].to_owned())
    }
}
