//! [`RaftOptions`]: the typed, validated configuration of one Raft node, and its mapping
//! onto openraft's [`openraft::Config`].

use std::path::PathBuf;

use crate::{NodeId, RaftNodeError};

/// Default values, in one table.
struct Defaults;

impl Defaults {
    const HEARTBEAT_INTERVAL_MS: u64 = 150;
    const ELECTION_TIMEOUT_MIN_MS: u64 = 600;
    const ELECTION_TIMEOUT_MAX_MS: u64 = 1200;
    const SNAPSHOT_LOGS_SINCE_LAST: u64 = 5000;
    const MAX_IN_SNAPSHOT_LOG_TO_KEEP: u64 = 1000;
    const RPC_TIMEOUT_MS: u64 = 2000;
    const WRITE_TIMEOUT_MS: u64 = 5000;
    const MAX_RPC_BODY_BYTES: usize = 32 * 1024 * 1024;
}

/// Largest snapshot chunk sent in one InstallSnapshot request.
const MAX_SNAPSHOT_CHUNK_BYTES: usize = 512 * 1024;
/// Smallest accepted `max_rpc_body_bytes` (a snapshot chunk must fit, base64-encoded).
const MIN_RPC_BODY_BYTES: usize = 64 * 1024;

/// Configuration of one Raft node.
#[derive(Clone, Debug)]
pub struct RaftOptions {
    /// This node's id; must be unique in the cluster.
    pub node_id: NodeId,
    /// Created if missing; holds `raft.redb` and `snapshots/`.
    pub data_dir: PathBuf,
    /// Shared secret sent as `Authorization: Bearer <secret>` on every raft RPC.
    pub cluster_secret: String,
    /// Leader heartbeat interval (default 150).
    pub heartbeat_interval_ms: u64,
    /// Lower bound of the randomized election timeout (default 600).
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout (default 1200).
    pub election_timeout_max_ms: u64,
    /// Build a snapshot every N applied entries (default 5000).
    pub snapshot_logs_since_last: u64,
    /// Log entries kept behind the last snapshot when purging (default 1000).
    pub max_in_snapshot_log_to_keep: u64,
    /// Timeout of non-snapshot RPCs (default 2000).
    pub rpc_timeout_ms: u64,
    /// A write or linearizable read that cannot complete within this fails (default 5000).
    pub write_timeout_ms: u64,
    /// Largest accepted RPC body; bigger bodies get 413 (default 32 MiB).
    pub max_rpc_body_bytes: usize,
    /// Per-peer routes: connect to this base URL instead of the address recorded in the
    /// membership (a tunnel, a proxy on this node's path). Empty by default.
    pub peer_routes: std::collections::BTreeMap<NodeId, String>,
}

impl RaftOptions {
    /// Options with every tunable at its default.
    pub fn new(node_id: NodeId, data_dir: PathBuf, cluster_secret: String) -> Self {
        Self {
            node_id,
            data_dir,
            cluster_secret,
            heartbeat_interval_ms: Defaults::HEARTBEAT_INTERVAL_MS,
            election_timeout_min_ms: Defaults::ELECTION_TIMEOUT_MIN_MS,
            election_timeout_max_ms: Defaults::ELECTION_TIMEOUT_MAX_MS,
            snapshot_logs_since_last: Defaults::SNAPSHOT_LOGS_SINCE_LAST,
            max_in_snapshot_log_to_keep: Defaults::MAX_IN_SNAPSHOT_LOG_TO_KEEP,
            rpc_timeout_ms: Defaults::RPC_TIMEOUT_MS,
            write_timeout_ms: Defaults::WRITE_TIMEOUT_MS,
            max_rpc_body_bytes: Defaults::MAX_RPC_BODY_BYTES,
            peer_routes: std::collections::BTreeMap::new(),
        }
    }

    /// Check every field; the error names the field and says what to change.
    pub fn validate(&self) -> Result<(), RaftNodeError> {
        let bad = |field: &'static str, reason: String| {
            Err(RaftNodeError::InvalidOptions { field, reason })
        };
        if self.cluster_secret.trim().is_empty() {
            return bad("cluster_secret", "must not be empty".into());
        }
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty".into());
        }
        if self.heartbeat_interval_ms == 0 {
            return bad("heartbeat_interval_ms", "must be > 0".into());
        }
        if self.election_timeout_min_ms <= self.heartbeat_interval_ms {
            return bad(
                "election_timeout_min_ms",
                format!(
                    "{} must be greater than heartbeat_interval_ms ({})",
                    self.election_timeout_min_ms, self.heartbeat_interval_ms
                ),
            );
        }
        if self.election_timeout_max_ms <= self.election_timeout_min_ms {
            return bad(
                "election_timeout_max_ms",
                format!(
                    "{} must be greater than election_timeout_min_ms ({})",
                    self.election_timeout_max_ms, self.election_timeout_min_ms
                ),
            );
        }
        if self.snapshot_logs_since_last == 0 {
            return bad("snapshot_logs_since_last", "must be > 0".into());
        }
        if self.rpc_timeout_ms == 0 {
            return bad("rpc_timeout_ms", "must be > 0".into());
        }
        if self.write_timeout_ms == 0 {
            return bad("write_timeout_ms", "must be > 0".into());
        }
        if self.max_rpc_body_bytes < MIN_RPC_BODY_BYTES {
            return bad(
                "max_rpc_body_bytes",
                format!(
                    "{} is too small; use at least {MIN_RPC_BODY_BYTES}",
                    self.max_rpc_body_bytes
                ),
            );
        }
        Ok(())
    }

    /// Snapshot chunk size: at most 512 KiB, and small enough that a base64-encoded chunk
    /// plus its metadata fits in `max_rpc_body_bytes`.
    pub(crate) fn snapshot_chunk_bytes(&self) -> usize {
        MAX_SNAPSHOT_CHUNK_BYTES.min(self.max_rpc_body_bytes / 2)
    }

    /// Timeout of one InstallSnapshot chunk request.
    pub(crate) fn snapshot_rpc_timeout_ms(&self) -> u64 {
        self.rpc_timeout_ms.saturating_mul(5)
    }

    /// The openraft configuration derived from these options.
    pub(crate) fn to_openraft_config(&self) -> Result<openraft::Config, RaftNodeError> {
        let config = openraft::Config {
            cluster_name: "lifeboat".into(),
            heartbeat_interval: self.heartbeat_interval_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            install_snapshot_timeout: self.snapshot_rpc_timeout_ms(),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: self.max_in_snapshot_log_to_keep,
            snapshot_max_chunk_size: self.snapshot_chunk_bytes() as u64,
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| RaftNodeError::InvalidOptions {
                field: "(openraft config)",
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> RaftOptions {
        RaftOptions::new(1, "/tmp/x".into(), "s3cret".into())
    }

    #[test]
    fn defaults_validate_and_map_to_openraft() {
        let o = opts();
        o.validate().unwrap();
        let c = o.to_openraft_config().unwrap();
        assert_eq!(c.heartbeat_interval, 150);
        assert_eq!(c.snapshot_max_chunk_size, 512 * 1024);
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut o = opts();
        o.election_timeout_max_ms = o.election_timeout_min_ms;
        let err = o.validate().unwrap_err().to_string();
        assert!(err.contains("election_timeout_max_ms"), "{err}");
        let mut o = opts();
        o.cluster_secret = " ".into();
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("cluster_secret")
        );
    }
}
