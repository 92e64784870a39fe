//! `k8s.scale`: set the replica count of one Deployment, StatefulSet or ReplicaSet
//! (the number is given; `steps::scale` computes it from a snapshot first).

use ::kube::Client;
use serde_json::{Value, json};
use tracing::{info, instrument};

use super::fencing::{Write, fenced_write, read_fenced, stamp};
use super::inputs::{Inputs, cluster_of};
use super::resource_version;
use super::target::{Cx, Target};
use super::workloads::{spec_replicas, workload_resource};
use crate::executor::FencingToken;

/// The workload kinds `k8s.scale` accepts.
const SCALABLE: [&str; 3] = ["Deployment", "StatefulSet", "ReplicaSet"];

/// `k8s.scale`: set `spec.replicas` of a Deployment (default), StatefulSet or ReplicaSet.
/// Result: `{"previous": n, "replicas": m}`, `previous` being the count read before the
/// write (on a re-run of the same attempt, the count the first run set).
///
/// # Errors
/// Bad inputs, an absent workload, a fencing refusal, or a failed write.
#[instrument(skip_all, fields(step = "k8s.scale", cluster = cluster_of(with), token = %token))]
pub async fn scale(client: &Client, with: &Value, token: FencingToken) -> Result<Value, String> {
    let input = Inputs::new("k8s.scale", with);
    let cx = Cx::new(client, input.cluster()?);
    let namespace = input.str("namespace")?;
    let name = input.str("name")?;
    let kind = input.opt_str("kind")?.unwrap_or("Deployment");
    if !SCALABLE.contains(&kind) {
        return Err(format!(
            "k8s.scale: kind `{kind}` cannot be scaled; use one of {}",
            SCALABLE.join(", ")
        ));
    }
    let replicas = with
        .get("replicas")
        .and_then(Value::as_u64)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| {
            format!(
                "k8s.scale: input `replicas` must be a whole number from 0 to {}; got {}",
                i32::MAX,
                with.get("replicas").unwrap_or(&Value::Null)
            )
        })?;
    let target = Target::new(workload_resource(kind), Some(namespace), name);
    let live = read_fenced(&cx, &target, token).await?.ok_or_else(|| {
        format!(
            "k8s.scale: {} not found{}",
            target.describe(),
            cx.in_cluster()
        )
    })?;
    let previous = fenced_write(&cx, &target, token, Some(live), |live| {
        let live = live.ok_or_else(|| {
            format!(
                "k8s.scale: {} was deleted while being scaled",
                target.describe()
            )
        })?;
        let mut body = json!({"spec": {"replicas": replicas}});
        stamp(&mut body, token, resource_version(live));
        Ok((Some(Write::Merge(body)), spec_replicas(live)))
    })
    .await?;
    info!(%namespace, %name, previous, replicas, "scaled");
    Ok(json!({"previous": previous, "replicas": replicas}))
}
