//! The Kubernetes built-in steps against a real `lifeboat-kubesim` process: apply, patch,
//! scale (to a number, and as in a snapshot), delete, waitReady, fencing refusals, the
//! fence scale-down and its undo, and the errors bad inputs get.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use lifeboat::executor::FencingToken;
use lifeboat::executor::steps::kube as steps;
use serde_json::{Value, json};

const TOKEN_ANNOTATION: &str = "lifeboat.dev/fencing-token";
const BEFORE_FENCE_ANNOTATION: &str = "lifeboat.dev/replicas-before-fence";

/// A running kubesim on ports from 20000-32000, killed on drop.
struct Sim {
    child: Child,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The kubesim binary next to the `lifeboat` one; built once if missing.
fn kubesim_bin() -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let bin = Path::new(env!("CARGO_BIN_EXE_lifeboat")).with_file_name("lifeboat-kubesim");
    let _g = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "lifeboat-kubesim",
                "--bin",
                "lifeboat-kubesim",
            ])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p lifeboat-kubesim failed");
    }
    bin
}

/// A free 127.0.0.1 port below Linux's ephemeral range, never the same twice here.
fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for attempt in 0..500u64 {
        let port = 20_000 + (RandomState::new().hash_one(attempt) % 12_000) as u16;
        if !handed_out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.push(port);
            return port;
        }
    }
    panic!("no free port in 20000-32000 after 500 tries");
}

fn readyz(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut out = String::new();
    s.write_all(req.as_bytes()).is_ok()
        && s.read_to_string(&mut out).is_ok()
        && out.starts_with("HTTP/1.1 200")
}

impl Sim {
    /// Start kubesim (workloads become ready `ready_delay_ms` after a spec change).
    fn start(ready_delay_ms: u64) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let (api, admin) = (free_port(), free_port());
        let child = Command::new(kubesim_bin())
            .args(["--listen", &format!("127.0.0.1:{api}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
            .args(["--ready-delay-ms", &ready_delay_ms.to_string()])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn lifeboat-kubesim");
        let mut sim = Sim {
            child,
            _dir: dir,
            kubeconfig,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(sim.kubeconfig.exists() && readyz(api)) {
            if let Some(status) = sim.child.try_wait().expect("try_wait") {
                panic!("kubesim exited early: {status}");
            }
            assert!(Instant::now() < deadline, "kubesim not ready within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        sim
    }

    async fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        lifeboat::kubeclient::client_for(&self.kubeconfig, None, Some(Duration::from_secs(10)))
            .await
            .expect("client")
    }
}

fn token(term: u64, index: u64) -> FencingToken {
    FencingToken { term, index }
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

fn configmaps(c: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(c.clone(), ns, &resource("", "ConfigMap", "configmaps"))
}

fn deployments(c: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        c.clone(),
        ns,
        &resource("apps", "Deployment", "deployments"),
    )
}

fn statefulsets(c: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        c.clone(),
        ns,
        &resource("apps", "StatefulSet", "statefulsets"),
    )
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": value}})
}

fn deployment(ns: &str, name: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1"}]}}}})
}

fn statefulset(ns: &str, name: &str, replicas: u32) -> Value {
    let mut s = deployment(ns, name, replicas);
    s["kind"] = json!("StatefulSet");
    s["spec"]["serviceName"] = json!(name);
    s
}

/// Apply `manifests` into namespace `shop` (created first) with token 1.1.
async fn seed(c: &Client, manifests: Vec<Value>) {
    let mut all = vec![namespace("shop")];
    all.extend(manifests);
    steps::apply(
        c,
        &json!({"cluster": "sim", "namespace": "shop", "manifests": all}),
        token(1, 1),
    )
    .await
    .expect("seed");
}

fn annotation<'o>(o: &'o DynamicObject, key: &str) -> Option<&'o str> {
    o.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_and_reapply_is_idempotent() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    let with = json!({"cluster": "sim", "namespace": "shop", "manifests": [
        namespace("shop"), configmap("cfg", "1"), deployment("shop", "web", 2)]});
    let first = steps::apply(&c, &with, token(3, 7)).await.unwrap();
    assert_eq!(
        first,
        json!({"applied": 3, "objects": ["Namespace/shop", "ConfigMap/shop/cfg", "Deployment/shop/web"]})
    );
    let cm = configmaps(&c, "shop").get("cfg").await.unwrap();
    assert_eq!(cm.data["data"]["a"], "1");
    assert_eq!(annotation(&cm, TOKEN_ANNOTATION), Some("3.7"));
    let fields = cm.metadata.managed_fields.clone().unwrap_or_default();
    assert!(
        fields
            .iter()
            .any(|f| f.manager.as_deref() == Some("lifeboat")),
        "server-side applied by `lifeboat`: {fields:?}"
    );

    let again = steps::apply(&c, &with, token(3, 7)).await.unwrap();
    assert_eq!(again, first);
    let cm2 = configmaps(&c, "shop").get("cfg").await.unwrap();
    assert_eq!(cm2.metadata.uid, cm.metadata.uid);
    assert_eq!(cm2.metadata.resource_version, cm.metadata.resource_version);
    assert_eq!(cm2.data["data"], cm.data["data"]);
    let web = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(web.data["spec"]["replicas"], 2);
    assert_eq!(web.metadata.generation, Some(1), "re-apply changed nothing");

    // More than 50 objects: all applied, 50 listed.
    let many: Vec<Value> = (0..60).map(|i| configmap(&format!("m{i}"), "x")).collect();
    let big = steps::apply(
        &c,
        &json!({"cluster": "sim", "namespace": "shop", "manifests": many}),
        token(3, 8),
    )
    .await
    .unwrap();
    assert_eq!(big["applied"], 60);
    assert_eq!(big["objects"].as_array().unwrap().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_fields_by_merge_strategic_and_json_patch() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(
        &c,
        vec![configmap("cfg", "1"), deployment("shop", "web", 1)],
    )
    .await;

    let merge = json!({"cluster": "sim", "namespace": "shop", "kind": "ConfigMap", "name": "cfg",
        "patch": {"data": {"a": "2", "b": "new"}}});
    let r = steps::patch(&c, &merge, token(2, 1)).await.unwrap();
    assert_eq!(r, json!({"patched": "ConfigMap/shop/cfg"}));
    let cm = configmaps(&c, "shop").get("cfg").await.unwrap();
    assert_eq!(cm.data["data"], json!({"a": "2", "b": "new"}));
    assert_eq!(annotation(&cm, TOKEN_ANNOTATION), Some("2.1"));

    let json_patch = json!({"cluster": "sim", "namespace": "shop", "apiVersion": "v1",
        "kind": "ConfigMap", "name": "cfg", "patchType": "json",
        "patch": [{"op": "remove", "path": "/data/b"}]});
    steps::patch(&c, &json_patch, token(2, 2)).await.unwrap();
    let cm = configmaps(&c, "shop").get("cfg").await.unwrap();
    assert_eq!(cm.data["data"], json!({"a": "2"}));
    assert_eq!(annotation(&cm, TOKEN_ANNOTATION), Some("2.2"));

    let strategic = json!({"cluster": "sim", "namespace": "shop", "kind": "Deployment",
        "name": "web", "patchType": "strategic",
        "patch": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example.com/app:2"}]}}}}});
    steps::patch(&c, &strategic, token(2, 3)).await.unwrap();
    let web = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(
        web.data["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/app:2"
    );

    let missing = json!({"cluster": "sim", "namespace": "shop", "kind": "ConfigMap", "name": "nope",
        "patch": {"data": {"a": "1"}}});
    let err = steps::patch(&c, &missing, token(2, 4)).await.unwrap_err();
    assert!(
        err.contains("ConfigMap shop/nope not found in cluster `sim`") && err.contains("k8s.apply"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_sets_replicas_and_reports_previous() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(
        &c,
        vec![deployment("shop", "web", 2), statefulset("shop", "db", 1)],
    )
    .await;
    let with = json!({"cluster": "sim", "namespace": "shop", "name": "web", "replicas": 5});
    let r = steps::scale(&c, &with, token(4, 1)).await.unwrap();
    assert_eq!(r, json!({"previous": 2, "replicas": 5}));
    let web = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(web.data["spec"]["replicas"], 5);
    assert_eq!(annotation(&web, TOKEN_ANNOTATION), Some("4.1"));
    // A re-run leaves the same state.
    let again = steps::scale(&c, &with, token(4, 1)).await.unwrap();
    assert_eq!(again, json!({"previous": 5, "replicas": 5}));

    let sts = json!({"cluster": "sim", "namespace": "shop", "kind": "StatefulSet", "name": "db", "replicas": 0});
    let r = steps::scale(&c, &sts, token(4, 2)).await.unwrap();
    assert_eq!(r, json!({"previous": 1, "replicas": 0}));
    assert_eq!(
        statefulsets(&c, "shop").get("db").await.unwrap().data["spec"]["replicas"],
        0
    );

    let absent = json!({"cluster": "sim", "namespace": "shop", "name": "nope", "replicas": 1});
    let err = steps::scale(&c, &absent, token(4, 3)).await.unwrap_err();
    assert!(err.contains("Deployment shop/nope not found"), "{err}");
}

/// Capture `c` as cluster `east` into `store`; the catalog record of the snapshot.
async fn snapshot_of(
    c: &Client,
    store: &lifeboat_snapshot::SnapshotStore,
) -> lifeboat::catalog::SnapshotRecord {
    let sum = lifeboat_snapshot::capture(
        c.clone(),
        "east",
        store,
        &lifeboat_snapshot::CaptureOptions::default(),
        &lifeboat_snapshot::Progress::new(),
    )
    .await
    .expect("capture");
    lifeboat::catalog::SnapshotRecord {
        id: sum.id.clone(),
        cluster: sum.cluster,
        manifest_key: sum.manifest_key,
        object_count: sum.object_count,
        new_objects: sum.new_objects,
        bytes_uploaded: sum.bytes_uploaded,
        kubernetes_version: sum.kubernetes_version,
        started_at_ms: sum.started_at.timestamp_millis() as u64,
        completed_at_ms: sum.completed_at.timestamp_millis() as u64,
        capture_id: sum.id,
        trigger: "manual".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_from_snapshot_restores_the_snapshotted_replicas() {
    use lifeboat::executor::steps::scale::scale_from_snapshots;
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(&c, vec![deployment("shop", "web", 3)]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = lifeboat_snapshot::SnapshotStore::open(
        &format!("file://{}", dir.path().display()),
        lifeboat_snapshot::StoreOptions::default(),
    )
    .unwrap();
    let snapshots = [snapshot_of(&c, &store).await];
    // After the snapshot: scaled down, and a drill copy in a suffixed namespace.
    let down = json!({"cluster": "sim", "namespace": "shop", "name": "web", "replicas": 0});
    steps::scale(&c, &down, token(5, 1)).await.unwrap();
    let drill = json!({"cluster": "sim", "namespace": "shop", "manifests": [
        namespace("shop-drill"), deployment("shop-drill", "web", 1)]});
    steps::apply(&c, &drill, token(5, 2)).await.unwrap();

    let latest = json!({"cluster": "sim", "namespace": "shop", "name": "web",
                        "fromSnapshot": "latest", "sourceCluster": "east"});
    let with = scale_from_snapshots(&store, &snapshots, &latest)
        .await
        .unwrap();
    assert_eq!(with["replicas"], 3, "{with}");
    let r = steps::scale(&c, &with, token(5, 3)).await.unwrap();
    assert_eq!(r, json!({"previous": 0, "replicas": 3}));
    assert_eq!(
        deployments(&c, "shop").get("web").await.unwrap().data["spec"]["replicas"],
        3
    );

    // By id, into the drill namespace, reading the original one.
    let by_id = json!({"cluster": "sim", "namespace": "shop-drill", "name": "web",
                       "fromSnapshot": snapshots[0].id, "sourceNamespace": "shop"});
    let with = scale_from_snapshots(&store, &snapshots, &by_id)
        .await
        .unwrap();
    let r = steps::scale(&c, &with, token(5, 4)).await.unwrap();
    assert_eq!(r, json!({"previous": 1, "replicas": 3}));

    // Not in the snapshot (the drill namespace did not exist then), and no snapshot.
    let mut absent = by_id.clone();
    absent.as_object_mut().unwrap().remove("sourceNamespace");
    let err = scale_from_snapshots(&store, &snapshots, &absent)
        .await
        .unwrap_err();
    assert!(
        err.contains("holds no Deployment shop-drill/web") && err.contains("sourceNamespace"),
        "{err}"
    );
    let err = scale_from_snapshots(&store, &[], &latest)
        .await
        .unwrap_err();
    assert!(err.contains("no snapshot of cluster `east`"), "{err}");
    // A number passes through untouched, without a snapshot.
    let plain = scale_from_snapshots(&store, &[], &down).await.unwrap();
    assert_eq!(plain, down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_ready_returns_once_workloads_are_ready() {
    let sim = Sim::start(1500);
    let c = sim.client().await;
    seed(
        &c,
        vec![deployment("shop", "web", 2), deployment("shop", "api", 1)],
    )
    .await;
    let with = json!({"cluster": "sim", "namespace": "shop", "selector": "app=web"});
    let r = tokio::time::timeout(Duration::from_secs(30), steps::wait_ready(&c, &with))
        .await
        .expect("ready within 30 s")
        .unwrap();
    assert_eq!(r["ready"], json!(["Deployment/web"]), "{r}");
    assert_eq!(r["checked"], 1);
    assert!(r["waitedMs"].as_u64().unwrap() >= 500, "it waited: {r}");
    let web = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(web.data["status"]["readyReplicas"], 2);

    let all = json!({"cluster": "sim", "namespace": "shop"});
    let r = steps::wait_ready(&c, &all).await.unwrap();
    assert_eq!(r["checked"], 2, "{r}");

    let empty = json!({"cluster": "sim", "namespace": "empty"});
    let r = steps::wait_ready(&c, &empty).await.unwrap();
    assert_eq!(
        (r["checked"].clone(), r["ready"].clone()),
        (json!(0), json!([]))
    );

    let missing =
        json!({"cluster": "sim", "namespace": "shop", "kind": "Deployment", "name": "nope"});
    let err = steps::wait_ready(&c, &missing).await.unwrap_err();
    assert_eq!(
        err,
        "k8s.waitReady: deployment shop/nope not found in cluster `sim`"
    );

    // kubesim's Jobs never complete: waitReady keeps polling until the executor drops it.
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "m", "image": "registry.example.com/migrate:1"}]}}}});
    seed(&c, vec![job]).await;
    let job_wait = json!({"cluster": "sim", "namespace": "shop", "kind": "Job", "name": "migrate"});
    let waited = tokio::time::timeout(
        Duration::from_millis(1500),
        steps::wait_ready(&c, &job_wait),
    )
    .await;
    assert!(
        waited.is_err(),
        "an incomplete Job is not ready: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_twice_reports_already_absent() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(&c, vec![configmap("cfg", "1")]).await;
    let with = json!({"cluster": "sim", "namespace": "shop", "kind": "ConfigMap", "name": "cfg"});
    assert_eq!(
        steps::delete(&c, &with, token(1, 2)).await.unwrap(),
        json!({"deleted": true})
    );
    assert!(
        configmaps(&c, "shop")
            .get_opt("cfg")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        steps::delete(&c, &with, token(1, 2)).await.unwrap(),
        json!({"deleted": false})
    );

    // A cluster-scoped object, as drill cleanup deletes it.
    let ns = json!({"cluster": "sim", "apiVersion": "v1", "kind": "Namespace", "name": "shop"});
    assert_eq!(
        steps::delete(&c, &ns, token(1, 3)).await.unwrap(),
        json!({"deleted": true})
    );
    let namespaces: Api<DynamicObject> =
        Api::all_with(c.clone(), &resource("", "Namespace", "namespaces"));
    assert!(namespaces.get_opt("shop").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_fencing_token_refuses_an_older_attempt() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(&c, vec![deployment("shop", "web", 2)]).await;
    let newer = token(5, 10);
    let older = token(5, 9);
    let applied =
        json!({"cluster": "sim", "namespace": "shop", "manifests": [configmap("cfg", "newer")]});
    steps::apply(&c, &applied, newer).await.unwrap();
    steps::scale(
        &c,
        &json!({"cluster": "sim", "namespace": "shop", "name": "web", "replicas": 3}),
        newer,
    )
    .await
    .unwrap();
    let cm_before = configmaps(&c, "shop").get("cfg").await.unwrap();
    let web_before = deployments(&c, "shop").get("web").await.unwrap();

    let refused = "refused: ConfigMap shop/cfg carries fencing token 5.10, newer than this attempt's 5.9: a newer leader has acted on it";
    // apply: nothing is written, not even a new object listed before the fenced one.
    let stale = json!({"cluster": "sim", "namespace": "shop",
        "manifests": [configmap("other", "x"), configmap("cfg", "older")]});
    assert_eq!(steps::apply(&c, &stale, older).await.unwrap_err(), refused);
    assert!(
        configmaps(&c, "shop")
            .get_opt("other")
            .await
            .unwrap()
            .is_none()
    );
    let patch = json!({"cluster": "sim", "namespace": "shop", "kind": "ConfigMap", "name": "cfg",
        "patch": {"data": {"a": "older"}}});
    assert_eq!(steps::patch(&c, &patch, older).await.unwrap_err(), refused);
    let delete = json!({"cluster": "sim", "namespace": "shop", "kind": "ConfigMap", "name": "cfg"});
    assert_eq!(
        steps::delete(&c, &delete, older).await.unwrap_err(),
        refused
    );
    let scale = json!({"cluster": "sim", "namespace": "shop", "name": "web", "replicas": 1});
    let err = steps::scale(&c, &scale, older).await.unwrap_err();
    assert!(
        err.starts_with("refused: Deployment shop/web carries fencing token 5.10"),
        "{err}"
    );
    let err = steps::scale_all_to_zero(&c, older).await.unwrap_err();
    assert!(err.contains("refused: Deployment shop/web"), "{err}");

    let cm_after = configmaps(&c, "shop").get("cfg").await.unwrap();
    let web_after = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(
        cm_after.metadata.resource_version,
        cm_before.metadata.resource_version
    );
    assert_eq!(cm_after.data["data"]["a"], "newer");
    // kubesim's readiness simulation writes the status meanwhile: compare the spec side.
    assert_eq!(
        web_after.metadata.generation,
        web_before.metadata.generation
    );
    assert_eq!(web_after.data["spec"], web_before.data["spec"]);
    assert_eq!(web_after.data["spec"]["replicas"], 3);
    assert_eq!(annotation(&web_after, TOKEN_ANNOTATION), Some("5.10"));

    // The same attempt re-run, and a newer one, go ahead.
    steps::patch(&c, &patch, newer).await.unwrap();
    steps::patch(&c, &patch, token(6, 1)).await.unwrap();
    let cm = configmaps(&c, "shop").get("cfg").await.unwrap();
    assert_eq!(annotation(&cm, TOKEN_ANNOTATION), Some("6.1"));
    assert_eq!(cm.data["data"]["a"], "older");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fence_scale_down_and_unfence_round_trip_replica_counts() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(
        &c,
        vec![
            deployment("shop", "web", 3),
            deployment("shop", "idle", 0),
            statefulset("shop", "db", 2),
            deployment("kube-system", "coredns", 2),
        ],
    )
    .await;
    let replicas = |api: Api<DynamicObject>, name: &'static str| async move {
        let o = api.get(name).await.unwrap();
        (
            o.data["spec"]["replicas"].as_i64().unwrap(),
            annotation(&o, BEFORE_FENCE_ANNOTATION).map(str::to_string),
        )
    };

    let r = steps::scale_all_to_zero(&c, token(7, 1)).await.unwrap();
    assert_eq!(r, json!({"scaledToZero": 2}));
    assert_eq!(
        replicas(deployments(&c, "shop"), "web").await,
        (0, Some("3".into()))
    );
    assert_eq!(
        replicas(statefulsets(&c, "shop"), "db").await,
        (0, Some("2".into()))
    );
    assert_eq!(replicas(deployments(&c, "shop"), "idle").await, (0, None));
    assert_eq!(
        replicas(deployments(&c, "kube-system"), "coredns").await,
        (2, None)
    );
    // A re-run keeps the first recorded counts (not 0).
    let r = steps::scale_all_to_zero(&c, token(7, 1)).await.unwrap();
    assert_eq!(r, json!({"scaledToZero": 2}));
    assert_eq!(
        replicas(deployments(&c, "shop"), "web").await,
        (0, Some("3".into()))
    );

    let r = steps::restore_replicas_after_fence(&c, token(8, 1))
        .await
        .unwrap();
    assert_eq!(r, json!({"restored": 2}));
    assert_eq!(replicas(deployments(&c, "shop"), "web").await, (3, None));
    assert_eq!(replicas(statefulsets(&c, "shop"), "db").await, (2, None));
    assert_eq!(replicas(deployments(&c, "shop"), "idle").await, (0, None));
    let web = deployments(&c, "shop").get("web").await.unwrap();
    assert_eq!(annotation(&web, TOKEN_ANNOTATION), Some("8.1"));
    let r = steps::restore_replicas_after_fence(&c, token(8, 1))
        .await
        .unwrap();
    assert_eq!(r, json!({"restored": 0}));
    assert_eq!(replicas(deployments(&c, "shop"), "web").await, (3, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_clear_errors_and_write_nothing() {
    let sim = Sim::start(0);
    let c = sim.client().await;
    seed(&c, vec![]).await;
    let apply =
        |manifests: Value| json!({"cluster": "sim", "namespace": "shop", "manifests": manifests});

    let no_kind =
        apply(json!([configmap("first", "1"), {"apiVersion": "v1", "metadata": {"name": "x"}}]));
    let err = steps::apply(&c, &no_kind, token(1, 5)).await.unwrap_err();
    assert_eq!(
        err,
        "k8s.apply: manifests[1] has no `kind` (every manifest needs apiVersion, kind and metadata.name)"
    );
    assert!(
        configmaps(&c, "shop")
            .get_opt("first")
            .await
            .unwrap()
            .is_none(),
        "nothing written when a later manifest is bad"
    );

    let unknown =
        apply(json!([{"apiVersion": "v1", "kind": "Frobnicator", "metadata": {"name": "x"}}]));
    let err = steps::apply(&c, &unknown, token(1, 5)).await.unwrap_err();
    assert!(
        err.starts_with(
            "k8s.apply: unknown kind `Frobnicator` for apiVersion `v1`: not served in cluster `sim`"
        ),
        "{err}"
    );

    let lower = json!({"cluster": "sim", "namespace": "shop", "kind": "deployment", "name": "web",
        "patch": {"spec": {"replicas": 1}}});
    let err = steps::patch(&c, &lower, token(1, 5)).await.unwrap_err();
    assert!(
        err.contains("unknown kind `deployment`") && err.contains("did you mean `Deployment`?"),
        "{err}"
    );

    let no_ns = json!({"cluster": "sim", "kind": "ConfigMap", "name": "x"});
    let err = steps::delete(&c, &no_ns, token(1, 5)).await.unwrap_err();
    assert_eq!(
        err,
        "k8s.delete: ConfigMap is namespaced: give `namespace` for ConfigMap x"
    );

    let no_cluster = json!({"namespace": "shop", "name": "web", "replicas": 1});
    let err = steps::scale(&c, &no_cluster, token(1, 5))
        .await
        .unwrap_err();
    assert_eq!(err, "k8s.scale: input `cluster` is missing");

    let bad_replicas =
        json!({"cluster": "sim", "namespace": "shop", "name": "web", "replicas": -1});
    let err = steps::scale(&c, &bad_replicas, token(1, 5))
        .await
        .unwrap_err();
    assert!(err.contains("`replicas` must be a whole number"), "{err}");

    let bad_selector = json!({"cluster": "sim", "namespace": "shop", "selector": "app in (("});
    let err = steps::wait_ready(&c, &bad_selector).await.unwrap_err();
    assert!(err.contains("listing workloads in namespace shop"), "{err}");
}
