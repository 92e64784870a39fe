//! `lifeboat dev`: a whole fleet on this machine, each part its own child process.
//!
//! Layout of `--dir` (default `.lifeboat-dev`): `cluster.secret`, `admin.token`,
//! `kubesim-admin.token` (the simulated clusters' fault API; all 0600),
//! `node-N.yaml`, `node-N/` (data), `node-N.log`, `clusters/NAME/` and `NAME.kubeconfig`
//! per simulated cluster, `store/` (object store), and `dev.json` describing it all.
//! Re-running with the same `--dir` resumes the same fleet; `--fresh` starts over.
//! Ctrl-C (or SIGTERM) stops every child.

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

/// Names of the first simulated clusters; more are called `cluster-N`.
const CLUSTER_NAMES: [&str; 3] = ["eu-west", "us-east", "ap-south"];
/// Orchestrator nodes in a dev fleet.
const NODES: u64 = 3;
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
    /// Directory for the fleet's configs, data and logs.
    #[arg(long, default_value = ".lifeboat-dev", global = true)]
    pub dir: PathBuf,
    /// Node N's API listens on BASE+N, its Raft on BASE+10+N, cluster K on BASE+100+K
    /// (its fault/admin API on BASE+150+K).
    #[arg(long, default_value_t = 7100)]
    pub port_base: u16,
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

/// Chaos from the command line, on the fleet described by `DIR/dev.json`.
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
}

/// Run a [`DevAction`] against the running fleet.
async fn act(dir: &Path, action: &DevAction) -> anyhow::Result<i32> {
    let path = dir.join("dev.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no fleet at {}: start one with `lifeboat dev --dir {}`",
            path.display(),
            dir.display()
        )
    })?;
    let dev: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let (DevAction::KillCluster { name } | DevAction::ReviveCluster { name }) = action;
    let clusters = dev["clusters"].as_array().cloned().unwrap_or_default();
    let Some(c) = clusters.iter().find(|c| c["name"] == name.as_str()) else {
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
    let req = match action {
        DevAction::KillCluster { .. } => http
            .put(format!("{admin}/faults"))
            .json(&json!({ "mode": "down" })),
        DevAction::ReviveCluster { .. } => http.post(format!("{admin}/faults/reset")),
    };
    let resp = req
        .bearer_auth(token.trim())
        .send()
        .await
        .with_context(|| format!("{name}'s fault API at {admin}"))?;
    if !resp.status().is_success() {
        bail!("{name}'s fault API answered {}", resp.status());
    }
    match action {
        DevAction::KillCluster { .. } => {
            println!("{name} is down. Watch the quorum decide: lifeboat cluster show {name}")
        }
        DevAction::ReviveCluster { .. } => {
            println!(
                "{name} answers again; once Lost it stays Fenced until: lifeboat cluster unfence {name}"
            )
        }
    }
    Ok(0)
}

struct Running {
    name: String,
    child: Child,
}

/// Run the fleet until Ctrl-C.
pub async fn run(args: DevArgs) -> anyhow::Result<i32> {
    if let Some(action) = &args.action {
        return act(&args.dir, action).await;
    }
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("cannot remove {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)?;
    let exe = std::env::current_exe().context("cannot find the lifeboat executable")?;
    let mut children = Vec::new();
    let result = start_fleet(&args, &dir, &exe, &mut children).await;
    match result {
        Ok(()) => super::shutdown_signal().await,
        Err(ref e) => eprintln!("error: {e:#}"),
    }
    eprintln!("stopping {} processes...", children.len());
    stop_all(&mut children).await;
    result.map(|()| 0)
}

async fn start_fleet(
    args: &DevArgs,
    dir: &Path,
    exe: &Path,
    children: &mut Vec<Running>,
) -> anyhow::Result<()> {
    let admin_token = ensure_secret(&dir.join("admin.token"))?;
    ensure_secret(&dir.join("cluster.secret"))?;
    let store = dir.join("store");
    std::fs::create_dir_all(&store)?;
    let clusters = start_clusters(args, dir, exe, children).await?;
    let base = args.port_base;
    let sink = serve_sink(dir, base + 99).await?;
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
            extra_yaml: dev_snapshot_schedules(&clusters, &sink),
        };
        let config = dir.join(format!("node-{i}.yaml"));
        std::fs::write(&config, render_node_config(&spec))?;
        let log = dir.join(format!("node-{i}.log"));
        let child = spawn(
            exe,
            &["serve", "--config", &config.display().to_string()],
            &log,
        )?;
        let pid = child.id();
        children.push(Running {
            name: format!("node-{i}"),
            child,
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
    });
    std::fs::write(dir.join("dev.json"), serde_json::to_string_pretty(&dev)?)?;
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    load_example_runbooks(&peers[0].api, &admin_token, &names, &sink).await?;
    print_welcome(dir, &peers[0].api, clusters.len());
    Ok(())
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
    args: &DevArgs,
    dir: &Path,
    exe: &Path,
    children: &mut Vec<Running>,
) -> anyhow::Result<Vec<SimCluster>> {
    if args.clusters == 0 {
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
    let mut out = Vec::new();
    let mut ready = Vec::new();
    for k in 1..=args.clusters {
        let name = CLUSTER_NAMES
            .get(usize::from(k) - 1)
            .map_or_else(|| format!("cluster-{k}"), |n| n.to_string());
        let port = args.port_base + 100 + k;
        let admin_port = args.port_base + 150 + k;
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
            let seed = dir.join("dev-app.yaml");
            std::fs::write(&seed, DEV_APP)?;
            argv.extend(["--seed".to_string(), seed.display().to_string()]);
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let child = spawn(&kubesim, &argv, &log)?;
        let pid = child.id();
        children.push(Running {
            name: name.clone(),
            child,
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

/// Every simulated cluster is captured every minute; the newest 10 are kept.
/// Per-node config for the executor (dev sink allowlisted, secrets, a log channel) and
/// the snapshot schedules.
fn dev_snapshot_schedules(clusters: &[SimCluster], sink: &str) -> String {
    // The executor may call the dev sink; `notify` to `sre-oncall` goes to the node log.
    let mut y = format!(
        "executor:\n  http_allowlist: [\"{sink}/\"]\n  secrets_dir: secrets\n  notify:\n    \
         channels:\n      sre-oncall: {{log: {{}}}}\n"
    );
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

fn spawn(exe: &Path, args: &[&str], log: &Path) -> anyhow::Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    Command::new(exe)
        .args(args)
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

async fn stop_all(children: &mut [Running]) {
    for c in children.iter() {
        if let Some(pid) = c.child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for c in children.iter_mut() {
        let stopped = tokio::time::timeout(Duration::from_secs(5), c.child.wait()).await;
        if stopped.is_err() {
            let _ = c.child.kill().await;
        }
    }
}

fn print_welcome(dir: &Path, api: &str, clusters: usize) {
    println!(
        "Lifeboat dev fleet is up: 3 nodes, {clusters} simulated clusters.\n\
         \n  API     {api}\n  token   {dir}/admin.token\n  state   {dir}/dev.json\n\
         \nTry, in another shell:\n\
         \n  export LIFEBOAT_SERVER={api} LIFEBOAT_TOKEN=$(cat {dir}/admin.token)\
         \n  lifeboat status\
         \n  curl -s {api}/metrics | head\n\
         \nCtrl-C stops every process.",
        dir = dir.display()
    );
}
