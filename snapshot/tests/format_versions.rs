//! Format versions and object ids: snapshots written in manifest formats 1 (JSON-lines
//! entry chunks) and 2 (columnar chunks, SHA-256 ids) are still listed, verified and
//! restored by this build, which writes format 3 (`hmac-sha256-128` ids, keyed per
//! cluster lineage); a manifest of a version this build does not know is refused with a
//! clear error, not guessed at; ids are checked on every read with the snapshot's key.

mod common;
use common::*;
use lifeboat_snapshot::chunk;
use lifeboat_snapshot::id::{Hasher, IdKey, ObjectId};
use lifeboat_snapshot::manifest::{self, BodyWriter, ChunkLine, ChunkRef, ManifestHeader};
use lifeboat_snapshot::pack::{Location, PackWriter, SealedPack};
use lifeboat_snapshot::reader::SnapshotReader;
use lifeboat_snapshot::*;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use std::collections::HashSet;

/// How [`rewrite`] re-encodes a snapshot.
struct Rewrite {
    /// Manifest format version (prefix and header).
    version: u32,
    /// Id algorithm and key of the new snapshot.
    hasher: Hasher,
    /// Its header's `id_key`.
    id_key: Option<IdKey>,
    /// Entry chunk encoder.
    encode: fn(&[ChunkLine]) -> Vec<u8>,
    /// Flip one byte of this object (`namespace`, `name`) after its id is computed.
    tamper: Option<(&'static str, &'static str)>,
}

impl Rewrite {
    /// Format 1: SHA-256 ids, JSON-lines chunks.
    fn v1() -> Self {
        Rewrite {
            version: 1,
            hasher: Hasher::Sha256,
            id_key: None,
            encode: chunk::encode_v1,
            tamper: None,
        }
    }

    /// Format 2: SHA-256 ids, columnar chunks with 64-hex ids.
    fn v2() -> Self {
        Rewrite {
            version: 2,
            encode: chunk::encode_v2,
            ..Self::v1()
        }
    }
}

/// Where blob `id` is in `pack`.
fn location(pack: &SealedPack, id: &ObjectId) -> Location {
    pack.objects
        .iter()
        .find(|(h, _)| h == id)
        .unwrap()
        .1
        .clone()
}

async fn put(store: &SnapshotStore, key: String, bytes: Vec<u8>) {
    let os = store.object_store();
    os.put(&Path::from(key), PutPayload::from(bytes))
        .await
        .unwrap();
}

/// Rewrite unencrypted snapshot `id` as `new_id` (test support, to make snapshots of
/// older formats): every object re-packed under its id by `r.hasher`, the entry chunks
/// re-encoded by `r.encode` with the same boundaries, and a manifest whose prefix and
/// header say `r.version` and the new id algorithm and key.
async fn rewrite(store: &SnapshotStore, id: &str, new_id: &str, r: Rewrite) -> ManifestHeader {
    let reader = SnapshotReader::open(store, id, 64 << 20).await.unwrap();
    let m = &reader.manifest;
    let mut objects = PackWriter::new(3, 1 << 20, None);
    let (mut ids, mut packed) = (vec![], HashSet::new());
    for e in &m.entries {
        let mut bytes = reader.object_bytes(e).await.unwrap();
        let h = r.hasher.hash(&bytes);
        if r.tamper == Some((e.namespace.as_deref().unwrap_or(""), e.name.as_str())) {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 1;
        }
        if packed.insert(h) {
            objects.push(h, &bytes);
        }
        ids.push(h);
    }
    let objects = objects.finish();
    let mut chunks = PackWriter::new(3, 1 << 20, None);
    let mut refs = vec![];
    let mut start = 0;
    for c in &m.chunks {
        let end = start + c.entries as usize;
        let lines: Vec<ChunkLine> = (start..end)
            .map(|i| {
                let mut e = m.entries[i].clone();
                e.hash = ids[i].to_hex();
                let l = location(&objects, &ids[i]);
                ChunkLine { e, l }
            })
            .collect();
        let bytes = (r.encode)(&lines);
        let h = r.hasher.hash(&bytes);
        chunks.push(h, &bytes);
        refs.push((h, c.entries));
        start = end;
    }
    let chunks = chunks.finish();
    let mut body = BodyWriter::new();
    for (h, entries) in &refs {
        body.push(&ChunkRef {
            hash: h.to_hex(),
            loc: location(&chunks, h),
            entries: *entries,
        });
    }
    let mut header = m.header.clone();
    header.id = new_id.to_string();
    header.format_version = r.version;
    header.hash_algorithm = r.hasher.algorithm().to_string();
    header.id_key = r.id_key;
    header.packs = vec![objects.id.clone(), chunks.id.clone()];
    header.new_packs = header.packs.clone();
    for p in [objects, chunks] {
        put(store, format!("packs/{}.pack", p.id), p.bytes).await;
    }
    let mut bytes = manifest::encode(&mut header, &body.finish(None));
    bytes[4..8].copy_from_slice(&r.version.to_le_bytes());
    put(store, format!("manifests/{new_id}.manifest"), bytes).await;
    header
}

/// Copy manifest `id` as `new_id` with its header JSON edited by `edit` (body unchanged).
async fn edit_header(
    store: &SnapshotStore,
    id: &str,
    new_id: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let os = store.object_store();
    let key = Path::from(format!("manifests/{id}.manifest"));
    let bytes = os.get(&key).await.unwrap().bytes().await.unwrap();
    let (_, len) = manifest::parse_prefix(&bytes).unwrap();
    let end = manifest::PREFIX_LEN + len;
    let mut h: serde_json::Value =
        serde_json::from_slice(&bytes[manifest::PREFIX_LEN..end]).unwrap();
    edit(&mut h);
    h["id"] = new_id.into();
    let json = serde_json::to_vec(&h).unwrap();
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    put(store, format!("manifests/{new_id}.manifest"), out).await;
}

fn file_store(dir: &tempfile::TempDir) -> SnapshotStore {
    SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap()
}

/// (kind, namespace, name) of every entry, in order.
fn names(m: &Manifest) -> Vec<(String, Option<String>, String)> {
    m.entries
        .iter()
        .map(|e| (e.kind.clone(), e.namespace.clone(), e.name.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_1_and_2_snapshots_are_still_read_and_restored() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let sum = src.capture_into(&store, "src").await;
    let v3 = store.read_manifest(&sum.id).await.unwrap();
    assert_eq!(v3.header.format_version, manifest::MANIFEST_VERSION);
    let v3_key = v3
        .header
        .id_key
        .clone()
        .expect("unencrypted: id_key in the header");

    for (old, version) in [
        ("src-20200101T000000Z-aaaaaa", Rewrite::v1()),
        ("src-20200102T000000Z-aaaaaa", Rewrite::v2()),
    ] {
        let v = version.version;
        rewrite(&store, &sum.id, old, version).await;
        let m = store.read_manifest(old).await.unwrap();
        assert_eq!(m.header.format_version, v);
        assert_eq!(names(&m), names(&v3), "same entries through v{v}");
        assert!(m.entries.iter().all(|e| e.hash.len() == 64), "SHA-256 ids");
        let report = verify(&store, old, &Progress::new()).await.unwrap();
        assert_eq!(report.objects, sum.object_count);
        let dst = Sim::start(&[]);
        let rep = dst.restore_into(&store, old).await;
        assert_eq!(rep.count(Outcome::Failed), 0, "v{v}: {:?}", rep.results);
        assert!(rep.count(Outcome::Created) >= 20, "v{v}: {:?}", rep.counts);
    }

    // With only format 1 and 2 snapshots of the cluster left, a capture starts a new
    // lineage: a fresh key, and no dedup across id algorithms (everything uploaded).
    store.delete_snapshot(&sum.id).await.unwrap();
    let again = src.capture_into(&store, "src").await;
    assert_eq!(
        again.new_objects, again.distinct_objects,
        "no dedup across algorithms"
    );
    let key = store.read_header(&again.id).await.unwrap().id_key.unwrap();
    assert_ne!(key, v3_key, "a fresh lineage key");
    // The next one continues that lineage: nothing new uploaded.
    let third = src.capture_into(&store, "src").await;
    assert_eq!((third.new_objects, third.bytes_uploaded), (0, 0));
    assert_eq!(
        store.read_header(&third.id).await.unwrap().id_key,
        Some(key)
    );

    rewrite(
        &store,
        "src-20200101T000000Z-aaaaaa",
        "src-20200101T000000Z-bbbbbb",
        Rewrite {
            version: 99,
            ..Rewrite::v1()
        },
    )
    .await;
    let err = store
        .read_manifest("src-20200101T000000Z-bbbbbb")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedVersion { found: 99, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("format version 99") && msg.contains("upgrade lifeboat"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_16_byte_hmacs_keyed_per_cluster_lineage() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let a = src.capture_into(&store, "a").await;
    let b = src.capture_into(&store, "b").await;
    let (ma, mb) = (
        store.read_manifest(&a.id).await.unwrap(),
        store.read_manifest(&b.id).await.unwrap(),
    );
    assert_eq!(ma.header.hash_algorithm, "hmac-sha256-128");
    let key_a = ma.header.id_key.clone().unwrap();
    assert_ne!(Some(&key_a), mb.header.id_key.as_ref(), "a key per cluster");
    // Ids are the first 16 bytes of HMAC-SHA256(id_key, object), so the same object
    // has different ids in the two lineages (b uploaded everything again).
    assert_eq!(b.new_objects, b.distinct_objects);
    let reader = SnapshotReader::open(&store, &a.id, 0).await.unwrap();
    let hasher = Hasher::Hmac128(key_a.bytes().unwrap());
    for (ea, eb) in ma.entries.iter().zip(&mb.entries) {
        assert_eq!((&ea.name, &ea.kind), (&eb.name, &eb.kind));
        assert_eq!(ea.hash.len(), 32, "{}", ea.display());
        assert_ne!(ea.hash, eb.hash, "{}", ea.display());
        let bytes = reader.object_bytes(ea).await.unwrap();
        assert_eq!(hasher.hash(&bytes).to_hex(), ea.hash);
    }
    assert!(
        ma.chunks.iter().all(|c| c.hash.len() == 32),
        "chunk ids too"
    );

    // The same lineage again: same key, same ids, only the manifest uploaded.
    let a2 = src.capture_into(&store, "a").await;
    assert_eq!((a2.new_objects, a2.bytes_uploaded), (0, 0));
    assert!(a2.new_packs.is_empty());
    let ma2 = store.read_manifest(&a2.id).await.unwrap();
    assert_eq!(ma2.header.id_key.as_ref(), Some(&key_a));
    assert_eq!(ma2.entries, ma.entries);

    // The key is in the manifest headers and nowhere else; not in what a capture
    // returns (the orchestrator's records are built from it) nor in Debug output.
    let key_hex = serde_json::to_value(&key_a).unwrap();
    let key_hex = key_hex.as_str().unwrap();
    for (path, bytes) in all_files(dir.path()) {
        let found = bytes.windows(64).any(|w| w == key_hex.as_bytes());
        let is_a_manifest = path.starts_with(dir.path().join("manifests"))
            && [&a.id, &a2.id]
                .iter()
                .any(|id| path.ends_with(format!("{id}.manifest")));
        assert_eq!(found, is_a_manifest, "{}", path.display());
    }
    let shown = format!(
        "{} {a2:?} {:?}",
        serde_json::to_string(&a2).unwrap(),
        ma2.header
    );
    assert!(!shown.contains(key_hex), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_objects_and_unusable_id_keys_are_refused() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let sum = src.capture_into(&store, "src").await;
    let key = store.read_header(&sum.id).await.unwrap().id_key.unwrap();

    // Same format, same key, one object's byte flipped after its id was computed.
    let tampered = "src-20200101T000000Z-tttttt";
    rewrite(
        &store,
        &sum.id,
        tampered,
        Rewrite {
            version: 3,
            hasher: Hasher::Hmac128(key.bytes().unwrap()),
            id_key: Some(key.clone()),
            encode: chunk::encode,
            tamper: Some(("shop", "cfg-1")),
        },
    )
    .await;
    let err = verify(&store, tampered, &Progress::new())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("ConfigMap/v1 shop/cfg-1") && msg.contains("content hash mismatch"),
        "{msg}"
    );
    let err = store
        .read_object(tampered, ("", "ConfigMap"), Some("shop"), "cfg-1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ConfigMap/v1 shop/cfg-1") && err.contains("hash mismatch"),
        "{err}"
    );
    let other = store
        .read_object(tampered, ("", "ConfigMap"), Some("blog"), "cfg-1")
        .await
        .unwrap();
    assert!(other.is_some(), "untampered objects still read");

    // A format-3 header without encryption needs its id_key: missing or malformed, the
    // error names the manifest and the field.
    for (new_id, id_key, expect) in [
        (
            "src-20200101T000000Z-mmmmmm",
            None,
            "id_key, which is missing",
        ),
        (
            "src-20200101T000000Z-kkkkkk",
            Some("not-a-key"),
            "id_key must be 64 hex characters",
        ),
    ] {
        edit_header(&store, &sum.id, new_id, |h| {
            // Later than every other snapshot: the next capture looks at it first.
            h["completed_at"] = "2100-01-01T00:00:00Z".into();
            match id_key {
                Some(k) => h["id_key"] = k.into(),
                None => drop(h.as_object_mut().unwrap().remove("id_key")),
            }
        })
        .await;
        let err = store.read_manifest(new_id).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{msg}");
        assert!(
            msg.contains(&format!("manifests/{new_id}.manifest")) && msg.contains(expect),
            "{msg}"
        );
        assert!(verify(&store, new_id, &Progress::new()).await.is_err());
    }
    // A format-3 header claiming the ids of formats 1 and 2 is refused as such (not as a
    // hash mismatch on some object).
    let mixed = "src-20200101T000000Z-vvvvvv";
    edit_header(&store, &sum.id, mixed, |h| {
        h["completed_at"] = "2100-01-01T00:00:00Z".into();
        h["hash_algorithm"] = "sha256".into();
    })
    .await;
    let msg = store.read_manifest(mixed).await.unwrap_err().to_string();
    assert!(
        msg.contains(&format!("manifests/{mixed}.manifest"))
            && msg.contains("format 3 manifests use hmac-sha256-128 object ids"),
        "{msg}"
    );
    // A capture skips the unusable (later) headers and continues the good lineage.
    let again = src.capture_into(&store, "src").await;
    assert_eq!((again.new_objects, again.bytes_uploaded), (0, 0));
    assert_eq!(
        store.read_header(&again.id).await.unwrap().id_key,
        Some(key)
    );
}
