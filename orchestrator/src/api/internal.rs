//! Node-to-node API: a node that is not leader proposes its own entries (health votes)
//! through the leader, authenticated with the cluster secret, not an API token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, ApiJson};
use crate::catalog::{Op, Response};
use crate::node::Node;

/// Path of the internal propose route.
pub const PROPOSE_PATH: &str = "/internal/v1/propose";

/// Body of the internal propose route.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// The proposing node.
    pub node: u64,
    /// What it proposes (only its own health votes are accepted).
    pub op: Op,
}

fn check_secret(node: &Node, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    let want = Sha256::digest(node.cfg.cluster_secret.expose().as_bytes());
    let got = Sha256::digest(presented.as_bytes());
    if bool::from(want.ct_eq(&got)) {
        Ok(())
    } else {
        Err(ApiError::Unauthenticated(
            "node-to-node routes need the cluster secret".into(),
        ))
    }
}

/// `POST /internal/v1/propose`.
pub async fn propose(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ProposeBody>,
) -> Result<Json<Response>, ApiError> {
    check_secret(&node, &headers)?;
    match &body.op {
        Op::HealthVote { node: voter, .. } if *voter == body.node => {}
        _ => {
            return Err(ApiError::bad_request(
                "only a node's own health votes may be proposed here",
            ));
        }
    }
    let actor = format!("node-{}", body.node);
    match node.write(&actor, body.op).await {
        // Never forward twice: the proposer retries on its next round.
        Err(ApiError::NotLeader { .. }) => {
            Err(ApiError::Unavailable("not the leader any more".into()))
        }
        other => other.map(Json),
    }
}
