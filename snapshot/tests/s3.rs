//! The S3 path against a real S3-speaking server (moto, installed by
//! `scripts/deps/snapshot.sh`; missing moto fails the test, it does not skip): capture,
//! multipart upload of big packs, verify, restore, GC; a store failing mid-capture; moto
//! killed mid-capture, then a retry.

mod common;
use common::*;
use lifeboat_snapshot::*;
use object_store::ObjectStoreExt;
use serde_json::json;
use std::time::{Duration, Instant};

fn noisy_configmaps(n: usize, kb: usize) -> Vec<serde_json::Value> {
    let mut v = vec![namespace("big")];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..n {
        let mut data = String::with_capacity(kb * 1024);
        while data.len() < kb * 1024 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.push_str(&format!("{x:016x}"));
        }
        v.push(configmap("big", &format!("blob-{i:05}"), &data));
    }
    v
}

fn quick_retries(opts: StoreOptions) -> StoreOptions {
    StoreOptions {
        max_retries: 1,
        retry_timeout: Duration::from_secs(2),
        ..opts
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_capture_with_multipart_then_restore_and_gc() {
    let moto = Moto::start(0, "lifeboat");
    let src = Sim::seeded(&noisy_configmaps(2000, 8));
    let opts = StoreOptions {
        multipart_threshold: 5 << 20,
        multipart_part_size: 5 << 20,
        ..moto.store_options()
    };
    let store = SnapshotStore::open("s3://lifeboat/snaps/eu", opts).unwrap();
    let copts = CaptureOptions {
        pack_size: 6 << 20,
        ..CaptureOptions::default()
    };
    let sum = capture(src.client().await, "eu", &store, &copts, &Progress::new())
        .await
        .unwrap();
    assert!(sum.bytes_uploaded > 5 << 20, "{sum:?}");

    // The big pack went up in several parts: S3 multipart ETags end in "-<parts>".
    let mut multipart = 0;
    for p in &sum.new_packs {
        let meta = store
            .object_store()
            .head(&object_store::path::Path::from(format!("packs/{p}.pack")))
            .await
            .unwrap();
        let etag = meta.e_tag.unwrap_or_default();
        if meta.size > 5 << 20 {
            assert!(
                etag.trim_matches('"').contains('-'),
                "big pack {p} ({} bytes) not multipart: {etag}",
                meta.size
            );
            multipart += 1;
        }
    }
    assert!(multipart >= 1, "no pack above the multipart threshold");
    // The prefix is honoured: keys live under snaps/eu/ in the bucket.
    let (status, listing) = http(
        &moto.endpoint,
        "GET",
        "/lifeboat?list-type=2&prefix=snaps/eu/manifests/",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(listing.contains(&sum.id), "{listing}");

    let v = verify(&store, &sum.id, &Progress::new()).await.unwrap();
    assert_eq!(v.objects, sum.object_count);
    let second = capture(src.client().await, "eu", &store, &copts, &Progress::new())
        .await
        .unwrap();
    assert_eq!(
        second.bytes_uploaded, 0,
        "unchanged cluster uploads nothing"
    );

    let dst = Sim::start(&[]);
    let rep = restore(
        &store,
        &sum.id,
        dst.client().await,
        &RestoreOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.count(Outcome::Failed), 0);
    assert!(rep.count(Outcome::Created) >= 2001);

    store.delete_snapshot(&sum.id).await.unwrap();
    let g = gc(
        &store,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(
        g.deleted.is_empty(),
        "second snapshot still references every pack: {g:?}"
    );
    store.delete_snapshot(&second.id).await.unwrap();
    let g = gc(
        &store,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(g.deleted.len(), sum.new_packs.len(), "{g:?}");
    assert!(store.list_manifests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_killed_mid_capture_fails_cleanly_and_retry_succeeds() {
    let mut moto = Moto::start(0, "lifeboat");
    let port = moto.port;
    let src = Sim::seeded(&noisy_configmaps(300, 2));
    src.faults(json!({"latency_ms": 25}));
    let store = SnapshotStore::open("s3://lifeboat", quick_retries(moto.store_options())).unwrap();
    let copts = CaptureOptions {
        page_size: 5,
        block_size: 8 << 10,
        pack_size: 8 << 10,
        ..CaptureOptions::default()
    };
    let progress = Progress::new();
    let task = {
        let (store, progress, copts, client) = (
            store.clone(),
            progress.clone(),
            copts.clone(),
            src.client().await,
        );
        tokio::spawn(async move { capture(client, "eu", &store, &copts, &progress).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.report().bytes_uploaded == 0 {
        assert!(Instant::now() < deadline, "no pack uploaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    moto.child.kill().unwrap();
    moto.child.wait().unwrap();
    let err = tokio::time::timeout(Duration::from_secs(90), task)
        .await
        .expect("capture hung")
        .unwrap()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, CaptureError::Store(StoreError::Backend { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("no snapshot was recorded") && msg.contains("packs/"),
        "{msg}"
    );
    drop(moto);

    // The store comes back (empty: moto keeps state in memory); the retry succeeds.
    let moto = Moto::start(port, "lifeboat");
    src.faults(json!({"latency_ms": 0}));
    let store = SnapshotStore::open("s3://lifeboat", quick_retries(moto.store_options())).unwrap();
    let ok = capture(src.client().await, "eu", &store, &copts, &Progress::new())
        .await
        .unwrap();
    assert_eq!(store.list_manifests().await.unwrap().len(), 1);
    verify(&store, &ok.id, &Progress::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_missing_bucket_is_named_and_the_good_store_is_untouched() {
    let moto = Moto::start(0, "lifeboat");
    let src = Sim::seeded(&noisy_configmaps(200, 2));
    let store =
        SnapshotStore::open("s3://lifeboat/x", quick_retries(moto.store_options())).unwrap();
    // A handle on a bucket that does not exist: the capture fails naming the S3 error.
    let missing =
        SnapshotStore::open("s3://no-such-bucket", quick_retries(moto.store_options())).unwrap();
    let err = capture(
        src.client().await,
        "eu",
        &missing,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("no-such-bucket") || err.to_string().contains("NoSuchBucket"),
        "{err}"
    );
    // The good store is untouched and works.
    assert!(store.list_manifests().await.unwrap().is_empty());
    let ok = capture(
        src.client().await,
        "eu",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(store.list_manifests().await.unwrap()[0].id, ok.id);
}
