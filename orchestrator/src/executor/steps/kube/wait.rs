//! `k8s.waitReady`: poll the Deployments, StatefulSets and Jobs of a namespace until all
//! are ready, and the readiness rule of each kind.

use std::time::{Duration, Instant};

use ::kube::api::{Api, DynamicObject, ListParams};
use ::kube::{Client, Error as KubeError};
use serde_json::{Value, json};
use tracing::{debug, instrument};

use super::capped;
use super::errors::{describe_error, hint, transient};
use super::inputs::{Inputs, cluster_of};
use super::target::Cx;
use super::workloads::{list_all, spec_replicas, workload_resource};

/// `k8s.waitReady` polls this often.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// The workload kinds `k8s.waitReady` checks.
const WAITABLE: [&str; 3] = ["Deployment", "StatefulSet", "Job"];

/// `k8s.waitReady`: poll (every 500 ms) the Deployments, StatefulSets and Jobs of
/// `namespace`, narrowed by `kind`, `name` and label `selector`, until all are ready:
/// `readyReplicas >= spec.replicas` and `observedGeneration >= generation` for
/// Deployments and StatefulSets, `succeeded >= completions` for Jobs. Result:
/// `{"ready": ["Kind/name", ...], "checked": N, "waitedMs": ms}`; nothing matching is
/// success with `checked: 0` unless `name` was given.
///
/// It waits forever: the executor bounds it by dropping the future at the step's
/// timeout. That is safe at any await point (it only reads). Transient API errors are
/// logged and retried.
///
/// # Errors
/// Bad inputs, `name` given and no such workload, or a non-transient API error (a bad
/// selector, missing permissions).
#[instrument(skip_all, fields(step = "k8s.waitReady", cluster = cluster_of(with)))]
pub async fn wait_ready(client: &Client, with: &Value) -> Result<Value, String> {
    let input = Inputs::new("k8s.waitReady", with);
    let cx = Cx::new(client, input.cluster()?);
    let namespace = input.str("namespace")?;
    let name = input.opt_str("name")?;
    let selector = input.opt_str("selector")?;
    let kinds: Vec<&str> = match input.opt_str("kind")? {
        None => WAITABLE.to_vec(),
        Some(k) => vec![
            *WAITABLE
                .iter()
                .find(|w| w.eq_ignore_ascii_case(k))
                .ok_or_else(|| {
                    format!(
                        "k8s.waitReady: kind `{k}` cannot be waited for; use one of {}",
                        WAITABLE.join(", ")
                    )
                })?,
        ],
    };
    let mut lp = ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    if let Some(n) = name {
        lp = lp.fields(&format!("metadata.name={n}"));
    }
    let started = Instant::now();
    loop {
        match poll_workloads(client, namespace, &kinds, &lp).await {
            Ok(found) => {
                if found.is_empty()
                    && let Some(n) = name
                {
                    let what = match kinds.as_slice() {
                        [one] => one.to_ascii_lowercase(),
                        _ => "workload (Deployment, StatefulSet or Job)".into(),
                    };
                    return Err(format!(
                        "k8s.waitReady: {what} {namespace}/{n} not found{}",
                        cx.in_cluster()
                    ));
                }
                let waiting: Vec<&Workload> =
                    found.iter().filter(|w| w.why_not.is_some()).collect();
                if waiting.is_empty() {
                    let names: Vec<String> = found.iter().map(|w| w.key.clone()).collect();
                    return Ok(json!({
                        "checked": names.len(),
                        "ready": capped(names),
                        "waitedMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    }));
                }
                let report: Vec<String> = waiting
                    .iter()
                    .map(|w| format!("{}: {}", w.key, w.why_not.as_deref().unwrap_or("")))
                    .collect();
                debug!(%namespace, waiting = ?report, "not ready yet");
            }
            Err(e) if transient(&e) => {
                debug!(%namespace, error = %describe_error(&e), "transient error; polling again");
            }
            Err(e) => {
                return Err(format!(
                    "k8s.waitReady: listing workloads in namespace {namespace}{} failed: {}{}",
                    cx.in_cluster(),
                    describe_error(&e),
                    hint(&e)
                ));
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// One workload `k8s.waitReady` looked at, and why it is not ready (None: it is).
struct Workload {
    key: String,
    why_not: Option<String>,
}

async fn poll_workloads(
    client: &Client,
    namespace: &str,
    kinds: &[&str],
    lp: &ListParams,
) -> Result<Vec<Workload>, KubeError> {
    let mut out = Vec::new();
    for kind in kinds {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &workload_resource(kind));
        for o in list_all(&api, lp).await? {
            out.push(Workload {
                key: format!("{kind}/{}", o.metadata.name.as_deref().unwrap_or("")),
                why_not: not_ready(kind, &o),
            });
        }
    }
    Ok(out)
}

/// Why a workload is not ready yet, or None if it is.
fn not_ready(kind: &str, o: &DynamicObject) -> Option<String> {
    let st = &o.data["status"];
    let count = |v: &Value| v.as_i64().unwrap_or(0);
    if kind == "Job" {
        let want = o.data["spec"]["completions"].as_i64().unwrap_or(1);
        let done = count(&st["succeeded"]);
        return (done < want).then(|| format!("{done}/{want} completions succeeded"));
    }
    let want = spec_replicas(o);
    let ready = count(&st["readyReplicas"]);
    let generation = o.metadata.generation.unwrap_or(0);
    let observed = count(&st["observedGeneration"]);
    if observed < generation {
        Some(format!(
            "generation {generation} not observed yet (at {observed})"
        ))
    } else if ready < want {
        Some(format!("{ready}/{want} replicas ready"))
    } else {
        None
    }
}

#[cfg(test)]
#[path = "wait_test.rs"]
mod tests;
