//! A shareable progress handle: capture and restore update it, an API handler reads it
//! ([`Progress::report`]) while the operation runs.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Phase of a running operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not started.
    #[default]
    Pending,
    /// Discovering resource types.
    Discovering,
    /// Listing and storing objects (capture).
    Capturing,
    /// Writing the manifest (capture).
    Committing,
    /// Reading and verifying stored objects (restore).
    Verifying,
    /// Writing objects to the target (restore).
    Applying,
    /// Finished successfully.
    Done,
    /// Finished with an error.
    Failed,
}

/// Counts for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeProgress {
    /// Objects known so far (listed plus the server's `remainingItemCount` estimate).
    pub discovered: u64,
    /// Objects processed.
    pub done: u64,
}

/// A point-in-time copy of the progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProgressReport {
    /// Current phase.
    pub phase: Phase,
    /// Total objects discovered.
    pub discovered: u64,
    /// Total objects done.
    pub done: u64,
    /// Bytes written to the store (capture) so far.
    pub bytes_uploaded: u64,
    /// Per resource type (`plural.group`).
    pub types: BTreeMap<String, TypeProgress>,
}

/// Shareable progress handle (cheap to clone; all clones see the same counters).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Mutex<ProgressReport>>,
}

impl Progress {
    /// A fresh handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the current state.
    pub fn report(&self) -> ProgressReport {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProgressReport> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
    }

    /// Raise the discovered count of `ty` to at least `n` (estimates only grow).
    pub(crate) fn discovered_at_least(&self, ty: &str, n: u64) {
        let mut g = self.lock();
        let t = g.types.entry(ty.to_string()).or_default();
        if n > t.discovered {
            let delta = n - t.discovered;
            t.discovered = n;
            g.discovered += delta;
        }
    }

    pub(crate) fn add_done(&self, ty: &str, n: u64) {
        let mut g = self.lock();
        let t = g.types.entry(ty.to_string()).or_default();
        t.done += n;
        if t.done > t.discovered {
            let delta = t.done - t.discovered;
            t.discovered = t.done;
            g.discovered += delta;
        }
        g.done += n;
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.lock().bytes_uploaded += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_shared_and_discovered_never_below_done() {
        let p = Progress::new();
        let q = p.clone();
        p.discovered_at_least("configmaps", 10);
        p.discovered_at_least("configmaps", 4);
        q.add_done("configmaps", 3);
        q.add_done("secrets", 2);
        let r = p.report();
        assert_eq!(r.types["configmaps"].discovered, 10);
        assert_eq!(r.types["secrets"].discovered, 2);
        assert_eq!((r.discovered, r.done), (12, 5));
    }
}
