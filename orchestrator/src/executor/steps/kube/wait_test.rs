//! Tests of the readiness rules of `k8s.waitReady`.

use super::*;

#[test]
fn readiness_rules() {
    let dep = |spec: Value, status: Value, generation: i64| -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "generation": generation}, "spec": spec, "status": status}))
        .unwrap()
    };
    let ready = dep(
        json!({"replicas": 2}),
        json!({"readyReplicas": 2, "observedGeneration": 3}),
        3,
    );
    assert!(not_ready("Deployment", &ready).is_none());
    let stale = dep(
        json!({"replicas": 2}),
        json!({"readyReplicas": 2, "observedGeneration": 2}),
        3,
    );
    assert!(
        not_ready("Deployment", &stale)
            .unwrap()
            .contains("generation 3")
    );
    let short = dep(
        json!({"replicas": 3}),
        json!({"readyReplicas": 1, "observedGeneration": 1}),
        1,
    );
    assert_eq!(
        not_ready("StatefulSet", &short).unwrap(),
        "1/3 replicas ready"
    );
    let job = dep(json!({"completions": 2}), json!({"succeeded": 1}), 1);
    assert_eq!(not_ready("Job", &job).unwrap(), "1/2 completions succeeded");
}
