//! The plugin registry through the product: push a component built from C in this
//! repository, see it on every node, refuse garbage and incompatible components, and
//! lint runbook steps against the plugin's own `describe()`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions, lifeboat_binary};
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

const LONG: Duration = Duration::from_secs(30);

/// Build the example plugins from source (cached by the script) and return their dir.
fn examples() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = lifeboat_binary()
        .parent()
        .unwrap()
        .join("../lifeboat-plugin-examples");
    let componentize = lifeboat_binary().with_file_name("lifeboat-componentize");
    let mut cmd = Command::new("bash");
    cmd.arg(repo.join("plugins/examples/build.sh"))
        .env("OUT", &out)
        .env("PYTHON_EXAMPLES", "0");
    if componentize.exists() {
        cmd.env("COMPONENTIZE", &componentize);
    }
    let status = cmd.status().expect("run plugins/examples/build.sh");
    assert!(
        status.success(),
        "building the example plugins failed (toolchain: scripts/deps/plugins.sh)"
    );
    out
}

fn runbook(uses: &str, with: &str, permissions: &str) -> String {
    format!(
        "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {{name: dns}}\nspec:\n  triggers: [manual]\n  \
         params:\n    cluster: {{type: string, default: eu-west}}\n  \
         concurrency: {{key: \"dns/{{{{ params.cluster }}}}\"}}\n  steps:\n    - id: switch\n      \
         uses: {uses}\n      with: {with}\n      permissions: {permissions}\n      timeout: 1m\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plugins_are_registered_shared_and_checked() -> anyhow::Result<()> {
    let dir = tokio::task::spawn_blocking(examples).await?;
    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    let bytes = std::fs::read(dir.join("dns-switch.wasm"))?;
    let put = |id: u64, token: &str, body: Vec<u8>| {
        let url = format!("{}/v1/plugins", fleet.node(id).api);
        reqwest::Client::new()
            .put(url)
            .bearer_auth(token.to_string())
            .body(body)
            .send()
    };

    assert_eq!(
        put(follower, &fleet.viewer_token, bytes.clone())
            .await?
            .status()
            .as_u16(),
        403
    );
    let r = put(follower, &fleet.admin_token, bytes.clone()).await?;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await?);
    let v: Value = r.json().await?;
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    assert_eq!(v["digest"], digest.as_str());
    let uses = v["uses"].as_str().unwrap().to_string();
    assert_eq!(uses, format!("plugin/dns-switch@{digest}"));
    let stored = fleet
        .dir()
        .join("store/plugins")
        .join(format!("{}.wasm", &digest[7..]));
    assert_eq!(
        std::fs::read(&stored)?,
        bytes,
        "the bytes are in the object store"
    );

    // Every node sees it, with what it asks for.
    let list: Value = fleet
        .request(leader, Method::GET, "/v1/plugins")
        .send()
        .await?
        .json()
        .await?;
    let p = &list["plugins"][0];
    assert_eq!(p["name"], "dns-switch");
    let caps: Vec<&str> = p["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(caps, ["log", "http", "kv"]);

    // Garbage and another WIT major version are refused, clearly.
    let r = put(leader, &fleet.admin_token, b"not wasm at all".to_vec()).await?;
    assert_eq!(r.status().as_u16(), 422);
    // Uploads have their own, larger limit: 2 MiB (over the API's 1 MiB) is read and
    // judged (not wasm: 422), not cut off (413), also through a follower.
    let r = put(follower, &fleet.admin_token, vec![7u8; 2 * 1024 * 1024]).await?;
    assert_eq!(r.status().as_u16(), 422);
    let r = put(
        leader,
        &fleet.admin_token,
        std::fs::read(dir.join("incompatible-v1.wasm"))?,
    )
    .await?;
    assert_eq!(r.status().as_u16(), 422);
    let msg = r.json::<Value>().await?["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        msg.contains("version") || msg.contains("incompatible"),
        "{msg}"
    );

    // Runbooks are linted against the plugin's schema and capabilities.
    let put_runbook = |yaml: String| {
        fleet
            .request(follower, Method::PUT, "/v1/runbooks/dns")
            .header("content-type", "application/yaml")
            .body(yaml)
            .send()
    };
    let bad = runbook(&uses, "{api: http://127.0.0.1:1}", "{log: true}");
    let r = put_runbook(bad).await?;
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().await?;
    let codes: Vec<&str> = body["error"]["details"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"RB062"),
        "missing inputs not caught: {body}"
    );
    assert!(
        codes.contains(&"RB064"),
        "ungranted http/kv not caught: {body}"
    );
    let good = runbook(
        &uses,
        "{api: \"http://127.0.0.1:1\", record: www, target: standby}",
        "{log: true, kv: true, http: {allowHosts: [\"127.0.0.1:1\"]}}",
    );
    let r = put_runbook(good).await?;
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await?);
    Ok(())
}
