//! openraft's storage conformance suite against [`LogStore`] + [`StateMachineStore`],
//! each case in its own temp dir, with a small key/value state machine.

// `Suite::test_all` returns openraft's (large) `StorageError`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::log_store::LogStore;
use crate::state_machine::StateMachineStore;
use crate::{NodeId, StateMachine, TypeConfig};

/// Tiny deterministic key/value state machine.
#[derive(Default, Serialize, Deserialize)]
struct Kv(BTreeMap<String, String>);

impl StateMachine for Kv {
    type Command = (String, String);
    type Response = Option<String>;

    fn apply(&mut self, _index: u64, _term: u64, (k, v): Self::Command) -> Self::Response {
        self.0.insert(k, v)
    }
}

struct Builder;

impl StoreBuilder<TypeConfig<Kv>, LogStore<Kv>, StateMachineStore<Kv>, tempfile::TempDir>
    for Builder
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore<Kv>, StateMachineStore<Kv>), StorageError<NodeId>>
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let snapshots = dir.path().join("snapshots");
        std::fs::create_dir_all(&snapshots).expect("snapshot dir");
        let db = Arc::new(Db::open(&dir.path().join("raft.redb")).expect("open redb"));
        let log = LogStore::new(Arc::clone(&db), 0, Arc::new(AtomicU64::new(0)));
        let (sm, _) = StateMachineStore::open(db, snapshots, 0).await?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_conformance_suite() -> Result<(), StorageError<NodeId>> {
    Suite::test_all(Builder)
}
