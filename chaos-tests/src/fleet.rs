//! A fleet of real `lifeboat serve` processes on 127.0.0.1, for fault tests.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use lifeboat::dev::{NodeConfigSpec, PeerSpec, render_node_config, write_private};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::{FaultProxy, lifeboat_binary, wait_until};

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Number of voters.
    pub nodes: u64,
    /// Extra YAML for every node's config (e.g. `raft:` tuning).
    pub extra_yaml: String,
    /// Route every node-to-node path through a [`FaultProxy`] (needed for partitions).
    pub proxied: bool,
    /// Simulated clusters to start (`lifeboat-kubesim` processes). Every node reaches
    /// each through its own [`FaultProxy`], so one node's path can be cut.
    pub clusters: Vec<String>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            nodes: 3,
            extra_yaml: "raft:\n  heartbeat_ms: 100\n  election_timeout_min_ms: 500\n  \
                         election_timeout_max_ms: 1000\n  write_timeout_ms: 3000\n"
                .into(),
            proxied: false,
            clusters: Vec::new(),
        }
    }
}

/// One node of a fleet.
pub struct NodeHandle {
    /// Node id.
    pub id: u64,
    /// Its API base URL (direct, never proxied).
    pub api: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its log file (appended across restarts).
    pub log: PathBuf,
    child: Mutex<Option<Child>>,
}

/// Which node-to-node path a proxy serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Path {
    Raft,
    Api,
}

/// One simulated cluster of a fleet; its process is killed when it is dropped (also when
/// a fleet fails to start half-way).
pub struct SimCluster {
    /// Its name.
    pub name: String,
    /// Its API base URL (direct).
    pub server: String,
    /// Its fault/admin API base URL.
    pub admin: String,
    child: Mutex<Option<Child>>,
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        let child = self.child.lock().map(|mut c| c.take()).unwrap_or(None);
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A running fleet. Dropping it kills every node and cluster.
pub struct Fleet {
    /// Admin token.
    pub admin_token: String,
    /// Operator token.
    pub operator_token: String,
    /// Viewer token.
    pub viewer_token: String,
    nodes: Vec<NodeHandle>,
    proxies: BTreeMap<(u64, u64, Path), FaultProxy>,
    clusters: Vec<SimCluster>,
    cluster_proxies: BTreeMap<(u64, String), FaultProxy>,
    kubesim_admin_token: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

/// A port for a node or a simulated cluster to listen on. Taken below Linux's ephemeral
/// range (32768-60999), where the kernel never hands out ports on its own: a port found
/// free here stays free until the process we start binds it, whatever other tests
/// connect or listen on meanwhile. Never the same port twice in one test binary.
fn free_port() -> anyhow::Result<SocketAddr> {
    use std::hash::{BuildHasher, RandomState};
    static HANDED_OUT: Mutex<std::collections::BTreeSet<u16>> =
        Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().expect("port registry");
    for attempt in 0..500u64 {
        let port = 20_000 + (RandomState::new().hash_one(attempt) % 12_000) as u16;
        if handed_out.contains(&port) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            handed_out.insert(port);
            return Ok(l.local_addr()?);
        }
    }
    anyhow::bail!("no free port in 20000-32000 after 500 tries")
}

impl Fleet {
    /// Write configs, start every node and wait until a leader is known to all.
    pub async fn start(opts: FleetOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lifeboat-chaos-")
            .tempdir()?;
        let root = dir.path().to_path_buf();
        let secret = root.join("cluster.secret");
        write_private(&secret, &lifeboat::dev::random_secret())?;
        let mut tokens = Vec::new();
        let mut token_values = Vec::new();
        for role in ["admin", "operator", "viewer"] {
            let value = lifeboat::dev::random_secret();
            let path = root.join(format!("{role}.token"));
            write_private(&path, &value)?;
            tokens.push((role.to_string(), role.to_string(), path));
            token_values.push(value);
        }
        let ids: Vec<u64> = (1..=opts.nodes).collect();
        let kubesim_admin_token = lifeboat::dev::random_secret();
        write_private(&root.join("kubesim-admin.token"), &kubesim_admin_token)?;
        let clusters = start_clusters(&root, &opts.clusters).await?;
        let mut cluster_proxies = BTreeMap::new();
        let mut kubeconfigs: BTreeMap<u64, Vec<(String, PathBuf)>> = BTreeMap::new();
        for id in &ids {
            for c in &clusters {
                let target: SocketAddr = c.server.trim_start_matches("http://").parse()?;
                let proxy = FaultProxy::start(target).await?;
                let original =
                    std::fs::read_to_string(root.join(format!("{}.kubeconfig", c.name)))?;
                let mine = original.replace(&c.server, &format!("http://{}", proxy.addr()));
                let path = root.join(format!("node-{id}-{}.kubeconfig", c.name));
                write_private(&path, &mine)?;
                kubeconfigs
                    .entry(*id)
                    .or_default()
                    .push((c.name.clone(), path));
                cluster_proxies.insert((*id, c.name.clone()), proxy);
            }
        }
        let mut addrs = BTreeMap::new();
        for id in &ids {
            addrs.insert(*id, (free_port()?, free_port()?));
        }
        let mut proxies = BTreeMap::new();
        if opts.proxied {
            for from in &ids {
                for to in ids.iter().filter(|t| *t != from) {
                    let (api, raft) = addrs[to];
                    proxies.insert((*from, *to, Path::Raft), FaultProxy::start(raft).await?);
                    proxies.insert((*from, *to, Path::Api), FaultProxy::start(api).await?);
                }
            }
        }
        let mut nodes = Vec::new();
        for id in &ids {
            let peers = ids
                .iter()
                .map(|p| {
                    let (api, raft) = addrs[p];
                    let via = |path| {
                        proxies
                            .get(&(*id, *p, path))
                            .map(|x: &FaultProxy| format!("http://{}", x.addr()))
                    };
                    PeerSpec {
                        id: *p,
                        api: format!("http://{api}"),
                        raft: format!("http://{raft}"),
                        api_via: via(Path::Api),
                        raft_via: via(Path::Raft),
                    }
                })
                .collect();
            let (api, raft) = addrs[id];
            let spec = NodeConfigSpec {
                id: *id,
                data_dir: root.join(format!("node-{id}")),
                listen_api: api,
                listen_raft: raft,
                peers,
                secret_file: secret.clone(),
                tokens: tokens.clone(),
                store_url: format!("file://{}", root.join("store").display()),
                clusters: kubeconfigs.remove(id).unwrap_or_default(),
                extra_yaml: opts.extra_yaml.clone(),
            };
            let config = root.join(format!("node-{id}.yaml"));
            std::fs::write(&config, render_node_config(&spec))?;
            nodes.push(NodeHandle {
                id: *id,
                api: format!("http://{api}"),
                config,
                log: root.join(format!("node-{id}.log")),
                child: Mutex::new(None),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?;
        let fleet = Self {
            admin_token: token_values[0].clone(),
            operator_token: token_values[1].clone(),
            viewer_token: token_values[2].clone(),
            nodes,
            proxies,
            clusters,
            cluster_proxies,
            kubesim_admin_token,
            http,
            dir,
        };
        for id in ids {
            fleet.spawn(id)?;
        }
        let leader = fleet.wait_for_leader(&[], Duration::from_secs(30)).await?;
        if !opts.clusters.is_empty() {
            // The leader registers the configured clusters right after its election.
            let want = opts.clusters.len();
            wait_until(
                "every cluster registered",
                Duration::from_secs(30),
                || async {
                    let r = fleet
                        .request(leader, reqwest::Method::GET, "/v1/clusters")
                        .send()
                        .await
                        .ok()?;
                    let v: Value = r.json().await.ok()?;
                    (v["clusters"].as_array()?.len() == want).then_some(())
                },
            )
            .await?;
        }
        Ok(fleet)
    }

    /// The fleet's directory (configs, data dirs, logs).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Node `id`.
    pub fn node(&self, id: u64) -> &NodeHandle {
        &self.nodes[id as usize - 1]
    }

    /// Every node id.
    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    fn spawn(&self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let child = Command::new(lifeboat_binary())
            .arg("serve")
            .arg("--config")
            .arg(&node.config)
            .env("LIFEBOAT_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawn lifeboat serve")?;
        *node.child.lock().expect("child lock") = Some(child);
        Ok(())
    }

    fn signal(&self, id: u64, sig: Signal) -> anyhow::Result<()> {
        let guard = self.node(id).child.lock().expect("child lock");
        let child = guard.as_ref().context("node is not running")?;
        kill(Pid::from_raw(child.id() as i32), sig)?;
        Ok(())
    }

    /// `kill -9` node `id` and reap it.
    pub fn kill(&self, id: u64) -> anyhow::Result<()> {
        self.signal(id, Signal::SIGKILL)?;
        let child = self.node(id).child.lock().expect("child lock").take();
        if let Some(mut c) = child {
            c.wait()?;
        }
        Ok(())
    }

    /// Freeze node `id` (SIGSTOP).
    pub fn pause(&self, id: u64) -> anyhow::Result<()> {
        self.signal(id, Signal::SIGSTOP)
    }

    /// Thaw node `id` (SIGCONT).
    pub fn resume(&self, id: u64) -> anyhow::Result<()> {
        self.signal(id, Signal::SIGCONT)
    }

    /// Start a killed node again from its data dir; waits until it serves HTTP.
    pub async fn restart(&self, id: u64) -> anyhow::Result<()> {
        self.spawn(id)?;
        let url = format!("{}/healthz", self.node(id).api);
        let http = self.http.clone();
        wait_until(
            &format!("node {id} to serve after restart"),
            Duration::from_secs(30),
            || {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    http.get(&url)
                        .send()
                        .await
                        .ok()
                        .filter(|r| r.status().is_success())
                }
            },
        )
        .await?;
        Ok(())
    }

    /// Cut node `id` off from every other node (both directions, Raft and API).
    pub fn isolate(&self, id: u64) {
        self.set_cut(id, true);
    }

    /// Undo [`Fleet::isolate`].
    pub fn heal(&self, id: u64) {
        self.set_cut(id, false);
    }

    fn set_cut(&self, id: u64, cut: bool) {
        assert!(
            !self.proxies.is_empty(),
            "partitions need FleetOptions::proxied"
        );
        for ((from, to, _), p) in &self.proxies {
            if *from == id || *to == id {
                if cut { p.cut() } else { p.heal() }
            }
        }
    }

    /// A request to node `id`'s API with the admin token.
    pub fn request(&self, id: u64, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.node(id).api);
        self.http
            .request(method, url)
            .bearer_auth(&self.admin_token)
    }

    /// Node `id`'s `/v1/status`, if it answers.
    pub async fn status(&self, id: u64) -> Option<Value> {
        let r = self
            .request(id, reqwest::Method::GET, "/v1/status")
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    /// Wait until one node, not in `excluding`, is leader and every other live node not
    /// in `excluding` agrees. Returns its id.
    pub async fn wait_for_leader(&self, excluding: &[u64], limit: Duration) -> anyhow::Result<u64> {
        let ids: Vec<u64> = self
            .ids()
            .into_iter()
            .filter(|i| !excluding.contains(i))
            .collect();
        wait_until("a leader agreed on by every reachable node", limit, || {
            let ids = ids.clone();
            async move {
                let mut seen = Vec::new();
                for id in &ids {
                    seen.push(self.status(*id).await?["raft"]["leader_id"].as_u64()?);
                }
                let first = *seen.first()?;
                (seen.iter().all(|l| *l == first) && ids.contains(&first)).then_some(first)
            }
        })
        .await
    }

    /// Write `key = value` through node `id`. `Ok(version)` when acknowledged.
    pub async fn put(&self, id: u64, key: &str, value: Value) -> anyhow::Result<u64> {
        let body = serde_json::json!({ "value": value });
        let r = self
            .request(id, reqwest::Method::PUT, &format!("/v1/kv/{key}"))
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        anyhow::ensure!(status.is_success(), "PUT {key} on node {id}: {status} {v}");
        v["version"].as_u64().context("no version in answer")
    }

    /// Keys under `prefix` as node `id` has applied them (its local state, no forwarding).
    pub async fn local_keys(&self, id: u64, prefix: &str) -> Option<Vec<String>> {
        let path = format!("/v1/kv?prefix={prefix}&consistency=local");
        let r = self
            .request(id, reqwest::Method::GET, &path)
            .send()
            .await
            .ok()?;
        let v: Value = r.json().await.ok()?;
        let keys = v["entries"]
            .as_array()?
            .iter()
            .filter_map(|e| e["key"].as_str().map(String::from));
        Some(keys.collect())
    }

    fn cluster(&self, name: &str) -> &SimCluster {
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .expect("no such simulated cluster")
    }

    /// Cluster `name`'s API base URL (direct, not through any proxy).
    pub fn cluster_server(&self, name: &str) -> &str {
        &self.cluster(name).server
    }

    /// Set any of kubesim's faults (`{"error_rate": 1.0, "error_code": 500}`...).
    pub async fn cluster_faults(&self, name: &str, faults: Value) -> anyhow::Result<()> {
        let url = format!("{}/faults", self.cluster(name).admin);
        let r = self
            .http
            .put(url)
            .bearer_auth(&self.kubesim_admin_token)
            .json(&faults)
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "kubesim faults {faults}: {}",
            r.status()
        );
        Ok(())
    }

    /// Switch a simulated cluster's fault: `down` (refuses connections), `hang`
    /// (accepts, never answers), or `healthy`.
    pub async fn cluster_fault(&self, name: &str, mode: &str) -> anyhow::Result<()> {
        let url = format!("{}/faults", self.cluster(name).admin);
        let r = self
            .http
            .put(url)
            .bearer_auth(&self.kubesim_admin_token)
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "kubesim fault {mode}: {}",
            r.status()
        );
        Ok(())
    }

    /// Cut node `id`'s own path to cluster `name` (the others still reach it).
    pub fn cut_cluster_path(&self, id: u64, name: &str) {
        self.cluster_proxies[&(id, name.to_string())].cut();
    }

    /// Undo [`Fleet::cut_cluster_path`].
    pub fn heal_cluster_path(&self, id: u64, name: &str) {
        self.cluster_proxies[&(id, name.to_string())].heal();
    }

    /// `GET /v1/clusters/{name}` through node `id` (linearizable), if it answers.
    pub async fn cluster_view(&self, id: u64, name: &str) -> Option<Value> {
        let r = self
            .request(id, reqwest::Method::GET, &format!("/v1/clusters/{name}"))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json().await.ok()
    }

    /// Wait until cluster `name`'s verdict, as node `id` serves it, is `verdict`.
    pub async fn wait_verdict(
        &self,
        id: u64,
        name: &str,
        verdict: &str,
        limit: Duration,
    ) -> anyhow::Result<Value> {
        let what = format!("cluster {name} to be {verdict} (asking node {id})");
        wait_until(&what, limit, || async {
            let v = self.cluster_view(id, name).await?;
            (v["verdict"] == verdict).then_some(v)
        })
        .await
    }

    /// The last lines of node `id`'s log, for failure messages.
    pub fn log_tail(&self, id: u64, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.node(id).log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Start one kubesim per name, each writing `NAME.kubeconfig` in `root`, and wait
/// until every one is ready.
async fn start_clusters(
    root: &std::path::Path,
    names: &[String],
) -> anyhow::Result<Vec<SimCluster>> {
    let bin = lifeboat_binary().with_file_name("lifeboat-kubesim");
    if !names.is_empty() && !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "lifeboat-kubesim"])
            .status()?;
        anyhow::ensure!(status.success(), "cargo build -p lifeboat-kubesim failed");
    }
    let mut out = Vec::new();
    for name in names {
        let (api, admin) = (free_port()?, free_port()?);
        let log = std::fs::File::create(root.join(format!("{name}.log")))?;
        let child = Command::new(&bin)
            .args([
                "--listen",
                &api.to_string(),
                "--admin-listen",
                &admin.to_string(),
            ])
            .arg("--kubeconfig")
            .arg(root.join(format!("{name}.kubeconfig")))
            .arg("--admin-token-file")
            .arg(root.join("kubesim-admin.token"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        out.push(SimCluster {
            name: name.clone(),
            server: format!("http://{api}"),
            admin: format!("http://{admin}"),
            child: Mutex::new(Some(child)),
        });
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    for c in &out {
        let kubeconfig = root.join(format!("{}.kubeconfig", c.name));
        let url = format!("{}/readyz", c.server);
        let log = root.join(format!("{}.log", c.name));
        let what = format!("kubesim {} ready", c.name);
        let ready = wait_until(&what, Duration::from_secs(30), || async {
            let ok = http.get(&url).send().await.ok()?.status().is_success();
            (ok && kubeconfig.exists()).then_some(())
        });
        // A kubesim that exits (e.g. its port was taken) fails the start at once, with its log.
        let exited = async {
            loop {
                let gone = c
                    .child
                    .lock()
                    .expect("child lock")
                    .as_mut()
                    .is_some_and(|ch| matches!(ch.try_wait(), Ok(Some(_))));
                if gone {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            r = ready => r?,
            () = exited => anyhow::bail!(
                "kubesim {} exited during start-up:\n{}",
                c.name,
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    }
    Ok(out)
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::env::var_os("LIFEBOAT_CHAOS_KEEP").is_some() {
            eprintln!("LIFEBOAT_CHAOS_KEEP: keeping {}", self.dir.path().display());
            self.dir.disable_cleanup(true);
        }
        for n in &self.nodes {
            let child = n.child.lock().map(|mut c| c.take()).unwrap_or(None);
            if let Some(mut c) = child {
                let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGCONT);
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
