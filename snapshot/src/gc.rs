//! Garbage collection of packs that no snapshot references.
//!
//! Safe against concurrent captures: (1) list manifests, (2) list capture leases — any
//! live lease defers the whole GC, expired ones are removed, (3) list manifests again;
//! only packs referenced by neither listing **and** older than the grace period are
//! deleted. A running capture's packs are young; the packs it reuses are referenced by the
//! manifest it loaded its index from, which it protects with its lease (written before
//! loading the index).

use crate::error::StoreError;
use crate::store::SnapshotStore;
use chrono::Utc;
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;
use tracing::{info, instrument};

/// GC options.
#[derive(Debug, Clone)]
#[must_use]
pub struct GcOptions {
    /// Never delete packs younger than this (default 1 h; must exceed the longest capture
    /// whose lease might be lost).
    pub grace: Duration,
    /// Report only.
    pub dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            grace: Duration::from_secs(3600),
            dry_run: false,
        }
    }
}

/// What GC found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Packs in the store.
    pub packs_total: u64,
    /// Packs referenced by a snapshot.
    pub packs_referenced: u64,
    /// Deleted (or, in a dry run, deletable) packs.
    pub deleted: Vec<String>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Unreferenced packs kept because they are younger than the grace period.
    pub kept_young: Vec<String>,
    /// Live capture leases that made GC defer (nothing deleted).
    pub deferred_for_leases: Vec<String>,
    /// Expired leases removed.
    pub expired_leases_removed: u64,
}

async fn referenced(store: &SnapshotStore) -> Result<HashSet<String>, StoreError> {
    Ok(store
        .list_manifests()
        .await?
        .into_iter()
        .flat_map(|h| h.packs)
        .collect())
}

/// Collect unreferenced packs.
#[instrument(skip_all, fields(store = %store.url(), dry_run = opts.dry_run))]
pub async fn gc(store: &SnapshotStore, opts: &GcOptions) -> Result<GcReport, StoreError> {
    let mut report = GcReport::default();
    let mut refs = referenced(store).await?;
    let now = Utc::now();
    for lease in store.list_leases().await? {
        if lease.expires_at > now {
            report.deferred_for_leases.push(lease.id);
        } else if !opts.dry_run {
            store.delete_lease(&lease.id).await?;
            report.expired_leases_removed += 1;
        }
    }
    if !report.deferred_for_leases.is_empty() {
        info!(leases = ?report.deferred_for_leases, "captures running; GC deferred");
        return Ok(report);
    }
    refs.extend(referenced(store).await?);
    let packs = store.list_packs().await?;
    report.packs_total = packs.len() as u64;
    report.packs_referenced = packs.iter().filter(|p| refs.contains(&p.id)).count() as u64;
    let grace = chrono::Duration::from_std(opts.grace).unwrap_or(chrono::Duration::MAX);
    for p in packs.into_iter().filter(|p| !refs.contains(&p.id)) {
        if now - p.last_modified < grace {
            report.kept_young.push(p.id);
            continue;
        }
        if !opts.dry_run {
            store.delete_pack(&p.id).await?;
        }
        report.bytes_freed += p.size;
        report.deleted.push(p.id);
    }
    info!(
        deleted = report.deleted.len(),
        bytes = report.bytes_freed,
        "gc finished"
    );
    Ok(report)
}
