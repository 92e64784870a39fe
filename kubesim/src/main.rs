//! `lifeboat-kubesim`: the command line of the simulated Kubernetes API server.

use anyhow::{Context, Result};
use clap::Parser;
use lifeboat_kubesim::Config;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A simulated Kubernetes API server for tests (plain HTTP, 127.0.0.1 only).
#[derive(Debug, Parser)]
#[command(name = "lifeboat-kubesim", version)]
struct Cli {
    /// API address, e.g. 127.0.0.1:7201 (port 0: pick a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Admin API address [default: API port + 1; a free port if the API port is 0].
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Write a kubeconfig for this server to FILE.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Write {"server","admin","pid",...} as JSON to FILE once listening.
    #[arg(long)]
    info_file: Option<PathBuf>,
    /// Manifests to create at start: a YAML/JSON file or a directory of them (repeatable).
    #[arg(long)]
    seed: Vec<PathBuf>,
    /// Persist the store in DIR (loaded at start, flushed every second and at exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// File holding the admin bearer token [default: a random token, printed in --info-file].
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// File holding a bearer token that API requests must carry (401 otherwise).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Milliseconds before deployments/statefulsets/replicasets/daemonsets report ready.
    #[arg(long, default_value_t = 1000)]
    ready_delay_ms: u64,
    /// Bulk-generate N ConfigMaps in namespace `bench` (for benchmarks).
    #[arg(long, default_value_t = 0)]
    generate: usize,
    /// Start with a fault: healthy, down, hang, readyz-fail, latency=MS, errors=RATE[:CODE] (repeatable).
    #[arg(long)]
    fault: Vec<String>,
    /// Watch history length in events (older resourceVersions get 410 Gone).
    #[arg(long, default_value_t = lifeboat_kubesim::store::DEFAULT_HISTORY)]
    history: usize,
    /// Cluster, context and user name in the kubeconfig.
    #[arg(long, default_value = "kubesim")]
    cluster_name: String,
}

fn read_token(path: &PathBuf) -> Result<String> {
    let t = std::fs::read_to_string(path)
        .with_context(|| format!("reading token file {}", path.display()))?;
    Ok(t.trim().to_string())
}

fn config(cli: Cli) -> Result<Config> {
    let mut c = Config::new(cli.listen);
    c.admin_listen = cli.admin_listen;
    c.kubeconfig = cli.kubeconfig;
    c.info_file = cli.info_file;
    c.seed = cli.seed;
    c.data_dir = cli.data_dir;
    if let Some(p) = &cli.admin_token_file {
        c.admin_token = read_token(p)?;
        c.admin_token_file = Some(p.clone());
    }
    c.api_token = cli.token_file.as_ref().map(read_token).transpose()?;
    c.ready_delay_ms = cli.ready_delay_ms;
    c.generate = cli.generate;
    for f in &cli.fault {
        c.faults.apply_spec(f).context("--fault")?;
    }
    c.history = cli.history;
    c.cluster_name = cli.cluster_name;
    c.validate()?;
    Ok(c)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBESIM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = config(Cli::parse())?;
    let running = lifeboat_kubesim::server::start(cfg).await?;
    println!(
        "kubesim listening on http://{} (admin http://{})",
        running.api_addr, running.admin_addr
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    running.flush();
    Ok(())
}
