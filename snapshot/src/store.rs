//! The snapshot store: a narrow layer over `object_store` that knows the key layout.
//!
//! Keys under the store root:
//! - `manifests/<snapshot-id>.manifest` — one per snapshot, written last, create-only;
//! - `packs/<pack-id>.pack` — content-addressed packs (multipart upload above a threshold);
//! - `leases/<capture-id>.lease` — written by a running capture; GC defers while one is live.
//!
//! URLs: `file:///abs/dir`, `memory://name` (process-wide, shared by name), `s3://bucket/prefix`,
//! `gs://bucket/prefix`, `az://container/prefix`. Cloud credentials and endpoints come from
//! the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as `object_store` reads them), from
//! [`StoreOptions::options`] (e.g. `aws_endpoint`, `aws_region`, `aws_allow_http`), or from a
//! `key=value` options file ([`StoreOptions::with_options_file`]).

use crate::crypto::EncryptionKey;
use crate::error::StoreError;
use crate::id::Hasher;
use crate::manifest::{self, Manifest, ManifestHeader, PREFIX_LEN};
use crate::pack::{self, Location, SealedPack};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::instrument;

/// Largest decompressed block accepted (guards against decompression bombs).
pub(crate) const MAX_BLOCK: usize = 256 << 20;

/// The bytes of the object at `loc` inside its decoded block, checked against `hash` (hex).
pub(crate) fn verified_slice<'a>(
    block: &'a [u8],
    loc: &Location,
    hash: &str,
    hasher: &Hasher,
) -> Result<&'a [u8], String> {
    let bytes = block
        .get(loc.offset as usize..(loc.offset as usize + loc.len as usize))
        .ok_or_else(|| "object lies outside its block".to_string())?;
    if hasher.hash(bytes).to_hex() != hash {
        return Err("content hash mismatch".into());
    }
    Ok(bytes)
}

/// Options of [`SnapshotStore::open`].
#[derive(Debug, Clone)]
#[must_use]
pub struct StoreOptions {
    /// Backend options (`object_store` config keys such as `aws_endpoint`, `aws_region`,
    /// `aws_access_key_id`, `aws_allow_http`, `google_service_account`, `azure_storage_account_name`).
    pub options: Vec<(String, String)>,
    /// Data key: when set, packs and manifest bodies are encrypted.
    pub encryption_key: Option<EncryptionKey>,
    /// Packs larger than this are uploaded with multipart upload.
    pub multipart_threshold: usize,
    /// Part size of multipart uploads (S3 needs >= 5 MiB except the last part).
    pub multipart_part_size: usize,
    /// Cloud stores: retries of a failed request (default 10, `object_store`'s default).
    pub max_retries: usize,
    /// Cloud stores: give up retrying a request after this long (default 3 min).
    pub retry_timeout: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            options: vec![],
            encryption_key: None,
            multipart_threshold: 16 << 20,
            multipart_part_size: 5 << 20,
            max_retries: 10,
            retry_timeout: std::time::Duration::from_secs(180),
        }
    }
}

impl StoreOptions {
    /// Add one backend option.
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_string(), value.to_string()));
        self
    }

    /// Read backend options from a `key=value` file (`#` comments); the file must not be
    /// readable by group or others since it may hold credentials.
    pub fn with_options_file(mut self, path: &std::path::Path) -> Result<Self, StoreError> {
        let bad = |reason: String| StoreError::InvalidUrl {
            url: path.display().to_string(),
            reason,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| bad(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(bad(
                    "options file is readable by group or others; chmod 600 it".into(),
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("line {}: expected key=value", i + 1)))?;
            self.options
                .push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(self)
    }

    /// Set the data key.
    pub fn with_encryption(mut self, key: EncryptionKey) -> Self {
        self.encryption_key = Some(key);
        self
    }
}

/// A pack in the store.
#[derive(Debug, Clone)]
pub struct PackInfo {
    /// Pack id.
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
}

/// A running capture's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Capture (snapshot) id.
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// After this, GC ignores the lease (a crashed capture).
    pub expires_at: DateTime<Utc>,
}

/// Handle on a snapshot store (cheap to clone).
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    inner: Arc<dyn ObjectStore>,
    url: String,
    opts: StoreOptions,
}

fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<object_store::memory::InMemory>>>> =
        OnceLock::new();
    let mut m = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    m.entry(name.to_string())
        .or_insert_with(|| Arc::new(object_store::memory::InMemory::new()))
        .clone()
}

fn backend(
    op: &'static str,
    key: impl Into<String>,
) -> impl FnOnce(object_store::Error) -> StoreError {
    let key = key.into();
    move |source| StoreError::Backend { op, key, source }
}

/// Check a snapshot or pack id before using it in a key.
fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(StoreError::NotFound(id.to_string()))
    }
}

impl SnapshotStore {
    /// Open a store by URL (see the module docs). Does not contact the store.
    pub fn open(url: &str, opts: StoreOptions) -> Result<SnapshotStore, StoreError> {
        let invalid = |reason: String| StoreError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected SCHEME://... (file, memory, s3, gs, az)".into()))?;
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b, p.trim_matches('/')),
            None => (rest, ""),
        };
        let retry = object_store::RetryConfig {
            max_retries: opts.max_retries,
            retry_timeout: opts.retry_timeout,
            ..Default::default()
        };
        let store: Arc<dyn ObjectStore> = match scheme {
            "memory" => memory_store(rest),
            "file" => {
                if !rest.starts_with('/') {
                    return Err(invalid(
                        "file URLs need an absolute path: file:///dir".into(),
                    ));
                }
                std::fs::create_dir_all(rest)
                    .map_err(|e| invalid(format!("cannot create {rest}: {e}")))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(rest)
                        .map_err(|e| invalid(e.to_string()))?,
                )
            }
            "s3" | "gs" | "az" if bucket.is_empty() => {
                return Err(invalid("missing bucket (container) name".into()));
            }
            // Cloud stores speak TLS through rustls with the process-wide provider (ring;
            // see Cargo.toml): make sure it is installed before their HTTP client is built.
            "s3" | "gs" | "az" if !crate::install_crypto_provider() => {
                return Err(invalid("no TLS crypto provider could be installed".into()));
            }
            "s3" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry.clone());
                for (k, v) in &opts.options {
                    let key = object_store::aws::AmazonS3ConfigKey::from_str(k)
                        .map_err(|_| invalid(format!("unknown S3 option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| invalid(e.to_string()))?)
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket);
                for (k, v) in &opts.options {
                    let key = object_store::gcp::GoogleConfigKey::from_str(k)
                        .map_err(|_| invalid(format!("unknown GCS option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| invalid(e.to_string()))?)
            }
            "az" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(bucket);
                for (k, v) in &opts.options {
                    let key = object_store::azure::AzureConfigKey::from_str(k)
                        .map_err(|_| invalid(format!("unknown Azure option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| invalid(e.to_string()))?)
            }
            other => {
                return Err(invalid(format!(
                    "unsupported scheme {other:?} (file, memory, s3, gs, az)"
                )));
            }
        };
        let store: Arc<dyn ObjectStore> =
            if matches!(scheme, "s3" | "gs" | "az") && !prefix.is_empty() {
                Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
            } else {
                store
            };
        Ok(SnapshotStore {
            inner: store,
            url: url.to_string(),
            opts,
        })
    }

    /// Wrap any `ObjectStore` (tests, fault injection, custom backends).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, name: &str, opts: StoreOptions) -> Self {
        SnapshotStore {
            inner: store,
            url: name.to_string(),
            opts,
        }
    }

    /// The URL (or name) the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The data key, if encryption is on.
    pub fn encryption_key(&self) -> Option<&EncryptionKey> {
        self.opts.encryption_key.as_ref()
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    pub(crate) fn manifest_key(id: &str) -> Path {
        Path::from(format!("manifests/{id}.manifest"))
    }

    pub(crate) fn pack_key(id: &str) -> Path {
        Path::from(format!("packs/{id}.pack"))
    }

    fn lease_key(id: &str) -> Path {
        Path::from(format!("leases/{id}.lease"))
    }

    /// Upload a pack (multipart above the threshold). Returns bytes written.
    #[instrument(skip_all, fields(pack = %pack.id, bytes = pack.bytes.len()))]
    pub(crate) async fn put_pack(&self, pack: SealedPack) -> Result<u64, StoreError> {
        let key = Self::pack_key(&pack.id);
        let len = pack.bytes.len() as u64;
        if pack.bytes.len() > self.opts.multipart_threshold {
            let upload = self
                .inner
                .put_multipart(&key)
                .await
                .map_err(backend("multipart start", key.to_string()))?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, self.opts.multipart_part_size);
            w.put(Bytes::from(pack.bytes));
            w.finish()
                .await
                .map_err(backend("multipart upload", key.to_string()))?;
        } else {
            self.inner
                .put(&key, PutPayload::from(pack.bytes))
                .await
                .map_err(backend("put", key.to_string()))?;
        }
        Ok(len)
    }

    /// Read a byte range of a pack; a missing pack is reported as corrupt data.
    pub(crate) async fn read_pack_range(
        &self,
        pack: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StoreError> {
        check_id(pack)?;
        let key = Self::pack_key(pack);
        self.inner
            .get_range(&key, range)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => StoreError::Corrupt {
                    what: format!("pack {pack}"),
                    reason: "missing from the store".into(),
                },
                e => StoreError::Backend {
                    op: "get",
                    key: key.to_string(),
                    source: e,
                },
            })
    }

    /// Read and decode (decrypt, decompress) one block of a pack.
    pub(crate) async fn read_block(
        &self,
        loc: &Location,
        what: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!(
                "{what} (pack {}, block at byte {})",
                loc.pack, loc.block_offset
            ),
            reason,
        };
        let stored = self
            .read_pack_range(
                &loc.pack,
                loc.block_offset..loc.block_offset + loc.block_len as u64,
            )
            .await
            .map_err(|e| match e {
                StoreError::Corrupt { reason, .. } => corrupt(reason),
                other => other,
            })?;
        if stored.len() != loc.block_len as usize {
            return Err(corrupt(format!(
                "block is {} bytes, expected {}",
                stored.len(),
                loc.block_len
            )));
        }
        pack::decode_block(&stored, self.encryption_key(), MAX_BLOCK).map_err(corrupt)
    }

    /// Write a manifest (create-only: an existing manifest is never overwritten).
    #[instrument(skip(self, bytes), fields(snapshot_id = %id))]
    pub(crate) async fn put_manifest(&self, id: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        check_id(id)?;
        let key = Self::manifest_key(id);
        self.inner
            .put_opts(&key, PutPayload::from(bytes), PutMode::Create.into())
            .await
            .map_err(backend("put", key.to_string()))?;
        Ok(())
    }

    async fn get_range_named(
        &self,
        key: &Path,
        id: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StoreError> {
        self.inner.get_range(key, range).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound(id.to_string()),
            e => StoreError::Backend {
                op: "get",
                key: key.to_string(),
                source: e,
            },
        })
    }

    /// Read one manifest's header (two small range reads).
    #[instrument(skip(self), fields(snapshot_id = %id))]
    pub async fn read_header(&self, id: &str) -> Result<ManifestHeader, StoreError> {
        check_id(id)?;
        let key = Self::manifest_key(id);
        let prefix = self.get_range_named(&key, id, 0..PREFIX_LEN as u64).await?;
        let (version, len) = self.check_prefix(&key, &prefix)?;
        let _ = version;
        let json = self
            .get_range_named(&key, id, PREFIX_LEN as u64..(PREFIX_LEN + len) as u64)
            .await?;
        manifest::parse_header(&json).map_err(|reason| StoreError::Corrupt {
            what: format!("manifest {key}"),
            reason,
        })
    }

    fn check_prefix(&self, key: &Path, prefix: &[u8]) -> Result<(u32, usize), StoreError> {
        let (version, len) =
            manifest::parse_prefix(prefix).map_err(|reason| StoreError::Corrupt {
                what: format!("manifest {key}"),
                reason,
            })?;
        if !(manifest::OLDEST_READABLE_VERSION..=manifest::MANIFEST_VERSION).contains(&version) {
            return Err(StoreError::UnsupportedVersion {
                key: key.to_string(),
                found: version,
                supported: manifest::MANIFEST_VERSION,
            });
        }
        Ok((version, len))
    }

    /// Read and verify a whole manifest (header, body hash, decryption, entries).
    #[instrument(skip(self), fields(snapshot_id = %id))]
    pub async fn read_manifest(&self, id: &str) -> Result<Manifest, StoreError> {
        let mut entries = vec![];
        let mut objects = HashMap::new();
        let (header, chunks) = self
            .for_each_entry(id, |l| {
                objects.insert(l.e.hash.clone(), l.l);
                entries.push(l.e);
            })
            .await?;
        Ok(Manifest {
            header,
            chunks,
            entries,
            objects,
        })
    }

    /// Read and verify a manifest, streaming its entries (with locations) to `f` chunk by
    /// chunk instead of collecting them; returns the header and the chunk references.
    #[instrument(skip(self, f), fields(snapshot_id = %id))]
    pub async fn for_each_entry(
        &self,
        id: &str,
        mut f: impl FnMut(manifest::ChunkLine),
    ) -> Result<(ManifestHeader, Vec<manifest::ChunkRef>), StoreError> {
        check_id(id)?;
        let key = Self::manifest_key(id);
        let bytes = self
            .inner
            .get(&key)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => StoreError::NotFound(id.to_string()),
                e => StoreError::Backend {
                    op: "get",
                    key: key.to_string(),
                    source: e,
                },
            })?
            .bytes()
            .await
            .map_err(backend("get", key.to_string()))?;
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("manifest {key}"),
            reason,
        };
        let (_, len) = self.check_prefix(&key, &bytes)?;
        let hdr_end = PREFIX_LEN + len;
        let json = bytes
            .get(PREFIX_LEN..hdr_end)
            .ok_or_else(|| corrupt("truncated header".into()))?;
        let header = manifest::parse_header(json).map_err(corrupt)?;
        let hasher = self.hasher_for(&header)?;
        let chunks = manifest::decode_body(&header, &bytes[hdr_end..], self.encryption_key())
            .map_err(corrupt)?;
        let mut count: u64 = 0;
        let mut last_block: Option<((String, u64), Vec<u8>)> = None;
        for (i, c) in chunks.iter().enumerate() {
            let what = format!("entry chunk {} of manifest {key}", i + 1);
            let block_key = (c.loc.pack.clone(), c.loc.block_offset);
            if last_block.as_ref().map(|(k, _)| k) != Some(&block_key) {
                let block = self.read_block(&c.loc, &what).await?;
                last_block = Some((block_key, block));
            }
            let block = &last_block.as_ref().expect("just set").1;
            let bytes = verified_slice(block, &c.loc, &c.hash, &hasher).map_err(|reason| {
                StoreError::Corrupt {
                    what: format!("{what} (pack {})", c.loc.pack),
                    reason,
                }
            })?;
            let lines = manifest::decode_chunk(bytes).map_err(|reason| StoreError::Corrupt {
                what: what.clone(),
                reason,
            })?;
            if lines.len() != c.entries as usize {
                return Err(StoreError::Corrupt {
                    what,
                    reason: format!("{} entries, expected {}", lines.len(), c.entries),
                });
            }
            count += lines.len() as u64;
            lines.into_iter().for_each(&mut f);
        }
        if count != header.object_count {
            return Err(corrupt(format!(
                "{count} entries, header says {}",
                header.object_count
            )));
        }
        Ok((header, chunks))
    }

    /// How the ids of snapshot `header` are checked: its algorithm, keyed with its
    /// `id_key` or the configured data key. Refuses a data key that is not the snapshot's
    /// (missing, extra or another) and a header whose id algorithm or key is unusable.
    pub(crate) fn hasher_for(&self, header: &ManifestHeader) -> Result<Hasher, StoreError> {
        let id = &header.id;
        let key = self.encryption_key();
        match (&header.encryption, key) {
            (Some(info), None) => {
                return Err(StoreError::Crypto(format!(
                    "snapshot {id} is encrypted with key {}; no key configured",
                    info.key_id
                )));
            }
            (Some(info), Some(k)) if info.key_id != k.id() => {
                return Err(StoreError::Crypto(format!(
                    "snapshot {id} was encrypted with key {}, the configured key is {}",
                    info.key_id,
                    k.id()
                )));
            }
            (None, Some(k)) => {
                return Err(StoreError::Crypto(format!(
                    "snapshot {id} is not encrypted but the store is configured with key {}; read it without a key",
                    k.id()
                )));
            }
            _ => {}
        }
        let corrupt = |reason| StoreError::Corrupt {
            what: format!("manifest {}", Self::manifest_key(id)),
            reason,
        };
        // Format 3 brought 128-bit ids; a header mixing a format with the other's ids
        // was edited or damaged (its ids would not even have the right length).
        let v3_ids = header.hash_algorithm == crate::id::HMAC_SHA256_128;
        if (header.format_version >= 3) != v3_ids {
            let expected = if header.format_version >= 3 {
                crate::id::HMAC_SHA256_128.to_string()
            } else {
                format!("{} or {}", crate::id::SHA256, crate::id::SHA256_KEYED_V1)
            };
            return Err(corrupt(format!(
                "format {} manifests use {expected} object ids, this header says {:?}",
                header.format_version, header.hash_algorithm
            )));
        }
        Hasher::for_manifest(&header.hash_algorithm, header.id_key.as_ref(), key).map_err(corrupt)
    }

    /// Headers of every snapshot, oldest first (by `completed_at`, then id).
    #[instrument(skip(self), fields(store = %self.url))]
    pub async fn list_manifests(&self) -> Result<Vec<ManifestHeader>, StoreError> {
        let metas: Vec<_> = self
            .inner
            .list(Some(&Path::from("manifests")))
            .try_collect()
            .await
            .map_err(backend("list", "manifests/"))?;
        let mut out = Vec::with_capacity(metas.len());
        for m in metas {
            let Some(id) = m
                .location
                .filename()
                .and_then(|f| f.strip_suffix(".manifest"))
            else {
                continue;
            };
            match self.read_header(id).await {
                Ok(h) => out.push(h),
                // Deleted between list and read.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| (a.completed_at, &a.id).cmp(&(b.completed_at, &b.id)));
        Ok(out)
    }

    /// Delete a snapshot (its manifest); its packs are reclaimed by [`crate::gc::gc`].
    #[instrument(skip(self), fields(snapshot_id = %id))]
    pub async fn delete_snapshot(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        self.read_header(id).await?;
        let key = Self::manifest_key(id);
        self.inner
            .delete(&key)
            .await
            .map_err(backend("delete", key.to_string()))
    }

    /// Every pack in the store.
    pub(crate) async fn list_packs(&self) -> Result<Vec<PackInfo>, StoreError> {
        let metas: Vec<_> = self
            .inner
            .list(Some(&Path::from("packs")))
            .try_collect()
            .await
            .map_err(backend("list", "packs/"))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let id = m.location.filename()?.strip_suffix(".pack")?.to_string();
                Some(PackInfo {
                    id,
                    size: m.size,
                    last_modified: m.last_modified,
                })
            })
            .collect())
    }

    pub(crate) async fn delete_pack(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let key = Self::pack_key(id);
        match self.inner.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StoreError::Backend {
                op: "delete",
                key: key.to_string(),
                source: e,
            }),
        }
    }

    pub(crate) async fn put_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let key = Self::lease_key(&lease.id);
        let body = serde_json::to_vec(lease).expect("lease serialises");
        self.inner
            .put(&key, PutPayload::from(body))
            .await
            .map_err(backend("put", key.to_string()))?;
        Ok(())
    }

    pub(crate) async fn delete_lease(&self, id: &str) -> Result<(), StoreError> {
        let key = Self::lease_key(id);
        match self.inner.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StoreError::Backend {
                op: "delete",
                key: key.to_string(),
                source: e,
            }),
        }
    }

    /// Leases of running (or crashed) captures.
    pub async fn list_leases(&self) -> Result<Vec<Lease>, StoreError> {
        let metas: Vec<_> = self
            .inner
            .list(Some(&Path::from("leases")))
            .try_collect()
            .await
            .map_err(backend("list", "leases/"))?;
        let mut out = vec![];
        for m in metas {
            let bytes = match self.inner.get(&m.location).await {
                Ok(r) => r
                    .bytes()
                    .await
                    .map_err(backend("get", m.location.to_string()))?,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => {
                    return Err(StoreError::Backend {
                        op: "get",
                        key: m.location.to_string(),
                        source: e,
                    });
                }
            };
            match serde_json::from_slice::<Lease>(&bytes) {
                Ok(l) => out.push(l),
                Err(e) => tracing::warn!(key = %m.location, error = %e, "unreadable lease ignored"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(SnapshotStore::open("memory://t1", StoreOptions::default()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/store", dir.path().display());
        assert!(SnapshotStore::open(&url, StoreOptions::default()).is_ok());
        for bad in ["nope", "ftp://x", "file://relative", "s3://", "s3://b"] {
            let r = SnapshotStore::open(
                bad,
                StoreOptions::default().with_option("aws_nonsense", "1"),
            );
            assert!(r.is_err(), "{bad} accepted");
        }
        let ok = SnapshotStore::open(
            "s3://bucket/pre/fix",
            StoreOptions::default()
                .with_option("aws_endpoint", "http://127.0.0.1:1")
                .with_option("aws_region", "us-east-1")
                .with_option("aws_allow_http", "true"),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn ids_cannot_escape() {
        assert!(check_id("../x").is_err());
        assert!(check_id("a/b").is_err());
        assert!(check_id("c-20250101T000000Z-abcdef").is_ok());
    }

    #[tokio::test]
    async fn memory_stores_are_shared_by_name() {
        let a = SnapshotStore::open("memory://shared-x", StoreOptions::default()).unwrap();
        let b = SnapshotStore::open("memory://shared-x", StoreOptions::default()).unwrap();
        a.inner
            .put(&Path::from("k"), PutPayload::from(vec![1u8]))
            .await
            .unwrap();
        assert!(b.inner.head(&Path::from("k")).await.is_ok());
    }
}
