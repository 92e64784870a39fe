//! RPC paths and body encodings shared by the HTTP client ([`crate::network`]) and server
//! ([`crate::server`]).
//!
//! AppendEntries and Vote bodies are JSON of openraft's request types; responses are JSON
//! of `Result<Response, RaftError>`. InstallSnapshot chunks use [`SnapshotChunk`], which
//! carries the chunk bytes base64-encoded instead of as a JSON array of numbers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openraft::raft::InstallSnapshotRequest;
use openraft::{BasicNode, SnapshotMeta, Vote};
use serde::{Deserialize, Serialize};

use crate::{NodeId, StateMachine, TypeConfig};

/// AppendEntries route.
pub(crate) const PATH_APPEND: &str = "/raft/append";
/// Vote route.
pub(crate) const PATH_VOTE: &str = "/raft/vote";
/// InstallSnapshot (one chunk) route.
pub(crate) const PATH_SNAPSHOT: &str = "/raft/snapshot";

/// One InstallSnapshot chunk on the wire.
#[derive(Serialize, Deserialize)]
pub(crate) struct SnapshotChunk {
    vote: Vote<NodeId>,
    meta: SnapshotMeta<NodeId, BasicNode>,
    offset: u64,
    done: bool,
    /// Chunk bytes, base64 (standard alphabet, padded).
    data: String,
}

impl SnapshotChunk {
    /// Wire form of an openraft request.
    pub(crate) fn from_request<S: StateMachine>(
        req: &InstallSnapshotRequest<TypeConfig<S>>,
    ) -> Self {
        Self {
            vote: req.vote,
            meta: req.meta.clone(),
            offset: req.offset,
            done: req.done,
            data: B64.encode(&req.data),
        }
    }

    /// Back to the openraft request; fails on invalid base64.
    pub(crate) fn into_request<S: StateMachine>(
        self,
    ) -> Result<InstallSnapshotRequest<TypeConfig<S>>, base64::DecodeError> {
        Ok(InstallSnapshotRequest {
            vote: self.vote,
            meta: self.meta,
            offset: self.offset,
            done: self.done,
            data: B64.decode(self.data.as_bytes())?,
        })
    }
}
