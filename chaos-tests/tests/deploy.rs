//! The Kubernetes manifests in `deploy/kubernetes/` apply cleanly (kubectl against a
//! simulated cluster), and the node config they ship passes `lifeboat check-config`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use chaos_tests::{Fleet, FleetOptions, lifeboat_binary};
use serde_json::Value;

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl must be installed (/usr/bin/kubectl)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_manifests_apply_and_their_config_is_valid() -> anyhow::Result<()> {
    let fleet = Fleet::start(FleetOptions {
        nodes: 1,
        clusters: vec!["k".into()],
        ..FleetOptions::default()
    })
    .await?;
    let kc = fleet.dir().join("k.kubeconfig");
    let manifests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes");
    let (ok, text) = kubectl(&kc, &["apply", "-f", manifests.to_str().unwrap()]);
    assert!(ok, "kubectl apply failed:\n{text}");

    let (ok, text) = kubectl(
        &kc,
        &[
            "-n",
            "lifeboat",
            "get",
            "statefulset",
            "lifeboat",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{text}");
    let sts: Value = serde_json::from_str(&text)?;
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(
        sts["spec"]["template"]["spec"]["serviceAccountName"],
        "lifeboat"
    );
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "10Gi"
    );
    let (ok, text) = kubectl(&kc, &["get", "clusterrole", "lifeboat", "-o", "json"]);
    assert!(ok, "{text}");
    let role: Value = serde_json::from_str(&text)?;
    let verbs: Vec<&str> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    for v in ["get", "list", "create", "patch", "delete"] {
        assert!(verbs.contains(&v), "ClusterRole lacks {v}: {role}");
    }
    let (ok, text) = kubectl(
        &kc,
        &[
            "-n",
            "lifeboat",
            "get",
            "serviceaccount",
            "lifeboat",
            "-o",
            "name",
        ],
    );
    assert!(ok && text.contains("serviceaccount/lifeboat"), "{text}");

    // The config as applied, laid out as the pod mounts it, passes check-config.
    let (ok, text) = kubectl(
        &kc,
        &[
            "-n",
            "lifeboat",
            "get",
            "configmap",
            "lifeboat-config",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{text}");
    let cm: Value = serde_json::from_str(&text)?;
    let root = tempfile::tempdir()?;
    let etc = root.path();
    std::fs::write(
        etc.join("node.yaml"),
        cm["data"]["node.yaml"].as_str().unwrap(),
    )?;
    std::fs::write(
        etc.join("in-cluster.kubeconfig"),
        cm["data"]["in-cluster.kubeconfig"].as_str().unwrap(),
    )?;
    std::fs::create_dir_all(etc.join("secrets"))?;
    std::fs::create_dir_all(etc.join("kubeconfigs"))?;
    for f in [
        "secrets/cluster.secret",
        "secrets/admin.token",
        "kubeconfigs/us-east.kubeconfig",
        "kubeconfigs/ap-south.kubeconfig",
    ] {
        let p = etc.join(f);
        std::fs::write(&p, "secret-value-for-the-test")?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400))?;
    }
    let out = Command::new(lifeboat_binary())
        .args(["check-config", "--config"])
        .arg(etc.join("node.yaml"))
        .output()?;
    assert!(
        out.status.success(),
        "shipped config invalid:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
