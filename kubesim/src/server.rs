//! Assembly and the listeners: builds the store, seeds it, starts the workload
//! simulator and persistence, and runs the API accept loop (which drops its socket while
//! the `down` fault is on, and re-binds the same address when it is lifted) and the
//! admin listener.

use crate::admin::{self, AdminState};
use crate::api::{self, AppState};
use crate::config::Config;
use crate::faults::{self, Faults, Mode};
use crate::store::Store;
use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A seed file failed.
    #[error("seed: {0}")]
    Seed(#[from] crate::seed::SeedError),
    /// Generation failed.
    #[error("--generate: {0}")]
    Generate(crate::ApiError),
    /// Persisted state unusable.
    #[error("data dir: {0}")]
    Persist(#[from] crate::persist::PersistError),
    /// Could not write the kubeconfig or info file.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A running server.
pub struct Running {
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
    /// The store.
    pub store: Arc<Store>,
    /// The fault switch.
    pub faults: Faults,
    data_dir: Option<PathBuf>,
}

impl Running {
    /// Flush persisted state (called at shutdown).
    pub fn flush(&self) {
        if let Some(d) = &self.data_dir
            && let Err(e) = crate::persist::save(d, &self.store)
        {
            tracing::error!(error = %e, "final persist failed");
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Start everything described by `cfg`; returns once both listeners are bound and the
/// kubeconfig and info file are written.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    cfg.validate()?;
    let (wtx, wrx) = mpsc::unbounded_channel();
    let store = Store::new(cfg.history, Some(wtx));
    let delay = Arc::new(AtomicU64::new(cfg.ready_delay_ms));
    crate::workload::spawn(store.clone(), wrx, delay.clone());
    if let Some(d) = &cfg.data_dir {
        std::fs::create_dir_all(d).map_err(|source| StartError::Write {
            path: d.clone(),
            source,
        })?;
        let n = crate::persist::load(d, &store)?;
        tracing::info!(objects = n, dir = %d.display(), "loaded persisted state");
    }
    if !cfg.seed.is_empty() {
        let n = crate::seed::apply(&store, crate::seed::load(&cfg.seed)?)?;
        tracing::info!(objects = n, "seeded");
    }
    if cfg.generate > 0 {
        crate::seed::generate(&store, cfg.generate).map_err(StartError::Generate)?;
        tracing::info!(
            objects = cfg.generate,
            "generated ConfigMaps in namespace bench"
        );
    }
    let listener = bind(cfg.listen).await?;
    let api_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let admin_want = cfg.admin_listen.unwrap_or_else(|| {
        let port = if cfg.listen.port() == 0 {
            0
        } else {
            api_addr.port().wrapping_add(1)
        };
        SocketAddr::new(api_addr.ip(), port)
    });
    let admin_listener = bind(admin_want).await?;
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            addr: admin_want,
            source,
        })?;
    let faults = Faults::new(cfg.faults.clone());
    let app_state = Arc::new(AppState {
        store: store.clone(),
        server_address: api_addr.to_string(),
        token: cfg.api_token.clone(),
    });
    let app = Router::new()
        .fallback(api::handle)
        .layer(axum::middleware::from_fn_with_state(
            app_state.clone(),
            api::auth,
        ))
        .layer(axum::middleware::from_fn_with_state(
            faults.clone(),
            faults::layer,
        ))
        .with_state(app_state);
    tokio::spawn(accept_loop(listener, api_addr, app, faults.subscribe()));
    let admin_app = admin::router(AdminState {
        faults: faults.clone(),
        store: store.clone(),
        ready_delay_ms: delay,
        token: Arc::new(cfg.admin_token.clone()),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(admin_listener, admin_app).await {
            tracing::error!(error = %e, "admin listener stopped");
        }
    });
    if let Some(d) = &cfg.data_dir {
        crate::persist::spawn_flusher(d.clone(), store.clone());
    }
    let server = format!("http://{api_addr}");
    if let Some(p) = &cfg.kubeconfig {
        let token = cfg.api_token.clone().unwrap_or_else(|| "kubesim".into());
        let kc = crate::kubeconfig::render(&cfg.cluster_name, &server, &token);
        crate::kubeconfig::write_atomic(p, &kc).map_err(|source| StartError::Write {
            path: p.clone(),
            source,
        })?;
    }
    if let Some(p) = &cfg.info_file {
        let mut info = serde_json::json!({"server": server, "admin": format!("http://{admin_addr}"), "pid": std::process::id()});
        match &cfg.admin_token_file {
            Some(f) => info["admin_token_file"] = serde_json::json!(f),
            None => info["admin_token"] = serde_json::json!(cfg.admin_token),
        }
        crate::kubeconfig::write_atomic(p, &info.to_string()).map_err(|source| {
            StartError::Write {
                path: p.clone(),
                source,
            }
        })?;
    }
    tracing::info!(%api_addr, %admin_addr, "kubesim listening");
    Ok(Running {
        api_addr,
        admin_addr,
        store,
        faults,
        data_dir: cfg.data_dir.clone(),
    })
}

/// Accept API connections; while the mode is `down`, hold no socket at all.
async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    app: Router,
    mut rx: watch::Receiver<faults::FaultConfig>,
) {
    let mut listener = Some(listener);
    loop {
        if rx.borrow_and_update().mode == Mode::Down {
            listener = None;
            if rx.wait_for(|c| c.mode != Mode::Down).await.is_err() {
                return;
            }
            continue;
        }
        if listener.is_none() {
            listener = rebind(addr).await;
            if listener.is_none() {
                tracing::error!(%addr, "could not re-bind after the down fault; giving up");
                return;
            }
        }
        let Some(l) = listener.as_ref() else { continue };
        tokio::select! {
            r = l.accept() => match r {
                Ok((sock, _)) => serve_conn(sock, app.clone(), rx.clone()),
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

/// Re-bind the API address: up to 100 tries, 50 ms apart.
async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Some(l),
            Err(e) => tracing::debug!(error = %e, "re-bind failed; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Serve one connection until it ends or the `down` fault cuts it.
fn serve_conn(sock: TcpStream, app: Router, mut rx: watch::Receiver<faults::FaultConfig>) {
    tokio::spawn(async move {
        let svc =
            app.map_request(|req: Request<hyper::body::Incoming>| req.map(axum::body::Body::new));
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(sock), svc);
        tokio::select! {
            r = conn => if let Err(e) = r { tracing::debug!(error = %e, "connection ended with an error") },
            _ = rx.wait_for(|c| c.mode == Mode::Down) => tracing::debug!("connection cut by the down fault"),
        }
    });
}
