//! `cluster.fence` and `cluster.unfence` on a cluster that still answers: scale every
//! workload outside the system namespaces to zero, recording the count it had, and
//! restore the recorded counts.

use ::kube::Client;
use ::kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use tracing::{info, instrument};

use super::errors::{describe_error, hint};
use super::fencing::{Write, fenced_write, stamp};
use super::target::{Cx, Target};
use super::workloads::{list_all, spec_replicas, workload_resource};
use super::{REPLICAS_BEFORE_FENCE_ANNOTATION, annotation, resource_version};
use crate::executor::FencingToken;

/// Namespaces whose workloads `cluster.fence` never scales.
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// For `cluster.fence` when the fenced cluster still answers: scale every Deployment and
/// StatefulSet outside `kube-system`, `kube-public` and `kube-node-lease` to 0, recording
/// the count it had in the annotation `lifeboat.dev/replicas-before-fence` (kept as is
/// when already there, so a re-run does not record 0). Result: `{"scaledToZero": N}`,
/// the workloads now held at zero by a fence.
///
/// # Errors
/// A listing failure, or some workloads that could not be scaled (fencing refusals
/// included; the others were scaled, and a re-run finishes the job).
#[instrument(skip_all, fields(step = "cluster.fence", token = %token))]
pub async fn scale_all_to_zero(client: &Client, token: FencingToken) -> Result<Value, String> {
    let cx = Cx::new(client, "");
    let mut held = 0u64;
    let mut failures = Vec::new();
    for (target, live) in list_workloads(&cx).await? {
        let r = fenced_write(&cx, &target, token, Some(live), |live| {
            Ok(live.map_or((None, false), |l| fence_decision(l, token)))
        })
        .await;
        match r {
            Ok(true) => held += 1,
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    info!(held, failed = failures.len(), "scaled workloads to zero");
    finish(
        json!({"scaledToZero": held}),
        held,
        "scaled to zero",
        &failures,
    )
}

/// For `cluster.unfence`: undo [`scale_all_to_zero`], setting each annotated workload's
/// replicas back to the recorded count and removing the annotation. Result:
/// `{"restored": N}` (0 on a re-run: nothing is annotated any more).
///
/// # Errors
/// A listing failure, or some workloads that could not be restored (an annotation that
/// is not a count, a fencing refusal, a failed write; the others were restored).
#[instrument(skip_all, fields(step = "cluster.unfence", token = %token))]
pub async fn restore_replicas_after_fence(
    client: &Client,
    token: FencingToken,
) -> Result<Value, String> {
    let cx = Cx::new(client, "");
    let mut restored = 0u64;
    let mut failures = Vec::new();
    for (target, live) in list_workloads(&cx).await? {
        if annotation(&live, REPLICAS_BEFORE_FENCE_ANNOTATION).is_none() {
            continue;
        }
        let r = fenced_write(&cx, &target, token, Some(live), |live| match live {
            Some(l) => unfence_decision(&target, l, token),
            None => Ok((None, false)),
        })
        .await;
        match r {
            Ok(true) => restored += 1,
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    info!(
        restored,
        failed = failures.len(),
        "restored replicas after fence"
    );
    finish(
        json!({"restored": restored}),
        restored,
        "restored",
        &failures,
    )
}

/// What `cluster.fence` does to one workload: scale it to 0, recording the count it had
/// unless one is recorded already. The flag: it is (now) held at zero by a fence.
fn fence_decision(live: &DynamicObject, token: FencingToken) -> (Option<Write>, bool) {
    let recorded = annotation(live, REPLICAS_BEFORE_FENCE_ANNOTATION);
    let replicas = spec_replicas(live);
    match (recorded, replicas) {
        (None, 0) => (None, false),
        (Some(_), 0) => (None, true),
        _ => {
            let before = recorded.map_or_else(|| replicas.to_string(), str::to_string);
            let mut body = json!({"spec": {"replicas": 0},
                "metadata": {"annotations": {REPLICAS_BEFORE_FENCE_ANNOTATION: before}}});
            stamp(&mut body, token, resource_version(live));
            (Some(Write::Merge(body)), true)
        }
    }
}

/// What `cluster.unfence` does to one workload: restore the recorded count and remove
/// the annotation. The flag: it was restored.
fn unfence_decision(
    target: &Target,
    live: &DynamicObject,
    token: FencingToken,
) -> Result<(Option<Write>, bool), String> {
    let Some(recorded) = annotation(live, REPLICAS_BEFORE_FENCE_ANNOTATION) else {
        return Ok((None, false));
    };
    let count: u32 = recorded.parse().map_err(|_| {
        format!(
            "{} has annotation {REPLICAS_BEFORE_FENCE_ANNOTATION}: \"{recorded}\", which is not a replica count: set its replicas by hand and remove the annotation",
            target.describe()
        )
    })?;
    let mut body = json!({"spec": {"replicas": count},
        "metadata": {"annotations": {REPLICAS_BEFORE_FENCE_ANNOTATION: null}}});
    stamp(&mut body, token, resource_version(live));
    Ok((Some(Write::Merge(body)), true))
}

/// Every Deployment and StatefulSet outside the system namespaces.
async fn list_workloads(cx: &Cx<'_>) -> Result<Vec<(Target, DynamicObject)>, String> {
    let mut out = Vec::new();
    for kind in ["Deployment", "StatefulSet"] {
        let ar = workload_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(cx.client.clone(), &ar);
        let items = list_all(&api, &ListParams::default()).await.map_err(|e| {
            format!(
                "listing {kind}s{} failed: {}{}",
                cx.in_cluster(),
                describe_error(&e),
                hint(&e)
            )
        })?;
        for o in items {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            if SYSTEM_NAMESPACES.contains(&ns.as_str()) {
                continue;
            }
            let name = o.metadata.name.clone().unwrap_or_default();
            out.push((Target::new(ar.clone(), Some(&ns), &name), o));
        }
    }
    Ok(out)
}

/// The result of a bulk step: `ok` when nothing failed, else an error listing (some of)
/// the failures.
fn finish(ok: Value, done: u64, did: &str, failures: &[String]) -> Result<Value, String> {
    if failures.is_empty() {
        return Ok(ok);
    }
    let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
    let more = failures.len().saturating_sub(shown.len());
    Err(format!(
        "{done} workloads {did}, {} failed: {}{}; run the step again once fixed (it is idempotent)",
        failures.len(),
        shown.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
#[path = "fence_test.rs"]
mod tests;
