//! Plugin steps through the product: a runbook with one `dns-switch` step (built from C
//! in this repository) against a fake DNS HTTP API started here. A drill reaches the
//! plugin with `drill = true` and changes nothing; a run switches the record, logs into
//! the run and keeps its idempotency state in the plugin's KV.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions, lifeboat_binary, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const LONG: Duration = Duration::from_secs(90);

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

/// A fake DNS provider: `GET /records/NAME -> {"value": ...}`,
/// `PUT /records/NAME <- {"value": ...}`; every request is recorded.
#[derive(Clone, Default)]
struct FakeDns {
    records: Arc<Mutex<BTreeMap<String, String>>>,
    requests: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl FakeDns {
    /// Serve on 127.0.0.1 (any port); returns `host:port`.
    async fn start(&self) -> anyhow::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let me = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let _ = me.serve(stream).await;
                });
            }
        });
        Ok(addr)
    }

    /// One request per connection (`Connection: close`).
    async fn serve(&self, stream: tokio::net::TcpStream) -> anyhow::Result<()> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let body = String::from_utf8_lossy(&body).to_string();
        self.requests
            .lock()
            .unwrap()
            .push((method.clone(), path.clone(), body.clone()));
        let record = path.strip_prefix("/records/").map(str::to_string);
        let (status, answer) = match (method.as_str(), record) {
            ("GET", Some(r)) => match self.records.lock().unwrap().get(&r) {
                Some(v) => ("200 OK", json!({ "value": v })),
                None => ("404 Not Found", json!({"error": "no such record"})),
            },
            ("PUT", Some(r)) => match serde_json::from_str::<Value>(&body) {
                Ok(v) if v["value"].is_string() => {
                    let value = v["value"].as_str().unwrap_or_default().to_string();
                    self.records.lock().unwrap().insert(r, value.clone());
                    ("200 OK", json!({ "value": value }))
                }
                _ => (
                    "400 Bad Request",
                    json!({"error": "body must be {\"value\": ...}"}),
                ),
            },
            _ => ("404 Not Found", json!({"error": "unknown route"})),
        };
        let answer = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{answer}",
            answer.len()
        );
        let mut stream = reader.into_inner();
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        Ok(())
    }

    fn puts(&self) -> Vec<(String, String)> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _, _)| m == "PUT")
            .map(|(_, p, b)| (p.clone(), b.clone()))
            .collect()
    }

    fn record(&self, name: &str) -> Option<String> {
        self.records.lock().unwrap().get(name).cloned()
    }
}

fn runbook(uses: &str, dns: &str) -> String {
    format!(
        "apiVersion: lifeboat.dev/v1\nkind: Runbook\nmetadata: {{name: dns}}\nspec:\n  \
         triggers: [manual, drill]\n  \
         params:\n    cluster: {{type: string, default: eu-west}}\n  \
         concurrency: {{key: \"dns/{{{{ params.cluster }}}}\"}}\n  steps:\n    - id: switch\n      \
         uses: {uses}\n      \
         with: {{api: \"http://{dns}\", record: www, target: standby}}\n      \
         permissions: {{log: true, kv: true, http: {{allowHosts: [\"{dns}\"], timeout: 5s}}}}\n      \
         timeout: 1m\n"
    )
}

async fn get(fleet: &Fleet, id: u64, path: &str) -> anyhow::Result<Value> {
    let r = fleet.request(id, Method::GET, path).send().await?;
    let status = r.status();
    let v: Value = r.json().await?;
    anyhow::ensure!(status.is_success(), "GET {path}: {status} {v}");
    Ok(v)
}

/// Start a run (`/v1/runs`) or a drill (`/v1/drills`) of `dns`; its id.
async fn start(fleet: &Fleet, id: u64, path: &str) -> anyhow::Result<String> {
    let r = fleet
        .request(id, Method::POST, path)
        .json(&json!({"runbook": "dns", "params": {}}))
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.as_u16() == 201, "POST {path}: {status} {v}");
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("POST {path}: no id in {v}"))
}

/// Wait until run `run` is `succeeded` or `failed`.
async fn wait_final(fleet: &Fleet, id: u64, run: &str) -> anyhow::Result<Value> {
    wait_until(&format!("run {run} to finish"), LONG, || async {
        let v = get(fleet, id, &format!("/v1/runs/{run}")).await.ok()?;
        matches!(v["state"].as_str()?, "succeeded" | "failed").then_some(v)
    })
    .await
}

/// The result of the `switch` step's successful attempt.
fn switch_result(run: &Value) -> Value {
    run["journal"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "stepSucceeded" && e["stepId"] == "switch")
        .map(|e| e["result"].clone())
        .unwrap_or_else(|| panic!("no stepSucceeded for `switch`: {run:#}"))
}

fn log_mentions(run: &Value, text: &str) -> bool {
    run["log"].as_array().into_iter().flatten().any(|l| {
        l["step_id"] == "switch" && l["message"].as_str().is_some_and(|m| m.contains(text))
    })
}

/// Issue test: a runbook using `dns-switch` in a drill (the plugin gets `drill = true`
/// and switches nothing) and in a real run (the record is switched, once).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dns_switch_plugin_step_in_a_drill_and_a_run() -> anyhow::Result<()> {
    let dir = tokio::task::spawn_blocking(examples).await?;
    let dns = FakeDns::default();
    dns.records
        .lock()
        .unwrap()
        .insert("www".into(), "primary".into());
    let dns_addr = dns.start().await?;

    let fleet = Fleet::start(FleetOptions::default()).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    let r = fleet
        .request(follower, Method::PUT, "/v1/plugins")
        .body(std::fs::read(dir.join("dns-switch.wasm"))?)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "push: {}", r.text().await?);
    let uses = r.json::<Value>().await?["uses"]
        .as_str()
        .unwrap()
        .to_string();
    let r = fleet
        .request(follower, Method::PUT, "/v1/runbooks/dns")
        .header("content-type", "application/yaml")
        .body(runbook(&uses, &dns_addr))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "runbook: {}", r.text().await?);

    // The drill: the plugin is told, reports what it would do and changes nothing.
    let drill = start(&fleet, follower, "/v1/drills").await?;
    let run = wait_final(&fleet, leader, &drill).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["drill"], true);
    let result = switch_result(&run);
    assert_eq!(
        result["drill"], true,
        "the plugin saw drill = false: {result}"
    );
    assert_eq!(result["switched"], false);
    assert_eq!(result["from"], "primary");
    assert_eq!(result["wouldSwitchTo"], "standby");
    assert!(
        dns.puts().is_empty(),
        "a drill switched DNS: {:?}",
        dns.puts()
    );
    assert_eq!(dns.record("www").as_deref(), Some("primary"));
    assert!(
        log_mentions(&run, "drill: would switch www"),
        "the plugin's log line is not in the run log: {:#}",
        run["log"]
    );

    // The real run: the record is switched, once, and the plugin keeps its state.
    let id = start(&fleet, follower, "/v1/runs").await?;
    let run = wait_final(&fleet, leader, &id).await?;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    let result = switch_result(&run);
    assert_eq!(result["drill"], false);
    assert_eq!(result["switched"], true, "{result}");
    assert_eq!(result["to"], "standby");
    let puts = dns.puts();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].0, "/records/www");
    assert_eq!(
        serde_json::from_str::<Value>(&puts[0].1)?,
        json!({"value": "standby"})
    );
    assert_eq!(dns.record("www").as_deref(), Some("standby"));
    assert!(log_mentions(&run, "switched www from primary to standby"));
    let keys = fleet
        .local_keys(leader, "plugin/dns-switch/")
        .await
        .unwrap_or_default();
    assert_eq!(keys, ["plugin/dns-switch/last-switch/www"], "{keys:?}");
    Ok(())
}
