//! The HTTP server side of the Raft transport: axum routes under `/raft/`.
//!
//! Every route requires `Authorization: Bearer <cluster_secret>` (compared in constant
//! time, 401 otherwise), bodies above `max_rpc_body_bytes` get 413, and bodies that do not
//! decode get 400. All error mapping to HTTP status lives in [`Rejection`].

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use openraft::Raft;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::wire::{self, SnapshotChunk};
use crate::{NodeId, RaftOptions, StateMachine, TypeConfig};

struct ServerState<S: StateMachine> {
    raft: Raft<TypeConfig<S>>,
    secret_digest: [u8; 32],
    node_id: NodeId,
}

/// Why a request was refused, and its HTTP status.
enum Rejection {
    Unauthorized,
    BadBody(String),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "missing or wrong cluster secret: send `Authorization: Bearer <cluster_secret>`",
            )
                .into_response(),
            Rejection::BadBody(msg) => (
                StatusCode::BAD_REQUEST,
                format!("undecodable raft RPC body: {msg}"),
            )
                .into_response(),
        }
    }
}

/// Routes `/raft/append`, `/raft/vote`, `/raft/snapshot` for `raft`.
pub(crate) fn router<S: StateMachine>(raft: Raft<TypeConfig<S>>, opts: &RaftOptions) -> Router {
    let state = Arc::new(ServerState::<S> {
        raft,
        secret_digest: digest(opts.cluster_secret.as_bytes()),
        node_id: opts.node_id,
    });
    Router::new()
        .route(wire::PATH_APPEND, post(append::<S>))
        .route(wire::PATH_VOTE, post(vote::<S>))
        .route(wire::PATH_SNAPSHOT, post(snapshot::<S>))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::<S>,
        ))
        .layer(DefaultBodyLimit::max(opts.max_rpc_body_bytes))
        .with_state(state)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Constant-time comparison of the presented bearer token against the secret: both are
/// hashed to fixed-length digests, which are compared without early exit.
fn token_matches(presented: &[u8], secret_digest: &[u8; 32]) -> bool {
    let d = digest(presented);
    d.iter()
        .zip(secret_digest)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

async fn auth<S: StateMachine>(
    State(st): State<Arc<ServerState<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match presented {
        Some(token) if token_matches(token, &st.secret_digest) => next.run(req).await,
        _ => {
            tracing::warn!(node_id = st.node_id, uri = %req.uri(), "rejected raft RPC: bad or missing secret");
            Rejection::Unauthorized.into_response()
        }
    }
}

fn decode<T: DeserializeOwned>(body: &Bytes) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|e| Rejection::BadBody(e.to_string()))
}

fn reply<T: Serialize>(v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn append<S: StateMachine>(
    State(st): State<Arc<ServerState<S>>>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let req = decode(&body)?;
    Ok(reply(&st.raft.append_entries(req).await))
}

async fn vote<S: StateMachine>(
    State(st): State<Arc<ServerState<S>>>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let req = decode(&body)?;
    Ok(reply(&st.raft.vote(req).await))
}

async fn snapshot<S: StateMachine>(
    State(st): State<Arc<ServerState<S>>>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let chunk: SnapshotChunk = decode(&body)?;
    let req = chunk
        .into_request::<S>()
        .map_err(|e| Rejection::BadBody(format!("snapshot chunk data is not base64: {e}")))?;
    Ok(reply(&st.raft.install_snapshot(req).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_compare() {
        let d = digest(b"s3cret");
        assert!(token_matches(b"s3cret", &d));
        assert!(!token_matches(b"s3cre", &d));
        assert!(!token_matches(b"", &d));
    }
}
