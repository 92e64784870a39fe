//! `k8s.delete`: delete one object, fenced; an object already gone is success.

use ::kube::Client;
use ::kube::api::Preconditions;
use serde_json::{Value, json};
use tracing::{info, instrument};

use super::fencing::{Write, fenced_write, read_fenced};
use super::inputs::{Inputs, cluster_of};
use super::resolve::Types;
use super::target::Cx;
use crate::executor::FencingToken;

/// `k8s.delete`: delete one object (background propagation; the call does not wait for
/// finalizers). Result: `{"deleted": true}`, or `{"deleted": false}` if it was already
/// absent.
///
/// # Errors
/// Bad inputs, an unknown kind, a fencing refusal, or a failed delete.
#[instrument(skip_all, fields(step = "k8s.delete", cluster = cluster_of(with), token = %token))]
pub async fn delete(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.delete", with);
    let cx = Cx::new(client, input.cluster()?);
    let target = input.target(&mut Types::new(&cx, "k8s.delete")).await?;
    let live = read_fenced(&cx, &target, token).await?;
    if live.is_none() {
        return Ok(json!({"deleted": false}));
    }
    let deleted = fenced_write(&cx, &target, token, live, |live| {
        Ok(match live {
            None => (None, false),
            Some(l) => (
                Some(Write::Delete(Preconditions {
                    resource_version: l.metadata.resource_version.clone(),
                    uid: l.metadata.uid.clone(),
                })),
                true,
            ),
        })
    })
    .await?;
    info!(object = %target.key(), deleted, "delete");
    Ok(json!({"deleted": deleted}))
}
