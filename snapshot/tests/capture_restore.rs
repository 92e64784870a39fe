//! Capture from a real kubesim and restore into another: round trip, skip lists,
//! normalisation on the wire, CRDs before CRs, namespace mapping, policies, dry-run diff,
//! incremental captures, encryption, reading one object back, progress, retention + GC.

mod common;
use common::*;
use lifeboat_snapshot::*;
use serde_json::json;
use std::time::Duration;

fn file_store(dir: &std::path::Path, opts: StoreOptions) -> SnapshotStore {
    SnapshotStore::open(&format!("file://{}", dir.display()), opts).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_into_an_empty_cluster() {
    let src = Sim::seeded(&app_objects());
    let dst = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let progress = Progress::new();
    let sum = capture(
        src.client().await,
        "src",
        &store,
        &CaptureOptions::default(),
        &progress,
    )
    .await
    .unwrap();

    let r = progress.report();
    assert_eq!(r.phase, Phase::Done);
    assert_eq!(r.done, r.discovered);
    assert!(r.types["configmaps"].done >= 6, "{r:?}");
    let h = store.read_header(&sum.id).await.unwrap();
    assert_eq!(h.cluster, "src");
    assert!(
        h.kubernetes_version.starts_with("v1."),
        "{}",
        h.kubernetes_version
    );
    assert_eq!(h.object_count, sum.object_count);
    assert!(!h.types.contains_key("events"), "events skipped");
    assert!(
        !h.types.contains_key("pods"),
        "owned pod skipped: {:?}",
        h.types
    );
    assert_eq!(h.types["widgets.example.com"], 2);
    assert_eq!(h.types["customresourcedefinitions.apiextensions.k8s.io"], 1);
    assert_eq!(store.list_manifests().await.unwrap().len(), 1);
    let v = verify(&store, &sum.id, &Progress::new()).await.unwrap();
    assert_eq!(v.objects, sum.object_count);

    let m = store.read_manifest(&sum.id).await.unwrap();
    let reader = lifeboat_snapshot::reader::SnapshotReader::open(&store, &sum.id, 0)
        .await
        .unwrap();
    let svc = m
        .entries
        .iter()
        .find(|e| e.kind == "Service" && e.name == "web")
        .unwrap();
    let stored = reader.object(svc).await.unwrap();
    assert!(stored["spec"].get("clusterIP").is_none(), "{stored}");
    assert!(
        stored["metadata"].get("uid").is_none()
            && stored["metadata"].get("resourceVersion").is_none()
    );
    assert!(stored.get("status").is_none());

    let before = dst.object_count();
    let progress = Progress::new();
    let opts = RestoreOptions {
        target_cluster: "dst".into(),
        ..Default::default()
    };
    let rep = restore(&store, &sum.id, dst.client().await, &opts, &progress)
        .await
        .unwrap();
    let failed: Vec<_> = rep
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(rep.count(Outcome::Created) >= 20, "{:?}", rep.counts);
    assert_eq!(
        progress.report().done,
        sum.object_count + sum.object_count /* verify + apply */
    );
    assert!(dst.object_count() > before);

    let c = dst.client().await;
    let cm = api(&c, "", "v1", "ConfigMap", Some("shop"))
        .await
        .get("cfg-2")
        .await
        .unwrap();
    assert_eq!(cm.data["data"]["config.yaml"], "listen: 8080\nworkers: 2\n");
    let w = api(&c, "example.com", "v1", "Widget", Some("blog"))
        .await
        .get("w1")
        .await
        .unwrap();
    assert_eq!(w.data["spec"]["size"], 3);
    let d = api(&c, "apps", "v1", "Deployment", Some("shop"))
        .await
        .get("web")
        .await
        .unwrap();
    assert_eq!(d.data["spec"]["replicas"], 2);
    // Tiers: CRDs before namespaces before workloads before custom resources.
    let pos = |kind: &str| {
        rep.results
            .iter()
            .position(|r| r.gvk.starts_with(kind))
            .unwrap()
    };
    assert!(pos("CustomResourceDefinition") < pos("Namespace"));
    assert!(
        pos("Namespace") < pos("ConfigMap")
            && pos("ConfigMap") < pos("Deployment")
            && pos("Deployment") < pos("Widget")
    );

    // Restoring again with policy skip: everything exists.
    let again = restore(&store, &sum.id, dst.client().await, &opts, &Progress::new())
        .await
        .unwrap();
    assert_eq!(
        again.count(Outcome::Skipped),
        sum.object_count,
        "{:?}",
        again.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_mapping_policies_and_dry_run_diff() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let filters = Filters {
        include_namespaces: vec!["shop".into()],
        include_cluster_scoped: false,
        ..Filters::default()
    };
    let sum = capture(
        src.client().await,
        "src",
        &store,
        &CaptureOptions::default().filters(filters),
        &Progress::new(),
    )
    .await
    .unwrap();
    let m = store.read_manifest(&sum.id).await.unwrap();
    assert!(
        m.entries
            .iter()
            .all(|e| e.namespace.as_deref() == Some("shop")
                || (e.kind == "Namespace" && e.name == "shop")),
        "{:?}",
        m.entries
    );

    let dst = Sim::seeded(&[
        namespace("drill"),
        configmap("drill", "cfg-0", "changed: true\n"),
    ]);
    let c = dst.client().await;
    let base = RestoreOptions::default().map_namespace("shop", "drill");

    // Dry run: plan + diff, no writes.
    let before = dst.object_count();
    let dry = restore(
        &store,
        &sum.id,
        c.clone(),
        &RestoreOptions {
            dry_run: true,
            policy: ExistingPolicy::Update,
            ..base.clone()
        },
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(dst.object_count(), before, "dry run wrote nothing");
    let cfg0 = dry.results.iter().find(|r| r.name == "cfg-0").unwrap();
    assert_eq!(cfg0.outcome, Outcome::WouldUpdate);
    assert_eq!(cfg0.namespace.as_deref(), Some("drill"));
    assert!(
        cfg0.diff.iter().any(|d| d.path == "/data/config.yaml"),
        "{:?}",
        cfg0.diff
    );
    assert_eq!(
        dry.results
            .iter()
            .find(|r| r.name == "cfg-1")
            .unwrap()
            .outcome,
        Outcome::WouldCreate
    );

    // Skip keeps the existing object.
    let skip = restore(&store, &sum.id, c.clone(), &base, &Progress::new())
        .await
        .unwrap();
    assert_eq!(
        skip.results
            .iter()
            .find(|r| r.name == "cfg-0")
            .unwrap()
            .outcome,
        Outcome::Skipped
    );
    let cms = api(&c, "", "v1", "ConfigMap", Some("drill")).await;
    assert_eq!(
        cms.get("cfg-0").await.unwrap().data["data"]["config.yaml"],
        "changed: true\n"
    );
    assert!(
        cms.get("cfg-1").await.is_ok(),
        "mapped namespace received the rest"
    );

    // Update replaces it, keeping the uid.
    let uid = cms.get("cfg-0").await.unwrap().metadata.uid;
    let upd = restore(
        &store,
        &sum.id,
        c.clone(),
        &RestoreOptions {
            policy: ExistingPolicy::Update,
            ..base.clone()
        },
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        upd.results
            .iter()
            .find(|r| r.name == "cfg-0")
            .unwrap()
            .outcome,
        Outcome::Updated
    );
    let now = cms.get("cfg-0").await.unwrap();
    assert_eq!(
        now.data["data"]["config.yaml"],
        "listen: 8080\nworkers: 0\n"
    );
    assert_eq!(now.metadata.uid, uid);

    // Recreate deletes and creates (new uid).
    let rec = restore(
        &store,
        &sum.id,
        c.clone(),
        &RestoreOptions {
            policy: ExistingPolicy::Recreate,
            ..base.clone()
        },
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        rec.results
            .iter()
            .find(|r| r.name == "cfg-0")
            .unwrap()
            .outcome,
        Outcome::Recreated
    );
    assert_ne!(cms.get("cfg-0").await.unwrap().metadata.uid, uid);

    // Dry run after restore: unchanged.
    let dry2 = restore(
        &store,
        &sum.id,
        c.clone(),
        &RestoreOptions {
            dry_run: true,
            ..base
        },
        &Progress::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        dry2.results
            .iter()
            .find(|r| r.name == "cfg-1")
            .unwrap()
            .outcome,
        Outcome::Unchanged,
        "{:?}",
        dry2.results.iter().find(|r| r.name == "cfg-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_capture_uploads_only_changes() {
    let mut objs = vec![namespace("a")];
    for i in 0..300 {
        objs.push(configmap(
            "a",
            &format!("c{i}"),
            &format!("value-{i}-{}", "x".repeat(500)),
        ));
    }
    let src = Sim::seeded(&objs);
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let c = src.client().await;
    let opts = CaptureOptions::default();
    let first = capture(c.clone(), "a", &store, &opts, &Progress::new())
        .await
        .unwrap();
    assert!(first.bytes_uploaded > 0 && first.new_objects >= 301);
    let second = capture(c.clone(), "a", &store, &opts, &Progress::new())
        .await
        .unwrap();
    assert_eq!(second.new_objects, 0);
    assert_eq!(second.bytes_uploaded, 0);
    assert!(second.new_packs.is_empty());
    create(&c, configmap("a", "new-one", "fresh")).await;
    let third = capture(c.clone(), "a", &store, &opts, &Progress::new())
        .await
        .unwrap();
    assert_eq!(third.new_objects, 1);
    assert_eq!(third.object_count, second.object_count + 1);
    verify(&store, &third.id, &Progress::new()).await.unwrap();
    // Another cluster does not dedup against this one's index, but still restores fine.
    assert_eq!(store.list_manifests().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_keeps_secrets_out_of_the_store() {
    let secret_b64 = "aHVudGVyMi1zdXBlci1zZWNyZXQtcGFzc3dvcmQ="; // hunter2-super-secret-password
    let src = Sim::seeded(&[
        namespace("a"),
        secret("a", "db", secret_b64),
        configmap("a", "c", "plain"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::from_bytes([42; 32]);
    let store = file_store(
        dir.path(),
        StoreOptions::default().with_encryption(key.clone()),
    );
    let sum = capture(
        src.client().await,
        "a",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    let h = store.read_header(&sum.id).await.unwrap();
    assert_eq!(h.encryption.as_ref().unwrap().key_id, key.id());
    assert_eq!(h.hash_algorithm, "hmac-sha256-128");
    assert_eq!(
        h.id_key, None,
        "with encryption the id key is derived, never written"
    );
    for (path, bytes) in all_files(dir.path()) {
        for needle in [
            secret_b64.as_bytes(),
            b"hunter2".as_slice(),
            b"super-secret".as_slice(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext secret in {}",
                path.display()
            );
        }
    }
    verify(&store, &sum.id, &Progress::new()).await.unwrap();
    // Ids keyed by the data key: the next capture re-uses every object.
    let again = src.capture_into(&store, "a").await;
    assert_eq!((again.new_objects, again.bytes_uploaded), (0, 0));
    // Without the key, or with another key: refused with a clear message.
    let nokey = file_store(dir.path(), StoreOptions::default());
    let e = verify(&nokey, &sum.id, &Progress::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("encrypted") || e.contains("key"), "{e}");
    let other = file_store(
        dir.path(),
        StoreOptions::default().with_encryption(EncryptionKey::from_bytes([1; 32])),
    );
    let e = verify(&other, &sum.id, &Progress::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(key.id()), "{e}");
    // Restore with the key works.
    let dst = Sim::start(&[]);
    let rep = dst.restore_into(&store, &sum.id).await;
    assert_eq!(rep.count(Outcome::Failed), 0, "{:?}", rep.results);
    let s = api(&dst.client().await, "", "v1", "Secret", Some("a"))
        .await
        .get("db")
        .await
        .unwrap();
    assert_eq!(s.data["data"]["password"], secret_b64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_object_reads_one_object_of_an_encrypted_snapshot() {
    let src = Sim::seeded(&app_objects());
    let dir = tempfile::tempdir().unwrap();
    let key = EncryptionKey::from_bytes([7; 32]);
    let store = file_store(dir.path(), StoreOptions::default().with_encryption(key));
    let sum = capture(
        src.client().await,
        "src",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    let web = store
        .read_object(&sum.id, ("apps", "Deployment"), Some("shop"), "web")
        .await
        .unwrap()
        .expect("shop/web is in the snapshot");
    assert_eq!(web["spec"]["replicas"], 2, "{web}");
    assert_eq!(web["metadata"]["namespace"], "shop");
    // Cluster-scoped: no namespace.
    let ns = store
        .read_object(&sum.id, ("", "Namespace"), None, "blog")
        .await
        .unwrap()
        .expect("namespace blog");
    assert_eq!(ns["metadata"]["name"], "blog");
    // Absent: wrong name, wrong namespace, wrong group, namespace given for a cluster-scoped object.
    for (gk, ns, name) in [
        (("apps", "Deployment"), Some("shop"), "nope"),
        (("apps", "Deployment"), Some("nope"), "web"),
        (("", "Deployment"), Some("shop"), "web"),
        (("", "Namespace"), Some("shop"), "blog"),
    ] {
        let got = store.read_object(&sum.id, gk, ns, name).await.unwrap();
        assert!(got.is_none(), "{gk:?} {ns:?}/{name}: {got:?}");
    }
    let e = store
        .read_object("src-nope", ("apps", "Deployment"), Some("shop"), "web")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    // Without the key: refused, not garbage.
    let nokey = file_store(dir.path(), StoreOptions::default());
    let e = nokey
        .read_object(&sum.id, ("apps", "Deployment"), Some("shop"), "web")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("encrypted") || e.contains("key"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_then_gc_reclaims_unreferenced_packs() {
    let src = Sim::seeded(&[namespace("a")]);
    let c = src.client().await;
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let mut ids = vec![];
    for i in 0..3 {
        create(&c, configmap("a", &format!("gen-{i}"), &"y".repeat(2000))).await;
        ids.push(
            capture(
                c.clone(),
                "a",
                &store,
                &CaptureOptions::default(),
                &Progress::new(),
            )
            .await
            .unwrap()
            .id,
        );
    }
    let metas: Vec<SnapshotMeta> = store
        .list_manifests()
        .await
        .unwrap()
        .iter()
        .map(SnapshotMeta::from)
        .collect();
    let plan = retention::plan(
        &metas,
        &RetentionPolicy {
            keep_last: 1,
            ..Default::default()
        },
    );
    assert_eq!(plan.delete, ids[..2].to_vec());
    for id in &plan.delete {
        store.delete_snapshot(id).await.unwrap();
    }
    assert!(matches!(
        store.read_header(&ids[0]).await,
        Err(StoreError::NotFound(_))
    ));

    // A live lease defers GC entirely.
    let lease_dir = dir.path().join("leases");
    std::fs::create_dir_all(&lease_dir).unwrap();
    let lease = json!({"id": "other", "cluster": "b", "started_at": chrono::Utc::now(), "expires_at": chrono::Utc::now() + chrono::Duration::hours(1)});
    std::fs::write(lease_dir.join("other.lease"), lease.to_string()).unwrap();
    let deferred = gc(
        &store,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(deferred.deferred_for_leases, ["other"]);
    assert!(deferred.deleted.is_empty());
    std::fs::remove_file(lease_dir.join("other.lease")).unwrap();

    // Young packs are kept during the grace period.
    let young = gc(
        &store,
        &GcOptions {
            grace: Duration::from_secs(3600),
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(young.deleted.is_empty());
    let report = gc(
        &store,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    // The kept snapshot references the first two captures' packs too (dedup), so only
    // packs no longer referenced go.
    let kept = store.read_header(&ids[2]).await.unwrap();
    for p in &report.deleted {
        assert!(!kept.packs.contains(p));
    }
    assert_eq!(report.packs_referenced as usize, kept.packs.len());
    verify(&store, &ids[2], &Progress::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_defers_while_a_capture_runs_and_progress_is_visible() {
    let mut objs = vec![namespace("a")];
    for i in 0..150 {
        objs.push(configmap("a", &format!("c{i}"), &format!("v{i}")));
    }
    let src = Sim::seeded(&objs);
    src.faults(json!({"latency_ms": 20}));
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let progress = Progress::new();
    let task = {
        let (store, progress, client) = (store.clone(), progress.clone(), src.client().await);
        let opts = CaptureOptions {
            page_size: 10,
            ..CaptureOptions::default()
        };
        tokio::spawn(async move { capture(client, "a", &store, &opts, &progress).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while progress.report().done < 20 {
        assert!(std::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mid = progress.report();
    assert_eq!(mid.phase, Phase::Capturing);
    assert!(
        mid.types["configmaps"].done > 0
            && mid.types["configmaps"].discovered >= mid.types["configmaps"].done
    );
    let g = gc(
        &store,
        &GcOptions {
            grace: Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(g.deferred_for_leases.len(), 1, "{g:?}");
    assert!(g.deferred_for_leases[0].starts_with("a-"));
    let sum = task.await.unwrap().unwrap();
    assert_eq!(g.deferred_for_leases[0], sum.id);
    assert!(
        store.list_leases().await.unwrap().is_empty(),
        "lease removed after success"
    );
    verify(&store, &sum.id, &Progress::new()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_filter_restores_one_namespace_with_annotations() {
    let src = Sim::seeded(&app_objects());
    let dst = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), StoreOptions::default());
    let sum = capture(
        src.client().await,
        "src",
        &store,
        &CaptureOptions::default(),
        &Progress::new(),
    )
    .await
    .unwrap();
    let opts = RestoreOptions {
        namespaces: Some(["shop".to_string()].into()),
        annotations: [("lifeboat.dev/restored-by".to_string(), "run-7".to_string())].into(),
        ..RestoreOptions::default().map_namespace("shop", "shop-drill")
    };
    let rep = restore(&store, &sum.id, dst.client().await, &opts, &Progress::new())
        .await
        .unwrap();

    // Only shop's objects and its Namespace were planned: no blog, no CRD.
    assert!(
        rep.results
            .iter()
            .all(|r| r.namespace.as_deref() == Some("shop-drill")
                || (r.gvk.starts_with("Namespace") && r.name == "shop-drill")),
        "{:#?}",
        rep.results
    );
    assert!(rep.count(Outcome::Created) >= 8, "{:?}", rep.counts);
    let c = dst.client().await;
    let namespaces = api(&c, "", "v1", "Namespace", None).await;
    assert!(namespaces.get_opt("blog").await.unwrap().is_none());
    let ns = namespaces.get("shop-drill").await.unwrap();
    assert_eq!(
        ns.metadata.annotations.unwrap()["lifeboat.dev/restored-by"],
        "run-7"
    );
    let crds = api(
        &c,
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        None,
    )
    .await;
    assert!(crds.get_opt("widgets.example.com").await.unwrap().is_none());
    let cm = api(&c, "", "v1", "ConfigMap", Some("shop-drill"))
        .await
        .get("cfg-1")
        .await
        .unwrap();
    assert_eq!(
        cm.metadata.annotations.unwrap()["lifeboat.dev/restored-by"],
        "run-7"
    );
    let blog_cms = api(&c, "", "v1", "ConfigMap", Some("blog")).await;
    assert!(blog_cms.get_opt("cfg-1").await.unwrap().is_none());
    // The shop Widget's CRD was not restored (cluster-scoped), so it is reported, not written.
    let widget = rep.results.iter().find(|r| r.name == "w1").unwrap();
    assert_eq!(widget.outcome, Outcome::Failed);
    assert!(
        widget.reason.as_deref().unwrap().contains("not served"),
        "{widget:?}"
    );

    let empty = RestoreOptions {
        namespaces: Some(Default::default()),
        ..RestoreOptions::default()
    };
    let err = restore(
        &store,
        &sum.id,
        dst.client().await,
        &empty,
        &Progress::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("namespaces is empty"), "{err}");
}
