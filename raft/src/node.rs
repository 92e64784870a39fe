//! [`RaftNode`]: the public handle on one Raft node. It assembles storage, transport and
//! openraft, and translates openraft's API and errors into this crate's contract
//! (bounded waits, `NotLeader` with the leader's address, idempotent bootstrap).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openraft::error::{
    CheckIsLeaderError, ClientWriteError, ForwardToLeader, InitializeError, RaftError,
};
use openraft::{BasicNode, Raft, RaftMetrics};
use tokio::sync::watch;
use tracing::instrument;

use crate::db::Db;
use crate::log_store::LogStore;
use crate::network::HttpNetworkFactory;
use crate::state_machine::{SmShared, StateMachineStore};
use crate::{
    NodeId, RaftNodeError, RaftOptions, RaftStatus, ReadError, StateMachine, TypeConfig,
    WriteError, server,
};

/// How many write timeouts a new learner gets to catch up.
const LEARNER_CATCH_UP_FACTOR: u64 = 10;

/// Outcome of [`RaftNode::bootstrap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// This call initialized the cluster membership on this node.
    Initialized,
    /// The node already had a vote, log or membership; nothing was changed.
    AlreadyInitialized,
}

struct Inner<S: StateMachine> {
    opts: RaftOptions,
    raft: Raft<TypeConfig<S>>,
    sm: Arc<SmShared<S>>,
    committed: Arc<AtomicU64>,
    db_closed: watch::Receiver<bool>,
}

/// One Raft node. Cheap to clone (Arc inside).
pub struct RaftNode<S: StateMachine> {
    inner: Arc<Inner<S>>,
}

impl<S: StateMachine> Clone for RaftNode<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: StateMachine> RaftNode<S> {
    /// Open (or create) the node's storage in `opts.data_dir`, load the last snapshot and
    /// start the Raft core. Does not bind any socket: serve [`Self::router`].
    #[instrument(level = "info", skip(opts), fields(node_id = opts.node_id, data_dir = %opts.data_dir.display()))]
    pub async fn open(opts: RaftOptions) -> Result<Self, RaftNodeError> {
        opts.validate()?;
        let node_id = opts.node_id;
        let snapshot_dir = opts.data_dir.join("snapshots");
        let storage = |path: &std::path::Path, reason: String| RaftNodeError::Storage {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(&snapshot_dir)
            .map_err(|e| storage(&snapshot_dir, e.to_string()))?;
        let db_path = opts.data_dir.join("raft.redb");
        let path = db_path.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&path))
            .await
            .map_err(|e| storage(&db_path, e.to_string()))?
            .map_err(|e| storage(&db_path, e.to_string()))?;
        let db = Arc::new(db);
        let db_closed = db.closed();
        let committed = Arc::new(AtomicU64::new(0));
        let log_store = LogStore::<S>::new(Arc::clone(&db), node_id, Arc::clone(&committed));
        let (sm_store, sm) =
            StateMachineStore::<S>::open(Arc::clone(&db), snapshot_dir.clone(), node_id)
                .await
                .map_err(|e| storage(&snapshot_dir, e.to_string()))?;
        drop(db);
        let network =
            HttpNetworkFactory::new(&opts).map_err(|e| RaftNodeError::InvalidOptions {
                field: "(http client)",
                reason: e.to_string(),
            })?;
        let config = Arc::new(opts.to_openraft_config()?);
        let raft = Raft::new(node_id, config, network, log_store, sm_store)
            .await
            .map_err(|e| RaftNodeError::Fatal {
                node_id,
                reason: e.to_string(),
            })?;
        tracing::info!("raft node opened");
        Ok(Self {
            inner: Arc::new(Inner {
                opts,
                raft,
                sm,
                committed,
                db_closed,
            }),
        })
    }

    /// axum Router serving the raft RPC routes under `/raft/`; merge it into your server.
    pub fn router(&self) -> axum::Router {
        server::router::<S>(self.inner.raft.clone(), &self.inner.opts)
    }

    /// First-start bootstrap with `voters` (id -> raft base URL). Idempotent, and safe to
    /// call on all configured voters concurrently.
    #[instrument(level = "info", skip(self), fields(node_id = self.id()))]
    pub async fn bootstrap(
        &self,
        voters: BTreeMap<NodeId, String>,
    ) -> Result<Bootstrap, RaftNodeError> {
        if self
            .raft()
            .is_initialized()
            .await
            .map_err(|e| self.fatal(e))?
        {
            return Ok(Bootstrap::AlreadyInitialized);
        }
        if !voters.contains_key(&self.id()) {
            return Err(RaftNodeError::Bootstrap {
                node_id: self.id(),
                reason: format!(
                    "this node is not among the voters {:?}; bootstrap only on configured voters",
                    voters.keys().collect::<Vec<_>>()
                ),
            });
        }
        let nodes: BTreeMap<NodeId, BasicNode> = voters
            .into_iter()
            .map(|(id, addr)| (id, BasicNode::new(addr)))
            .collect();
        match self.raft().initialize(nodes).await {
            Ok(()) => Ok(Bootstrap::Initialized),
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
                Ok(Bootstrap::AlreadyInitialized)
            }
            Err(RaftError::APIError(e)) => Err(RaftNodeError::Bootstrap {
                node_id: self.id(),
                reason: e.to_string(),
            }),
            Err(RaftError::Fatal(e)) => Err(self.fatal(e)),
        }
    }

    /// Propose `cmd`; returns the state machine's response once committed and applied.
    #[instrument(level = "debug", skip_all, fields(node_id = self.id()))]
    pub async fn write(&self, cmd: S::Command) -> Result<S::Response, WriteError> {
        let res = tokio::time::timeout(self.write_timeout(), self.raft().client_write(cmd)).await;
        match res {
            Err(_) => Err(self.write_timeout_err()),
            Ok(Ok(resp)) => Ok(resp.data),
            Ok(Err(e)) => Err(self.write_err(e)),
        }
    }

    /// Linearizable read through the leader (read-index), then `f` on the state machine.
    #[instrument(level = "debug", skip_all, fields(node_id = self.id()))]
    pub async fn linearizable_read<T>(&self, f: impl FnOnce(&S) -> T) -> Result<T, ReadError> {
        let res =
            tokio::time::timeout(self.write_timeout(), self.raft().ensure_linearizable()).await;
        let timeout = || ReadError::Timeout {
            node_id: self.id(),
            timeout_ms: self.inner.opts.write_timeout_ms,
        };
        match res {
            Err(_) => Err(timeout()),
            Ok(Ok(_)) => Ok(self.read_local(f)),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(fwd)))) => {
                Err(ReadError::NotLeader {
                    leader: self.leader_of(&fwd),
                })
            }
            Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) => Err(timeout()),
            Ok(Err(RaftError::Fatal(e))) => Err(ReadError::Fatal {
                node_id: self.id(),
                reason: e.to_string(),
            }),
        }
    }

    /// Possibly-stale local read.
    pub fn read_local<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.inner.sm.read().sm)
    }

    /// Fires (value = last applied log index) whenever the state machine applied something.
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.inner.sm.subscribe_applied()
    }

    /// Current status summary.
    pub fn status(&self) -> RaftStatus {
        let committed = self.inner.committed.load(Ordering::Acquire).checked_sub(1);
        RaftStatus::from_metrics(&self.raft().metrics().borrow(), committed)
    }

    /// openraft metrics.
    pub fn metrics(&self) -> watch::Receiver<RaftMetrics<NodeId, BasicNode>> {
        self.raft().metrics()
    }

    /// Add `id` at raft base URL `addr` as a learner, then wait until it caught up with
    /// the log (bounded by 10 x `write_timeout_ms`).
    #[instrument(level = "info", skip(self), fields(node_id = self.id()))]
    pub async fn add_learner(&self, id: NodeId, addr: String) -> Result<(), WriteError> {
        let add = self.raft().add_learner(id, BasicNode::new(addr), false);
        let resp = match tokio::time::timeout(self.write_timeout(), add).await {
            Err(_) => return Err(self.write_timeout_err()),
            Ok(Err(e)) => return Err(self.write_err(e)),
            Ok(Ok(resp)) => resp,
        };
        let target = resp.log_id.index;
        let timeout_ms = self.inner.opts.write_timeout_ms * LEARNER_CATCH_UP_FACTOR;
        self.raft()
            .wait(Some(Duration::from_millis(timeout_ms)))
            .metrics(
                |m| {
                    let matched = m
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(&id))
                        .cloned()
                        .flatten();
                    matched.is_some_and(|l| l.index >= target)
                },
                "learner caught up",
            )
            .await
            .map_err(|_| WriteError::LearnerCatchUpTimeout {
                learner: id,
                timeout_ms,
            })?;
        Ok(())
    }

    /// Make `voters` the voter set (promote learners, remove nodes not listed).
    #[instrument(level = "info", skip(self), fields(node_id = self.id()))]
    pub async fn change_membership(&self, voters: BTreeSet<NodeId>) -> Result<(), WriteError> {
        let change = self.raft().change_membership(voters, false);
        match tokio::time::timeout(self.write_timeout(), change).await {
            Err(_) => Err(self.write_timeout_err()),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.write_err(e)),
        }
    }

    /// Build a snapshot of everything applied so far and wait until it is in place.
    #[instrument(level = "info", skip(self), fields(node_id = self.id()))]
    pub async fn trigger_snapshot(&self) -> Result<(), RaftNodeError> {
        let applied = self.raft().metrics().borrow().last_applied;
        let Some(applied) = applied else {
            return Ok(());
        };
        self.raft()
            .trigger()
            .snapshot()
            .await
            .map_err(|e| self.fatal(e))?;
        self.raft()
            .wait(Some(self.write_timeout()))
            .metrics(
                |m| m.snapshot.is_some_and(|s| s.index >= applied.index),
                "snapshot built",
            )
            .await
            .map_err(|e| self.fatal(e))?;
        Ok(())
    }

    /// Stop the Raft core and wait (bounded by `write_timeout_ms`) until its storage tasks
    /// released the database, so the data dir can be reopened at once. The handle is
    /// unusable afterwards.
    #[instrument(level = "info", skip(self), fields(node_id = self.id()))]
    pub async fn shutdown(&self) -> Result<(), RaftNodeError> {
        self.raft().shutdown().await.map_err(|e| self.fatal(e))?;
        let mut closed = self.inner.db_closed.clone();
        let released = tokio::time::timeout(self.write_timeout(), closed.wait_for(|c| *c))
            .await
            .is_ok();
        match released {
            true => Ok(()),
            false => Err(self.fatal(format!(
                "storage was not released within {} ms after shutdown",
                self.inner.opts.write_timeout_ms
            ))),
        }
    }

    /// The underlying openraft handle (escape hatch).
    pub fn raft(&self) -> &Raft<TypeConfig<S>> {
        &self.inner.raft
    }

    fn id(&self) -> NodeId {
        self.inner.opts.node_id
    }

    fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.opts.write_timeout_ms)
    }

    fn fatal(&self, e: impl std::fmt::Display) -> RaftNodeError {
        RaftNodeError::Fatal {
            node_id: self.id(),
            reason: e.to_string(),
        }
    }

    fn write_timeout_err(&self) -> WriteError {
        WriteError::Timeout {
            node_id: self.id(),
            timeout_ms: self.inner.opts.write_timeout_ms,
        }
    }

    fn write_err(&self, e: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>) -> WriteError {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(fwd)) => WriteError::NotLeader {
                leader: self.leader_of(&fwd),
            },
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
                WriteError::Membership {
                    reason: e.to_string(),
                }
            }
            RaftError::Fatal(e) => WriteError::Fatal {
                node_id: self.id(),
                reason: e.to_string(),
            },
        }
    }

    /// Leader id and address from a forward hint, falling back to our membership view.
    fn leader_of(&self, fwd: &ForwardToLeader<NodeId, BasicNode>) -> Option<(NodeId, String)> {
        let id = fwd.leader_id?;
        let addr = match &fwd.leader_node {
            Some(n) => n.addr.clone(),
            None => self
                .raft()
                .metrics()
                .borrow()
                .membership_config
                .membership()
                .get_node(&id)?
                .addr
                .clone(),
        };
        Some((id, addr))
    }
}
