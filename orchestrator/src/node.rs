//! One orchestrator node: the Raft group member, its catalog, and its servers.
//!
//! [`Node`] is what API handlers hold. [`serve`] binds both listeners (so a port in use
//! fails before anything else starts), opens the Raft store, bootstraps the configured
//! voters on first start (idempotent), runs the leader's duties and serves until a
//! shutdown signal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use lifeboat_raft::{Bootstrap, RaftNode, RaftOptions, ReadError, WriteError};
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::api::ApiError;
use crate::catalog::{Catalog, Command, Op, Response};
use crate::config::LoadedConfig;
use crate::metrics::Metrics;

/// Milliseconds since the Unix epoch on this node's clock (used only to stamp commands
/// this node proposes as leader, never during apply).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A running node, shared by the API handlers.
pub struct Node {
    /// The config it runs with.
    pub cfg: LoadedConfig,
    /// Its Raft member.
    pub raft: RaftNode<Catalog>,
    /// Its metrics.
    pub metrics: Metrics,
    /// Client used to forward requests to the leader.
    pub http: reqwest::Client,
    /// The snapshot store, schedules and running jobs.
    pub snapshots: crate::snapshots::SnapshotService,
    /// The WebAssembly plugin host.
    pub plugins: crate::plugins::Plugins,
    /// When it started.
    pub started: Instant,
}

impl Node {
    /// Propose `op` as `actor`; the command is stamped with this node's time.
    pub async fn write(&self, actor: &str, op: Op) -> Result<Response, ApiError> {
        let cmd = Command::new(now_ms(), actor, op);
        match self.raft.write(cmd).await {
            Ok(Response::Rejected { reason }) => Err(ApiError::Unprocessable(reason)),
            Ok(r) => Ok(r),
            Err(WriteError::NotLeader { leader }) => Err(ApiError::NotLeader {
                leader: leader.map(|(id, _)| id),
            }),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }

    /// A linearizable read of the catalog (through the leader).
    pub async fn read<T>(&self, f: impl FnOnce(&Catalog) -> T) -> Result<T, ApiError> {
        match self.raft.linearizable_read(f).await {
            Ok(v) => Ok(v),
            Err(ReadError::NotLeader { leader }) => Err(ApiError::NotLeader {
                leader: leader.map(|(id, _)| id),
            }),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }

    /// The API base URL of node `id`, from this node's config.
    pub fn api_url_of(&self, id: u64) -> Option<&str> {
        self.cfg.peers.get(&id).map(|p| p.api.as_str())
    }

    /// Propose `op` as this node itself (`node-N`): directly when leader, else through
    /// the leader's internal route (authenticated with the cluster secret), so the entry
    /// is stamped with the leader's time like every other.
    pub async fn propose_as_node(&self, op: Op) -> Result<Response, ApiError> {
        let actor = format!("node-{}", self.cfg.node_id);
        let leader = match self.write(&actor, op.clone()).await {
            Err(ApiError::NotLeader { leader: Some(l) }) if l != self.cfg.node_id => l,
            other => return other,
        };
        let base = self.api_route_to(leader).ok_or_else(|| {
            ApiError::Unavailable(format!("leader {leader} is not among this node's peers"))
        })?;
        let body = crate::api::ProposeBody {
            node: self.cfg.node_id,
            op,
        };
        let answer = self
            .http
            .post(format!("{base}{}", crate::api::PROPOSE_PATH))
            .bearer_auth(self.cfg.cluster_secret.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("leader {leader} unreachable: {e}")))?;
        if !answer.status().is_success() {
            let status = answer.status();
            return Err(ApiError::Unavailable(format!(
                "leader {leader} answered {status}"
            )));
        }
        answer
            .json()
            .await
            .map_err(|e| ApiError::Internal(format!("leader {leader} answered garbage: {e}")))
    }

    /// Where this node connects to reach node `id`'s API (its `api_via` if set).
    pub fn api_route_to(&self, id: u64) -> Option<&str> {
        self.cfg.peers.get(&id).map(|p| p.api_route.as_str())
    }
}

/// Build the Raft options from the config.
fn raft_options(cfg: &LoadedConfig) -> RaftOptions {
    let mut o = RaftOptions::new(
        cfg.node_id,
        cfg.data_dir.clone(),
        cfg.cluster_secret.expose().to_string(),
    );
    o.heartbeat_interval_ms = cfg.raft.heartbeat_ms;
    o.election_timeout_min_ms = cfg.raft.election_timeout_min_ms;
    o.election_timeout_max_ms = cfg.raft.election_timeout_max_ms;
    o.snapshot_logs_since_last = cfg.raft.snapshot_logs_since_last;
    o.max_in_snapshot_log_to_keep = cfg.raft.max_in_snapshot_log_to_keep;
    o.write_timeout_ms = cfg.raft.write_timeout_ms;
    o.peer_routes = cfg
        .peers
        .iter()
        .filter(|(_, p)| p.raft_route != p.raft)
        .map(|(id, p)| (*id, p.raft_route.clone()))
        .collect();
    o
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} for the {what}: the port is in use or the address is not \
             local. Stop the other process or change listen.{what} in the config"
        )
    })
}

/// Run a node until `shutdown` resolves.
pub async fn serve(
    cfg: LoadedConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let api_listener = bind(cfg.listen_api, "api").await?;
    let raft_listener = bind(cfg.listen_raft, "raft").await?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data_dir {}", cfg.data_dir.display()))?;
    let raft = RaftNode::<Catalog>::open(raft_options(&cfg))
        .await
        .with_context(|| format!("cannot open the Raft store in {}", cfg.data_dir.display()))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.api.forward_timeout_ms))
        .build()
        .context("cannot build the HTTP client")?;
    let snapshots = crate::snapshots::SnapshotService::new(&cfg).map_err(|e| {
        anyhow::anyhow!(
            "{e}: check store.url, store.options and the snapshots section of the config"
        )
    })?;
    let plugins = crate::plugins::Plugins::new(&cfg.data_dir).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(dir) = &cfg.plugins.dir {
        plugins
            .preload(dir)
            .await
            .map_err(|e| anyhow::anyhow!("{e}: check plugins.dir"))?;
    }
    let node = Arc::new(Node {
        snapshots,
        plugins,
        metrics: Metrics::new(),
        raft,
        http,
        started: Instant::now(),
        cfg,
    });
    info!(node_id = node.cfg.node_id, api = %node.cfg.listen_api, raft = %node.cfg.listen_raft, "node starting");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let raft_router = node.raft.router();
    let raft_server = tokio::spawn(serve_until(raft_listener, raft_router, stop_rx.clone()));
    let api_server = tokio::spawn(serve_until(
        api_listener,
        crate::api::router(node.clone()),
        stop_rx.clone(),
    ));

    let voters: BTreeMap<u64, String> = node
        .cfg
        .peers
        .iter()
        .map(|(id, p)| (*id, p.raft.clone()))
        .collect();
    match node
        .raft
        .bootstrap(voters)
        .await
        .context("bootstrap failed")?
    {
        Bootstrap::Initialized => info!(node_id = node.cfg.node_id, "initialised the group"),
        Bootstrap::AlreadyInitialized => {
            info!(
                node_id = node.cfg.node_id,
                "group already initialised: not bootstrapping"
            )
        }
    }
    let duties = tokio::spawn(crate::leader::run(node.clone(), stop_rx.clone()));
    crate::prober::spawn(node.clone(), stop_rx.clone());

    shutdown.await;
    info!(node_id = node.cfg.node_id, "shutting down");
    let _ = stop_tx.send(true);
    duties.abort();
    if let Err(e) = node.raft.shutdown().await {
        warn!(error = %e, "raft shutdown");
    }
    let _ = api_server.await;
    let _ = raft_server.await;
    Ok(())
}

async fn serve_until(
    listener: TcpListener,
    router: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let signal = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await
    {
        warn!(error = %e, "server stopped");
    }
}
