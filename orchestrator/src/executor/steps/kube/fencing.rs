//! Fencing: read an object, check its fencing token, and write with the resourceVersion
//! that was read as a precondition, reading and checking again when it changed
//! ([`fenced_write`]); stamping tokens into bodies and JSON patches. The module docs of
//! [`super`] explain the protocol and its race window.

use ::kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use ::kube::{Client, Error as KubeError};
use serde_json::{Map, Value, json};
use tracing::debug;

use super::errors::status;
use super::target::{Cx, Target};
use super::{
    FENCING_TOKEN_ANNOTATION, FIELD_MANAGER, WRITE_ATTEMPTS, annotation, resource_version,
};
use crate::executor::FencingToken;

/// Reads the object behind `target` (None: absent) and refuses if it carries a fencing
/// token newer than `ours`.
pub(super) async fn read_fenced(
    cx: &Cx<'_>,
    target: &Target,
    ours: FencingToken,
) -> Result<Option<DynamicObject>, String> {
    let live = target
        .api(cx.client)
        .get_opt(&target.name)
        .await
        .map_err(|e| cx.failed("reading", target, &e))?;
    if let Some(l) = &live {
        check_fence(target, l, ours)?;
    }
    Ok(live)
}

/// Refuses when `live` carries a fencing token greater than `ours` (or one that does not
/// parse: then no one can tell which leader wrote it).
pub(super) fn check_fence(
    target: &Target,
    live: &DynamicObject,
    ours: FencingToken,
) -> Result<(), String> {
    let Some(theirs) = annotation(live, FENCING_TOKEN_ANNOTATION) else {
        return Ok(());
    };
    match theirs.parse::<FencingToken>() {
        Ok(t) if t > ours => Err(format!(
            "refused: {} carries fencing token {t}, newer than this attempt's {ours}: a newer leader has acted on it",
            target.describe()
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "refused: {} carries a malformed fencing token ({e}), so Lifeboat cannot tell whether a newer leader wrote it: check the object, then remove its annotation {FENCING_TOKEN_ANNOTATION}",
            target.describe()
        )),
    }
}

/// A write, decided from the object as read (pure), performed by [`perform`].
#[derive(Debug)]
pub(super) enum Write {
    /// Server-side apply of this body (field manager `lifeboat`, forced).
    Apply(Value),
    /// JSON merge patch.
    Merge(Value),
    /// Strategic merge patch.
    Strategic(Value),
    /// JSON patch (a list of operations).
    Json(Value),
    /// Delete, if the object still has this resourceVersion and uid.
    Delete(Preconditions),
}

/// Checks the fencing token of the object as last read (`live`; None: absent), then
/// writes what `decide` makes of it, returning what `decide` says to return. `decide` must carry `live`'s
/// resourceVersion in the write as a precondition ([`stamp`]); when the write fails with
/// 409 (the object changed since it was read), or a delete with 404, the object is read
/// and checked again and `decide` asked again, up to [`WRITE_ATTEMPTS`] writes in all.
pub(super) async fn fenced_write<T>(
    cx: &Cx<'_>,
    target: &Target,
    ours: FencingToken,
    mut live: Option<DynamicObject>,
    mut decide: impl FnMut(Option<&DynamicObject>) -> Result<(Option<Write>, T), String>,
) -> Result<T, String> {
    let mut attempt = 1;
    loop {
        if let Some(l) = &live {
            check_fence(target, l, ours)?;
        }
        let (write, out) = decide(live.as_ref())?;
        let Some(write) = write else {
            return Ok(out);
        };
        let deleting = matches!(write, Write::Delete(_));
        match perform(cx.client, target, write).await {
            Ok(()) => return Ok(out),
            Err(e)
                if attempt < WRITE_ATTEMPTS
                    && (status(&e) == Some(409) || (deleting && status(&e) == Some(404))) =>
            {
                debug!(object = %target.key(), attempt, "changed since read; reading again");
                attempt += 1;
                live = read_fenced(cx, target, ours).await?;
            }
            Err(e) => return Err(cx.failed("writing", target, &e)),
        }
    }
}

/// Sends one write.
async fn perform(client: &Client, target: &Target, write: Write) -> Result<(), KubeError> {
    let api = target.api(client);
    let name = &target.name;
    let merge = PatchParams::default();
    match write {
        Write::Apply(body) => {
            let params = PatchParams::apply(FIELD_MANAGER).force();
            api.patch(name, &params, &Patch::Apply(&body))
                .await
                .map(drop)
        }
        Write::Merge(body) => api
            .patch(name, &merge, &Patch::Merge(&body))
            .await
            .map(drop),
        Write::Strategic(body) => api
            .patch(name, &merge, &Patch::Strategic(&body))
            .await
            .map(drop),
        Write::Json(ops) => {
            // kube's typed JSON patch needs a crate feature we do not enable.
            let body = serde_json::to_vec(&ops).map_err(KubeError::SerdeError)?;
            let req = http::Request::patch(format!("{}/{name}", api.resource_url()))
                .header(http::header::CONTENT_TYPE, "application/json-patch+json")
                .body(body)
                .map_err(|e| {
                    KubeError::BuildRequest(::kube::core::request::Error::BuildRequest(e))
                })?;
            client.request::<Value>(req).await.map(drop)
        }
        Write::Delete(pre) => api
            .delete(name, &DeleteParams::background().preconditions(pre))
            .await
            .map(drop),
    }
}

/// Sets the fencing token annotation of `body` (an object or a merge patch), and its
/// `metadata.resourceVersion` precondition when given.
pub(super) fn stamp(body: &mut Value, token: FencingToken, resource_version: Option<&str>) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let annotations = &mut meta["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations[FENCING_TOKEN_ANNOTATION] = Value::String(token.to_string());
    match resource_version {
        Some(rv) => meta["resourceVersion"] = Value::String(rv.to_string()),
        None => {
            meta.as_object_mut().map(|m| m.remove("resourceVersion"));
        }
    }
}

/// A JSON patch preceded by operations that set the resourceVersion precondition and the
/// fencing token.
pub(super) fn fenced_json_patch(
    ops: &Value,
    token: FencingToken,
    live: Option<&DynamicObject>,
) -> Value {
    let mut all = Vec::new();
    if let Some(rv) = live.and_then(resource_version) {
        all.push(json!({"op": "replace", "path": "/metadata/resourceVersion", "value": rv}));
    }
    if live.is_some_and(|l| l.metadata.annotations.is_some()) {
        let path = format!(
            "/metadata/annotations/{}",
            FENCING_TOKEN_ANNOTATION
                .replace('~', "~0")
                .replace('/', "~1")
        );
        all.push(json!({"op": "add", "path": path, "value": token.to_string()}));
    } else {
        all.push(json!({"op": "add", "path": "/metadata/annotations",
                        "value": {FENCING_TOKEN_ANNOTATION: token.to_string()}}));
    }
    all.extend(ops.as_array().into_iter().flatten().cloned());
    Value::Array(all)
}

#[cfg(test)]
#[path = "fencing_test.rs"]
mod tests;
