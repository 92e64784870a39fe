//! Normalisation: every rule that turns a live object into its stored form, in one place.
//! Each rule has a test below (named after it).
//!
//! | rule | what is dropped | why |
//! |---|---|---|
//! | `server-metadata` | `metadata.uid`, `resourceVersion`, `generation`, `creationTimestamp`, `deletionTimestamp`, `deletionGracePeriodSeconds`, `managedFields`, `selfLink` | set by the API server; a restore must not carry them |
//! | `owner-references` | `metadata.ownerReferences` | they name owners by uid, which changes on restore; a stale uid makes the garbage collector delete the object (objects a controller re-creates are not captured at all, see `filter`) |
//! | `status` | top-level `status` (unless `keep_status`) | written by controllers, not by users |
//! | `deployment-revision` | annotation `deployment.kubernetes.io/revision` | set by the deployment controller |
//! | `service-cluster-ip` | Service `spec.clusterIP`, `spec.clusterIPs` (kept when `None`: headless) | allocated by the cluster; may clash in another cluster |
//! | `service-node-ports` | Service `spec.ports[].nodePort` and `spec.healthCheckNodePort`, unless the `kubectl.kubernetes.io/last-applied-configuration` annotation shows the user set that port | auto-assigned ports clash |
//! | `pod-node-name` | Pod `spec.nodeName` | a scheduling result; nodes differ between clusters |
//! | `pvc-binding` | PVC `spec.volumeName` and annotations `pv.kubernetes.io/bind-completed`, `pv.kubernetes.io/bound-by-controller`, `volume.beta.kubernetes.io/storage-provisioner`, `volume.kubernetes.io/storage-provisioner`, `volume.kubernetes.io/selected-node` | binding to a volume of the source cluster |
//! | `namespace-finalizers` | Namespace `spec.finalizers` | set by the API server |
//! | `job-selector` | Job `spec.selector` and template labels `controller-uid`, `batch.kubernetes.io/controller-uid` (unless `spec.manualSelector`) | generated from the Job's uid; re-creating with them is refused |
//!
//! The stored bytes are canonical JSON ([`canonical_json`]: object keys sorted, no
//! whitespace), so equal objects hash equally whatever the server's key order.

use serde_json::{Map, Value};

/// Names of the rules, in the order applied (documentation and tests).
pub const RULES: &[&str] = &[
    "server-metadata",
    "owner-references",
    "status",
    "deployment-revision",
    "service-cluster-ip",
    "service-node-ports",
    "pod-node-name",
    "pvc-binding",
    "namespace-finalizers",
    "job-selector",
];

const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

const PVC_ANNOTATIONS: &[&str] = &[
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
];

/// Normalise `obj` (of API group `group`, kind `kind`) in place.
pub fn normalize(group: &str, kind: &str, obj: &mut Value, keep_status: bool) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in SERVER_METADATA {
            meta.remove(*k);
        }
        meta.remove("ownerReferences");
        remove_annotations(meta, &["deployment.kubernetes.io/revision"]);
    }
    if !keep_status {
        root.remove("status");
    }
    match (group, kind) {
        ("", "Service") => service(root),
        ("", "Pod") => {
            if let Some(spec) = spec_mut(root) {
                spec.remove("nodeName");
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = spec_mut(root) {
                spec.remove("volumeName");
            }
            if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
                remove_annotations(meta, PVC_ANNOTATIONS);
            }
        }
        ("", "Namespace") => {
            if let Some(spec) = spec_mut(root) {
                spec.remove("finalizers");
                if spec.is_empty() {
                    root.remove("spec");
                }
            }
        }
        ("batch", "Job") => job(root),
        _ => {}
    }
    if let Some(meta) = root.get("metadata").and_then(Value::as_object)
        && meta
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        && let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.remove("annotations");
    }
}

fn spec_mut(root: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    root.get_mut("spec").and_then(Value::as_object_mut)
}

fn remove_annotations(meta: &mut Map<String, Value>, keys: &[&str]) {
    if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        for k in keys {
            ann.remove(*k);
        }
    }
}

/// Node ports the user declared in the last-applied configuration.
fn declared_node_ports(root: &Map<String, Value>) -> Vec<u64> {
    let Some(text) = root.get("metadata").and_then(|m| {
        m["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].as_str()
    }) else {
        return vec![];
    };
    let Ok(applied) = serde_json::from_str::<Value>(text) else {
        return vec![];
    };
    applied["spec"]["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p["nodePort"].as_u64())
                .collect()
        })
        .unwrap_or_default()
}

fn service(root: &mut Map<String, Value>) {
    let declared = declared_node_ports(root);
    let Some(spec) = spec_mut(root) else { return };
    if spec.get("clusterIP").and_then(Value::as_str) != Some("None") {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            let keep = p
                .get("nodePort")
                .and_then(Value::as_u64)
                .is_some_and(|n| declared.contains(&n));
            if !keep {
                p.remove("nodePort");
            }
        }
    }
    let keep_hc = spec
        .get("healthCheckNodePort")
        .and_then(Value::as_u64)
        .is_some_and(|n| declared.contains(&n));
    if !keep_hc {
        spec.remove("healthCheckNodePort");
    }
}

fn job(root: &mut Map<String, Value>) {
    let Some(spec) = spec_mut(root) else { return };
    if spec.get("manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    spec.remove("selector");
    if let Some(labels) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("metadata"))
        .and_then(|m| m.get_mut("labels"))
        .and_then(Value::as_object_mut)
    {
        labels.remove("controller-uid");
        labels.remove("batch.kubernetes.io/controller-uid");
    }
}

/// Canonical JSON bytes: object keys sorted, no insignificant whitespace.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    if maps_are_sorted() {
        // serde_json's default `Map` is a BTreeMap: plain serialisation is canonical.
        return serde_json::to_vec(v).expect("a Value always serialises");
    }
    let mut out = Vec::with_capacity(1024);
    write_canonical(v, &mut out);
    out
}

/// Whether `serde_json::Map` keeps keys sorted in this build (it does not when some crate
/// in the build enables serde_json's `preserve_order` feature).
fn maps_are_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().next().map(String::as_str) == Some("a")
    })
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(group: &str, kind: &str, mut v: Value) -> Value {
        normalize(group, kind, &mut v, false);
        v
    }

    #[test]
    fn rule_server_metadata() {
        let v = norm(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "5", "generation": 2, "creationTimestamp": "t", "deletionTimestamp": "t", "deletionGracePeriodSeconds": 30, "managedFields": [], "selfLink": "/x", "labels": {"k": "v"}}}),
        );
        assert_eq!(
            v,
            json!({"metadata": {"name": "a", "namespace": "n", "labels": {"k": "v"}}})
        );
    }

    #[test]
    fn rule_owner_references() {
        let v = norm(
            "",
            "ConfigMap",
            json!({"metadata": {"name": "a", "ownerReferences": [{"uid": "x"}]}}),
        );
        assert_eq!(v, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn rule_status() {
        let v = norm(
            "apps",
            "Deployment",
            json!({"metadata": {"name": "a"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}),
        );
        assert_eq!(
            v,
            json!({"metadata": {"name": "a"}, "spec": {"replicas": 2}})
        );
        let mut kept = json!({"metadata": {"name": "a"}, "status": {"x": 1}});
        normalize("apps", "Deployment", &mut kept, true);
        assert_eq!(kept["status"]["x"], 1);
    }

    #[test]
    fn rule_deployment_revision() {
        let v = norm(
            "apps",
            "Deployment",
            json!({"metadata": {"name": "a", "annotations": {"deployment.kubernetes.io/revision": "3", "team": "x"}}}),
        );
        assert_eq!(v["metadata"]["annotations"], json!({"team": "x"}));
        let only = norm(
            "apps",
            "Deployment",
            json!({"metadata": {"name": "a", "annotations": {"deployment.kubernetes.io/revision": "3"}}}),
        );
        assert_eq!(only, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn rule_service_cluster_ip() {
        let v = norm(
            "",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]}}),
        );
        assert_eq!(v["spec"], json!({"ports": [{"port": 80}]}));
        let headless = norm(
            "",
            "Service",
            json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}}),
        );
        assert_eq!(headless["spec"]["clusterIP"], "None");
    }

    #[test]
    fn rule_service_node_ports() {
        let applied = json!({"spec": {"ports": [{"port": 80, "nodePort": 30080}]}}).to_string();
        let v = norm(
            "",
            "Service",
            json!({"metadata": {"name": "s", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}}, "spec": {"type": "NodePort", "healthCheckNodePort": 31000, "ports": [{"port": 80, "nodePort": 30080}, {"port": 443, "nodePort": 31443}]}}),
        );
        assert_eq!(
            v["spec"]["ports"],
            json!([{"port": 80, "nodePort": 30080}, {"port": 443}])
        );
        assert!(v["spec"].get("healthCheckNodePort").is_none());
    }

    #[test]
    fn rule_pod_node_name() {
        let v = norm(
            "",
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": []}}),
        );
        assert_eq!(v["spec"], json!({"containers": []}));
    }

    #[test]
    fn rule_pvc_binding() {
        let v = norm(
            "",
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "c", "annotations": {"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": "n1", "keep": "1"}}, "spec": {"volumeName": "pv-1", "resources": {}}}),
        );
        assert_eq!(v["spec"], json!({"resources": {}}));
        assert_eq!(v["metadata"]["annotations"], json!({"keep": "1"}));
    }

    #[test]
    fn rule_namespace_finalizers() {
        let v = norm(
            "",
            "Namespace",
            json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        );
        assert_eq!(v, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn rule_job_selector() {
        let job = json!({"metadata": {"name": "j"}, "spec": {"selector": {"matchLabels": {"controller-uid": "u"}}, "template": {"metadata": {"labels": {"controller-uid": "u", "batch.kubernetes.io/controller-uid": "u", "app": "x"}}}}});
        let v = norm("batch", "Job", job.clone());
        assert_eq!(
            v["spec"],
            json!({"template": {"metadata": {"labels": {"app": "x"}}}})
        );
        let mut manual = job;
        manual["spec"]["manualSelector"] = json!(true);
        let kept = norm("batch", "Job", manual.clone());
        assert_eq!(kept["spec"], manual["spec"]);
    }

    #[test]
    fn every_rule_is_listed_and_tested() {
        // The test names above follow `rule_<name with _>`; keep this list in step.
        assert_eq!(RULES.len(), 10);
    }

    #[test]
    fn canonical_writer_matches_the_fast_path() {
        let v: Value =
            serde_json::from_str(r#"{"z":[{"b":1,"a":"x\"y"}],"a":1.5,"m":{"k":null}}"#).unwrap();
        let mut slow = vec![];
        write_canonical(&v, &mut slow);
        assert_eq!(slow, canonical_json(&v));
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":1,"y":"é"}],"c":null}}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"a":{"c":null,"d":[1,{"y":"é","z":1}]},"b":1}"#
        );
    }
}
