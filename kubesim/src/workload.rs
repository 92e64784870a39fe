//! Workload simulation: deployments, statefulsets, replicasets and daemonsets report
//! "not ready" right after a spec change, then become ready (`readyReplicas` =
//! `spec.replicas`, condition `Available=True`) after a configurable delay.

use crate::catalog::ResourceDef;
use crate::store::{Decision, Store, WorkloadNote};
use crate::system::Target;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Whether the simulator manages this resource's status.
pub fn is_workload(def: &ResourceDef) -> bool {
    def.group == "apps"
        && matches!(
            def.plural.as_str(),
            "deployments" | "statefulsets" | "replicasets" | "daemonsets"
        )
}

/// The status a workload reports, ready or not, for its current spec.
pub fn status_for(kind: &str, obj: &Value, ready: bool) -> Value {
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let want = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let ready_n = if ready { want } else { 0 };
    let now = crate::object::now_rfc3339();
    match kind {
        "Deployment" => {
            let (st, reason) = if ready {
                ("True", "MinimumReplicasAvailable")
            } else {
                ("False", "MinimumReplicasUnavailable")
            };
            let mut s = json!({
                "observedGeneration": generation, "replicas": want, "updatedReplicas": want,
                "readyReplicas": ready_n, "availableReplicas": ready_n,
                "conditions": [
                    {"type": "Available", "status": st, "reason": reason, "message": if ready {"Deployment has minimum availability."} else {"Deployment does not have minimum availability."}, "lastUpdateTime": now, "lastTransitionTime": now},
                    {"type": "Progressing", "status": "True", "reason": if ready {"NewReplicaSetAvailable"} else {"ReplicaSetUpdated"}, "message": "simulated by kubesim", "lastUpdateTime": now, "lastTransitionTime": now}
                ]
            });
            if want > ready_n {
                s["unavailableReplicas"] = json!(want - ready_n);
            }
            s
        }
        "StatefulSet" => json!({
            "observedGeneration": generation, "replicas": want, "readyReplicas": ready_n,
            "currentReplicas": want, "updatedReplicas": want, "availableReplicas": ready_n,
            "currentRevision": format!("{}-{generation}", crate::object::name(obj)),
            "updateRevision": format!("{}-{generation}", crate::object::name(obj)),
            "collisionCount": 0
        }),
        "ReplicaSet" => json!({
            "observedGeneration": generation, "replicas": want, "fullyLabeledReplicas": want,
            "readyReplicas": ready_n, "availableReplicas": ready_n
        }),
        _ => {
            let r = i64::from(ready);
            json!({
                "observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                "numberMisscheduled": 0, "numberReady": r, "numberAvailable": r, "updatedNumberScheduled": 1,
                "numberUnavailable": 1 - r
            })
        }
    }
}

/// Write the status if the object still has the generation it had when noted.
fn set_status(
    store: &Store,
    def: &Arc<ResourceDef>,
    ns: &str,
    name: &str,
    generation: Option<&Value>,
    ready: bool,
) -> Option<Value> {
    let mut seen = None;
    let res = store.write(def, ns, name, Target::Status, false, false, |cur| {
        let Some(cur) = cur else {
            return Ok(Decision::Keep);
        };
        if generation.is_some_and(|g| cur.pointer("/metadata/generation") != Some(g)) {
            return Ok(Decision::Keep);
        }
        seen = cur.pointer("/metadata/generation").cloned();
        let mut next = cur.clone();
        next["status"] = status_for(&def.kind, cur, ready);
        crate::fields::record_update(
            Some(cur),
            &mut next,
            "kubesim-controller",
            &def.api_version(),
            Some("status"),
        );
        Ok(Decision::Put(next))
    });
    if let Err(e) = res {
        tracing::debug!(%ns, %name, error = %e, "workload status not written");
    }
    seen
}

/// Run the simulator: for each note, report "not ready" now and "ready" after the delay
/// (milliseconds, read from `delay_ms` each time so the admin API can change it).
pub fn spawn(
    store: Arc<Store>,
    mut rx: mpsc::UnboundedReceiver<WorkloadNote>,
    delay_ms: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(note) = rx.recv().await {
            let delay = delay_ms.load(Ordering::Relaxed);
            let WorkloadNote {
                def,
                namespace,
                name,
            } = note;
            if delay == 0 {
                set_status(&store, &def, &namespace, &name, None, true);
                continue;
            }
            let generation = set_status(&store, &def, &namespace, &name, None, false);
            let store = store.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                set_status(&store, &def, &namespace, &name, generation.as_ref(), true);
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deployment_becomes_ready_after_delay() {
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Store::new(100, Some(tx));
        spawn(store.clone(), rx, Arc::new(AtomicU64::new(100)));
        let d = store.resolve("apps", "v1", "deployments").unwrap();
        store
            .create(
                &d,
                "default",
                json!({"metadata": {"name": "web"}, "spec": {"replicas": 3}}),
                "t",
                false,
            )
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut saw_unready = false;
        loop {
            let o = store.get(&d, "default", "web").unwrap();
            if o.pointer("/status/conditions/0/status") == Some(&json!("False")) {
                saw_unready = true;
            }
            if o.pointer("/status/readyReplicas") == Some(&json!(3)) {
                assert_eq!(
                    o.pointer("/status/conditions/0/type"),
                    Some(&json!("Available"))
                );
                assert_eq!(
                    o.pointer("/status/conditions/0/status"),
                    Some(&json!("True"))
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never became ready: {o}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(saw_unready);
    }
}
