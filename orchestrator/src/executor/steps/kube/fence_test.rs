//! Tests of what `cluster.fence` and `cluster.unfence` decide for one workload.

use super::super::FENCING_TOKEN_ANNOTATION;
use super::super::tests::{cm_target, merge_body, token, workload};
use super::*;

#[test]
fn fence_records_the_first_count_only() {
    let (w, held) = fence_decision(&workload(3, json!({})), token(1, 2));
    assert!(held);
    assert_eq!(
        merge_body(w),
        json!({"spec": {"replicas": 0}, "metadata": {"resourceVersion": "9", "annotations": {
            REPLICAS_BEFORE_FENCE_ANNOTATION: "3", FENCING_TOKEN_ANNOTATION: "1.2"}}})
    );
    let scaled_up_again = workload(2, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "3"}));
    let body = merge_body(fence_decision(&scaled_up_again, token(1, 2)).0);
    assert_eq!(
        body["metadata"]["annotations"][REPLICAS_BEFORE_FENCE_ANNOTATION],
        "3"
    );
    let done = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "3"}));
    assert!(matches!(fence_decision(&done, token(1, 2)), (None, true)));
    assert!(matches!(
        fence_decision(&workload(0, json!({})), token(1, 2)),
        (None, false)
    ));
}

#[test]
fn unfence_restores_and_removes_the_annotation() {
    let t = cm_target();
    let fenced = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "4"}));
    let (w, restored) = unfence_decision(&t, &fenced, token(2, 1)).unwrap();
    assert!(restored);
    let body = merge_body(w);
    assert_eq!(body["spec"]["replicas"], 4);
    assert_eq!(
        body["metadata"]["annotations"][REPLICAS_BEFORE_FENCE_ANNOTATION],
        Value::Null
    );
    assert!(matches!(
        unfence_decision(&t, &workload(1, json!({})), token(2, 1)),
        Ok((None, false))
    ));
    let bad = workload(0, json!({REPLICAS_BEFORE_FENCE_ANNOTATION: "lots"}));
    let err = unfence_decision(&t, &bad, token(2, 1)).unwrap_err();
    assert!(
        err.contains("\"lots\", which is not a replica count"),
        "{err}"
    );
}
