//! Reading a snapshot back: every object read is checked against its id before use,
//! recomputed with the snapshot's own id algorithm and key ([`Hasher`]); [`verify`]
//! checks a whole snapshot (manifest, packs, every object) without a cluster, which
//! restore does before writing anything; [`SnapshotStore::read_object`] reads one object
//! by type and name.

use crate::error::StoreError;
use crate::id::Hasher;
use crate::manifest::{ChunkLine, Entry, Manifest};
use crate::pack::{self, Location};
use crate::progress::{Phase, Progress};
use crate::store::{SnapshotStore, verified_slice};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tracing::instrument;

/// Result of [`verify`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// Snapshot id.
    pub snapshot_id: String,
    /// Objects checked.
    pub objects: u64,
    /// Distinct objects checked.
    pub distinct_objects: u64,
    /// Packs read.
    pub packs: u64,
    /// Compressed bytes read.
    pub bytes_read: u64,
}

/// A snapshot opened for reading, with a bounded cache of decoded blocks.
pub struct SnapshotReader {
    store: SnapshotStore,
    /// The manifest.
    pub manifest: Manifest,
    hasher: Hasher,
    cache: Mutex<BlockCache>,
}

#[derive(Default)]
struct BlockCache {
    blocks: HashMap<(String, u64), Arc<Vec<u8>>>,
    bytes: usize,
    cap: usize,
}

impl SnapshotReader {
    /// Open snapshot `id` (reads and verifies the manifest). `cache_bytes` bounds the
    /// decoded blocks kept in memory between verification and apply.
    pub async fn open(
        store: &SnapshotStore,
        id: &str,
        cache_bytes: usize,
    ) -> Result<Self, StoreError> {
        let manifest = store.read_manifest(id).await?;
        let hasher = store.hasher_for(&manifest.header)?;
        Ok(SnapshotReader {
            store: store.clone(),
            manifest,
            hasher,
            cache: Mutex::new(BlockCache {
                cap: cache_bytes,
                ..Default::default()
            }),
        })
    }

    fn cached(&self, key: &(String, u64)) -> Option<Arc<Vec<u8>>> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .blocks
            .get(key)
            .cloned()
    }

    async fn block(&self, loc: &Location, who: &str) -> Result<(Arc<Vec<u8>>, u64), StoreError> {
        let key = (loc.pack.clone(), loc.block_offset);
        if let Some(b) = self.cached(&key) {
            return Ok((b, 0));
        }
        let block = Arc::new(self.store.read_block(loc, who).await?);
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if c.bytes + block.len() <= c.cap {
            c.bytes += block.len();
            c.blocks.insert(key, block.clone());
        }
        Ok((block, loc.block_len as u64))
    }

    /// The verified bytes of one entry's object.
    pub async fn object_bytes(&self, entry: &Entry) -> Result<Vec<u8>, StoreError> {
        let loc = self
            .manifest
            .objects
            .get(&entry.hash)
            .ok_or_else(|| StoreError::Corrupt {
                what: entry.display(),
                reason: "no pack location in the manifest".into(),
            })?;
        let (block, _) = self.block(loc, &entry.display()).await?;
        self.slice(&block, loc, entry)
    }

    fn slice(&self, block: &[u8], loc: &Location, entry: &Entry) -> Result<Vec<u8>, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!(
                "{} (pack {}, block at byte {})",
                entry.display(),
                loc.pack,
                loc.block_offset
            ),
            reason,
        };
        let bytes = verified_slice(block, loc, &entry.hash, &self.hasher).map_err(corrupt)?;
        Ok(bytes.to_vec())
    }

    /// The verified object of one entry, parsed.
    pub async fn object(&self, entry: &Entry) -> Result<Value, StoreError> {
        let bytes = self.object_bytes(entry).await?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            what: entry.display(),
            reason: format!("not JSON: {e}"),
        })
    }

    /// Check every pack header and every object (hash), in pack order.
    pub async fn verify_all(&self, progress: &Progress) -> Result<VerifyReport, StoreError> {
        progress.set_phase(Phase::Verifying);
        let m = &self.manifest;
        let mut first: HashMap<&str, &Entry> = HashMap::new();
        for e in &m.entries {
            first.entry(e.hash.as_str()).or_insert(e);
        }
        let mut by_block: BTreeMap<(&str, u64), Vec<&Entry>> = BTreeMap::new();
        for (hash, e) in &first {
            let loc = &m.objects[*hash];
            by_block
                .entry((loc.pack.as_str(), loc.block_offset))
                .or_default()
                .push(e);
        }
        let mut bytes_read = 0;
        let mut packs_seen: Vec<&str> = vec![];
        for ((pack_id, _), entries) in &by_block {
            if packs_seen.last() != Some(pack_id) {
                packs_seen.push(pack_id);
                let header = self
                    .store
                    .read_pack_range(pack_id, 0..pack::HEADER_LEN as u64)
                    .await
                    .map_err(|e| match e {
                        StoreError::Corrupt { reason, .. } => StoreError::Corrupt {
                            what: format!("pack {pack_id} (holding {})", entries[0].display()),
                            reason,
                        },
                        other => other,
                    })?;
                pack::check_header(&header).map_err(|reason| StoreError::Corrupt {
                    what: format!("pack {pack_id}"),
                    reason,
                })?;
            }
            let loc = &m.objects[&entries[0].hash];
            let (block, n) = self.block(loc, &entries[0].display()).await?;
            bytes_read += n;
            for e in entries {
                self.slice(&block, &m.objects[&e.hash], e)?;
                progress.add_done("verified", 1);
            }
        }
        Ok(VerifyReport {
            snapshot_id: m.header.id.clone(),
            objects: m.entries.len() as u64,
            distinct_objects: first.len() as u64,
            packs: packs_seen.len() as u64,
            bytes_read,
        })
    }
}

impl SnapshotStore {
    /// The object `group`/`kind` `namespace`/`name` (`group` `""` for the core group,
    /// `namespace` `None` for cluster-scoped objects) as stored in snapshot `id`, or `None`
    /// if the snapshot does not hold it. The manifest is read and verified as by
    /// [`SnapshotStore::read_manifest`] (streamed: entries are not collected) and the
    /// object's bytes are checked against its id (hash) before they are parsed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown snapshot; corrupt or tampered data, a
    /// missing or wrong encryption key, or a backend failure.
    #[instrument(skip(self), fields(snapshot_id = %id))]
    pub async fn read_object(
        &self,
        id: &str,
        (group, kind): (&str, &str),
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, StoreError> {
        let mut found = None;
        let (header, _) = self
            .for_each_entry(id, |line| {
                let e = &line.e;
                if found.is_none()
                    && e.name == name
                    && e.kind == kind
                    && e.group == group
                    && e.namespace.as_deref() == namespace
                {
                    found = Some(line);
                }
            })
            .await?;
        let Some(ChunkLine { e: entry, l: loc }) = found else {
            return Ok(None);
        };
        let block = self.read_block(&loc, &entry.display()).await?;
        let hasher = self.hasher_for(&header)?;
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("{} in snapshot {id} (pack {})", entry.display(), loc.pack),
            reason,
        };
        let bytes = verified_slice(&block, &loc, &entry.hash, &hasher).map_err(corrupt)?;
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| corrupt(format!("not JSON: {e}")))
    }
}

/// Verify snapshot `id` completely (manifest, packs, every object's hash) without a cluster.
#[instrument(skip(store, progress), fields(snapshot_id = %id))]
pub async fn verify(
    store: &SnapshotStore,
    id: &str,
    progress: &Progress,
) -> Result<VerifyReport, StoreError> {
    let reader = SnapshotReader::open(store, id, 0).await?;
    let r = reader.verify_all(progress).await;
    progress.set_phase(if r.is_ok() {
        Phase::Done
    } else {
        Phase::Failed
    });
    r
}
