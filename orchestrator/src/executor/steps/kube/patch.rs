//! `k8s.patch`: a merge, strategic or JSON patch of one existing object, fenced.

use ::kube::Client;
use serde_json::{Value, json};
use tracing::instrument;

use super::fencing::{Write, fenced_json_patch, fenced_write, read_fenced, stamp};
use super::inputs::{Inputs, cluster_of};
use super::resolve::Types;
use super::resource_version;
use super::target::Cx;
use crate::executor::FencingToken;

/// `k8s.patch`: patch one existing object (`patchType` merge, the default, strategic or
/// json). Without `apiVersion`, the kind is looked up, preferring the core and `apps`
/// groups. Result: `{"patched": "Kind/ns/name"}`. Merge and strategic patches are
/// idempotent; a JSON patch is as idempotent as its operations.
///
/// # Errors
/// Bad inputs, an unknown kind, an absent object (create it with `k8s.apply`), a
/// fencing refusal, or a patch the server rejects.
#[instrument(skip_all, fields(step = "k8s.patch", cluster = cluster_of(with), token = %token))]
pub async fn patch(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.patch", with);
    let cx = Cx::new(client, input.cluster()?);
    let target = input.target(&mut Types::new(&cx, "k8s.patch")).await?;
    let patch_type = input.opt_str("patchType")?.unwrap_or("merge");
    let body = with
        .get("patch")
        .ok_or("k8s.patch: input `patch` is missing")?;
    match (patch_type, body) {
        ("merge" | "strategic", Value::Object(_)) | ("json", Value::Array(_)) => {}
        ("merge" | "strategic" | "json", _) => {
            return Err(format!(
                "k8s.patch: a {patch_type} patch must be {}; got {body}",
                if patch_type == "json" {
                    "a list of operations"
                } else {
                    "an object"
                }
            ));
        }
        (other, _) => {
            return Err(format!(
                "k8s.patch: patchType `{other}` is not one of merge, strategic, json"
            ));
        }
    }
    let live = read_fenced(&cx, &target, token).await?.ok_or_else(|| {
        format!(
            "k8s.patch: {} not found{}: k8s.patch changes existing objects; create it with k8s.apply",
            target.describe(),
            cx.in_cluster()
        )
    })?;
    fenced_write(&cx, &target, token, Some(live), |live| {
        let write = match patch_type {
            "json" => Write::Json(fenced_json_patch(body, token, live)),
            kind => {
                let mut fenced = body.clone();
                stamp(&mut fenced, token, live.and_then(resource_version));
                if kind == "strategic" {
                    Write::Strategic(fenced)
                } else {
                    Write::Merge(fenced)
                }
            }
        };
        Ok((Some(write), ()))
    })
    .await?;
    Ok(json!({"patched": target.key()}))
}
