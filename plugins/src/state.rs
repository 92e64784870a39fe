//! [`StoreState`]: the per-step data inside a wasmtime `Store` — the empty WASI
//! context, the memory limiter, the step's grants and services, collected logs, and the
//! flags that let the host name why a step failed.

use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::describe::Capability;
use crate::grants::Grants;
use crate::limits::Limits;
use crate::services::{CallInfo, HostServices, LogLine};

/// The guest went outside its grants (a trap payload; also recorded in the state).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{capability} denied: {detail}")]
pub(crate) struct Violation {
    pub capability: Capability,
    pub detail: String,
}

/// The step's deadline passed (a trap payload).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("deadline exceeded")]
pub(crate) struct DeadlineExceeded;

/// The guest tried to grow memory past the cap (a trap payload).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("memory cap exceeded: wanted {wanted} bytes, cap {cap}")]
pub(crate) struct MemoryCapExceeded {
    pub wanted: u64,
    pub cap: u64,
}

/// Caps the sum of all linear memories of one store; records the first refusal.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    cap: u64,
    used: u64,
    pub refused: Option<MemoryCapExceeded>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let wanted = self.used.saturating_sub(current as u64) + desired as u64;
        if wanted > self.cap {
            let e = MemoryCapExceeded {
                wanted,
                cap: self.cap,
            };
            self.refused = Some(e);
            return Err(wasmtime::Error::new(e));
        }
        self.used = wanted;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// A clock stuck at zero: what WASI sees when `clock` is not granted.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Per-step store data.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    /// The guest's stdout and stderr (capped); forwarded as log lines when `log` is
    /// granted, and stderr's tail is quoted in failure messages.
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    pub call: CallInfo,
    pub grants: Grants,
    pub limits: Limits,
    pub services: HostServices,
    pub http: reqwest::Client,
    pub deadline: Instant,
    pub logs: Vec<LogLine>,
    pub log_bytes: usize,
    pub log_truncated: bool,
    pub violation: Option<Violation>,
    pub deadline_hit: bool,
}

impl StoreState {
    pub fn new(
        call: CallInfo,
        grants: Grants,
        limits: Limits,
        services: HostServices,
        http: reqwest::Client,
    ) -> Self {
        // Empty WASI: no preopens, no env, no args, no stdin, no sockets, no name lookup;
        // stdout/stderr go to capped in-memory pipes.
        let mut b = WasiCtxBuilder::new();
        b.allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        let stdout = MemoryOutputPipe::new(limits.max_log_bytes);
        let stderr = MemoryOutputPipe::new(limits.max_log_bytes);
        b.stdout(stdout.clone()).stderr(stderr.clone());
        if !grants.clock {
            b.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
        }
        Self {
            wasi: b.build(),
            stdout,
            stderr,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                cap: limits.max_memory_bytes,
                used: 0,
                refused: None,
            },
            deadline: Instant::now() + limits.deadline,
            call,
            grants,
            limits,
            services,
            http,
            logs: Vec::new(),
            log_bytes: 0,
            log_truncated: false,
            violation: None,
            deadline_hit: false,
        }
    }

    /// Record a violation and build the trap that aborts the guest.
    pub fn deny(&mut self, capability: Capability, detail: impl Into<String>) -> wasmtime::Error {
        let v = Violation {
            capability,
            detail: detail.into(),
        };
        tracing::warn!(plugin = %self.call.plugin, run_id = %self.call.run_id, step = %self.call.step_id, "plugin denied: {v}");
        self.violation.get_or_insert(v.clone());
        wasmtime::Error::new(v)
    }

    /// Trap unless `capability` is granted.
    pub fn require(&mut self, capability: Capability) -> wasmtime::Result<()> {
        if self.grants.allows(capability) {
            Ok(())
        } else {
            Err(self.deny(
                capability,
                format!(
                    "the step does not grant `{capability}` (add it to the step's permissions)"
                ),
            ))
        }
    }

    /// Mark the deadline as hit and build the trap that aborts the guest.
    pub fn deadline_trap(&mut self) -> wasmtime::Error {
        self.deadline_hit = true;
        wasmtime::Error::new(DeadlineExceeded)
    }
}

/// Await `fut` until `deadline`; `None` when the deadline passed first. Host calls use
/// this because epoch interruption cannot stop a host call that is blocked.
pub(crate) async fn until<T>(deadline: Instant, fut: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline.into(), fut).await.ok()
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
