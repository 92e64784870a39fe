//! Tests of the fencing checks and of the tokens and preconditions stamped into writes.

use super::super::tests::{cm_target, object, token, workload};
use super::*;

#[test]
fn fence_refuses_only_newer_tokens() {
    let t = cm_target();
    let live = object(json!({FENCING_TOKEN_ANNOTATION: "3.40"}));
    let err = check_fence(&t, &live, token(3, 39)).unwrap_err();
    assert_eq!(
        err,
        "refused: ConfigMap shop/cfg carries fencing token 3.40, newer than this attempt's 3.39: a newer leader has acted on it"
    );
    assert!(
        check_fence(&t, &live, token(2, 99)).is_err(),
        "lower term loses"
    );
    assert!(
        check_fence(&t, &live, token(3, 40)).is_ok(),
        "same attempt re-run"
    );
    assert!(check_fence(&t, &live, token(4, 1)).is_ok(), "newer attempt");
    assert!(check_fence(&t, &object(json!({})), token(1, 1)).is_ok());
    let garbled = check_fence(
        &t,
        &object(json!({FENCING_TOKEN_ANNOTATION: "x"})),
        token(9, 9),
    );
    assert!(garbled.unwrap_err().contains("malformed fencing token"));
}

#[test]
fn stamp_sets_token_and_precondition() {
    let mut patch = json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"}}});
    stamp(&mut patch, token(2, 7), Some("41"));
    assert_eq!(
        patch,
        json!({"data": {"a": "1"}, "metadata": {"labels": {"x": "y"},
               "annotations": {FENCING_TOKEN_ANNOTATION: "2.7"}, "resourceVersion": "41"}})
    );
    let mut fresh = json!({"metadata": {"name": "n", "resourceVersion": "5"}});
    stamp(&mut fresh, token(1, 1), None);
    assert!(fresh["metadata"].get("resourceVersion").is_none());
}

#[test]
fn json_patch_gets_precondition_and_token_first() {
    let user = json!([{"op": "remove", "path": "/data/b"}]);
    let with_annotations = workload(1, json!({"x": "y"}));
    assert_eq!(
        fenced_json_patch(&user, token(3, 4), Some(&with_annotations)),
        json!([
            {"op": "replace", "path": "/metadata/resourceVersion", "value": "9"},
            {"op": "add", "path": "/metadata/annotations/lifeboat.dev~1fencing-token", "value": "3.4"},
            {"op": "remove", "path": "/data/b"}
        ])
    );
    let bare: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "2"}}))
        .unwrap();
    let ops = fenced_json_patch(&user, token(3, 4), Some(&bare));
    assert_eq!(
        ops[1],
        json!({"op": "add", "path": "/metadata/annotations",
        "value": {FENCING_TOKEN_ANNOTATION: "3.4"}})
    );
}
