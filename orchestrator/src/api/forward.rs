//! Serving leader-only requests on any node: forwarding to the leader.
//!
//! Handlers answer `ApiError::NotLeader` when only the leader can serve a request (a
//! write, or a linearizable read). This layer buffers the request body (bounded by the
//! configured limit, so oversized bodies get a 413 here), runs the handler, and if the
//! answer carries [`ForwardTo`], replays the request against the leader's API and returns
//! the leader's answer. A request is forwarded at most once (`x-lifeboat-forwarded`).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{ApiError, ForwardTo};
use crate::node::Node;

/// Set on a forwarded request (value: the forwarding node's id).
pub const FORWARDED: HeaderName = HeaderName::from_static("x-lifeboat-forwarded");
/// Set on every response: the node that served it.
pub const SERVED_BY: HeaderName = HeaderName::from_static("x-lifeboat-served-by");

/// The middleware; `limit` is the largest body it buffers for the routes it wraps.
pub async fn forward_to_leader(
    State((node, limit)): State<(Arc<Node>, usize)>,
    req: Request,
    next: Next,
) -> Response {
    let already_forwarded = req.headers().contains_key(&FORWARDED);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::PayloadTooLarge(limit).into_response();
    };
    let retry = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
    let mut resp = next.run(retry).await;
    let Some(ForwardTo(leader)) = resp.extensions().get::<ForwardTo>().copied() else {
        mark_served_by(&mut resp, node.cfg.node_id);
        return resp;
    };
    let target = leader
        .filter(|id| *id != node.cfg.node_id)
        .and_then(|id| node.api_route_to(id));
    match (already_forwarded, target) {
        (false, Some(base)) => {
            let url = format!(
                "{base}{}",
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            relay(&node, parts, bytes, &url).await
        }
        _ => resp,
    }
}

fn mark_served_by(resp: &mut Response, id: u64) {
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        resp.headers_mut().insert(SERVED_BY, v);
    }
}

async fn relay(node: &Node, parts: axum::http::request::Parts, body: Bytes, url: &str) -> Response {
    let mut req = node.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            req = req.header(name, value);
        }
    }
    req = req.header(FORWARDED, node.cfg.node_id.to_string());
    let answer = match req.send().await {
        Ok(a) => a,
        Err(e) => {
            let msg = format!("the leader at {url} did not answer the forwarded request: {e}");
            return ApiError::Unavailable(msg).into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = answer.headers().clone();
    match answer.bytes().await {
        Ok(bytes) => {
            let mut resp = (status, bytes).into_response();
            for (name, value) in &headers {
                if name != axum::http::header::CONTENT_LENGTH
                    && name != axum::http::header::TRANSFER_ENCODING
                {
                    resp.headers_mut().insert(name, value.clone());
                }
            }
            resp
        }
        Err(e) => {
            ApiError::Unavailable(format!("reading the leader's answer: {e}")).into_response()
        }
    }
}
