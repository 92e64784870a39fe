//! [`Db`]: the redb database `data_dir/raft.redb` and its on-disk layout.
//!
//! Tables:
//! - `logs`: log index (u64) -> versioned entry record (see [`encode_record`]).
//! - `meta`: key -> versioned record; keys are the `KEY_*` constants (vote, committed,
//!   last purged log id, current snapshot reference, format version).
//!
//! Every value starts with a one-byte format version; unknown versions are refused, never
//! misread. All methods are blocking; async callers go through [`Db::run`].

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Version byte in front of every persisted record (log entries and meta values).
pub(crate) const RECORD_VERSION: u8 = 1;

/// Meta key: the persisted vote.
pub(crate) const KEY_VOTE: &str = "vote";
/// Meta key: the last committed log id.
pub(crate) const KEY_COMMITTED: &str = "committed";
/// Meta key: the last purged log id.
pub(crate) const KEY_LAST_PURGED: &str = "last_purged";
/// Meta key: reference to the current snapshot file.
pub(crate) const KEY_SNAPSHOT: &str = "snapshot";

/// Errors of the redb store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("redb: {0}")]
    Redb(#[from] redb::Error),
    #[error("cannot encode/decode a stored record: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("stored record has format version {found}, this build reads version {RECORD_VERSION}")]
    Version { found: u8 },
    #[error("stored record is empty")]
    Empty,
    #[error("blocking storage task failed: {0}")]
    Join(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> Self {
                DbError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Encode a value as `[RECORD_VERSION] ++ json`.
pub(crate) fn encode_record<T: Serialize>(v: &T) -> Result<Vec<u8>, DbError> {
    let mut out = vec![RECORD_VERSION];
    serde_json::to_writer(&mut out, v)?;
    Ok(out)
}

/// Decode a record written by [`encode_record`], refusing unknown versions.
pub(crate) fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DbError> {
    match bytes.split_first() {
        None => Err(DbError::Empty),
        Some((&RECORD_VERSION, rest)) => Ok(serde_json::from_slice(rest)?),
        Some((&found, _)) => Err(DbError::Version { found }),
    }
}

/// The redb database of one node.
pub(crate) struct Db {
    // Field order matters: `db` (and its file lock) is dropped before `closed` fires.
    db: Database,
    closed: CloseSignal,
}

/// Fires when dropped, i.e. after the database file is closed.
struct CloseSignal(tokio::sync::watch::Sender<bool>);

impl Drop for CloseSignal {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl Db {
    /// Open (or create) the database and its tables.
    pub(crate) fn open(path: &Path) -> Result<Self, DbError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(LOGS)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(Self {
            db,
            closed: CloseSignal(tokio::sync::watch::Sender::new(false)),
        })
    }

    /// Becomes `true` once the database file is closed (the last handle dropped), so a
    /// node can be reopened from the same data dir in the same process.
    pub(crate) fn closed(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closed.0.subscribe()
    }

    /// Run blocking database work off the async executor.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| DbError::Join(e.to_string()))?
    }

    /// Read a meta value.
    pub(crate) fn get_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DbError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        let value = table.get(key)?;
        value.map(|v| decode_record(v.value())).transpose()
    }

    /// Write a meta value durably.
    pub(crate) fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<(), DbError> {
        let bytes = encode_record(value)?;
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert(key, bytes.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Durably append (or overwrite) encoded log records.
    pub(crate) fn put_logs(&self, records: &[(u64, Vec<u8>)]) -> Result<(), DbError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(LOGS)?;
            for (index, bytes) in records {
                table.insert(*index, bytes.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Encoded log records with index in `range`, in order.
    pub(crate) fn get_logs(&self, range: impl RangeBounds<u64>) -> Result<Vec<Vec<u8>>, DbError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOGS)?;
        let mut out = Vec::new();
        for item in table.range::<u64>(range)? {
            let (_, v) = item?;
            out.push(v.value().to_vec());
        }
        Ok(out)
    }

    /// The encoded record with the highest index, if any.
    pub(crate) fn last_log(&self) -> Result<Option<Vec<u8>>, DbError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(LOGS)?;
        Ok(table.last()?.map(|(_, v)| v.value().to_vec()))
    }

    /// Delete log records with index in `range` and, in the same transaction, optionally
    /// set a meta value (used to record the last purged log id atomically with the purge).
    pub(crate) fn delete_logs(
        &self,
        range: impl RangeBounds<u64>,
        meta: Option<(&str, Vec<u8>)>,
    ) -> Result<(), DbError> {
        let txn = self.db.begin_write()?;
        {
            if let Some((key, bytes)) = &meta {
                txn.open_table(META)?.insert(*key, bytes.as_slice())?;
            }
            txn.open_table(LOGS)?
                .retain_in::<u64, _>(range, |_, _| false)?;
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_a_version() {
        let bytes = encode_record(&42u64).unwrap();
        assert_eq!(bytes[0], RECORD_VERSION);
        assert_eq!(decode_record::<u64>(&bytes).unwrap(), 42);
        let mut future = bytes.clone();
        future[0] = 99;
        assert!(matches!(
            decode_record::<u64>(&future),
            Err(DbError::Version { found: 99 })
        ));
    }

    #[test]
    fn purge_and_meta_are_atomic_and_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raft.redb");
        {
            let db = Db::open(&path).unwrap();
            let recs: Vec<_> = (1..=5)
                .map(|i| (i, vec![RECORD_VERSION, b'0' + i as u8]))
                .collect();
            db.put_logs(&recs).unwrap();
            db.delete_logs(..=2, Some((KEY_LAST_PURGED, encode_record(&2u64).unwrap())))
                .unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.get_logs(..).unwrap().len(), 3);
        assert_eq!(db.get_meta::<u64>(KEY_LAST_PURGED).unwrap(), Some(2));
        assert_eq!(db.last_log().unwrap().unwrap()[1], b'5');
    }
}
