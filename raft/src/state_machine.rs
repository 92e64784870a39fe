//! [`StateMachineStore`]: openraft's [`RaftStateMachine`] around the application
//! [`StateMachine`]. The state lives in memory behind a lock; durability comes from
//! snapshot files (referenced from redb) plus the committed log, which openraft re-applies
//! on start. On open, the last snapshot is loaded.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot,
    StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::instrument;

use crate::db::{Db, KEY_SNAPSHOT};
use crate::snapshot_file::{self, Meta};
use crate::{NodeId, StateMachine, TypeConfig};

type C<S> = TypeConfig<S>;
type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// The application state plus what openraft needs to know about it.
pub(crate) struct SmState<S> {
    pub(crate) sm: S,
    last_applied: Option<LogId<NodeId>>,
    last_membership: StoredMembership<NodeId, BasicNode>,
}

/// State shared between the store (owned by openraft) and [`crate::RaftNode`].
pub(crate) struct SmShared<S> {
    state: RwLock<SmState<S>>,
    applied_tx: watch::Sender<u64>,
    /// Serialises snapshot file/ref updates (builds and installs may overlap).
    snapshot_lock: tokio::sync::Mutex<()>,
    snapshot_seq: AtomicU64,
}

impl<S> SmShared<S> {
    /// Read access. Never hold the guard across an await.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, SmState<S>> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, SmState<S>> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Receiver of the last applied index.
    pub(crate) fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.applied_tx.subscribe()
    }
}

/// redb record pointing at the current snapshot file.
#[derive(Serialize, Deserialize)]
struct SnapshotRef {
    file: String,
    meta: Meta,
}

/// The openraft state machine store. Cheap to clone; clones are snapshot builders.
pub(crate) struct StateMachineStore<S> {
    shared: Arc<SmShared<S>>,
    db: Arc<Db>,
    snapshot_dir: PathBuf,
    node_id: NodeId,
}

impl<S> Clone for StateMachineStore<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            db: Arc::clone(&self.db),
            snapshot_dir: self.snapshot_dir.clone(),
            node_id: self.node_id,
        }
    }
}

fn io_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_snapshot(None, &e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_snapshot(None, &e).into()
}

impl<S: StateMachine> StateMachineStore<S> {
    /// Open the store, loading the last snapshot (if any) into a fresh state machine.
    #[instrument(level = "info", skip(db), fields(node_id = node_id))]
    pub(crate) async fn open(
        db: Arc<Db>,
        snapshot_dir: PathBuf,
        node_id: NodeId,
    ) -> StoreResult<(Self, Arc<SmShared<S>>)> {
        let dir = snapshot_dir.clone();
        let loaded = db
            .run(move |db| db.get_meta::<SnapshotRef>(KEY_SNAPSHOT))
            .await
            .map_err(io_err)?;
        let mut state = SmState {
            sm: S::default(),
            last_applied: None,
            last_membership: StoredMembership::default(),
        };
        if let Some(r) = loaded {
            let path = dir.join(&r.file);
            let (meta, sm) = tokio::task::spawn_blocking(move || {
                snapshot_file::read(&path).and_then(|b| snapshot_file::decode::<S>(&b))
            })
            .await
            .map_err(io_err)?
            .map_err(io_err)?;
            tracing::info!(snapshot = %meta, "loaded snapshot");
            state = SmState {
                sm,
                last_applied: meta.last_log_id,
                last_membership: meta.last_membership,
            };
        }
        let applied = state.last_applied.map_or(0, |l| l.index);
        let shared = Arc::new(SmShared {
            state: RwLock::new(state),
            applied_tx: watch::Sender::new(applied),
            snapshot_lock: tokio::sync::Mutex::new(()),
            snapshot_seq: AtomicU64::new(0),
        });
        let store = Self {
            shared: Arc::clone(&shared),
            db,
            snapshot_dir,
            node_id,
        };
        Ok((store, shared))
    }

    /// Persist `bytes` (an encoded snapshot at `meta`) as the current snapshot, unless a
    /// newer one is already current. Returns whether it became current.
    async fn persist_snapshot(&self, meta: &Meta, bytes: Vec<u8>) -> StoreResult<bool> {
        let _guard = self.shared.snapshot_lock.lock().await;
        let current = self.current_ref().await?;
        if current.is_some_and(|c| c.meta.last_log_id > meta.last_log_id) {
            return Ok(false);
        }
        let name = snapshot_file::file_name(&meta.snapshot_id);
        let dir = self.snapshot_dir.clone();
        let file = name.clone();
        tokio::task::spawn_blocking(move || snapshot_file::write_atomic(&dir, &file, &bytes))
            .await
            .map_err(write_err)?
            .map_err(write_err)?;
        let r = SnapshotRef {
            file: name.clone(),
            meta: meta.clone(),
        };
        self.db
            .run(move |db| db.put_meta(KEY_SNAPSHOT, &r))
            .await
            .map_err(write_err)?;
        let dir = self.snapshot_dir.clone();
        tokio::task::spawn_blocking(move || snapshot_file::remove_others(&dir, &name))
            .await
            .map_err(write_err)?;
        Ok(true)
    }

    async fn current_ref(&self) -> StoreResult<Option<SnapshotRef>> {
        self.db
            .run(|db| db.get_meta::<SnapshotRef>(KEY_SNAPSHOT))
            .await
            .map_err(io_err)
    }

    fn new_snapshot_id(&self, last: Option<&LogId<NodeId>>) -> String {
        let seq = self.shared.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        match last {
            Some(l) => format!("{}-{}-{nanos}-{seq}", l.leader_id.term, l.index),
            None => format!("none-{nanos}-{seq}"),
        }
    }
}

impl<S: StateMachine> RaftSnapshotBuilder<C<S>> for StateMachineStore<S> {
    #[instrument(level = "info", skip(self), fields(node_id = self.node_id))]
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<C<S>>> {
        let (meta, bytes) = {
            let st = self.shared.read();
            let meta = Meta {
                last_log_id: st.last_applied,
                last_membership: st.last_membership.clone(),
                snapshot_id: self.new_snapshot_id(st.last_applied.as_ref()),
            };
            let bytes = snapshot_file::encode(&meta, &st.sm).map_err(write_err)?;
            (meta, bytes)
        };
        self.persist_snapshot(&meta, bytes.clone()).await?;
        tracing::info!(snapshot = %meta, size = bytes.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(std::io::Cursor::new(bytes)),
        })
    }
}

impl<S: StateMachine> RaftStateMachine<C<S>> for StateMachineStore<S> {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        let st = self.shared.read();
        Ok((st.last_applied, st.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<S::Response>>
    where
        I: IntoIterator<Item = Entry<C<S>>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        let last = {
            let mut st = self.shared.write();
            for entry in entries {
                let log_id = entry.log_id;
                st.last_applied = Some(log_id);
                let resp = match entry.payload {
                    EntryPayload::Blank => S::Response::default(),
                    EntryPayload::Normal(cmd) => {
                        st.sm.apply(log_id.index, log_id.leader_id.term, cmd)
                    }
                    EntryPayload::Membership(m) => {
                        st.last_membership = StoredMembership::new(Some(log_id), m);
                        S::Response::default()
                    }
                };
                responses.push(resp);
            }
            st.last_applied
        };
        if let Some(last) = last {
            self.shared.applied_tx.send_replace(last.index);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<std::io::Cursor<Vec<u8>>>> {
        Ok(Box::new(std::io::Cursor::new(Vec::new())))
    }

    #[instrument(level = "info", skip(self, snapshot), fields(node_id = self.node_id, snapshot = %meta))]
    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<std::io::Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let bytes = snapshot.into_inner();
        let (file_meta, sm) = snapshot_file::decode::<S>(&bytes).map_err(io_err)?;
        if file_meta.last_log_id != meta.last_log_id {
            let e = std::io::Error::other(format!(
                "snapshot content is at {:?} but its metadata says {:?}",
                file_meta.last_log_id, meta.last_log_id
            ));
            return Err(io_err(e));
        }
        self.persist_snapshot(meta, bytes).await?;
        {
            let mut st = self.shared.write();
            st.sm = sm;
            st.last_applied = meta.last_log_id;
            st.last_membership = meta.last_membership.clone();
        }
        self.shared
            .applied_tx
            .send_replace(meta.last_log_id.map_or(0, |l| l.index));
        Ok(())
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<C<S>>>> {
        let Some(r) = self.current_ref().await? else {
            return Ok(None);
        };
        let path = self.snapshot_dir.join(&r.file);
        let bytes = tokio::task::spawn_blocking(move || snapshot_file::read(&path))
            .await
            .map_err(io_err)?
            .map_err(io_err)?;
        Ok(Some(Snapshot {
            meta: r.meta,
            snapshot: Box::new(std::io::Cursor::new(bytes)),
        }))
    }
}
