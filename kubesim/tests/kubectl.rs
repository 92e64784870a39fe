//! Fidelity with kubectl (/usr/bin/kubectl): discovery, create, get, selectors, paging,
//! client- and server-side apply, scale, wait, delete, CRDs and custom resources.

mod common;
use common::Sim;

const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: team
  labels: {app: web, tier: frontend}
data:
  color: blue
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db-config
  namespace: team
  labels: {app: db, tier: backend}
data:
  size: large
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"#;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

const CR: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: default
spec:
  size: 3
"#;

#[test]
fn api_resources_lists_builtins_with_scope() {
    let sim = Sim::start(&[]);
    let out = sim.kubectl_ok(&["api-resources", "--no-headers"]);
    for (name, scoped) in [
        ("deployments", "true"),
        ("namespaces", "false"),
        ("customresourcedefinitions", "false"),
        ("roles", "true"),
        ("storageclasses", "false"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        assert!(line.contains(scoped), "{line}");
    }
    let ns = sim.kubectl_ok(&["api-resources", "--namespaced=false", "-o", "name"]);
    assert!(
        ns.lines().any(|l| l == "persistentvolumes") && !ns.lines().any(|l| l == "pods"),
        "{ns}"
    );
}

#[test]
fn create_get_selectors_chunks_apply_scale_delete() {
    let sim = Sim::start(&["--ready-delay-ms", "200"]);
    let f = sim.file("m.yaml", MANIFESTS);
    let f = f.to_str().unwrap();
    let out = sim.kubectl_ok(&["create", "-f", f]);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let again = sim.kubectl(&["create", "-f", f]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("AlreadyExists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let yaml = sim.kubectl_ok(&["-n", "team", "get", "cm", "web-config", "-o", "yaml"]);
    assert!(
        yaml.contains("color: blue") && yaml.contains("resourceVersion:") && yaml.contains("uid:"),
        "{yaml}"
    );
    let sel = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "cm",
        "-l",
        "tier in (frontend,edge),app!=db",
        "-o",
        "name",
    ]);
    assert_eq!(sel.trim(), "configmap/web-config");
    let eq = sim.kubectl_ok(&[
        "get",
        "cm",
        "-A",
        "-l",
        "app=db",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert_eq!(eq.trim(), "db-config");

    for i in 0..7 {
        let cm = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: page-{i}\n  namespace: team\n  labels: {{paged: \"yes\"}}\n"
        );
        sim.kubectl_ok(&[
            "create",
            "-f",
            sim.file(&format!("p{i}.yaml"), &cm).to_str().unwrap(),
        ]);
    }
    let paged = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "cm",
        "-l",
        "paged",
        "--chunk-size",
        "2",
        "-o",
        "name",
        "-v=6",
    ]);
    assert_eq!(paged.lines().count(), 7, "{paged}");
    let verbose = sim.kubectl(&[
        "-n",
        "team",
        "get",
        "cm",
        "--chunk-size",
        "2",
        "-o",
        "name",
        "-v=6",
    ]);
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(log.contains("continue="), "kubectl did not page:\n{log}");

    // Client-side apply (needs /openapi/v3 for validation) and server-side apply.
    let changed = MANIFESTS.replace("color: blue", "color: green");
    let f2 = sim.file("m2.yaml", &changed);
    sim.kubectl_ok(&["apply", "-f", f2.to_str().unwrap()]);
    let color = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "cm",
        "web-config",
        "-o",
        "jsonpath={.data.color}",
    ]);
    assert_eq!(color, "green");
    let ssa = MANIFESTS.replace("color: blue", "color: red");
    let f3 = sim.file("m3.yaml", &ssa);
    let out = sim.kubectl_ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        f3.to_str().unwrap(),
    ]);
    assert!(out.contains("serverside-applied"), "{out}");
    let cm = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "cm",
        "web-config",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    let cm: serde_json::Value = serde_json::from_str(&cm).unwrap();
    assert_eq!(cm["data"]["color"], "red");
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");

    sim.kubectl_ok(&["-n", "team", "scale", "deployment/web", "--replicas=5"]);
    let replicas = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.replicas}/{.metadata.generation}",
    ]);
    assert_eq!(replicas, "5/2");
    sim.kubectl_ok(&[
        "-n",
        "team",
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=20s",
    ]);
    let ready = sim.kubectl_ok(&[
        "-n",
        "team",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.status.readyReplicas}",
    ]);
    assert_eq!(ready, "5");
    sim.kubectl_ok(&[
        "-n",
        "team",
        "rollout",
        "status",
        "deployment/web",
        "--timeout=20s",
    ]);

    sim.kubectl_ok(&["-n", "team", "delete", "cm", "db-config"]);
    let gone = sim.kubectl(&["-n", "team", "get", "cm", "db-config"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
    sim.kubectl_ok(&["delete", "namespace", "team"]);
    let left = sim.kubectl_ok(&["get", "cm", "-A", "-o", "name"]);
    assert!(left.trim().is_empty(), "namespace deletion left {left}");
}

#[test]
fn crd_install_then_custom_resources() {
    let sim = Sim::start(&[]);
    let f = sim.file("crd.yaml", CRD);
    let out = sim.kubectl_ok(&["apply", "--server-side", "-f", f.to_str().unwrap()]);
    assert!(
        out.contains("widgets.example.com serverside-applied"),
        "{out}"
    );
    let out = sim.kubectl_ok(&[
        "apply",
        "--server-side",
        "-f",
        sim.file("cr.yaml", CR).to_str().unwrap(),
    ]);
    assert!(
        out.contains("widget.example.com/w1 serverside-applied"),
        "{out}"
    );
    let est = sim.kubectl_ok(&[
        "get",
        "crd",
        "widgets.example.com",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
    ]);
    assert_eq!(est, "True");
    let res = sim.kubectl_ok(&["api-resources", "--api-group=example.com", "--no-headers"]);
    assert!(res.contains("widgets") && res.contains("wg"), "{res}");
    let w2 = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  size: 9\n";
    sim.kubectl_ok(&["create", "-f", sim.file("w2.yaml", w2).to_str().unwrap()]);
    let names = sim.kubectl_ok(&["get", "wg", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(names, "w1 w2");
    let size = sim.kubectl_ok(&["get", "widget", "w2", "-o", "jsonpath={.spec.size}"]);
    assert_eq!(size, "9");
    sim.kubectl_ok(&["delete", "crd", "widgets.example.com"]);
    let after = sim.kubectl(&["get", "widgets.example.com"]);
    assert!(
        !after.status.success(),
        "custom resources still served after CRD deletion"
    );
}
