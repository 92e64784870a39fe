//! Bad input and faults: a store failing mid-capture, corrupted and missing packs,
//! cluster API errors mid-capture, types the target does not serve.

mod common;
use async_trait::async_trait;
use common::*;
use futures::stream::BoxStream;
use lifeboat_snapshot::*;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Wraps a store; every pack put after the first `allowed` fails.
#[derive(Debug)]
struct FailAfter {
    inner: Arc<dyn ObjectStore>,
    allowed: usize,
    puts: AtomicUsize,
}

impl std::fmt::Display for FailAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailAfter({})", self.allowed)
    }
}

#[async_trait]
impl ObjectStore for FailAfter {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if location.as_ref().starts_with("packs/")
            && self.puts.fetch_add(1, Ordering::SeqCst) >= self.allowed
        {
            return Err(object_store::Error::Generic {
                store: "faulty",
                source: "injected failure: disk full".into(),
            });
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn many_configmaps(n: usize) -> Vec<serde_json::Value> {
    let mut v = vec![namespace("a")];
    for i in 0..n {
        // Poorly compressible payload so that packs fill up.
        let noise: String = (0..40)
            .map(|k| {
                format!(
                    "{:016x}",
                    (i as u64 * 7919 + k).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                )
            })
            .collect();
        v.push(configmap("a", &format!("c{i:04}"), &noise));
    }
    v
}

fn small_packs() -> CaptureOptions {
    CaptureOptions {
        block_size: 8 << 10,
        pack_size: 8 << 10,
        ..CaptureOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failing_mid_capture_leaves_nothing_visible_and_is_retryable() {
    let src = Sim::seeded(&many_configmaps(400));
    let mem: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let faulty = SnapshotStore::from_object_store(
        Arc::new(FailAfter {
            inner: mem.clone(),
            allowed: 2,
            puts: AtomicUsize::new(0),
        }),
        "faulty",
        StoreOptions::default(),
    );
    let healthy = SnapshotStore::from_object_store(mem.clone(), "mem", StoreOptions::default());
    let progress = Progress::new();
    let err = capture(src.client().await, "a", &faulty, &small_packs(), &progress)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CaptureError::Store(_)), "{msg}");
    assert!(
        msg.contains("injected failure: disk full") && msg.contains("no snapshot was recorded"),
        "{msg}"
    );
    assert_eq!(progress.report().phase, Phase::Failed);
    assert!(
        healthy.list_manifests().await.unwrap().is_empty(),
        "no manifest after a failed capture"
    );
    assert!(
        healthy.list_leases().await.unwrap().is_empty(),
        "lease removed"
    );

    // Orphan packs exist and GC collects them (grace 0).
    let gc1 = gc(
        &healthy,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(gc1.deleted.len() >= 2, "{gc1:?}");

    // Retry against the healthy store succeeds.
    let ok = capture(
        src.client().await,
        "a",
        &healthy,
        &small_packs(),
        &Progress::new(),
    )
    .await
    .unwrap();
    assert!(ok.object_count >= 401, "{ok:?}");
    verify(&healthy, &ok.id, &Progress::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_or_missing_pack_refuses_restore_before_any_write() {
    let src = Sim::seeded(&many_configmaps(50));
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap();
    let sum = capture(
        src.client().await,
        "a",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    let dst = Sim::start(&[]);
    let before = dst.object_count();

    let pack = dir
        .path()
        .join("packs")
        .join(format!("{}.pack", sum.new_packs[0]));
    let original = std::fs::read(&pack).unwrap();
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x5a;
    std::fs::write(&pack, &bad).unwrap();
    let err = restore(
        &store,
        &sum.id,
        dst.client().await,
        &RestoreOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, RestoreError::Store(StoreError::Corrupt { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("nothing was written") && msg.contains(&sum.new_packs[0]),
        "{msg}"
    );
    assert!(
        msg.contains("/v1 a/") || msg.contains("Namespace/v1"),
        "names the object: {msg}"
    );
    assert_eq!(dst.object_count(), before, "target unchanged");
    assert!(verify(&store, &sum.id, &Progress::new()).await.is_err());

    std::fs::remove_file(&pack).unwrap();
    let err = restore(
        &store,
        &sum.id,
        dst.client().await,
        &RestoreOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("missing from the store"), "{err}");
    assert_eq!(dst.object_count(), before, "target unchanged");

    // A corrupted manifest is refused too.
    std::fs::write(&pack, &original).unwrap();
    let mf = dir
        .path()
        .join("manifests")
        .join(format!("{}.manifest", sum.id));
    let mut m = std::fs::read(&mf).unwrap();
    let last = m.len() - 3;
    m[last] ^= 1;
    std::fs::write(&mf, &m).unwrap();
    let err = restore(
        &store,
        &sum.id,
        dst.client().await,
        &RestoreOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("SHA-256 mismatch") && err.to_string().contains("manifest"),
        "{err}"
    );
    assert_eq!(dst.object_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_entry_chunk_names_the_manifest() {
    let src = Sim::seeded(&many_configmaps(30));
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap();
    let sum = capture(
        src.client().await,
        "a",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    let m = store.read_manifest(&sum.id).await.unwrap();
    let loc = &m.chunks[0].loc;
    let pack = dir.path().join("packs").join(format!("{}.pack", loc.pack));
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[loc.block_offset as usize + loc.block_len as usize / 2] ^= 0xff;
    std::fs::write(&pack, &bytes).unwrap();
    let err = store.read_manifest(&sum.id).await.unwrap_err().to_string();
    assert!(
        err.contains("entry chunk") && err.contains(&sum.id),
        "{err}"
    );
    let dst = Sim::start(&[]);
    let before = dst.object_count();
    assert!(
        restore(
            &store,
            &sum.id,
            dst.client().await,
            &RestoreOptions::default(),
            &Progress::new()
        )
        .await
        .is_err()
    );
    assert_eq!(dst.object_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_api_errors_mid_capture_name_the_failing_type() {
    let src = Sim::seeded(&many_configmaps(200));
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap();
    src.faults(json!({"latency_ms": 20}));
    let progress = Progress::new();
    let opts = CaptureOptions {
        page_size: 5,
        ..CaptureOptions::default()
    };
    let client = src.client().await;
    let task = {
        let (store, progress, opts) = (store.clone(), progress.clone(), opts.clone());
        tokio::spawn(async move { capture(client, "a", &store, &opts, &progress).await })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while progress.report().done < 10 {
        assert!(Instant::now() < deadline, "capture made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    src.faults(json!({"error_rate": 1.0, "error_code": 500}));
    let err = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CaptureError::List { .. }), "{msg}");
    assert!(
        msg.contains("listing ") && msg.contains("after 3 attempt"),
        "{msg}"
    );
    let CaptureError::List { resource, .. } = &err else {
        unreachable!()
    };
    assert!(resource.contains('/') && !resource.is_empty(), "{resource}");
    assert!(store.list_manifests().await.unwrap().is_empty());

    // Cluster down before the start: the discovery error says so.
    src.faults(json!({"mode": "down"}));
    let err = capture(src.client().await, "a", &store, &opts, &Progress::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("check the cluster is reachable"),
        "{err}"
    );
    // Healed: retry succeeds.
    src.faults(json!({"mode": "healthy"}));
    let ok = capture(
        src.client().await,
        "a",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    assert!(ok.object_count >= 201, "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_types_are_reported_per_object_or_abort() {
    let src = Sim::seeded(&[
        crd(),
        namespace("a"),
        widget("a", "w1"),
        widget("a", "w2"),
        configmap("a", "c", "x"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        StoreOptions::default(),
    )
    .unwrap();
    let mut filters = Filters::default();
    filters
        .excluded_types
        .push("customresourcedefinitions.apiextensions.k8s.io".into());
    let sum = capture(
        src.client().await,
        "a",
        &store,
        &CaptureOptions::default().filters(filters),
        &Progress::new(),
    )
    .await
    .unwrap();

    let dst = Sim::start(&[]);
    let before = dst.object_count();
    let abort = RestoreOptions {
        on_unsupported: OnUnsupported::Abort,
        ..Default::default()
    };
    let err = restore(
        &store,
        &sum.id,
        dst.client().await,
        &abort,
        &Progress::new(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("Widget.example.com/v1") && err.to_string().contains("2 object"),
        "{err}"
    );
    assert_eq!(dst.object_count(), before, "abort wrote nothing");

    let rep = restore(
        &store,
        &sum.id,
        dst.client().await,
        &RestoreOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.unsupported_types, ["Widget.example.com/v1"]);
    let widgets: Vec<_> = rep
        .results
        .iter()
        .filter(|r| r.gvk.starts_with("Widget"))
        .collect();
    assert_eq!(widgets.len(), 2);
    assert!(widgets.iter().all(
        |r| r.outcome == Outcome::Failed && r.reason.as_deref().unwrap().contains("not served")
    ));
    assert_eq!(
        rep.results.iter().find(|r| r.name == "c").unwrap().outcome,
        Outcome::Created
    );
}

#[tokio::test]
async fn invalid_options_are_refused_with_the_field_named() {
    let store = SnapshotStore::open("memory://invalid-opts", StoreOptions::default()).unwrap();
    let _ = &store;
    let bad = CaptureOptions {
        page_size: 0,
        ..CaptureOptions::default()
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("page_size")
    );
    let bad = RestoreOptions {
        parallelism: 0,
        ..RestoreOptions::default()
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("parallelism")
    );
    assert!(matches!(
        store.read_manifest("nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.read_manifest("../../etc/passwd").await,
        Err(StoreError::NotFound(_))
    ));
}
