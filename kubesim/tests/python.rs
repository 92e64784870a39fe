//! Fidelity with the official Python `kubernetes` client (PyPI): dynamic discovery,
//! CRUD, conflicts, generateName, paging, field selectors. Installed by
//! scripts/deps/kubesim.sh; a missing python3 or package fails the test.

mod common;
use common::Sim;
use std::process::Command;

#[test]
fn python_dynamic_client() {
    let sim = Sim::start(&[]);
    let probe = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output();
    let probe = probe.expect("python3 is required for kubesim's fidelity tests");
    assert!(
        probe.status.success(),
        "the Python `kubernetes` package is missing: run scripts/deps/kubesim.sh ({})",
        String::from_utf8_lossy(&probe.stderr)
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/dynamic_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&sim.kubeconfig)
        .env("HOME", sim.path())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("summary JSON");
    assert_eq!(
        v["scopes"],
        serde_json::json!({"ConfigMap": true, "Deployment": true, "CRD": false})
    );
    assert_eq!(v["stale_update"], 409);
    assert_eq!(
        v["patched_data"],
        serde_json::json!({"k": "v2", "extra": "x"})
    );
    assert_eq!(v["generated_name_prefix"], true);
    assert_eq!(
        v["paged"],
        serde_json::json!({"pages": 3, "count": 25, "unique": 25})
    );
    assert_eq!(v["field_selector_count"], 1);
    assert_eq!(v["after_delete"], 404);
}
