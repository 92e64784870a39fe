//! Restore a snapshot into a cluster (the source or another one).
//!
//! Steps: read the manifest and verify **every** object (hashes, packs) — any corruption
//! stops the restore before a single write; discover the target's types and find the
//! snapshot's types it does not serve (abort, or report them per object and go on, by
//! policy); then apply tier by tier ([`order`]), objects of a tier in parallel, waiting
//! for restored CRDs to be Established before the next tier. A dry run does every read
//! and compares each object with the live one ([`diff`]) but writes nothing.
//! [`RestoreOptions::namespaces`] narrows the restore to some namespaces (verification
//! still covers the whole snapshot) and [`RestoreOptions::annotations`] marks what it wrote.

pub mod apply;
pub mod diff;
pub mod order;
pub mod plan;

use crate::error::RestoreError;
use crate::manifest::Entry;
use crate::progress::{Phase, Progress};
use crate::reader::SnapshotReader;
use crate::store::SnapshotStore;
use apply::Dest;
use chrono::{DateTime, Utc};
use diff::Change;
use futures::StreamExt;
use kube::Client;
use kube::discovery::{ApiResource, Discovery, Scope};
use plan::{PlanTier, rewrite};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tracing::{info, instrument};

/// What to do with an object that already exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExistingPolicy {
    /// Leave it (reported as skipped).
    #[default]
    Skip,
    /// Replace it with the snapshot's version (keeps its uid).
    Update,
    /// Delete it, wait until it is gone, create it again (Namespaces and CRDs are
    /// updated instead: deleting them would delete their contents).
    Recreate,
}

/// What to do with objects of types the target does not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnUnsupported {
    /// Report them as failed and restore the rest.
    #[default]
    Continue,
    /// Refuse the whole restore before writing anything.
    Abort,
}

/// Restore options.
#[derive(Debug, Clone)]
#[must_use]
pub struct RestoreOptions {
    /// Source namespace -> target namespace.
    pub namespace_map: BTreeMap<String, String>,
    /// Existing-object policy.
    pub policy: ExistingPolicy,
    /// Plan and diff only; no writes.
    pub dry_run: bool,
    /// Objects written concurrently within a tier (default 16).
    pub parallelism: usize,
    /// Unsupported types policy.
    pub on_unsupported: OnUnsupported,
    /// How long to wait for restored CRDs to be Established (default 60 s).
    pub crd_timeout: Duration,
    /// How long `recreate` waits for a deleted object to disappear (default 30 s).
    pub delete_timeout: Duration,
    /// Decoded blocks kept in memory between verification and apply (default 256 MiB).
    pub cache_bytes: usize,
    /// Name of the target cluster (report and traces only).
    pub target_cluster: String,
    /// Restore only objects in these source namespaces, plus the Namespace objects of
    /// those names; other cluster-scoped objects are skipped. `None` (default): all.
    pub namespaces: Option<BTreeSet<String>>,
    /// Added to `metadata.annotations` of every object written (and of every object a
    /// dry run compares). Default: none.
    pub annotations: BTreeMap<String, String>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            namespace_map: BTreeMap::new(),
            policy: ExistingPolicy::Skip,
            dry_run: false,
            parallelism: 16,
            on_unsupported: OnUnsupported::Continue,
            crd_timeout: Duration::from_secs(60),
            delete_timeout: Duration::from_secs(30),
            cache_bytes: 256 << 20,
            target_cluster: String::new(),
            namespaces: None,
            annotations: BTreeMap::new(),
        }
    }
}

impl RestoreOptions {
    /// Map namespace `from` to `to`.
    pub fn map_namespace(mut self, from: &str, to: &str) -> Self {
        self.namespace_map.insert(from.into(), to.into());
        self
    }

    /// Check the options.
    pub fn validate(&self) -> Result<(), RestoreError> {
        if self.parallelism == 0 || self.parallelism > 256 {
            return Err(RestoreError::InvalidOptions(
                "parallelism must be in 1..=256".into(),
            ));
        }
        for (k, v) in &self.namespace_map {
            if k.is_empty() || v.is_empty() {
                return Err(RestoreError::InvalidOptions(format!(
                    "namespace_map has an empty name ({k:?} -> {v:?})"
                )));
            }
        }
        if self
            .namespaces
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.contains(""))
        {
            return Err(RestoreError::InvalidOptions(
                "namespaces is empty or has an empty name: name at least one namespace, or none to restore all".into(),
            ));
        }
        if self.annotations.contains_key("") {
            return Err(RestoreError::InvalidOptions(
                "annotations has an empty key".into(),
            ));
        }
        Ok(())
    }
}

/// Result of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Created.
    Created,
    /// Replaced (policy update).
    Updated,
    /// Deleted and created (policy recreate).
    Recreated,
    /// Existed; left alone (policy skip).
    Skipped,
    /// Failed (see reason).
    Failed,
    /// Dry run: would be created.
    WouldCreate,
    /// Dry run: exists and differs; would be updated.
    WouldUpdate,
    /// Dry run: exists and differs; would be recreated.
    WouldRecreate,
    /// Dry run: exists and differs; would be left alone (policy skip).
    WouldSkip,
    /// Dry run: exists and is identical.
    Unchanged,
}

/// Per-object result.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    /// Tier.
    pub tier: u8,
    /// `Kind.group/version`.
    pub gvk: String,
    /// Target namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Why (failures, skips).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Dry run: the differences with the live object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<Change>,
}

/// The restore report.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// Snapshot restored.
    pub snapshot_id: String,
    /// Target cluster name (as given in the options).
    pub target_cluster: String,
    /// Dry run?
    pub dry_run: bool,
    /// Policy used.
    pub policy: ExistingPolicy,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Wall time.
    pub duration: Duration,
    /// Counts by outcome.
    pub counts: BTreeMap<String, u64>,
    /// Types the target did not serve.
    pub unsupported_types: Vec<String>,
    /// Every object, in plan order.
    pub results: Vec<ObjectResult>,
}

impl RestoreReport {
    /// Number of objects with this outcome.
    pub fn count(&self, o: Outcome) -> u64 {
        self.results.iter().filter(|r| r.outcome == o).count() as u64
    }
}

struct TargetTypes {
    map: HashMap<(String, String, String), (ApiResource, bool)>,
}

impl TargetTypes {
    async fn discover(client: &Client) -> Result<Self, RestoreError> {
        let d = Discovery::new(client.clone())
            .run()
            .await
            .map_err(RestoreError::Discovery)?;
        let mut map = HashMap::new();
        for g in d.groups() {
            for v in g.versions() {
                for (ar, caps) in g.versioned_resources(v) {
                    if ar.plural.contains('/') {
                        continue;
                    }
                    let key = (ar.group.clone(), ar.version.clone(), ar.kind.clone());
                    map.insert(key, (ar, caps.scope == Scope::Namespaced));
                }
            }
        }
        Ok(TargetTypes { map })
    }

    fn resolve(&self, e: &Entry) -> Option<&(ApiResource, bool)> {
        self.map
            .get(&(e.group.clone(), e.version.clone(), e.kind.clone()))
    }
}

/// Types defined by CRDs among the restored entries (they will be served once those are
/// restored).
async fn types_from_crds(
    reader: &SnapshotReader,
    entries: &[Entry],
) -> Result<BTreeSet<(String, String, String)>, RestoreError> {
    let mut out = BTreeSet::new();
    for e in entries
        .iter()
        .filter(|e| e.kind == "CustomResourceDefinition")
    {
        let crd = reader.object(e).await?;
        let group = crd["spec"]["group"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = crd["spec"]["names"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
            if v["served"] != serde_json::Value::Bool(false)
                && let Some(name) = v["name"].as_str()
            {
                out.insert((group.clone(), name.to_string(), kind.clone()));
            }
        }
    }
    Ok(out)
}

/// Restore snapshot `snapshot_id` from `store` into the cluster behind `target`.
///
/// Returns `Err` only when the restore cannot start (corrupt or missing data: nothing was
/// written; unsupported types under `Abort`; discovery failure) or a CRD never became
/// Established. Per-object failures are in [`RestoreReport::results`].
#[instrument(skip_all, fields(snapshot_id = %snapshot_id, cluster = %opts.target_cluster, dry_run = opts.dry_run))]
pub async fn restore(
    store: &SnapshotStore,
    snapshot_id: &str,
    target: Client,
    opts: &RestoreOptions,
    progress: &Progress,
) -> Result<RestoreReport, RestoreError> {
    let r = run(store, snapshot_id, target, opts, progress).await;
    progress.set_phase(if r.is_ok() {
        Phase::Done
    } else {
        Phase::Failed
    });
    r
}

async fn run(
    store: &SnapshotStore,
    snapshot_id: &str,
    target: Client,
    opts: &RestoreOptions,
    progress: &Progress,
) -> Result<RestoreReport, RestoreError> {
    opts.validate()?;
    let started = Instant::now();
    let started_at = Utc::now();
    let reader = SnapshotReader::open(store, snapshot_id, opts.cache_bytes).await?;
    reader.verify_all(progress).await?;

    let entries: Vec<Entry> = reader
        .manifest
        .entries
        .iter()
        .filter(|e| plan::selected(e, opts.namespaces.as_ref()))
        .cloned()
        .collect();
    let mut types = TargetTypes::discover(&target).await?;
    let from_crds = types_from_crds(&reader, &entries).await?;
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for e in &entries {
        let key = (e.group.clone(), e.version.clone(), e.kind.clone());
        if types.resolve(e).is_none() && !from_crds.contains(&key) {
            *unsupported.entry(e.gvk()).or_default() += 1;
        }
    }
    if opts.on_unsupported == OnUnsupported::Abort && !unsupported.is_empty() {
        return Err(RestoreError::Unsupported {
            objects: unsupported.values().sum(),
            types: unsupported.keys().cloned().collect(),
        });
    }

    let tiers: Vec<PlanTier> = plan::plan(&entries, &opts.namespace_map);
    progress.set_phase(Phase::Applying);
    for t in &tiers {
        progress.discovered_at_least(t.name, t.items.len() as u64);
    }
    let mut results = Vec::with_capacity(entries.len());
    for t in &tiers {
        let tier_results: Vec<ObjectResult> = futures::stream::iter(t.items.iter())
            .map(|item| {
                let (types, reader, target) = (&types, &reader, &target);
                async move {
                    let (outcome, reason, diff) =
                        restore_one(reader, types, target, item, opts).await;
                    progress.add_done(t.name, 1);
                    ObjectResult {
                        tier: t.tier,
                        gvk: item.gvk.clone(),
                        namespace: item.namespace.clone(),
                        name: item.name.clone(),
                        outcome,
                        reason,
                        diff,
                    }
                }
            })
            .buffer_unordered(opts.parallelism)
            .collect()
            .await;
        let crds: Vec<String> = tier_results
            .iter()
            .filter(|r| {
                t.tier == order::CRD_TIER
                    && matches!(
                        r.outcome,
                        Outcome::Created | Outcome::Updated | Outcome::Recreated
                    )
            })
            .map(|r| r.name.clone())
            .collect();
        results.extend(tier_results);
        if t.tier == order::CRD_TIER && !t.items.is_empty() {
            for name in crds {
                wait_established(&target, &name, opts.crd_timeout).await?;
            }
            types = TargetTypes::discover(&target).await?;
        }
    }
    let mut counts = BTreeMap::new();
    for r in &results {
        let key = serde_json::to_value(r.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *counts.entry(key).or_insert(0u64) += 1;
    }
    info!(?counts, "restore finished");
    Ok(RestoreReport {
        snapshot_id: snapshot_id.to_string(),
        target_cluster: opts.target_cluster.clone(),
        dry_run: opts.dry_run,
        policy: opts.policy,
        started_at,
        duration: started.elapsed(),
        counts,
        unsupported_types: unsupported.into_keys().collect(),
        results,
    })
}

async fn restore_one(
    reader: &SnapshotReader,
    types: &TargetTypes,
    target: &Client,
    item: &plan::PlanItem,
    opts: &RestoreOptions,
) -> (Outcome, Option<String>, Vec<Change>) {
    let e = &item.entry;
    let Some((ar, namespaced)) = types.resolve(e) else {
        return (
            Outcome::Failed,
            Some(format!(
                "resource type {} is not served by the target cluster",
                e.gvk()
            )),
            vec![],
        );
    };
    let mut obj = match reader.object(e).await {
        Ok(o) => o,
        Err(err) => return (Outcome::Failed, Some(err.to_string()), vec![]),
    };
    rewrite(&mut obj, &e.kind, &opts.namespace_map);
    plan::annotate(&mut obj, &opts.annotations);
    let dest = Dest {
        ar,
        namespace: if *namespaced {
            item.namespace.as_deref()
        } else {
            None
        },
        name: &item.name,
    };
    let policy = effective_policy(opts.policy, &e.group, &e.kind);
    if opts.dry_run {
        apply::dry_run(target, &dest, &obj, policy).await
    } else {
        let (o, r) = apply::apply(target, &dest, &obj, policy, opts.delete_timeout).await;
        (o, r, vec![])
    }
}

/// `recreate` is never applied to Namespaces and CRDs: deleting them deletes everything
/// in them. They are updated instead.
pub fn effective_policy(policy: ExistingPolicy, group: &str, kind: &str) -> ExistingPolicy {
    let container = matches!(
        (group, kind),
        ("", "Namespace") | ("apiextensions.k8s.io", "CustomResourceDefinition")
    );
    if policy == ExistingPolicy::Recreate && container {
        ExistingPolicy::Update
    } else {
        policy
    }
}

async fn wait_established(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), RestoreError> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if apply::crd_established(client, name).await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(RestoreError::CrdNotEstablished {
        name: name.to_string(),
        timeout_secs: timeout.as_secs(),
    })
}
