//! `/v1/plugins`: register WebAssembly plugins (the body is the component) and list them.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::openapi::schemas as doc;
use super::{Admin, ApiError, Viewer};
use crate::node::Node;

/// The route's path (its body limit is `plugins.max_bytes`, not the API's).
pub const PATH: &str = "/v1/plugins";

/// `GET /v1/plugins`.
#[utoipa::path(
    get,
    path = "/v1/plugins",
    operation_id = "list_plugins",
    tag = "plugins",
    responses(
        (status = 200, description = "Registered plugins", body = doc::PluginList),
        (status = 401, response = doc::Unauthenticated),
        (status = 503, response = doc::Unavailable),
    )
)]
pub async fn list(State(node): State<Arc<Node>>, _who: Viewer) -> Result<Json<Value>, ApiError> {
    let plugins = node
        .read(|c| c.plugins.values().cloned().collect::<Vec<_>>())
        .await?;
    Ok(Json(json!({ "plugins": plugins })))
}

/// `PUT /v1/plugins` (admin): the body is a WebAssembly component; answers its digest
/// and the `uses:` line for runbooks.
#[utoipa::path(
    put,
    path = "/v1/plugins",
    operation_id = "put_plugin",
    tag = "plugins",
    request_body(content = inline(doc::WasmComponent), content_type = "application/wasm", description = "A WebAssembly component (at most `plugins.max_bytes`)"),
    responses(
        (status = 200, description = "Registered (or already known)", body = doc::PluginRegistered),
        (status = 400, description = "Empty body", body = doc::ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 403, response = doc::Forbidden),
        (status = 413, response = doc::PayloadTooLarge),
        (status = 422, description = "Not a valid plugin component", body = doc::ErrorBody),
        (status = 503, description = "No leader or no quorum, or the object store failed", body = doc::ErrorBody),
    )
)]
pub async fn put(
    State(node): State<Arc<Node>>,
    who: Admin,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body must be a WebAssembly component (.wasm)",
        ));
    }
    let record = crate::plugins::register(&node, body.to_vec(), &who.who.name).await?;
    let uses = format!("plugin/{}@{}", record.name, record.digest);
    Ok(Json(
        json!({ "digest": record.digest, "uses": uses, "plugin": record }),
    ))
}
