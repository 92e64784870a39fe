//! The running `lifeboat dev` parent's control endpoint: the one place that kills,
//! restarts and stops the fleet's children, on behalf of the short-lived
//! `lifeboat dev kill-node|restart-node|stop` commands (their side is
//! [`super::actions`]).
//!
//! HTTP on `127.0.0.1:BASE+98` (recorded in `dev.json` as `parent.control`), bearer =
//! the fleet's admin token, JSON answers, errors as `{"error":{"code","message"}}`:
//! - `GET /dev/fleet`: the parent's pid and every child (name, pid, running).
//! - `POST /dev/kill-node/{id}`: SIGKILL node ID and reap it (409 if it is not running).
//! - `POST /dev/restart-node/{id}`: stop the node if it runs (SIGTERM, SIGKILL after
//!   10 s), start it again with the same arguments (appending to its log), and rewrite
//!   `dev.json` with its new pid.
//! - `POST /dev/stop`: 202 with every child's pid; the parent then stops them all, as on
//!   Ctrl-C, and exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::{Mutex, Notify};

use super::{Running, spawn};

/// What the parent knows about its fleet, shared by the main task and the control
/// endpoint.
pub(super) struct Fleet {
    dir: PathBuf,
    /// Every child process, nodes and simulated clusters.
    pub children: Vec<Running>,
    /// The contents of `dev.json`.
    pub dev_json: Value,
    /// Set once the fleet is being stopped: nothing is started any more.
    pub stopping: bool,
}

/// The fleet behind its lock.
pub(super) type Shared = Arc<Mutex<Fleet>>;

impl Fleet {
    /// The shared state of a started fleet.
    pub fn new(dir: &Path, children: Vec<Running>, dev_json: Value) -> Shared {
        Arc::new(Mutex::new(Fleet {
            dir: dir.to_path_buf(),
            children,
            dev_json,
            stopping: false,
        }))
    }

    /// Write `dev.json` atomically (a reader never sees half a file).
    pub fn write_dev_json(&self) -> anyhow::Result<()> {
        let path = self.dir.join("dev.json");
        let tmp = self.dir.join("dev.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&self.dev_json)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The index of node `id` among the children.
    fn node(&self, id: u64) -> Result<usize, Refused> {
        self.children
            .iter()
            .position(|c| c.node.as_ref().is_some_and(|(n, _)| *n == id))
            .ok_or_else(|| {
                let ids: Vec<String> = self
                    .children
                    .iter()
                    .filter_map(|c| c.node.as_ref().map(|(n, _)| n.to_string()))
                    .collect();
                Refused(
                    StatusCode::NOT_FOUND,
                    "unknown_node",
                    format!("no node {id} in this fleet (it has: {})", ids.join(", ")),
                )
            })
    }
}

/// The bound (not yet serving) control listener.
pub(super) struct Control {
    listener: tokio::net::TcpListener,
    /// Its base URL.
    pub url: String,
}

/// Bind the control endpoint (before anything starts, so a taken port fails at once).
pub(super) async fn bind(port: u16) -> anyhow::Result<Control> {
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| {
            format!("dev control endpoint: cannot listen on {addr} (pick another --port-base)")
        })?;
    Ok(Control {
        listener,
        url: format!("http://{addr}"),
    })
}

#[derive(Clone)]
struct Ctx {
    fleet: Shared,
    token: String,
    stop: Arc<Notify>,
}

impl Control {
    /// Serve the control routes for as long as the process lives; the returned
    /// [`Notify`] fires when `POST /dev/stop` asks the fleet to stop.
    pub fn serve(self, fleet: Shared, token: String) -> Arc<Notify> {
        let stop = Arc::new(Notify::new());
        let ctx = Ctx {
            fleet,
            token,
            stop: stop.clone(),
        };
        let app = axum::Router::new()
            .route("/dev/fleet", get(fleet_view))
            .route("/dev/kill-node/{id}", post(kill_node))
            .route("/dev/restart-node/{id}", post(restart_node))
            .route("/dev/stop", post(stop_fleet))
            .with_state(ctx);
        tokio::spawn(async move {
            let _ = axum::serve(self.listener, app).await;
        });
        stop
    }
}

/// Refuse to start a second parent on a fleet whose parent still answers.
pub(super) async fn refuse_if_running(dir: &Path) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join("dev.json")) else {
        return Ok(());
    };
    let dev: Value = serde_json::from_str(&text).unwrap_or_default();
    let (Some(url), Some(token)) = (
        dev["parent"]["control"].as_str(),
        dev["admin_token"].as_str(),
    ) else {
        return Ok(());
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let answer = http
        .get(format!("{url}/dev/fleet"))
        .bearer_auth(token)
        .send()
        .await;
    let Ok(resp) = answer else {
        return Ok(());
    };
    let view: Value = resp.json().await.unwrap_or_default();
    if view["pid"].is_u64() && view["pid"] == dev["parent"]["pid"] {
        anyhow::bail!(
            "a fleet is already running in {} (`lifeboat dev`, pid {}): use it, or stop it \
             with `lifeboat dev stop --dir {}`",
            dir.display(),
            view["pid"],
            dir.display()
        );
    }
    Ok(())
}

/// A refused control request: its status, code and message.
struct Refused(StatusCode, &'static str, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refused(status, code, message) = self;
        let body = json!({"error": {"code": code, "message": message}});
        (status, axum::Json(body)).into_response()
    }
}

fn authorize(ctx: &Ctx, headers: &HeaderMap) -> Result<(), Refused> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(ctx.token.as_bytes())) {
        Ok(())
    } else {
        Err(Refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the dev control endpoint needs the fleet's admin token".into(),
        ))
    }
}

fn running(c: &mut Running) -> bool {
    matches!(c.child.try_wait(), Ok(None))
}

type Answer = Result<Response, Refused>;

async fn fleet_view(State(ctx): State<Ctx>, headers: HeaderMap) -> Answer {
    authorize(&ctx, &headers)?;
    let mut f = ctx.fleet.lock().await;
    let children: Vec<Value> = f
        .children
        .iter_mut()
        .map(|c| json!({"name": c.name, "pid": c.child.id(), "running": running(c)}))
        .collect();
    let body = json!({"pid": std::process::id(), "stopping": f.stopping, "children": children});
    Ok(axum::Json(body).into_response())
}

async fn kill_node(
    State(ctx): State<Ctx>,
    UrlPath(id): UrlPath<u64>,
    headers: HeaderMap,
) -> Answer {
    authorize(&ctx, &headers)?;
    let mut f = ctx.fleet.lock().await;
    let i = f.node(id)?;
    let c = &mut f.children[i];
    if !running(c) {
        return Err(Refused(
            StatusCode::CONFLICT,
            "not_running",
            format!("node {id} is not running; start it with `lifeboat dev restart-node {id}`"),
        ));
    }
    let pid = c.child.id();
    let _ = c.child.start_kill();
    let reaped = tokio::time::timeout(Duration::from_secs(5), c.child.wait()).await;
    let body = json!({"id": id, "pid": pid, "signal": "SIGKILL", "reaped": reaped.is_ok()});
    Ok(axum::Json(body).into_response())
}

async fn restart_node(
    State(ctx): State<Ctx>,
    UrlPath(id): UrlPath<u64>,
    headers: HeaderMap,
) -> Answer {
    authorize(&ctx, &headers)?;
    let mut f = ctx.fleet.lock().await;
    if f.stopping {
        let msg = "the fleet is stopping".to_string();
        return Err(Refused(StatusCode::CONFLICT, "stopping", msg));
    }
    let i = f.node(id)?;
    let c = &mut f.children[i];
    let previous = c.child.id();
    let was_running = running(c);
    if was_running {
        stop_one(c).await;
    }
    let internal = |code, msg| Refused(StatusCode::INTERNAL_SERVER_ERROR, code, msg);
    let (_, launch) = c
        .node
        .clone()
        .ok_or_else(|| internal("internal", "not a node".into()))?;
    let child = spawn(&launch, true)
        .map_err(|e| internal("spawn_failed", format!("cannot start node {id}: {e:#}")))?;
    let pid = child.id();
    c.child = child;
    let mut node = Value::Null;
    if let Some(n) = f.dev_json["nodes"]
        .as_array_mut()
        .and_then(|nodes| nodes.iter_mut().find(|n| n["id"] == id))
    {
        n["pid"] = json!(pid);
        node = n.clone();
    }
    f.write_dev_json().map_err(|e| {
        internal(
            "dev_json",
            format!("node {id} started (pid {pid:?}), but {e:#}"),
        )
    })?;
    let body = json!({
        "id": id, "pid": pid, "previous_pid": previous, "was_running": was_running,
        "api": node["api"], "log": node["log"],
    });
    Ok(axum::Json(body).into_response())
}

/// SIGTERM one child, SIGKILL it after 10 s; reaped either way.
async fn stop_one(c: &mut Running) {
    if let Some(pid) = c.child.id() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(Duration::from_secs(10), c.child.wait())
        .await
        .is_err()
    {
        let _ = c.child.kill().await;
    }
}

async fn stop_fleet(State(ctx): State<Ctx>, headers: HeaderMap) -> Answer {
    authorize(&ctx, &headers)?;
    let mut f = ctx.fleet.lock().await;
    f.stopping = true;
    let pids: Vec<u32> = f.children.iter().filter_map(|c| c.child.id()).collect();
    ctx.stop.notify_one();
    let body = json!({"pid": std::process::id(), "pids": pids});
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}
