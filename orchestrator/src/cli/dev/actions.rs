//! The CLI side of `lifeboat dev kill-cluster|revive-cluster|kill-node|restart-node|stop`:
//! short-lived processes acting on the fleet that `DIR/dev.json` describes.
//!
//! Cluster chaos goes to the simulated cluster's fault API; node chaos and stop go to
//! the running `lifeboat dev` parent (see [`super::control`]), which owns the processes.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use super::DevAction;

/// How long `stop` waits for every process to be gone.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long `restart-node` waits for the node to be ready.
const READY_WAIT: Duration = Duration::from_secs(60);

/// Run a [`DevAction`] against the fleet in `dir`.
pub(super) async fn act(dir: &Path, action: &DevAction) -> anyhow::Result<i32> {
    let path = dir.join("dev.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no fleet at {}: start one with `lifeboat dev --dir {}`",
            path.display(),
            dir.display()
        )
    })?;
    let dev: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    match action {
        DevAction::KillCluster { name } => cluster_fault(&dev, name, true).await,
        DevAction::ReviveCluster { name } => cluster_fault(&dev, name, false).await,
        DevAction::KillNode { id } => kill_node(dir, &dev, *id).await,
        DevAction::RestartNode { id } => restart_node(dir, &dev, *id).await,
        DevAction::Stop => stop(dir, &dev).await,
    }
}

/// Take a simulated cluster down (`down`) or bring it back, through its fault API.
async fn cluster_fault(dev: &Value, name: &str, down: bool) -> anyhow::Result<i32> {
    let clusters = dev["clusters"].as_array().cloned().unwrap_or_default();
    let Some(c) = clusters.iter().find(|c| c["name"] == name) else {
        let known: Vec<&str> = clusters.iter().filter_map(|c| c["name"].as_str()).collect();
        bail!(
            "no cluster `{name}` in this fleet (it has: {})",
            known.join(", ")
        );
    };
    let admin = c["admin"]
        .as_str()
        .context("dev.json has no admin URL for the cluster")?;
    let token_file = c["admin_token_file"]
        .as_str()
        .context("dev.json has no admin token file")?;
    let token = std::fs::read_to_string(token_file)?;
    let http = reqwest::Client::new();
    let req = if down {
        http.put(format!("{admin}/faults"))
            .json(&json!({ "mode": "down" }))
    } else {
        http.post(format!("{admin}/faults/reset"))
    };
    let resp = req
        .bearer_auth(token.trim())
        .send()
        .await
        .with_context(|| format!("{name}'s fault API at {admin} (is the fleet running?)"))?;
    if !resp.status().is_success() {
        bail!("{name}'s fault API answered {}", resp.status());
    }
    if down {
        println!(
            "{name} is down: it refuses every connection. The nodes' quorum declares it \
             Lost in ~8 s and its failover runbook starts.\n\
             Watch: lifeboat cluster show {name}\n       lifeboat run list   \
             (then: lifeboat run watch RUN_ID)"
        );
    } else {
        println!(
            "{name} answers again; once Lost it stays Fenced until: lifeboat cluster unfence {name}"
        );
    }
    Ok(0)
}

/// The running parent of a fleet, as `dev.json` names it.
struct Parent<'a> {
    dir: &'a Path,
    pid: Option<i64>,
    control: String,
    token: String,
}

impl<'a> Parent<'a> {
    fn of(dir: &'a Path, dev: &Value) -> anyhow::Result<Self> {
        let Some(control) = dev["parent"]["control"].as_str() else {
            bail!(
                "{} names no running `lifeboat dev` (it was written by an older lifeboat): \
                 stop that fleet with Ctrl-C and start it again",
                dir.join("dev.json").display()
            );
        };
        Ok(Parent {
            dir,
            pid: dev["parent"]["pid"].as_i64(),
            control: control.to_string(),
            token: dev["admin_token"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn gone(&self) -> String {
        format!(
            "no fleet is running in {dir}: its `lifeboat dev` process{pid} is gone. Start it \
             again with `lifeboat dev --dir {dir}`",
            dir = self.dir.display(),
            pid = self.pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        )
    }

    /// `POST` a control route; `Err` says what was wrong (see [`Parent::gone`] for
    /// a parent that does not answer).
    async fn post(&self, path: &str) -> anyhow::Result<Value> {
        self.try_post(path)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{}", self.gone()))
    }

    /// `POST` a control route; `None` when no parent listens any more.
    async fn try_post(&self, path: &str) -> anyhow::Result<Option<Value>> {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.control))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Ok(None),
            Err(e) => bail!(
                "the `lifeboat dev` control endpoint at {}: {e}",
                self.control
            ),
        };
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            match body["error"]["message"].as_str() {
                Some(m) => bail!("{m}"),
                None => bail!("the `lifeboat dev` control endpoint answered {status}"),
            }
        }
        Ok(Some(body))
    }
}

/// The node's entry in dev.json, or the error naming the known ids.
fn node(dev: &Value, id: u64) -> anyhow::Result<&Value> {
    let nodes = dev["nodes"].as_array().map_or(&[][..], |n| n);
    if let Some(n) = nodes.iter().find(|n| n["id"] == id) {
        return Ok(n);
    }
    let ids: Vec<String> = nodes.iter().map(|n| n["id"].to_string()).collect();
    bail!("no node {id} in this fleet (it has: {})", ids.join(", "))
}

async fn kill_node(dir: &Path, dev: &Value, id: u64) -> anyhow::Result<i32> {
    node(dev, id)?;
    let parent = Parent::of(dir, dev)?;
    let v = parent.post(&format!("/dev/kill-node/{id}")).await?;
    let other = dev["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["id"] != id)
        .and_then(|n| n["api"].as_str())
        .unwrap_or("http://127.0.0.1:7102");
    println!(
        "node {id} (pid {}) killed with SIGKILL: no clean shutdown.\n\
         The other nodes keep the quorum; if node {id} led, they elect a new leader within \
         seconds. Watch from a live node:\n  lifeboat status --server {other}\n\
         Start it again (same config and data): lifeboat dev restart-node {id}",
        v["pid"]
    );
    Ok(0)
}

async fn restart_node(dir: &Path, dev: &Value, id: u64) -> anyhow::Result<i32> {
    let api = node(dev, id)?["api"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let parent = Parent::of(dir, dev)?;
    let v = parent.post(&format!("/dev/restart-node/{id}")).await?;
    let what = if v["was_running"] == true {
        format!("stopped (pid {}) and started again", v["previous_pid"])
    } else {
        "started again".to_string()
    };
    println!(
        "node {id} {what} as pid {}; waiting until it is ready...",
        v["pid"]
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + READY_WAIT;
    loop {
        let ready = http
            .get(format!("{api}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "node {id} (pid {}) is not ready after {READY_WAIT:?}; see its log: {}",
                v["pid"],
                v["log"].as_str().unwrap_or("node-N.log in the dev dir")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("node {id} is ready at {api}: it caught up from the leader. See: lifeboat status");
    Ok(0)
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    pid > 0
        && kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.starts_with(" Z")))
}

/// Every child pid dev.json lists.
fn child_pids(dev: &Value) -> Vec<i32> {
    ["nodes", "clusters"]
        .iter()
        .flat_map(|k| dev[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["pid"].as_i64())
        .map(|p| p as i32)
        .collect()
}

/// Wait until none of `pids` is alive; the survivors after `limit`.
async fn wait_gone(pids: &[i32], limit: Duration) -> Vec<i32> {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stop(dir: &Path, dev: &Value) -> anyhow::Result<i32> {
    let parent = Parent::of(dir, dev)?;
    let mut pids = child_pids(dev);
    let Some(v) = parent.try_post("/dev/stop").await? else {
        return stop_orphans(dir, dev, &parent).await;
    };
    pids.extend(
        v["pids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_i64().map(|p| p as i32)),
    );
    pids.extend(parent.pid.map(|p| p as i32));
    pids.sort_unstable();
    pids.dedup();
    println!("stopping the fleet in {}...", dir.display());
    let left = wait_gone(&pids, STOP_WAIT).await;
    if !left.is_empty() {
        bail!(
            "after {STOP_WAIT:?}, these processes of the fleet still run: {left:?}; \
             stop them with `kill -KILL PID`"
        );
    }
    println!(
        "stopped: {} processes, none left. State is kept: `lifeboat dev --dir {}` resumes \
         this fleet (`--fresh` starts over).",
        pids.len(),
        dir.display()
    );
    Ok(0)
}

/// The parent is gone (killed without a chance to stop its children): stop the
/// children it left, recognised by their command line naming this fleet's directory.
async fn stop_orphans(dir: &Path, dev: &Value, parent: &Parent<'_>) -> anyhow::Result<i32> {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let needle = abs.display().to_string();
    let ours = |pid: i32| {
        alive(pid)
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
    };
    let orphans: Vec<i32> = child_pids(dev).into_iter().filter(|p| ours(*p)).collect();
    if orphans.is_empty() {
        bail!("{}", parent.gone());
    }
    for pid in &orphans {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
    }
    for pid in wait_gone(&orphans, Duration::from_secs(10)).await {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let left = wait_gone(&orphans, Duration::from_secs(5)).await;
    if !left.is_empty() {
        bail!("these processes of the fleet survived SIGKILL: {left:?}");
    }
    println!(
        "the `lifeboat dev` of {} was gone; stopped the {} processes it left behind",
        dir.display(),
        orphans.len()
    );
    Ok(0)
}
