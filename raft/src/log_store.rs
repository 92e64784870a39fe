//! [`LogStore`]: openraft's [`RaftLogStorage`] on top of the redb [`Db`]: log entries,
//! vote, committed log id and last purged log id. Writes are durable (redb commits with
//! fsync) before openraft is told they are flushed.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::RangeBounds;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote,
};
use tracing::instrument;

use crate::db::{self, Db, KEY_COMMITTED, KEY_LAST_PURGED, KEY_VOTE};
use crate::{NodeId, StateMachine, TypeConfig};

type C<S> = TypeConfig<S>;
type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// The durable Raft log of one node. Cheap to clone (shares the database).
pub(crate) struct LogStore<S> {
    db: Arc<Db>,
    node_id: NodeId,
    /// Last committed index + 1 (0 = none), published for [`crate::RaftStatus`].
    committed: Arc<AtomicU64>,
    _sm: PhantomData<fn() -> S>,
}

impl<S> Clone for LogStore<S> {
    fn clone(&self) -> Self {
        Self {
            db: Arc::clone(&self.db),
            node_id: self.node_id,
            committed: Arc::clone(&self.committed),
            _sm: PhantomData,
        }
    }
}

impl<S: StateMachine> LogStore<S> {
    /// A log store over `db`. `committed` receives the committed index (+1) as it moves.
    pub(crate) fn new(db: Arc<Db>, node_id: NodeId, committed: Arc<AtomicU64>) -> Self {
        Self {
            db,
            node_id,
            committed,
            _sm: PhantomData,
        }
    }

    fn publish_committed(&self, committed: Option<&LogId<NodeId>>) {
        let v = committed.map_or(0, |l| l.index + 1);
        self.committed.store(v, Ordering::Release);
    }
}

impl<S: StateMachine> RaftLogReader<C<S>> for LogStore<S> {
    #[instrument(level = "trace", skip(self), fields(node_id = self.node_id))]
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<C<S>>>> {
        let range = (range.start_bound().cloned(), range.end_bound().cloned());
        let records = self
            .db
            .run(move |db| db.get_logs(range))
            .await
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let entries = records
            .iter()
            .map(|r| db::decode_record(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StorageIOError::read_logs(&e))?;
        Ok(entries)
    }
}

impl<S: StateMachine> RaftLogStorage<C<S>> for LogStore<S> {
    type LogReader = Self;

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn get_log_state(&mut self) -> StoreResult<LogState<C<S>>> {
        let (purged, last) = self
            .db
            .run(|db| Ok((db.get_meta(KEY_LAST_PURGED)?, db.last_log()?)))
            .await
            .map_err(|e| StorageIOError::read_logs(&e))?;
        let last_purged_log_id: Option<LogId<NodeId>> = purged;
        let last_log_id = match last {
            Some(record) => {
                let entry: Entry<C<S>> =
                    db::decode_record(&record).map_err(|e| StorageIOError::read_logs(&e))?;
                Some(entry.log_id)
            }
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        let vote = *vote;
        self.db
            .run(move |db| db.put_meta(KEY_VOTE, &vote))
            .await
            .map_err(|e| StorageIOError::write_vote(&e))?;
        Ok(())
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        let vote = self
            .db
            .run(|db| db.get_meta(KEY_VOTE))
            .await
            .map_err(|e| StorageIOError::read_vote(&e))?;
        Ok(vote)
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StoreResult<()> {
        self.publish_committed(committed.as_ref());
        self.db
            .run(move |db| db.put_meta(KEY_COMMITTED, &committed))
            .await
            .map_err(|e| StorageIOError::write(&e))?;
        Ok(())
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn read_committed(&mut self) -> StoreResult<Option<LogId<NodeId>>> {
        let committed: Option<Option<LogId<NodeId>>> = self
            .db
            .run(|db| db.get_meta(KEY_COMMITTED))
            .await
            .map_err(|e| StorageIOError::read(&e))?;
        let committed = committed.flatten();
        self.publish_committed(committed.as_ref());
        Ok(committed)
    }

    #[instrument(level = "debug", skip_all, fields(node_id = self.node_id))]
    async fn append<I>(&mut self, entries: I, callback: LogFlushed<C<S>>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<C<S>>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let records = entries
            .into_iter()
            .map(|e| db::encode_record(&e).map(|bytes| (e.log_id.index, bytes)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StorageIOError::write_logs(&e))?;
        let res = self.db.run(move |db| db.put_logs(&records)).await;
        match res {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(StorageIOError::write_logs(&e).into())
            }
        }
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        self.db
            .run(move |db| db.delete_logs(log_id.index.., None))
            .await
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }

    #[instrument(level = "debug", skip(self), fields(node_id = self.node_id))]
    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let meta = db::encode_record(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        self.db
            .run(move |db| db.delete_logs(..=log_id.index, Some((KEY_LAST_PURGED, meta))))
            .await
            .map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }
}
