//! The HTTP client side of the Raft transport: openraft's [`RaftNetworkFactory`] and
//! [`RaftNetwork`] over reqwest. Every request carries `Authorization: Bearer <secret>`.
//! Snapshots go through openraft's default chunked transport, one chunk per request.

// The error types are dictated by openraft's `RaftNetwork` trait.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use tracing::instrument;

use crate::wire::{self, SnapshotChunk};
use crate::{NodeId, RaftOptions, StateMachine, TypeConfig};

type C<S> = TypeConfig<S>;
type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

/// A non-2xx HTTP answer from a peer.
#[derive(Debug, thiserror::Error)]
#[error("peer answered HTTP {status}: {body}")]
struct HttpStatusError {
    status: reqwest::StatusCode,
    body: String,
}

/// Creates one [`HttpNetwork`] per replication target.
pub(crate) struct HttpNetworkFactory {
    client: reqwest::Client,
    auth: Arc<str>,
    rpc_timeout: Duration,
    snapshot_timeout: Duration,
    routes: Arc<std::collections::BTreeMap<NodeId, String>>,
}

impl HttpNetworkFactory {
    /// A factory using the secret and timeouts from `opts`.
    pub(crate) fn new(opts: &RaftOptions) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(opts.rpc_timeout_ms))
            .build()?;
        Ok(Self {
            client,
            auth: format!("Bearer {}", opts.cluster_secret).into(),
            rpc_timeout: Duration::from_millis(opts.rpc_timeout_ms),
            snapshot_timeout: Duration::from_millis(opts.snapshot_rpc_timeout_ms()),
            routes: Arc::new(opts.peer_routes.clone()),
        })
    }
}

impl<S: StateMachine> RaftNetworkFactory<C<S>> for HttpNetworkFactory {
    type Network = HttpNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> HttpNetwork {
        HttpNetwork {
            client: self.client.clone(),
            auth: Arc::clone(&self.auth),
            // A configured route wins over the membership's address.
            base: self
                .routes
                .get(&target)
                .unwrap_or(&node.addr)
                .trim_end_matches('/')
                .to_string(),
            target,
            rpc_timeout: self.rpc_timeout,
            snapshot_timeout: self.snapshot_timeout,
        }
    }
}

/// Connection to one peer.
pub(crate) struct HttpNetwork {
    client: reqwest::Client,
    auth: Arc<str>,
    base: String,
    target: NodeId,
    rpc_timeout: Duration,
    snapshot_timeout: Duration,
}

impl HttpNetwork {
    /// POST `body` to `path`; decode `Result<Resp, RaftError<E>>` from the JSON answer.
    async fn call<Resp, E>(
        &self,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> RpcResult<Resp, E>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let url = format!("{}{path}", self.base);
        let res = self
            .client
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, &*self.auth)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    RPCError::Unreachable(Unreachable::new(&e))
                } else {
                    RPCError::Network(NetworkError::new(&e))
                }
            })?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
            return Err(RPCError::Network(NetworkError::new(&HttpStatusError {
                status,
                body,
            })));
        }
        let parsed: Result<Resp, RaftError<NodeId, E>> =
            serde_json::from_slice(&bytes).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        parsed.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn json<T: serde::Serialize, E>(v: &T) -> RpcResult<Vec<u8>, E>
    where
        E: std::error::Error,
    {
        serde_json::to_vec(v).map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }
}

impl<S: StateMachine> RaftNetwork<C<S>> for HttpNetwork {
    #[instrument(level = "trace", skip_all, fields(target = self.target))]
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<C<S>>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let body = Self::json(&rpc)?;
        self.call(wire::PATH_APPEND, body, self.rpc_timeout).await
    }

    #[instrument(level = "debug", skip_all, fields(target = self.target, offset = rpc.offset, done = rpc.done))]
    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<C<S>>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let body = Self::json(&SnapshotChunk::from_request::<S>(&rpc))?;
        self.call(wire::PATH_SNAPSHOT, body, self.snapshot_timeout)
            .await
    }

    #[instrument(level = "debug", skip_all, fields(target = self.target))]
    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        let body = Self::json(&rpc)?;
        self.call(wire::PATH_VOTE, body, self.rpc_timeout).await
    }
}
