//! Format versions: a snapshot written in manifest format 1 (JSON-lines entry chunks) is
//! still listed, verified and restored by this build, which writes format 2; a manifest
//! of a version this build does not know is refused with a clear error, not guessed at.

mod common;
use common::*;
use lifeboat_snapshot::chunk;
use lifeboat_snapshot::crypto::Hasher;
use lifeboat_snapshot::manifest::{self, BodyWriter, ChunkLine, ChunkRef};
use lifeboat_snapshot::pack::PackWriter;
use lifeboat_snapshot::*;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

/// Rewrite snapshot `id` as a format-1 snapshot `new_id`: its entry chunks re-encoded as
/// JSON lines in a new pack, and a manifest whose prefix and header say version 1.
async fn rewrite_as_v1(store: &SnapshotStore, id: &str, new_id: &str, version: u32) {
    let mut lines: Vec<ChunkLine> = vec![];
    let (mut header, chunks) = store.for_each_entry(id, |l| lines.push(l)).await.unwrap();
    let hasher = Hasher::for_key(None);
    let mut pack = PackWriter::new(3, 1 << 20, None);
    let mut v1_chunks = vec![];
    let mut rest = &lines[..];
    for c in &chunks {
        let (chunk, tail) = rest.split_at(c.entries as usize);
        rest = tail;
        let bytes = chunk::encode_v1(chunk);
        let hash = hasher.hash(&bytes);
        pack.push(hash, &bytes);
        v1_chunks.push((hash, c.entries));
    }
    let sealed = pack.finish();
    let mut body = BodyWriter::new();
    for (hash, entries) in &v1_chunks {
        let loc = sealed.objects.iter().find(|(h, _)| h == hash).unwrap();
        body.push(&ChunkRef {
            hash: hex::encode(hash),
            loc: loc.1.clone(),
            entries: *entries,
        });
    }
    let os = store.object_store();
    os.put(
        &Path::from(format!("packs/{}.pack", sealed.id)),
        PutPayload::from(sealed.bytes),
    )
    .await
    .unwrap();
    header.id = new_id.to_string();
    header.format_version = version;
    header.packs.push(sealed.id.clone());
    let mut bytes = manifest::encode(&mut header, &body.finish(None));
    bytes[4..8].copy_from_slice(&version.to_le_bytes());
    os.put(
        &Path::from(format!("manifests/{new_id}.manifest")),
        PutPayload::from(bytes),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_1_snapshots_are_still_read_and_restored() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap();
    let sum = src.capture_into(&store, "src").await;
    let v2 = store.read_manifest(&sum.id).await.unwrap();
    assert_eq!(v2.header.format_version, manifest::MANIFEST_VERSION);

    rewrite_as_v1(&store, &sum.id, "src-20200101T000000Z-aaaaaa", 1).await;
    let v1 = store
        .read_manifest("src-20200101T000000Z-aaaaaa")
        .await
        .unwrap();
    assert_eq!(v1.header.format_version, 1);
    assert_eq!(
        v1.entries, v2.entries,
        "same entries through either encoding"
    );
    assert_eq!(v1.objects, v2.objects, "same object locations");
    let report = verify(&store, "src-20200101T000000Z-aaaaaa", &Progress::new())
        .await
        .unwrap();
    assert_eq!(report.objects, sum.object_count);

    let dst = Sim::start(&[]);
    let rep = dst
        .restore_into(&store, "src-20200101T000000Z-aaaaaa")
        .await;
    assert_eq!(rep.count(Outcome::Failed), 0, "{:?}", rep.results);
    assert!(rep.count(Outcome::Created) >= 20, "{:?}", rep.counts);

    // An incremental capture after a format-1 snapshot re-uses its objects.
    store.delete_snapshot(&sum.id).await.unwrap();
    let again = src.capture_into(&store, "src").await;
    assert_eq!(
        again.new_objects, 0,
        "objects deduplicated against format 1"
    );

    rewrite_as_v1(
        &store,
        "src-20200101T000000Z-aaaaaa",
        "src-20200101T000000Z-bbbbbb",
        99,
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
