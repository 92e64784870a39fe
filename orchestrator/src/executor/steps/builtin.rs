//! Dispatch of one step attempt to its effect.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{FENCING_ANNOTATION, StepCall, http, kube, plugin};
use crate::catalog::Op;
use crate::node::Node;

/// Everything a step needs besides the node.
pub struct StepEnv {
    /// `http.request` and `notify`.
    pub http: http::HttpSteps,
    /// Deadline of attempts whose step declares no `timeout`.
    pub default_step_timeout: Duration,
}

/// Carry out one attempt. Ok: the step's `result`; Err: why (retried per the runbook).
pub async fn perform(
    node: &Arc<Node>,
    env: &StepEnv,
    call: &StepCall,
) -> Result<Value, super::StepError> {
    if call.uses.starts_with("plugin/") {
        return plugin::run(node, call).await;
    }
    builtin(node, env, call)
        .await
        .map_err(super::StepError::from)
}

/// A built-in step's effect.
async fn builtin(node: &Arc<Node>, env: &StepEnv, call: &StepCall) -> Result<Value, String> {
    let w = &call.with;
    match call.uses.as_str() {
        "snapshot.take" => {
            let cluster = str_in(w, "cluster")?;
            let snap = crate::snapshots::capture_and_wait(node, cluster, &call.actor).await?;
            Ok(json!({
                "snapshotId": snap.id, "takenAtMs": snap.completed_at_ms,
                "objects": snap.object_count, "bytesUploaded": snap.bytes_uploaded,
            }))
        }
        "snapshot.restore" => restore(node, call).await,
        "k8s.apply" => kube::apply(&client(node, w).await?, w, call.token).await,
        "k8s.patch" => kube::patch(&client(node, w).await?, w, call.token).await,
        "k8s.scale" => {
            let w = &super::scale::scale_from_with(node, w).await?;
            kube::scale(&client(node, w).await?, w, call.token).await
        }
        "k8s.delete" => kube::delete(&client(node, w).await?, w, call.token).await,
        "k8s.waitReady" => kube::wait_ready(&client(node, w).await?, w).await,
        "cluster.fence" | "cluster.unfence" => fence(node, call).await,
        "http.request" => {
            env.http
                .request(w, &call.idempotency_key, call.drill_allowlist.as_deref())
                .await
        }
        "notify" => env.http.notify(w, &call.run_id, &call.step_id).await,
        "sleep" => {
            let text = str_in(w, "duration")?;
            let d = lifeboat_runbooks::Duration::parse(text)
                .map_err(|e| format!("sleep: duration `{text}`: {e}"))?;
            let until = call.first_started_at_ms + d.as_millis();
            let now = crate::node::now_ms();
            if until > now {
                tokio::time::sleep(Duration::from_millis(until - now)).await;
            }
            Ok(json!({"sleptUntilMs": until}))
        }
        "log" => {
            let message = str_in(w, "message")?.to_string();
            let level = w
                .get("level")
                .and_then(Value::as_str)
                .unwrap_or("info")
                .to_string();
            let op = Op::Run(crate::catalog::RunOp::Log {
                run_id: call.run_id.clone(),
                step_id: Some(call.step_id.clone()),
                level,
                message,
            });
            node.write(&call.actor, op)
                .await
                .map_err(|e| format!("log: {e}"))?;
            Ok(json!({}))
        }
        "approval" => Err("an approval step has no effect: it waits for a decision".into()),
        other => Err(format!(
            "unknown step `{other}` (not a built-in, not `plugin/NAME@sha256:...`)"
        )),
    }
}

/// A required string input.
pub fn str_in<'a>(with: &'a Value, key: &str) -> Result<&'a str, String> {
    with.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("input `{key}` is missing or not a string"))
}

async fn client(node: &Node, with: &Value) -> Result<::kube::Client, String> {
    crate::snapshots::client(node, str_in(with, "cluster")?, None).await
}

/// `snapshot.restore`: resolve `latest`, map namespaces (map, then suffix), restore with
/// the attempt's fencing token stamped on every object, wait for the record.
async fn restore(node: &Arc<Node>, call: &StepCall) -> Result<Value, String> {
    use lifeboat_snapshot::restore::ExistingPolicy;
    let w = &call.with;
    let target = str_in(w, "targetCluster")?.to_string();
    let wanted = str_in(w, "snapshot")?;
    let source = w.get("sourceCluster").and_then(Value::as_str);
    let snapshot = node.raft.read_local(|c| {
        if wanted == "latest" {
            c.snapshots
                .snapshots
                .values()
                .filter(|s| source.is_none_or(|src| s.cluster == src))
                .max_by_key(|s| s.completed_at_ms)
                .cloned()
        } else {
            c.snapshots.snapshots.get(wanted).cloned()
        }
    });
    let snapshot = snapshot.ok_or_else(|| match (wanted, source) {
        ("latest", Some(src)) => format!(
            "no snapshot of cluster `{src}` exists yet: take one (`lifeboat snapshot take \
             {src}`) or add a schedule"
        ),
        ("latest", None) => "no snapshot exists yet (and no `sourceCluster` given)".into(),
        (id, _) => format!("no snapshot `{id}` (see `lifeboat snapshot list`)"),
    })?;
    let namespaces: Option<Vec<String>> = match w.get("namespaces") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|_| "input `namespaces` must be a list of strings".to_string())?,
        ),
    };
    let mut namespace_map: std::collections::BTreeMap<String, String> = match w.get("namespaceMap")
    {
        None | Some(Value::Null) => Default::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| "input `namespaceMap` must map strings to strings".to_string())?,
    };
    let suffix = w
        .get("namespaceSuffix")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !suffix.is_empty() {
        let Some(ns) = &namespaces else {
            return Err(
                "`namespaceSuffix` needs `namespaces` (the namespaces to restore, suffixed)".into(),
            );
        };
        for n in ns {
            let mapped = namespace_map.get(n).cloned().unwrap_or_else(|| n.clone());
            namespace_map.insert(n.clone(), format!("{mapped}{suffix}"));
        }
    }
    let policy_name = w.get("policy").and_then(Value::as_str).unwrap_or("skip");
    let policy = match policy_name {
        "skip" | "fail" => ExistingPolicy::Skip,
        "overwrite" => ExistingPolicy::Update,
        other => return Err(format!("policy `{other}` is not skip, overwrite or fail")),
    };
    let dry_run = w.get("dryRun").and_then(Value::as_bool).unwrap_or(false);
    let req = crate::snapshots::RestoreRequest {
        snapshot: snapshot.id.clone(),
        target_cluster: target.clone(),
        namespace_map: namespace_map.clone(),
        policy: policy_name.to_string(),
        dry_run,
        abort_on_unsupported: false,
    };
    let opts = lifeboat_snapshot::restore::RestoreOptions {
        namespace_map,
        policy,
        dry_run,
        target_cluster: target,
        namespaces: namespaces.map(|n| n.into_iter().collect()),
        annotations: [(FENCING_ANNOTATION.to_string(), call.token.to_string())].into(),
        ..Default::default()
    };
    let record = crate::snapshots::restore_and_wait(node, req, opts, &call.actor).await?;
    let count = |k: &str| record.counts.get(k).copied().unwrap_or(0);
    let restored = count("created") + count("updated");
    if let crate::catalog::JobState::Failed { reason } = &record.state {
        return Err(format!("restore {}: {reason}", record.id));
    }
    if policy_name == "fail" && count("skipped") > 0 {
        return Err(format!(
            "restore {}: {} object(s) already existed in the target (policy `fail`)",
            record.id,
            count("skipped")
        ));
    }
    Ok(json!({
        "restoreId": record.id,
        "snapshotId": snapshot.id,
        "snapshotTakenAtMs": snapshot.completed_at_ms,
        "snapshotObjects": snapshot.object_count,
        "rpoMs": record.rpo_ms,
        "restored": restored,
        "counts": record.counts,
    }))
}

/// `cluster.fence` / `cluster.unfence`: the catalog change (refused for a stale token),
/// then, if the cluster answers within a few seconds, its workloads scaled to zero (or
/// back).
async fn fence(node: &Arc<Node>, call: &StepCall) -> Result<Value, String> {
    let cluster = str_in(&call.with, "cluster")?.to_string();
    let fencing = call.uses == "cluster.fence";
    let by_run = Some((call.run_id.clone(), call.token));
    let op = if fencing {
        Op::Fence {
            cluster: cluster.clone(),
            by_run,
        }
    } else {
        Op::Unfence {
            cluster: cluster.clone(),
            by_run,
        }
    };
    match node.write(&call.actor, op).await {
        Ok(crate::catalog::Response::Rejected { reason }) => return Err(reason),
        Ok(_) => {}
        Err(e) => return Err(format!("{}: {e}", call.uses)),
    }
    let workloads = async {
        let client = crate::snapshots::client(node, &cluster, Some(Duration::from_secs(3))).await?;
        if fencing {
            kube::scale_all_to_zero(&client, call.token).await
        } else {
            kube::restore_replicas_after_fence(&client, call.token).await
        }
    };
    let workloads = match tokio::time::timeout(Duration::from_secs(10), workloads).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => json!({"unreachable": e}),
        Err(_) => json!({"unreachable": "no answer within 10 s"}),
    };
    Ok(json!({"cluster": cluster, "fenced": fencing, "workloads": workloads}))
}
