//! Conformance suites for the service traits: the in-memory fakes and the
//! orchestrator's real implementations must both pass them (run them from a test with
//! the implementation under test). They panic, like assertions, on the first deviation.

use serde_json::json;

use crate::digest::Digest;
use crate::services::{CallInfo, KubeAccess, ObjectRef, PluginKv, ServiceErrorKind};

fn call() -> CallInfo {
    CallInfo {
        plugin: "conformance".into(),
        digest: Digest::of(b"conformance"),
        run_id: "run-conformance".into(),
        step_id: "step".into(),
        attempt: 1,
        drill: false,
    }
}

/// [`KubeAccess`] semantics: `cluster`/`namespace` must exist and hold no ConfigMap named
/// `lifeboat-conformance`. Leaves that ConfigMap behind.
pub async fn kube_access(kube: &dyn KubeAccess, cluster: &str, namespace: &str) {
    let call = call();
    let target = ObjectRef {
        cluster: cluster.into(),
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: namespace.into(),
        name: "lifeboat-conformance".into(),
    };
    assert_eq!(
        kube.get(&call, &target).await.unwrap(),
        None,
        "get of a missing object is Ok(None)"
    );
    let manifest = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "lifeboat-conformance", "namespace": namespace}, "data": {"a": "1"}});
    let applied = kube.apply(&call, cluster, &manifest).await.unwrap();
    assert_eq!(
        applied["metadata"]["name"],
        json!("lifeboat-conformance"),
        "apply returns the object"
    );
    let got = kube
        .get(&call, &target)
        .await
        .unwrap()
        .expect("applied object is readable");
    assert_eq!(got["data"]["a"], json!("1"));
    let patched = kube
        .patch(&call, &target, &json!({"data": {"b": "2"}}))
        .await
        .unwrap();
    assert_eq!(
        patched["data"],
        json!({"a": "1", "b": "2"}),
        "patch is a JSON merge patch"
    );
    let listed = kube.list(&call, &target, "").await.unwrap();
    assert!(
        listed
            .iter()
            .any(|o| o["metadata"]["name"] == json!("lifeboat-conformance")),
        "list returns the object"
    );
    let missing = ObjectRef {
        name: "lifeboat-conformance-missing".into(),
        ..target
    };
    let err = kube
        .patch(&call, &missing, &json!({"data": {}}))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        ServiceErrorKind::NotFound,
        "patch of a missing object is NotFound"
    );
}

/// [`PluginKv`] semantics: per-plugin keys, overwrite, delete (idempotent).
pub async fn plugin_kv(kv: &dyn PluginKv) {
    let (a, b) = ("conformance-a", "conformance-b");
    assert_eq!(kv.get(a, "k").await.unwrap(), None);
    kv.set(a, "k", "1").await.unwrap();
    assert_eq!(kv.get(a, "k").await.unwrap().as_deref(), Some("1"));
    assert_eq!(kv.get(b, "k").await.unwrap(), None, "keys are per plugin");
    kv.set(a, "k", "2").await.unwrap();
    assert_eq!(
        kv.get(a, "k").await.unwrap().as_deref(),
        Some("2"),
        "set overwrites"
    );
    kv.delete(a, "k").await.unwrap();
    assert_eq!(kv.get(a, "k").await.unwrap(), None);
    kv.delete(a, "k").await.unwrap();
}

#[cfg(test)]
mod tests {
    use crate::fakes::{FakeKube, MemoryKv};

    #[tokio::test]
    async fn fakes_pass_the_conformance_suites() {
        super::kube_access(&FakeKube::new(), "eu-west", "shop").await;
        super::plugin_kv(&MemoryKv::new()).await;
    }
}
