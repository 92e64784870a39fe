//! Test harness: real `lifeboat-kubesim` processes (port 0, `--info-file`, `/readyz` polled
//! with a deadline), a real moto S3 server, seed data, and kube clients.

#![allow(dead_code)]

use kube::api::{Api, DynamicObject, GroupVersionKind, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use kube::{Client, Config};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect_timeout(
        &addr.parse().expect("socket address"),
        Duration::from_secs(5),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, rest.to_string()))
}

/// Path of a workspace binary next to the test executable; built once if missing.
pub fn workspace_bin(name: &str, package: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join(name);
    let _g = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", name])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
    }
    assert!(bin.exists(), "{} missing after build", bin.display());
    bin
}

/// A running kubesim, killed on drop.
pub struct Sim {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub server: String,
    pub admin: String,
    pub admin_token: String,
    pub kubeconfig: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    /// Start kubesim with extra arguments; wait for /readyz (30 s deadline).
    pub fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let info = dir.path().join("info.json");
        let child = Command::new(workspace_bin("lifeboat-kubesim", "lifeboat-kubesim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--ready-delay-ms",
                "0",
            ])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--info-file")
            .arg(&info)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn lifeboat-kubesim");
        let mut sim = Sim {
            child,
            dir,
            server: String::new(),
            admin: String::new(),
            admin_token: String::new(),
            kubeconfig,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = sim.child.try_wait().expect("try_wait") {
                panic!("kubesim exited early: {status}");
            }
            if let Ok(text) = std::fs::read_to_string(&info)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                sim.server = v["server"].as_str().unwrap().to_string();
                sim.admin = v["admin"].as_str().unwrap().to_string();
                sim.admin_token = match v["admin_token"].as_str() {
                    Some(t) => t.to_string(),
                    None => std::fs::read_to_string(v["admin_token_file"].as_str().unwrap())
                        .unwrap()
                        .trim()
                        .to_string(),
                };
                if http(&sim.server, "GET", "/readyz", &[], b"").is_ok_and(|(s, _)| s == 200) {
                    return sim;
                }
            }
            assert!(Instant::now() < deadline, "kubesim not ready within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start seeded with `objects` (written as one JSON List).
    pub fn seeded(objects: &[Value]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("seed.json");
        std::fs::write(
            &f,
            serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": objects}))
                .unwrap(),
        )
        .unwrap();
        let sim = Sim::start(&["--seed", f.to_str().unwrap()]);
        drop(dir);
        sim
    }

    /// PUT /faults on the admin API.
    pub fn faults(&self, body: Value) {
        let auth = format!("Bearer {}", self.admin_token);
        let (status, text) = http(
            &self.admin,
            "PUT",
            "/faults",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .expect("admin API");
        assert_eq!(status, 200, "{text}");
    }

    /// Total objects held (admin /stats).
    pub fn object_count(&self) -> u64 {
        let auth = format!("Bearer {}", self.admin_token);
        let (_, text) = http(
            &self.admin,
            "GET",
            "/stats",
            &[("Authorization", &auth)],
            b"",
        )
        .expect("admin API");
        let v: Value = serde_json::from_str(&text).expect("stats JSON");
        v["objects"].as_u64().expect("objects")
    }

    pub async fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        Client::try_from(cfg).expect("client")
    }

    /// Capture this cluster as `cluster` into `store` with the default options.
    pub async fn capture_into(
        &self,
        store: &lifeboat_snapshot::SnapshotStore,
        cluster: &str,
    ) -> lifeboat_snapshot::CaptureSummary {
        lifeboat_snapshot::capture(
            self.client().await,
            cluster,
            store,
            &lifeboat_snapshot::CaptureOptions::default(),
            &lifeboat_snapshot::Progress::new(),
        )
        .await
        .expect("capture")
    }

    /// Restore snapshot `id` from `store` into this cluster with the default options.
    pub async fn restore_into(
        &self,
        store: &lifeboat_snapshot::SnapshotStore,
        id: &str,
    ) -> lifeboat_snapshot::RestoreReport {
        lifeboat_snapshot::restore(
            store,
            id,
            self.client().await,
            &lifeboat_snapshot::RestoreOptions::default(),
            &lifeboat_snapshot::Progress::new(),
        )
        .await
        .expect("restore")
    }
}

/// `Api<DynamicObject>` for a GVK in a namespace (or cluster-wide).
pub async fn api(
    client: &Client,
    group: &str,
    version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let d = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (ar, _) = d
        .resolve_gvk(&GroupVersionKind::gvk(group, version, kind))
        .unwrap_or_else(|| panic!("{kind} not served"));
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

pub async fn create(client: &Client, obj: Value) {
    let (group, version) = match obj["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            obj["apiVersion"].as_str().unwrap().to_string(),
        ),
    };
    let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
    let a = api(
        client,
        &group,
        &version,
        obj["kind"].as_str().unwrap(),
        ns.as_deref(),
    )
    .await;
    let o: DynamicObject = serde_json::from_value(obj).unwrap();
    a.create(&PostParams::default(), &o).await.expect("create");
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn configmap(ns: &str, name: &str, data: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}}, "data": {"config.yaml": data}})
}

pub fn secret(ns: &str, name: &str, value_b64: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque", "data": {"password": value_b64}})
}

pub fn deployment(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.2.3"), "ports": [{"containerPort": 8080}],
                "env": [{"name": "MODE", "value": "production"}], "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}})
}

pub fn service(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "clusterIP": "10.96.7.7", "ports": [{"port": 80, "targetPort": 8080}]}})
}

pub fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

pub fn widget(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": ns}, "spec": {"size": 3}})
}

/// A small realistic application set: namespaces, config, secrets, workloads, a CRD and CRs,
/// plus objects that must not be captured (an owned pod, an event).
pub fn app_objects() -> Vec<Value> {
    let mut v = vec![namespace("shop"), namespace("blog"), crd()];
    for ns in ["shop", "blog"] {
        for i in 0..3 {
            v.push(configmap(
                ns,
                &format!("cfg-{i}"),
                &format!("listen: 8080\nworkers: {i}\n"),
            ));
            v.push(secret(
                ns,
                &format!("db-{i}"),
                "c3VwZXJzZWNyZXRwYXNzd29yZA==",
            ));
        }
        v.push(deployment(ns, "web"));
        v.push(service(ns, "web"));
        v.push(widget(ns, "w1"));
    }
    v.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-abc", "namespace": "shop", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-123", "uid": "u1", "controller": true}]}, "spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "x"}]}}));
    v.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "shop"}, "reason": "Started"}));
    v
}

/// A free 127.0.0.1 port for a server we start (moto). Taken below Linux's ephemeral
/// range (32768-60999), where the kernel never assigns ports on its own, so it stays free
/// until the server binds it; never the same port twice in one test binary.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap();
    for attempt in 0..500u64 {
        let port = 20_000 + (RandomState::new().hash_one(attempt) % 12_000) as u16;
        if !handed_out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.push(port);
            return port;
        }
    }
    panic!("no free port in 20000-32000 after 500 tries");
}

/// A running moto S3 server, killed on drop.
pub struct Moto {
    pub child: Child,
    pub port: u16,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Start `moto_server` on `port` (0: a free one) and create `bucket`. Panics with an
    /// install hint when moto is missing (never skips).
    pub fn start(port: u16, bucket: &str) -> Moto {
        let port = if port == 0 { free_port() } else { port };
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server ({e}); run scripts/deps/snapshot.sh (pip install 'moto[server]')"));
        let mut m = Moto {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = m.child.try_wait().unwrap() {
                panic!("moto_server exited early: {s}");
            }
            if http(&m.endpoint, "GET", "/", &[], b"").is_ok_and(|(s, _)| s == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server not ready within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (status, body) =
            http(&m.endpoint, "PUT", &format!("/{bucket}"), &[], b"").expect("create bucket");
        assert_eq!(status, 200, "create bucket: {body}");
        m
    }

    pub fn store_options(&self) -> lifeboat_snapshot::StoreOptions {
        lifeboat_snapshot::StoreOptions::default()
            .with_option("aws_endpoint", &self.endpoint)
            .with_option("aws_region", "us-east-1")
            .with_option("aws_access_key_id", "testing")
            .with_option("aws_secret_access_key", "testing")
            .with_option("aws_allow_http", "true")
    }
}

/// Every byte of every file under `dir`.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}
