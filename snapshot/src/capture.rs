//! Capture: list every selected type page by page, normalise, hash, and append new
//! objects to packs; write the manifest last.
//!
//! Memory is bounded by object bodies in flight (two list pages, one open pack, and
//! `upload_concurrency` packs being uploaded), plus ~100 bytes of metadata per object
//! (the dedup index and the compressed manifest body); object bodies are never all held.
//!
//! A capture first writes a lease (`leases/<id>.lease`) so that GC defers, then takes
//! the id key and the dedup index of the latest snapshot of the same cluster that has
//! the same id algorithm and key (`load_lineage`; a cluster without one starts a
//! lineage, with a fresh random id key when encryption is off). On any error the lease
//! is removed, no manifest is written (the snapshot does not exist), and packs already
//! uploaded become orphans that [`crate::gc::gc`] reclaims after its grace period.

use crate::discover::{ResourceType, discover};
use crate::error::{CaptureError, StoreError};
use crate::filter::{Filters, skip_reason};
use crate::id::{HMAC_SHA256_128, Hasher, IdKey, ObjectId};
use crate::index::Index;
use crate::manifest::{
    self, BodyWriter, ChunkLine, ChunkRef, EncryptionInfo, Entry, ManifestHeader,
};
use crate::normalize::{canonical_json, normalize};
use crate::pack::{PackWriter, SealedPack};
use crate::progress::{Phase, Progress};
use crate::store::{Lease, SnapshotStore};
use chrono::{DateTime, Utc};
use kube::Client;
use kube::api::ListParams;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{info, instrument, warn};

/// Default zstd level of packs. Measured on the benchmark objects (BENCHMARKS.md, release
/// build): level 7 stores the objects ~16% smaller than level 3 and still captures
/// ~21,000 objects/s; level 19 would save another ~18% at a tenth of the speed.
pub const DEFAULT_COMPRESSION_LEVEL: i32 = 7;

/// Capture options (builder style; defaults in [`CaptureOptions::default`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct CaptureOptions {
    /// What to capture.
    pub filters: Filters,
    /// Keep the `status` of objects (default false).
    pub keep_status: bool,
    /// Objects per list page (default 500).
    pub page_size: u32,
    /// Uncompressed bytes per compressed block (default 1 MiB).
    pub block_size: usize,
    /// Target pack size in bytes (default 8 MiB).
    pub pack_size: usize,
    /// zstd level (default [`DEFAULT_COMPRESSION_LEVEL`]).
    pub compression_level: i32,
    /// Attempts per list request on 429/5xx/connection errors (default 3).
    pub list_attempts: u32,
    /// Backoff between attempts, multiplied by the attempt number (default 200 ms).
    pub retry_backoff: Duration,
    /// Lease lifetime: GC ignores leases older than this (default 6 h).
    pub lease_ttl: Duration,
    /// Packs uploaded concurrently (default 2).
    pub upload_concurrency: usize,
    /// Labels recorded in the manifest (e.g. `schedule`, `firing`).
    pub labels: BTreeMap<String, String>,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            filters: Filters::default(),
            keep_status: false,
            page_size: 500,
            block_size: 1 << 20,
            pack_size: 8 << 20,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
            list_attempts: 3,
            retry_backoff: Duration::from_millis(200),
            lease_ttl: Duration::from_secs(6 * 3600),
            upload_concurrency: 2,
            labels: BTreeMap::new(),
        }
    }
}

impl CaptureOptions {
    /// Set the filters.
    pub fn filters(mut self, f: Filters) -> Self {
        self.filters = f;
        self
    }

    /// Add a manifest label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }

    /// Check the options; the error names the field.
    pub fn validate(&self) -> Result<(), CaptureError> {
        self.filters
            .validate()
            .map_err(CaptureError::InvalidOptions)?;
        let bad = |m: &str| Err(CaptureError::InvalidOptions(m.into()));
        if self.page_size == 0 {
            return bad("page_size must be > 0");
        }
        if self.block_size == 0 || self.block_size > 64 << 20 {
            return bad("block_size must be in 1..=64 MiB");
        }
        if self.pack_size < self.block_size / 4 {
            return bad("pack_size must be at least block_size / 4");
        }
        if !(1..=22).contains(&self.compression_level) {
            return bad("compression_level must be in 1..=22");
        }
        if self.list_attempts == 0 || self.upload_concurrency == 0 {
            return bad("list_attempts and upload_concurrency must be > 0");
        }
        Ok(())
    }
}

/// What a successful capture produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureSummary {
    /// Snapshot id.
    pub id: String,
    /// Manifest key in the store.
    pub manifest_key: String,
    /// Source cluster.
    pub cluster: String,
    /// Objects captured.
    pub object_count: u64,
    /// Distinct object contents.
    pub distinct_objects: u64,
    /// Objects uploaded by this capture (not found in the previous snapshot).
    pub new_objects: u64,
    /// Pack bytes uploaded.
    pub bytes_uploaded: u64,
    /// Manifest bytes.
    pub manifest_bytes: u64,
    /// Packs written.
    pub new_packs: Vec<String>,
    /// Source `gitVersion`.
    pub kubernetes_version: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End of listing.
    pub completed_at: DateTime<Utc>,
    /// Wall time.
    pub duration: Duration,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    cont: Option<String>,
    #[serde(rename = "remainingItemCount", default)]
    remaining: Option<i64>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<Value>,
}

type PageMsg = Result<(usize, Page), CaptureError>;

/// Whether a Kubernetes client error is worth retrying.
pub(crate) fn retryable(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

async fn list_page(
    client: &Client,
    ty: &ResourceType,
    lp: &ListParams,
    opts: &CaptureOptions,
) -> Result<Page, CaptureError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let req = kube::core::Request::new(ty.list_path())
            .list(lp)
            .map_err(|e| CaptureError::InvalidOptions(e.to_string()))?;
        match client.request_text(req).await {
            Ok(text) => {
                return serde_json::from_str(&text).map_err(|e| CaptureError::BadObject {
                    resource: ty.key(),
                    reason: e.to_string(),
                });
            }
            Err(e) if retryable(&e) && attempt < opts.list_attempts => {
                warn!(resource = %ty.key(), attempt, error = %e, "list failed, retrying");
                tokio::time::sleep(opts.retry_backoff * attempt).await;
            }
            Err(source) => {
                return Err(CaptureError::List {
                    resource: format!("{}/{}", ty.key(), ty.ar.version),
                    attempts: attempt,
                    source,
                });
            }
        }
    }
}

/// Lists every type in order, sending pages down a bounded channel (prefetch of one page).
async fn lister(
    client: Client,
    types: Vec<ResourceType>,
    opts: CaptureOptions,
    tx: mpsc::Sender<PageMsg>,
) {
    for (i, ty) in types.iter().enumerate() {
        let mut cont: Option<String> = None;
        for _ in 0..10_000_000u64 {
            let mut lp = ListParams::default().limit(opts.page_size);
            if let Some(sel) = &opts.filters.label_selector {
                lp = lp.labels(sel);
            }
            if let Some(c) = &cont {
                lp = lp.continue_token(c);
            }
            let page = match list_page(&client, ty, &lp, &opts).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            cont = page.metadata.cont.clone().filter(|c| !c.is_empty());
            if tx.send(Ok((i, page))).await.is_err() {
                return;
            }
            if cont.is_none() {
                break;
            }
        }
    }
}

/// Most objects in the open pack (bounds the entries waiting for locations).
const MAX_OPEN_PACK_OBJECTS: usize = 16_384;

/// Builds packs, entry chunks and the manifest body from a stream of normalised objects.
struct Sink<'a> {
    store: &'a SnapshotStore,
    opts: &'a CaptureOptions,
    hasher: Hasher,
    /// Known locations: the previous snapshot's objects and chunks, plus everything sealed.
    index: Index,
    /// Distinct objects of this snapshot.
    seen: HashSet<ObjectId>,
    /// Blobs in the open pack.
    pending: HashSet<ObjectId>,
    pack: PackWriter,
    uploads: JoinSet<Result<u64, StoreError>>,
    /// The open entry chunk and its resource type.
    chunk: Vec<(Entry, ObjectId)>,
    chunk_type: String,
    /// Closed chunks waiting for their objects' locations.
    ready: VecDeque<Vec<(Entry, ObjectId)>>,
    /// Chunk ids and sizes, in order.
    refs: Vec<(ObjectId, u32)>,
    packs: BTreeSet<String>,
    new_packs: Vec<String>,
    object_count: u64,
    new_objects: u64,
    bytes_uploaded: u64,
    types: BTreeMap<String, u64>,
    progress: &'a Progress,
}

impl Sink<'_> {
    fn new_pack(&self) -> PackWriter {
        PackWriter::new(
            self.opts.compression_level,
            self.opts.block_size,
            self.store.encryption_key().cloned(),
        )
    }

    /// Put a blob in the open pack unless it is stored or pending; true if new.
    fn store_blob(&mut self, hash: ObjectId, bytes: &[u8]) -> bool {
        if self.index.contains(&hash) || self.pending.contains(&hash) {
            return false;
        }
        self.pending.insert(hash);
        self.pack.push(hash, bytes);
        true
    }

    async fn add(&mut self, ty: &ResourceType, key: &str, obj: &Value) -> Result<(), CaptureError> {
        let meta = &obj["metadata"];
        let bytes = canonical_json(obj);
        let hash = self.hasher.hash(&bytes);
        let entry = Entry {
            group: ty.ar.group.clone(),
            version: ty.ar.version.clone(),
            kind: ty.ar.kind.clone(),
            resource: ty.ar.plural.clone(),
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            hash: hash.to_hex(),
        };
        self.object_count += 1;
        match self.types.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                self.types.insert(key.to_string(), 1);
            }
        }
        self.seen.insert(hash);
        if self.store_blob(hash, &bytes) {
            self.new_objects += 1;
        }
        if self.chunk_type != key {
            self.cut();
            self.chunk_type = key.to_string();
        }
        let boundary = manifest::is_boundary(
            entry.namespace.as_deref(),
            &entry.name,
            self.chunk.len() + 1,
        );
        self.chunk.push((entry, hash));
        if boundary {
            self.cut();
        }
        // Entries wait (in chunks) for their objects' pack to be sealed: bound how many.
        if self.pack.approx_len() >= self.opts.pack_size
            || self.pending.len() >= MAX_OPEN_PACK_OBJECTS
        {
            self.flush_pack().await?;
        }
        Ok(())
    }

    fn cut(&mut self) {
        if !self.chunk.is_empty() {
            self.ready.push_back(std::mem::take(&mut self.chunk));
            // Chunks of already-stored objects resolve at once (unchanged clusters).
            self.drain_ready();
        }
    }

    /// Turn closed chunks whose objects all have locations into chunk blobs.
    fn drain_ready(&mut self) {
        while let Some(front) = self.ready.front() {
            if !front.iter().all(|(_, h)| self.index.contains(h)) {
                break;
            }
            let chunk = self.ready.pop_front().expect("front exists");
            let lines: Vec<ChunkLine> = chunk
                .into_iter()
                .map(|(e, h)| {
                    let l = self.index.get(&h).expect("checked above");
                    self.packs.insert(l.pack.clone());
                    ChunkLine { e, l }
                })
                .collect();
            let bytes = manifest::encode_chunk(&lines);
            let hash = self.hasher.hash(&bytes);
            self.store_blob(hash, &bytes);
            self.refs.push((hash, lines.len() as u32));
        }
    }

    /// Seal and upload the open pack (if any), then resolve what became resolvable.
    async fn flush_pack(&mut self) -> Result<(), CaptureError> {
        if !self.pack.is_empty() {
            let fresh = self.new_pack();
            let sealed: SealedPack = std::mem::replace(&mut self.pack, fresh).finish();
            for (h, loc) in &sealed.objects {
                self.pending.remove(h);
                self.index.insert(*h, loc);
            }
            self.new_packs.push(sealed.id.clone());
            while self.uploads.len() >= self.opts.upload_concurrency {
                self.join_one().await?;
            }
            let store = self.store.clone();
            self.uploads
                .spawn(async move { store.put_pack(sealed).await });
        }
        self.drain_ready();
        Ok(())
    }

    /// Close the last chunk, store every chunk, wait for uploads; returns the body.
    async fn finish(&mut self) -> Result<BodyWriter, CaptureError> {
        self.cut();
        // Each round seals the blobs the previous round produced: objects, then chunks.
        for _ in 0..4 {
            self.flush_pack().await?;
            if self.ready.is_empty() && self.pack.is_empty() {
                break;
            }
        }
        while !self.uploads.is_empty() {
            self.join_one().await?;
        }
        let mut body = BodyWriter::new();
        for (hash, entries) in &self.refs {
            let loc = self.index.get(hash).expect("every chunk is sealed by now");
            self.packs.insert(loc.pack.clone());
            body.push(&ChunkRef {
                hash: hash.to_hex(),
                loc,
                entries: *entries,
            });
        }
        Ok(body)
    }

    async fn join_one(&mut self) -> Result<(), CaptureError> {
        if let Some(r) = self.uploads.join_next().await {
            let n =
                r.map_err(|e| CaptureError::InvalidOptions(format!("upload task failed: {e}")))??;
            self.bytes_uploaded += n;
            self.progress.add_bytes(n);
        }
        Ok(())
    }
}

/// The ids of a new capture: how they are computed, the `id_key` its manifest records
/// (encryption off only), and what it can re-use (the dedup index).
struct Lineage {
    hasher: Hasher,
    id_key: Option<IdKey>,
    index: Index,
}

impl Lineage {
    /// A new lineage: keyed by the data key, or by a fresh random key.
    fn start(store: &SnapshotStore) -> Self {
        let (hasher, id_key) = match store.encryption_key() {
            Some(k) => (Hasher::encrypted(k), None),
            None => {
                let k = IdKey::random();
                let bytes = k.bytes().expect("a random key is well-formed");
                (Hasher::Hmac128(bytes), Some(k))
            }
        };
        Lineage {
            hasher,
            id_key,
            index: Index::default(),
        }
    }
}

/// Continue the lineage of the latest snapshot of `cluster` with the same id algorithm
/// (`hmac-sha256-128`) and data key (or none): same id key, so unchanged objects and
/// chunks get the same ids and are re-used from its index. Snapshots of formats 1 and 2
/// (other algorithms) cannot be re-used; a cluster without a compatible snapshot (or a
/// store that cannot be listed) starts a lineage.
async fn load_lineage(store: &SnapshotStore, cluster: &str) -> Lineage {
    let headers = match store.list_manifests().await {
        Ok(h) => h,
        Err(e) => {
            warn!(error = %e, "cannot list manifests; capturing without dedup, with a new id key");
            return Lineage::start(store);
        }
    };
    let key_id = store.encryption_key().map(|k| k.id().to_string());
    let compatible = headers.iter().rev().filter(|h| {
        h.cluster == cluster
            && h.hash_algorithm == HMAC_SHA256_128
            && h.encryption.as_ref().map(|e| e.key_id.clone()) == key_id
    });
    let mut found = None;
    for h in compatible {
        match store.hasher_for(h) {
            Ok(hasher) => {
                found = Some((h, hasher));
                break;
            }
            Err(e) => {
                warn!(snapshot_id = %h.id, error = %e, "snapshot's id key unusable; not continuing its lineage")
            }
        }
    }
    let Some((latest, hasher)) = found else {
        return Lineage::start(store);
    };
    let mut index = Index::default();
    let result = store
        .for_each_entry(&latest.id, |l| {
            if let Some(h) = ObjectId::from_hex(&l.e.hash) {
                index.insert(h, &l.l);
            }
        })
        .await;
    let index = match result {
        Ok((_, chunks)) => {
            for c in chunks {
                if let Some(h) = ObjectId::from_hex(&c.hash) {
                    index.insert(h, &c.loc);
                }
            }
            index
        }
        Err(e) => {
            warn!(snapshot_id = %latest.id, error = %e, "previous manifest unreadable; capturing without dedup");
            Index::default()
        }
    };
    Lineage {
        hasher,
        id_key: latest.id_key.clone(),
        index,
    }
}

fn new_id(cluster: &str, at: DateTime<Utc>) -> String {
    format!(
        "{cluster}-{}-{}",
        at.format("%Y%m%dT%H%M%SZ"),
        hex::encode(rand::random::<[u8; 3]>())
    )
}

/// Capture `cluster` (reached through `client`) into `store`.
///
/// The snapshot becomes visible only when its manifest is written, after every pack is
/// uploaded. Errors name the reason (type that failed to list, store operation that
/// failed); a failed capture leaves no manifest and can simply be retried.
#[instrument(skip_all, fields(cluster = %cluster, snapshot_id))]
pub async fn capture(
    client: Client,
    cluster: &str,
    store: &SnapshotStore,
    opts: &CaptureOptions,
    progress: &Progress,
) -> Result<CaptureSummary, CaptureError> {
    opts.validate()?;
    if cluster.is_empty()
        || !cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(CaptureError::InvalidOptions(format!(
            "cluster name {cluster:?} must be non-empty and use only letters, digits, '-' and '.'"
        )));
    }
    let started = Instant::now();
    let started_at = Utc::now();
    let id = new_id(cluster, started_at);
    tracing::Span::current().record("snapshot_id", id.as_str());
    let lease = Lease {
        id: id.clone(),
        cluster: cluster.to_string(),
        started_at,
        expires_at: started_at
            + chrono::Duration::from_std(opts.lease_ttl).unwrap_or(chrono::Duration::hours(6)),
    };
    let result = run(client, cluster, store, opts, progress, &id, &lease, started).await;
    if let Err(e) = store.delete_lease(&id).await {
        warn!(error = %e, "could not remove the capture lease (it expires by itself)");
    }
    progress.set_phase(if result.is_ok() {
        Phase::Done
    } else {
        Phase::Failed
    });
    result
}

#[allow(clippy::too_many_arguments)]
async fn run(
    client: Client,
    cluster: &str,
    store: &SnapshotStore,
    opts: &CaptureOptions,
    progress: &Progress,
    id: &str,
    lease: &Lease,
    started: Instant,
) -> Result<CaptureSummary, CaptureError> {
    progress.set_phase(Phase::Discovering);
    let version = client
        .apiserver_version()
        .await
        .map_err(CaptureError::Discovery)?;
    let types = discover(&client, &opts.filters)
        .await
        .map_err(CaptureError::Discovery)?;
    store.put_lease(lease).await?;
    let Lineage {
        hasher,
        id_key,
        index,
    } = load_lineage(store, cluster).await;
    info!(
        types = types.len(),
        indexed = index.len(),
        "capture starting"
    );

    progress.set_phase(Phase::Capturing);
    let (tx, mut rx) = mpsc::channel::<PageMsg>(1);
    let lister_task = tokio::spawn(lister(client.clone(), types.clone(), opts.clone(), tx));
    let mut sink = Sink {
        store,
        opts,
        hasher,
        index,
        seen: HashSet::new(),
        pending: HashSet::new(),
        pack: PackWriter::new(
            opts.compression_level,
            opts.block_size,
            store.encryption_key().cloned(),
        ),
        uploads: JoinSet::new(),
        chunk: vec![],
        chunk_type: String::new(),
        ready: VecDeque::new(),
        refs: vec![],
        packs: BTreeSet::new(),
        new_packs: vec![],
        object_count: 0,
        new_objects: 0,
        bytes_uploaded: 0,
        types: BTreeMap::new(),
        progress,
    };
    let outcome = async {
        while let Some(msg) = rx.recv().await {
            let (i, page) = msg?;
            let ty = &types[i];
            let key = ty.key();
            let seen = progress.report().types.get(&key).map_or(0, |t| t.done);
            let remaining = page.metadata.remaining.unwrap_or(0).max(0) as u64;
            progress.discovered_at_least(&key, seen + page.items.len() as u64 + remaining);
            let n = page.items.len() as u64;
            for mut obj in page.items {
                if let Some(o) = obj.as_object_mut() {
                    o.insert(
                        "apiVersion".into(),
                        Value::String(ty.ar.api_version.clone()),
                    );
                    o.insert("kind".into(), Value::String(ty.ar.kind.clone()));
                }
                if skip_reason(&opts.filters, &ty.ar.kind, &obj).is_some() {
                    continue;
                }
                normalize(&ty.ar.group, &ty.ar.kind, &mut obj, opts.keep_status);
                sink.add(ty, &key, &obj).await?;
            }
            progress.add_done(&key, n);
        }
        sink.finish().await
    }
    .await;
    let body = match outcome {
        Ok(b) => b,
        Err(e) => {
            lister_task.abort();
            sink.uploads.abort_all();
            return Err(e);
        }
    };
    let completed_at = Utc::now();

    progress.set_phase(Phase::Committing);
    let key = store.encryption_key();
    let body = body.finish(key);
    let mut header = ManifestHeader {
        format_version: manifest::MANIFEST_VERSION,
        id: id.to_string(),
        cluster: cluster.to_string(),
        started_at: lease.started_at,
        completed_at,
        kubernetes_version: version.git_version.clone(),
        filters: opts.filters.clone(),
        object_count: sink.object_count,
        distinct_objects: sink.seen.len() as u64,
        bytes_uploaded: sink.bytes_uploaded,
        packs: sink.packs.iter().cloned().collect(),
        new_packs: sink.new_packs.clone(),
        types: sink.types.clone(),
        hash_algorithm: sink.hasher.algorithm().to_string(),
        id_key,
        encryption: key.map(|k| EncryptionInfo {
            algorithm: "xchacha20poly1305".into(),
            key_id: k.id().to_string(),
        }),
        labels: opts.labels.clone(),
        body_sha256: String::new(),
        body_len: 0,
    };
    let bytes = manifest::encode(&mut header, &body);
    let manifest_bytes = bytes.len() as u64;
    store.put_manifest(id, bytes).await?;
    info!(
        objects = sink.object_count,
        new = sink.new_objects,
        bytes = sink.bytes_uploaded,
        "snapshot committed"
    );
    Ok(CaptureSummary {
        id: id.to_string(),
        manifest_key: SnapshotStore::manifest_key(id).to_string(),
        cluster: cluster.to_string(),
        object_count: sink.object_count,
        distinct_objects: sink.seen.len() as u64,
        new_objects: sink.new_objects,
        bytes_uploaded: sink.bytes_uploaded,
        manifest_bytes,
        new_packs: sink.new_packs,
        kubernetes_version: version.git_version,
        started_at: lease.started_at,
        completed_at,
        duration: started.elapsed(),
    })
}
