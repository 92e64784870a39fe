//! `lifeboat dev`: a whole fleet on this machine, each part its own child process.
//!
//! Layout of `--dir` (default `.lifeboat-dev`): `cluster.secret`, `admin.token`,
//! `kubesim-admin.token` (the simulated clusters' fault API; all 0600),
//! `node-N.yaml`, `node-N/` (data), `node-N.log`, `clusters/NAME/` and `NAME.kubeconfig`
//! per simulated cluster, `store/` (object store), and `dev.json` describing it all.
//! `dev.json` is written (atomically) once the fleet is up and its example runbooks are
//! loaded, and again when a node is restarted; its `parent` entry names the running
//! `lifeboat dev` process and its control endpoint.
//! Re-running with the same `--dir` resumes the same fleet (on the `--port-base` it was
//! created with: the Raft membership holds its addresses); `--fresh` starts over.
//! `--dir` may also come from `LIFEBOAT_DEV_DIR`, which the welcome's export line sets,
//! so the chaos commands find the fleet from any directory.
//!
//! The `lifeboat dev` process is the only owner of the children. The chaos and stop
//! commands (`lifeboat dev kill-node|restart-node|stop`, see [`actions`]) are
//! short-lived CLI processes that ask it, over a small HTTP control endpoint on
//! `127.0.0.1:BASE+98` guarded by the fleet's admin token (see [`control`]), to kill,
//! start or stop children. So a restarted node is a child of the fleet like the others,
//! and Ctrl-C (or SIGTERM, or `lifeboat dev stop`) stops every child, leaving no
//! process behind. `kill-cluster`/`revive-cluster` talk to the simulated cluster's own
//! fault API instead: the process stays, its API refuses connections.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::dev::{NodeConfigSpec, PeerSpec, ensure_secret, render_node_config};

mod actions;
mod control;

/// Names of the first simulated clusters; more are called `cluster-N`.
const CLUSTER_NAMES: [&str; 3] = ["eu-west", "us-east", "ap-south"];
/// Orchestrator nodes in a dev fleet.
const NODES: u64 = 3;
/// `--port-base` of a new fleet.
const DEFAULT_PORT_BASE: u16 = 7100;
/// The parent's control endpoint listens on `--port-base` plus this.
const CONTROL_PORT: u16 = 98;
/// The example runbooks every dev fleet starts with (embedded in the binary).
const EXAMPLE_RUNBOOKS: [(&str, &str); 3] = [
    (
        "failover.yaml",
        include_str!("../../../runbooks/examples/failover.yaml"),
    ),
    (
        "drill.yaml",
        include_str!("../../../runbooks/examples/drill.yaml"),
    ),
    (
        "failback.yaml",
        include_str!("../../../runbooks/examples/failback.yaml"),
    ),
];

/// The application every simulated cluster is seeded with on its first start.
const DEV_APP: &str = include_str!("dev_app.yaml");

/// Arguments of `lifeboat dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Directory for the fleet's configs, data and logs (the fleet that the chaos and
    /// stop commands act on).
    #[arg(
        long,
        env = "LIFEBOAT_DEV_DIR",
        default_value = ".lifeboat-dev",
        global = true
    )]
    pub dir: PathBuf,
    /// Node N's API listens on BASE+N, its Raft on BASE+10+N, cluster K on BASE+100+K
    /// (its fault/admin API on BASE+150+K). Default 7100; a resumed fleet keeps the
    /// base it was created with.
    #[arg(long)]
    pub port_base: Option<u16>,
    /// Number of simulated clusters (`lifeboat-kubesim` processes).
    #[arg(long, default_value_t = 3)]
    pub clusters: u16,
    /// Delete the directory first and start a new fleet.
    #[arg(long)]
    pub fresh: bool,
    /// Act on a running fleet instead of starting one.
    #[command(subcommand)]
    pub action: Option<DevAction>,
}

/// Chaos and control from the command line, on the fleet described by `DIR/dev.json`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DevAction {
    /// Make a simulated cluster refuse every connection (as if it died).
    KillCluster {
        /// Cluster name (see dev.json).
        name: String,
    },
    /// Bring a killed simulated cluster back.
    ReviveCluster {
        /// Cluster name.
        name: String,
    },
    /// SIGKILL orchestrator node ID: a crash, no clean shutdown.
    KillNode {
        /// Node id (1-3).
        id: u64,
    },
    /// Start node ID again with the same config and data; wait until it is ready.
    ///
    /// A running node is stopped first (SIGTERM). The running `lifeboat dev` starts it
    /// and owns it, so Ctrl-C there (or `lifeboat dev stop`) still stops it.
    RestartNode {
        /// Node id (1-3).
        id: u64,
    },
    /// Stop every process of the fleet, as Ctrl-C does; wait until all are gone.
    ///
    /// State is kept: `lifeboat dev` with the same `--dir` resumes the fleet. If the
    /// `lifeboat dev` process itself was killed, the processes it left are stopped.
    Stop,
}

/// How to start a child process again (nodes only: `restart-node`).
#[derive(Debug, Clone)]
struct Launch {
    exe: PathBuf,
    args: Vec<String>,
    log: PathBuf,
}

/// A child process of the fleet.
struct Running {
    name: String,
    child: Child,
    /// The node id and how to start it again, for orchestrator nodes.
    node: Option<(u64, Launch)>,
}

/// Run the fleet until Ctrl-C, SIGTERM or `lifeboat dev stop`.
pub async fn run(args: DevArgs) -> anyhow::Result<i32> {
    if let Some(action) = &args.action {
        return actions::act(&args.dir, action).await;
    }
    control::refuse_if_running(&args.dir).await?;
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot remove {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let exe = std::env::current_exe().context("cannot find the lifeboat executable")?;
    let base = port_base(args.port_base, &dir)?;
    let control = control::bind(base + CONTROL_PORT).await?;
    let mut children = Vec::new();
    let started = tokio::select! {
        r = start_fleet(&args, base, &dir, &exe, &mut children, &control.url) => r,
        () = super::shutdown_signal() => Err(anyhow::anyhow!("interrupted during start")),
    };
    let dev_json = match started {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e:#}");
            eprintln!("stopping {} processes...", children.len());
            stop_all(&mut children).await;
            return Err(e);
        }
    };
    let fleet = control::Fleet::new(&dir, children, dev_json);
    fleet.lock().await.write_dev_json()?;
    print_welcome(&dir, &exe, &fleet.lock().await.dev_json);
    let token = fleet.lock().await.dev_json["admin_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let stop = control.serve(fleet.clone(), token);
    tokio::select! {
        () = super::shutdown_signal() => {},
        () = stop.notified() => eprintln!("`lifeboat dev stop` asked to stop the fleet"),
    }
    let mut f = fleet.lock().await;
    f.stopping = true;
    eprintln!("stopping {} processes...", f.children.len());
    stop_all(&mut f.children).await;
    Ok(0)
}

/// The port base: as given, else the one the fleet in `dir` was created with (its Raft
/// membership holds its nodes' addresses, so a resumed fleet must keep them), else 7100.
fn port_base(given: Option<u16>, dir: &Path) -> anyhow::Result<u16> {
    let dev: Option<serde_json::Value> = std::fs::read_to_string(dir.join("dev.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let saved = dev.and_then(|d| {
        d["port_base"].as_u64().or_else(|| {
            // dev.json from before `port_base` was recorded: node 1's API is BASE+1.
            let api = d["nodes"][0]["api"].as_str()?;
            api.rsplit(':').next()?.parse::<u64>().ok()?.checked_sub(1)
        })
    });
    let saved = saved.and_then(|p| u16::try_from(p).ok());
    match (given, saved) {
        (Some(g), Some(s)) if g != s => bail!(
            "the fleet in {} was created with --port-base {s} and its nodes know each other \
             by those ports: resume it with --port-base {s} (or without the flag), or start \
             a new fleet with --fresh",
            dir.display()
        ),
        (Some(p), _) | (None, Some(p)) => Ok(p),
        (None, None) => Ok(DEFAULT_PORT_BASE),
    }
}

async fn start_fleet(
    args: &DevArgs,
    base: u16,
    dir: &Path,
    exe: &Path,
    children: &mut Vec<Running>,
    control: &str,
) -> anyhow::Result<serde_json::Value> {
    let admin_token = ensure_secret(&dir.join("admin.token"))?;
    ensure_secret(&dir.join("cluster.secret"))?;
    let store = dir.join("store");
    std::fs::create_dir_all(&store)?;
    let clusters = start_clusters(args.clusters, base, dir, exe, children).await?;
    let sink = serve_sink(dir, base + 99).await?;
    let plugins = stage_dev_plugins(dir, exe);
    if !plugins {
        eprintln!(
            "note: example plugins are not built, so none is registered; build them with \
             `bash plugins/examples/build.sh` (needs clang-14, see scripts/deps/)"
        );
    }
    // The example failover's `dnsToken` param references `secret:dns-api/token`.
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(secrets.join("dns-api"))?;
    ensure_secret(&secrets.join("dns-api").join("token"))?;
    let peers: Vec<PeerSpec> = (1..=NODES)
        .map(|i| PeerSpec {
            id: i,
            api: format!("http://127.0.0.1:{}", base + i as u16),
            raft: format!("http://127.0.0.1:{}", base + 10 + i as u16),
            api_via: None,
            raft_via: None,
        })
        .collect();
    let mut nodes_json = Vec::new();
    for i in 1..=NODES {
        let spec = NodeConfigSpec {
            id: i,
            data_dir: dir.join(format!("node-{i}")),
            listen_api: format!("127.0.0.1:{}", base + i as u16).parse()?,
            listen_raft: format!("127.0.0.1:{}", base + 10 + i as u16).parse()?,
            peers: peers.clone(),
            secret_file: dir.join("cluster.secret"),
            tokens: vec![("admin".into(), "admin".into(), dir.join("admin.token"))],
            store_url: format!("file://{}", store.display()),
            clusters: clusters
                .iter()
                .map(|c| (c.name.clone(), c.kubeconfig.clone()))
                .collect(),
            extra_yaml: dev_extra_config(&clusters, &sink, plugins),
        };
        let config = dir.join(format!("node-{i}.yaml"));
        std::fs::write(&config, render_node_config(&spec))?;
        let launch = Launch {
            exe: exe.to_path_buf(),
            args: vec![
                "serve".into(),
                "--config".into(),
                config.display().to_string(),
            ],
            log: dir.join(format!("node-{i}.log")),
        };
        let child = spawn(&launch, false)?;
        let pid = child.id();
        let log = launch.log.clone();
        children.push(Running {
            name: format!("node-{i}"),
            child,
            node: Some((i, launch)),
        });
        nodes_json.push(json!({
            "id": i, "api": peers[i as usize - 1].api, "pid": pid,
            "config": config, "log": log,
        }));
    }
    let apis: Vec<String> = peers.iter().map(|p| format!("{}/readyz", p.api)).collect();
    wait_ready(&apis, children, Duration::from_secs(60)).await?;
    let clusters_json: Vec<_> = clusters
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "server": c.server, "kubeconfig": c.kubeconfig, "pid": c.pid,
                "admin": c.admin, "admin_token_file": dir.join("kubesim-admin.token"),
            })
        })
        .collect();
    let dev = json!({
        "nodes": nodes_json,
        "clusters": clusters_json,
        "admin_token": admin_token,
        "store": format!("file://{}", store.display()),
        "port_base": base,
        "parent": { "pid": std::process::id(), "control": control },
    });
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    load_example_runbooks(&peers[0].api, &admin_token, &names, &sink).await?;
    Ok(dev)
}

/// One simulated cluster of the fleet.
struct SimCluster {
    name: String,
    server: String,
    admin: String,
    kubeconfig: PathBuf,
    pid: Option<u32>,
}

/// Start the simulated clusters.
async fn start_clusters(
    count: u16,
    base: u16,
    dir: &Path,
    exe: &Path,
    children: &mut Vec<Running>,
) -> anyhow::Result<Vec<SimCluster>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let kubesim = exe.with_file_name("lifeboat-kubesim");
    if !kubesim.exists() {
        build_kubesim_under_cargo();
    }
    if !kubesim.exists() {
        bail!(
            "{} not found: build every binary first with `cargo build --workspace --bins`, \
             or pass --clusters 0",
            kubesim.display()
        );
    }
    let admin_token = dir.join("kubesim-admin.token");
    ensure_secret(&admin_token)?;
    // Written once, before any simulator starts: each reads it while it starts, so
    // rewriting it for the next cluster could hand one a truncated (or empty) seed.
    let seed = dir.join("dev-app.yaml");
    std::fs::write(&seed, DEV_APP).with_context(|| format!("cannot write {}", seed.display()))?;
    let mut out = Vec::new();
    let mut ready = Vec::new();
    for k in 1..=count {
        let name = CLUSTER_NAMES
            .get(usize::from(k) - 1)
            .map_or_else(|| format!("cluster-{k}"), |n| n.to_string());
        let port = base + 100 + k;
        let admin_port = base + 150 + k;
        let server = format!("http://127.0.0.1:{port}");
        let kubeconfig = dir.join(format!("{name}.kubeconfig"));
        let data = dir.join("clusters").join(&name);
        let first_start = !data.exists();
        std::fs::create_dir_all(&data)?;
        let log = dir.join(format!("{name}.log"));
        let mut argv = vec![
            "--listen".to_string(),
            format!("127.0.0.1:{port}"),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--admin-listen".into(),
            format!("127.0.0.1:{admin_port}"),
            "--admin-token-file".into(),
            admin_token.display().to_string(),
        ];
        if first_start {
            // Seeded once; a resumed fleet keeps whatever the clusters hold now.
            argv.extend(["--seed".to_string(), seed.display().to_string()]);
        }
        let launch = Launch {
            exe: kubesim.clone(),
            args: argv,
            log,
        };
        let child = spawn(&launch, false)?;
        let pid = child.id();
        children.push(Running {
            name: name.clone(),
            child,
            node: None,
        });
        ready.push(format!("{server}/readyz"));
        out.push(SimCluster {
            name,
            server,
            admin: format!("http://127.0.0.1:{admin_port}"),
            kubeconfig,
            pid,
        });
    }
    wait_ready(&ready, children, Duration::from_secs(30)).await?;
    Ok(out)
}

/// Under `cargo run` (which builds only the `lifeboat` package), build the simulator
/// too, so `cargo run -p lifeboat -- dev` works on a fresh clone.
fn build_kubesim_under_cargo() {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    eprintln!("building lifeboat-kubesim (first run)...");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "-p",
            "lifeboat-kubesim",
            "--bin",
            "lifeboat-kubesim",
        ])
        .status();
    if let Err(e) = status {
        eprintln!("could not run cargo to build lifeboat-kubesim: {e}");
    }
}

/// The example plugins a dev fleet registers, when they have been built
/// (`bash plugins/examples/build.sh`, which the test script runs).
const DEV_PLUGINS: [&str; 4] = ["dns-switch", "slo-check", "kube-scale", "kube-mark"];

/// Copy the built example plugins into `DIR/plugins` (the nodes' `plugins.dir`); false
/// when none is built yet.
fn stage_dev_plugins(dir: &Path, exe: &Path) -> bool {
    let Some(built) = exe
        .parent()
        .and_then(Path::parent)
        .map(|t| t.join("lifeboat-plugin-examples"))
    else {
        return false;
    };
    let target = dir.join("plugins");
    let mut any = false;
    for name in DEV_PLUGINS {
        let from = built.join(format!("{name}.wasm"));
        if from.exists()
            && std::fs::create_dir_all(&target).is_ok()
            && std::fs::copy(&from, target.join(format!("{name}.wasm"))).is_ok()
        {
            any = true;
        }
    }
    any
}

/// Per-node config: the executor (dev sink allowlisted, secrets, a log channel), the
/// example plugins if built, and the snapshot schedules (every simulated cluster is
/// captured every minute; the newest 10 are kept).
fn dev_extra_config(clusters: &[SimCluster], sink: &str, plugins: bool) -> String {
    // The executor may call the dev sink; `notify` to `sre-oncall` goes to the node log.
    let mut y = format!(
        "executor:\n  http_allowlist: [\"{sink}/\"]\n  secrets_dir: secrets\n  notify:\n    \
         channels:\n      sre-oncall: {{log: {{}}}}\n"
    );
    if plugins {
        y.push_str("plugins:\n  dir: plugins\n");
    }
    if clusters.is_empty() {
        return y;
    }
    y.push_str("snapshots:\n  retention:\n    keep_last: 10\n  schedules:\n");
    for c in clusters {
        y.push_str(&format!(
            "    - cluster: {}\n      cron: \"0 * * * * *\"\n",
            c.name
        ));
    }
    y
}

/// The example runbooks, made concrete for this fleet: for each cluster a failover and a
/// failback to/from the next cluster, and a drill restoring it into the next cluster
/// (with a single cluster, only the drill, into that cluster's `-drill` namespaces);
/// the traffic switch and smoke test call the dev sink (see [`serve_sink`]).
pub fn dev_runbooks(clusters: &[String], sink: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, c) in clusters.iter().enumerate() {
        let standby = &clusters[(i + 1) % clusters.len()];
        for (file, yaml) in EXAMPLE_RUNBOOKS {
            // One cluster: only the drill (into itself, in `-drill` namespaces) makes sense.
            if standby == c && file != "drill.yaml" {
                continue;
            }
            let y = yaml
                .replace("eu-central", standby)
                .replace("[standby, us-east]", &format!("[{standby}]"))
                .replace(&format!("[{standby}, us-east]"), &format!("[{standby}]"))
                .replace("eu-west", c)
                .replace("https://dns.example.com/", &format!("{sink}/dns/"))
                .replace(
                    "https://smoke.drill.example.com/",
                    &format!("{sink}/smoke/"),
                );
            out.push((format!("{file}@{c}"), y));
        }
    }
    out
}

/// A local stand-in for the outside world the example runbooks call (a DNS API for the
/// traffic switch, a smoke-test endpoint): it answers every request `200 {"ok":true}`
/// and appends `METHOD PATH BODY` to `DIR/sink.log`. Lives as long as `lifeboat dev`.
async fn serve_sink(dir: &Path, port: u16) -> anyhow::Result<String> {
    use axum::body::Bytes;
    use axum::http::{Method, Uri};
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("dev sink: cannot listen on {addr} (pick another --port-base)"))?;
    let log = dir.join("sink.log");
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let log = log.clone();
        async move {
            use std::io::Write;
            let line = format!("{method} {uri} {}\n", String::from_utf8_lossy(&body));
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
            {
                let _ = f.write_all(line.as_bytes());
            }
            axum::Json(json!({"ok": true, "path": uri.path()}))
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// Store the example runbooks (idempotent: an unchanged runbook is not rewritten).
async fn load_example_runbooks(
    api: &str,
    token: &str,
    clusters: &[String],
    sink: &str,
) -> anyhow::Result<()> {
    let client = crate::client::ApiClient::new(api, Some(token.to_string()));
    for (file, yaml) in dev_runbooks(clusters, sink) {
        let (file, yaml) = (file.as_str(), yaml.as_str());
        let report = lifeboat_runbooks::parse_and_lint(file, yaml, &lifeboat_runbooks::NoPlugins);
        let name = report
            .runbook
            .map(|r| r.metadata.name)
            .context("example runbook does not parse")?;
        client
            .put_body(
                &format!("/v1/runbooks/{name}"),
                "application/yaml",
                yaml.to_string(),
            )
            .await
            .with_context(|| format!("loading example runbook {file}"))?;
    }
    Ok(())
}

/// Start a child with stdout and stderr to its log (appended to when `append`, so a
/// restarted node's log keeps what happened before).
fn spawn(launch: &Launch, append: bool) -> anyhow::Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&launch.log)
        .with_context(|| format!("cannot open {}", launch.log.display()))?;
    let err = out.try_clone()?;
    let exe = &launch.exe;
    Command::new(exe)
        .args(&launch.args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))
}

/// Poll every URL until it answers 2xx; fail early if a child exits.
async fn wait_ready(
    urls: &[String],
    children: &mut [Running],
    limit: Duration,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + limit;
    loop {
        for c in children.iter_mut() {
            if let Some(status) = c.child.try_wait()? {
                bail!(
                    "{} exited during start-up ({status}); see its log in the dev dir",
                    c.name
                );
            }
        }
        let mut all = true;
        for u in urls {
            let ok = http
                .get(u)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            all &= ok;
        }
        if all {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the fleet was not ready within {limit:?}; see the logs in the dev dir");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGTERM every child, give them 10 s in all, then SIGKILL whatever is left; every
/// child is reaped.
async fn stop_all(children: &mut [Running]) {
    for c in children.iter() {
        if let Some(pid) = c.child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for c in children.iter_mut() {
        if tokio::time::timeout_at(deadline, c.child.wait())
            .await
            .is_err()
        {
            let _ = c.child.kill().await;
        }
    }
}

/// Where to go next: the API, the token and the first commands to try.
fn print_welcome(dir: &Path, exe: &Path, dev: &serde_json::Value) {
    let api = dev["nodes"][0]["api"].as_str().unwrap_or("?");
    let clusters: Vec<&str> = dev["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let token = dir.join("admin.token");
    let mut try_these = vec![
        (
            "lifeboat status".to_string(),
            "leader, members, cluster verdicts",
        ),
        (
            "lifeboat snapshot list".to_string(),
            "every cluster is captured every minute",
        ),
    ];
    if let Some(first) = clusters.first() {
        try_these.push((
            format!("lifeboat drill start drill-{first} --wait"),
            "restore into -drill namespaces; RTO/RPO",
        ));
    }
    if let (Some(first), true) = (clusters.first(), clusters.len() > 1) {
        try_these.push((
            format!("lifeboat dev kill-cluster {first}"),
            "Lost by quorum in ~8 s; failover starts",
        ));
        try_these.push((
            "lifeboat run list".to_string(),
            "then: lifeboat run watch RUN_ID",
        ));
    }
    try_these.push((
        "lifeboat dev kill-node 1".to_string(),
        "then: lifeboat dev restart-node 1",
    ));
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| Some(d.as_path()) == exe.parent()));
    let alias = if on_path {
        String::new()
    } else {
        format!("\n  alias lifeboat={}", exe.display())
    };
    let mut out = format!(
        "Lifeboat dev fleet is up: {NODES} orchestrator nodes, {} simulated clusters ({}).\n\
         \n  API     {api} (any node answers)\
         \n  token   {} (admin)\
         \n  fleet   {} (pids, URLs, kubeconfigs; logs beside it)\n\
         \nIn another shell:\n{alias}\
         \n  export LIFEBOAT_SERVER={api} LIFEBOAT_TOKEN=$(cat {}) LIFEBOAT_DEV_DIR={}\n",
        clusters.len(),
        clusters.join(", "),
        token.display(),
        dir.join("dev.json").display(),
        token.display(),
        dir.display(),
    );
    for (cmd, what) in try_these {
        out.push_str(&format!("  {cmd:<44} # {what}\n"));
    }
    out.push_str("\nCtrl-C here (or `lifeboat dev stop`) stops every process.");
    println!("{out}");
}
