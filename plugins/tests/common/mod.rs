//! Shared test support: builds the example plugins from source once per test binary,
//! and starts local HTTP servers (fake DNS API, metrics, webhook) on 127.0.0.1.

#![allow(dead_code, missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::{get, post};
use lifeboat_plugins::{Grants, HostConfig, Limits, PluginHost, RunCtx, RunRequest};
use serde_json::{Value, json};

/// Directory with the built `*.wasm` examples (built by `examples/build.sh`).
pub fn examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/build.sh");
        let out = Command::new("bash")
            .arg(script)
            .env("COMPONENTIZE", env!("CARGO_BIN_EXE_lifeboat-componentize"))
            .output()
            .expect("run plugins/examples/build.sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "building the example plugins from source failed (install the toolchain with \
             scripts/deps/plugins.sh):\n{stderr}"
        );
        eprint!("{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.trim().lines().last().expect("build.sh prints OUT"))
    })
}

pub fn wasm(name: &str) -> Vec<u8> {
    let p = examples().join(format!("{name}.wasm"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The compile cache shared by the tests (under target/, survives runs).
pub fn cache_dir() -> PathBuf {
    examples().parent().unwrap().join("lifeboat-plugin-cache")
}

pub fn host() -> PluginHost {
    PluginHost::new(HostConfig {
        cache_dir: Some(cache_dir()),
        ..HostConfig::default()
    })
    .expect("plugin host")
}

pub fn request(input: Value, grants: Grants) -> RunRequest {
    RunRequest {
        ctx: RunCtx {
            run_id: "run-1".into(),
            step_id: "step".into(),
            attempt: 1,
            idempotency_key: "run-1/step".into(),
            drill: false,
            input,
        },
        grants,
        limits: Limits::default(),
    }
}

/// What the local HTTP servers saw.
#[derive(Default)]
pub struct Seen {
    pub records: Mutex<HashMap<String, String>>,
    pub puts: Mutex<Vec<String>>,
    pub hooks: Mutex<Vec<Value>>,
    pub hits: Mutex<usize>,
}

/// A local server: fake DNS API (`/records/{name}`), metrics (`/metrics/good|bad`) and a
/// webhook (`/hook`).
pub async fn server() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    seen.records
        .lock()
        .unwrap()
        .insert("shop.example.com".into(), "10.0.0.1".into());
    let app = Router::new()
        .route("/records/{name}", get(get_record).put(put_record))
        .route("/metrics/{which}", get(metrics))
        .route("/hook", post(hook))
        .route("/hello", get(hello))
        .route("/slow", get(slow))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

async fn get_record(State(s): State<Arc<Seen>>, UrlPath(name): UrlPath<String>) -> Json<Value> {
    *s.hits.lock().unwrap() += 1;
    let v = s
        .records
        .lock()
        .unwrap()
        .get(&name)
        .cloned()
        .unwrap_or_default();
    Json(json!({ "name": name, "value": v }))
}

async fn put_record(
    State(s): State<Arc<Seen>>,
    UrlPath(name): UrlPath<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    *s.hits.lock().unwrap() += 1;
    let v = body["value"].as_str().unwrap_or_default().to_owned();
    s.puts.lock().unwrap().push(format!("{name}={v}"));
    s.records.lock().unwrap().insert(name, v);
    Json(json!({ "ok": true }))
}

async fn metrics(State(s): State<Arc<Seen>>, UrlPath(which): UrlPath<String>) -> Json<Value> {
    *s.hits.lock().unwrap() += 1;
    let rate = if which == "good" { 0.01 } else { 0.2 };
    Json(json!({ "errorRate": rate }))
}

async fn hook(State(s): State<Arc<Seen>>, Json(body): Json<Value>) -> Json<Value> {
    *s.hits.lock().unwrap() += 1;
    s.hooks.lock().unwrap().push(body);
    Json(json!({ "ok": true }))
}

async fn hello(State(s): State<Arc<Seen>>) -> Json<Value> {
    *s.hits.lock().unwrap() += 1;
    Json(json!({ "hello": "world" }))
}

async fn slow() -> Json<Value> {
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    Json(json!({}))
}
