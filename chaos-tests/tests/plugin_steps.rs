//! Plugin steps through the product, with the example plugins built from C in this
//! repository and fake HTTP services started here:
//!
//! - `dns-switch` in a drill (`drill = true`, changes nothing) and in a run (switches the
//!   record, logs into the run, keeps its idempotency state in the plugin's KV);
//! - every hostile plugin fails its own step with the right message within its deadline,
//!   while a 20-way `forEach` of `dns-switch` succeeds and the node keeps answering;
//! - `permissions:` at the run level: the allowed host and the granted kube scope work,
//!   any other host, namespace, cluster or verb is refused before anything is reached.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chaos_tests::{Fleet, FleetOptions, lifeboat_binary, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const LONG: Duration = Duration::from_secs(90);

/// How far past its deadline a failing attempt may end: generous, since machines are
/// shared; this proves the deadline holds, it is not a speed test.
const MARGIN_MS: u64 = 5_000;

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

    fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// A fake DNS with `names` pointing at `primary`, serving; its `host:port`.
    async fn with_records(
        &self,
        names: impl IntoIterator<Item = String>,
    ) -> anyhow::Result<String> {
        let primary = names.into_iter().map(|n| (n, "primary".to_string()));
        self.records.lock().unwrap().extend(primary);
        self.start().await
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

/// Start a run (`/v1/runs`) or a drill (`/v1/drills`) of `runbook`; its id.
async fn start(fleet: &Fleet, id: u64, path: &str, runbook: &str) -> anyhow::Result<String> {
    let r = fleet
        .request(id, Method::POST, path)
        .json(&json!({"runbook": runbook, "params": {}}))
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

/// Push `dir/NAME.wasm` through node `id`; the `uses` that pins it.
async fn push(fleet: &Fleet, id: u64, dir: &Path, name: &str) -> anyhow::Result<String> {
    let r = fleet
        .request(id, Method::PUT, "/v1/plugins")
        .body(std::fs::read(dir.join(format!("{name}.wasm")))?)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "push {name}: {}", r.text().await?);
    let v: Value = r.json().await?;
    v["uses"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("push {name}: no `uses` in {v}"))
}

/// Push every plugin in `names`; their `uses` by name.
async fn push_all(
    fleet: &Fleet,
    id: u64,
    dir: &Path,
    names: &[&str],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut uses = BTreeMap::new();
    for name in names {
        uses.insert(name.to_string(), push(fleet, id, dir, name).await?);
    }
    Ok(uses)
}

async fn put_runbook(fleet: &Fleet, id: u64, name: &str, yaml: &str) -> anyhow::Result<()> {
    let r = fleet
        .request(id, Method::PUT, &format!("/v1/runbooks/{name}"))
        .header("content-type", "application/yaml")
        .body(yaml.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "runbook {name}: {}",
        r.text().await?
    );
    Ok(())
}

/// A manual runbook with these steps, one run at a time (JSON is YAML, so no templating
/// of YAML text).
fn runbook_doc(name: &str, steps: Vec<Value>) -> String {
    json!({
        "apiVersion": "lifeboat.dev/v1",
        "kind": "Runbook",
        "metadata": {"name": name},
        "spec": {"triggers": ["manual"], "concurrency": {"key": name}, "steps": steps},
    })
    .to_string()
}

/// A step that starts with the run (no `needs`: not after the previous step), records its
/// failure and lets the others run.
fn step(id: &str, uses: &str, with: Value, permissions: Value, timeout: &str) -> Value {
    let mut s = json!({"id": id, "uses": uses, "with": with, "timeout": timeout,
        "needs": [], "onFailure": "continue"});
    if !permissions.is_null() {
        s["permissions"] = permissions;
    }
    s
}

/// Wait until run `run` is `succeeded` or `failed`.
async fn wait_final(fleet: &Fleet, id: u64, run: &str) -> anyhow::Result<Value> {
    wait_until(&format!("run {run} to finish"), LONG, || async {
        let v = get(fleet, id, &format!("/v1/runs/{run}")).await.ok()?;
        matches!(v["state"].as_str()?, "succeeded" | "failed").then_some(v)
    })
    .await
}

/// The journal entries of `run` of this type for this step.
fn entries<'a>(run: &'a Value, kind: &str, step: &str) -> Vec<&'a Value> {
    run["journal"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == kind && e["stepId"] == step)
        .collect()
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
    let uses = push(&fleet, follower, &dir, "dns-switch").await?;
    put_runbook(&fleet, follower, "dns", &runbook(&uses, &dns_addr)).await?;

    // The drill: the plugin is told, reports what it would do and changes nothing.
    let drill = start(&fleet, follower, "/v1/drills", "dns").await?;
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
    let id = start(&fleet, follower, "/v1/runs", "dns").await?;
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

/// Create `objects` in simulated cluster `cluster` through its REST API (`path`, body);
/// an object that already exists (409) is fine.
async fn seed(fleet: &Fleet, cluster: &str, objects: &[(&str, Value)]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for (path, body) in objects {
        let url = format!("{}{path}", fleet.cluster_server(cluster));
        let r = http.post(url).json(body).send().await?;
        anyhow::ensure!(
            r.status().is_success() || r.status() == 409,
            "seed {path}: {} {}",
            r.status(),
            r.text().await?
        );
    }
    Ok(())
}

/// An object of simulated cluster `cluster`, if it exists.
async fn object(fleet: &Fleet, cluster: &str, path: &str) -> anyhow::Result<Option<Value>> {
    let r = reqwest::get(format!("{}{path}", fleet.cluster_server(cluster))).await?;
    if r.status() == 404 {
        return Ok(None);
    }
    Ok(Some(r.error_for_status()?.json().await?))
}

fn namespace(name: &str) -> (&'static str, Value) {
    (
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
}

fn deployment(ns: &str, replicas: u32) -> (String, Value) {
    (
        format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": ns, "labels": {"app": "api"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api"}},
                "template": {"metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "shop/api:1.0"}]}}}}),
    )
}

/// The one failed attempt of `step` in `run` (there must be exactly one, attempt 1),
/// checked to say every one of `says`, and to have ended within `deadline_ms` (plus
/// [`MARGIN_MS`]) of its start.
fn failed_once(run: &Value, step: &str, says: &[impl AsRef<str>], deadline_ms: u64) -> String {
    let started = entries(run, "stepStarted", step);
    let failed = entries(run, "stepFailed", step);
    assert_eq!(
        started.len(),
        1,
        "`{step}` started {} times: {run:#}",
        started.len()
    );
    assert_eq!(
        failed.len(),
        1,
        "`{step}` failed {} times: {run:#}",
        failed.len()
    );
    assert!(
        entries(run, "stepSucceeded", step).is_empty(),
        "`{step}` succeeded: {run:#}"
    );
    assert_eq!(failed[0]["attempt"], 1, "{}", failed[0]);
    let error = failed[0]["error"].as_str().unwrap_or_default().to_string();
    for text in says.iter().map(AsRef::as_ref) {
        assert!(
            error.contains(text),
            "`{step}` failed with {error:?}, not {text:?}"
        );
    }
    let t0 = started[0]["atMs"].as_u64().expect("stepStarted.atMs");
    let t1 = failed[0]["atMs"].as_u64().expect("stepFailed.atMs");
    assert!(
        t1.saturating_sub(t0) <= deadline_ms + MARGIN_MS,
        "`{step}` ended {} ms after it started, past its deadline of {deadline_ms} ms \
         (+ {MARGIN_MS} ms): {error}",
        t1.saturating_sub(t0)
    );
    error
}

/// The fleet's leader with the example plugins pushed through a follower.
async fn fleet_with_plugins(
    opts: FleetOptions,
    dir: &Path,
    names: &[&str],
) -> anyhow::Result<(Fleet, u64, u64, BTreeMap<String, String>)> {
    let fleet = Fleet::start(opts).await?;
    let leader = fleet.wait_for_leader(&[], LONG).await?;
    let follower = fleet.ids().into_iter().find(|i| *i != leader).unwrap();
    let uses = push_all(&fleet, follower, dir, names).await?;
    Ok((fleet, leader, follower, uses))
}

fn one_cluster() -> FleetOptions {
    FleetOptions {
        clusters: vec!["eu-west".into()],
        ..FleetOptions::default()
    }
}

/// The hostile steps: (step, deadline in ms, what its failure must say; nothing for a
/// deadline, which either the plugin host or the planner may enforce first). The others
/// fail for good ("not retryable"), so their `retry` policy must not start attempt 2.
fn hostile_steps(
    uses: &BTreeMap<String, String>,
    dns: &str,
    outsider: &str,
) -> Vec<(Value, u64, Vec<String>)> {
    let short = 4_000;
    let long = 20_000;
    let hostile = |mode: &str, with: Value, permissions: Value, ms: u64, says: &[&str]| {
        // `loop` is a reserved step id.
        let plugin = if mode == "spin" { "loop" } else { mode };
        let uses = &uses[&format!("hostile-{plugin}")];
        let timeout = format!("{}s", ms / 1000);
        let mut s = step(mode, uses, with, permissions, &timeout);
        if !says.is_empty() {
            s["retry"] = json!({"maxAttempts": 2});
        }
        let says = says.iter().map(|s| s.to_string()).collect();
        (s, ms, says)
    };
    vec![
        hostile("spin", json!({}), Value::Null, short, &[]),
        hostile("sleeper", json!({}), json!({"clock": true}), short, &[]),
        hostile(
            "membomb",
            json!({}),
            Value::Null,
            long,
            &[
                "ran out of memory",
                "limits.max_memory_bytes",
                "(out of memory",
            ],
        ),
        hostile(
            "hugeout",
            json!({}),
            Value::Null,
            long,
            &["limits.max_output_bytes", "(output too large"],
        ),
        hostile(
            "trap",
            json!({}),
            Value::Null,
            long,
            &["trapped", "unreachable", "(trap"],
        ),
        hostile(
            "badhost",
            json!({"url": format!("http://{outsider}/records/www")}),
            json!({"http": {"allowHosts": [dns]}}),
            long,
            &[
                &format!("{outsider} is not in the step's http.allowHosts"),
                "(denied http, not retryable)",
            ],
        ),
        hostile(
            "kubeescape",
            json!({"cluster": "eu-west"}),
            json!({"kube": {"clusters": ["eu-west"], "namespaces": ["shop"], "verbs": ["get"]}}),
            long,
            &[
                "namespace \"kube-system\" not granted",
                "(denied kube, not retryable)",
            ],
        ),
    ]
}

/// A 20-way `forEach` of `dns-switch`, one record per item, `maxParallel` unset.
fn parallel_switch(uses: &str, dns: &str) -> String {
    let items: Vec<u32> = (0..20).collect();
    runbook_doc(
        "parallel",
        vec![json!({
            "id": "switch",
            "uses": uses,
            "forEach": items,
            "with": {"api": format!("http://{dns}"), "record": "r{{ item }}", "target": "standby"},
            "permissions": {"log": true, "kv": true,
                "http": {"allowHosts": [dns], "timeout": "5s"}},
            "timeout": "1m",
        })],
    )
}

/// Issue test: each hostile plugin fails its own step with the right message within its
/// deadline plus a margin; meanwhile the node answers `/healthz` and another run, 20
/// `dns-switch` steps in parallel, succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_plugins_fail_their_own_steps_while_twenty_parallel_steps_succeed()
-> anyhow::Result<()> {
    let dir = tokio::task::spawn_blocking(examples).await?;
    let dns = FakeDns::default();
    let dns_addr = dns.with_records((0..20).map(|i| format!("r{i}"))).await?;
    let outsider = FakeDns::default();
    let outsider_addr = outsider.with_records(["www".to_string()]).await?;
    let names = [
        "hostile-loop",
        "hostile-sleeper",
        "hostile-membomb",
        "hostile-hugeout",
        "hostile-trap",
        "hostile-badhost",
        "hostile-kubeescape",
        "dns-switch",
    ];
    let (fleet, leader, follower, uses) = fleet_with_plugins(one_cluster(), &dir, &names).await?;
    // Something worth stealing outside the granted namespace.
    seed(
        &fleet,
        "eu-west",
        &[
            namespace("kube-system"),
            (
                "/api/v1/namespaces/kube-system/secrets",
                json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "admin-token", "namespace": "kube-system"},
                    "stringData": {"token": "root"}}),
            ),
        ],
    )
    .await?;
    let hostile = hostile_steps(&uses, &dns_addr, &outsider_addr);
    let steps = hostile.iter().map(|(s, _, _)| s.clone()).collect();
    put_runbook(&fleet, follower, "hostile", &runbook_doc("hostile", steps)).await?;
    put_runbook(
        &fleet,
        follower,
        "parallel",
        &parallel_switch(&uses["dns-switch"], &dns_addr),
    )
    .await?;

    let bad = start(&fleet, follower, "/v1/runs", "hostile").await?;
    // Once the looping plugin spins (and before its deadline), start the other run.
    wait_until("the looping plugin to start", LONG, || async {
        let run = get(&fleet, leader, &format!("/v1/runs/{bad}")).await.ok()?;
        (!entries(&run, "stepStarted", "spin").is_empty()).then_some(())
    })
    .await?;
    let good = start(&fleet, follower, "/v1/runs", "parallel").await?;
    let run = get(&fleet, leader, &format!("/v1/runs/{bad}")).await?;
    assert!(
        entries(&run, "stepFailed", "spin").is_empty(),
        "the loop ended before the second run started; nothing ran alongside it"
    );

    // The node serving both runs answers its probe all along.
    let probes = Mutex::new(Vec::new());
    let bad_run = wait_until(&format!("run {bad} to finish"), LONG, || async {
        let probe = fleet.request(leader, Method::GET, "/healthz").send();
        let failure = match tokio::time::timeout(Duration::from_millis(MARGIN_MS), probe).await {
            Ok(Ok(r)) if r.status().is_success() => None,
            other => Some(format!("{other:?}")),
        };
        probes.lock().unwrap().push(failure);
        let v = get(&fleet, leader, &format!("/v1/runs/{bad}")).await.ok()?;
        (v["state"] != "running").then_some(v)
    })
    .await?;
    let probes = probes.into_inner().unwrap();
    let failures: Vec<&String> = probes.iter().flatten().collect();
    assert!(
        failures.is_empty(),
        "/healthz failed {failures:?} of {} times",
        probes.len()
    );
    let good_run = wait_final(&fleet, leader, &good).await?;
    assert_eq!(good_run["state"], "succeeded", "{good_run:#}");
    let done = entries(&good_run, "stepSucceeded", "switch");
    let mut items: Vec<u64> = done.iter().filter_map(|e| e["item"].as_u64()).collect();
    items.sort_unstable();
    assert_eq!(items, (0..20).collect::<Vec<u64>>(), "{good_run:#}");
    assert!(done.iter().all(|e| e["result"]["switched"] == true));
    assert!(entries(&good_run, "stepFailed", "switch").is_empty());
    for i in 0..20 {
        assert_eq!(dns.record(&format!("r{i}")).as_deref(), Some("standby"));
    }
    assert_eq!(dns.puts().len(), 20, "{:?}", dns.puts());

    // Every hostile plugin failed its own step, once, in time, saying why.
    assert_eq!(
        bad_run["state"], "succeeded",
        "onFailure: continue: {bad_run:#}"
    );
    for (s, deadline_ms, says) in &hostile {
        let id = s["id"].as_str().unwrap();
        let error = failed_once(&bad_run, id, says, *deadline_ms);
        if says.is_empty() {
            let planner = format!("timed out after {}s", deadline_ms / 1000);
            assert!(
                error.contains("exceeded its deadline") || error.contains(&planner),
                "`{id}` failed with {error:?}, not at its deadline"
            );
        }
    }
    assert_eq!(outsider.request_count(), 0, "the denied host was reached");
    Ok(())
}

/// The steps of the grants test: inside and outside the http and kube grants.
fn grant_steps(uses: &BTreeMap<String, String>, dns: &str, outsider: &str) -> Vec<Value> {
    let badhost = &uses["hostile-badhost"];
    let (scale, mark) = (&uses["kube-scale"], &uses["kube-mark"]);
    let http = json!({"http": {"allowHosts": [dns]}});
    let kube = |ns: &str, verbs: Value| {
        json!({"log": true,
            "kube": {"clusters": ["eu-west"], "namespaces": [ns], "verbs": verbs}})
    };
    let scale_in = |cluster: &str, ns: &str| {
        json!({"cluster": cluster, "namespace": ns,
            "deployment": "api", "replicas": 5})
    };
    let t = "30s";
    vec![
        step(
            "httpAllowed",
            badhost,
            json!({"url": format!("http://{dns}/records/www")}),
            http.clone(),
            t,
        ),
        step(
            "httpDenied",
            badhost,
            json!({"url": format!("http://{outsider}/records/www")}),
            http,
            t,
        ),
        step(
            "httpUngranted",
            badhost,
            json!({"url": format!("http://{outsider}/records/www")}),
            Value::Null,
            t,
        ),
        step(
            "scaleShop",
            scale,
            scale_in("eu-west", "shop"),
            kube("shop", json!(["get", "patch"])),
            t,
        ),
        step(
            "markShop",
            mark,
            json!({"cluster": "eu-west", "namespace": "shop"}),
            kube("shop", json!(["apply", "list"])),
            t,
        ),
        step(
            "scaleOtherNamespace",
            scale,
            scale_in("eu-west", "other"),
            kube("shop", json!(["get", "patch"])),
            t,
        ),
        step(
            "scaleOtherCluster",
            scale,
            scale_in("us-east", "shop"),
            kube("shop", json!(["get", "patch"])),
            t,
        ),
        step(
            "markWithoutApply",
            mark,
            json!({"cluster": "eu-west", "namespace": "other"}),
            kube("other", json!(["get", "list"])),
            t,
        ),
    ]
}

/// Issue test: at the run level, `permissions:` let a plugin reach the allowed host and
/// act within its kube grant, and refuse any other host, namespace, cluster or verb
/// before the call leaves the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn granted_hosts_and_kube_scope_work_and_everything_else_is_refused() -> anyhow::Result<()> {
    let dir = tokio::task::spawn_blocking(examples).await?;
    let dns = FakeDns::default();
    let dns_addr = dns.with_records(["www".to_string()]).await?;
    let outsider = FakeDns::default();
    let outsider_addr = outsider.with_records(["www".to_string()]).await?;
    let names = ["hostile-badhost", "kube-scale", "kube-mark"];
    let (fleet, leader, follower, uses) = fleet_with_plugins(one_cluster(), &dir, &names).await?;
    let (shop, other) = (deployment("shop", 2), deployment("other", 2));
    seed(
        &fleet,
        "eu-west",
        &[
            namespace("shop"),
            namespace("other"),
            (&shop.0, shop.1.clone()),
            (&other.0, other.1.clone()),
        ],
    )
    .await?;
    let steps = grant_steps(&uses, &dns_addr, &outsider_addr);
    put_runbook(&fleet, follower, "grants", &runbook_doc("grants", steps)).await?;
    let id = start(&fleet, follower, "/v1/runs", "grants").await?;
    let run = wait_final(&fleet, leader, &id).await?;
    let ok = |step: &str| {
        let done = entries(&run, "stepSucceeded", step);
        assert_eq!(done.len(), 1, "`{step}` did not succeed once: {run:#}");
        done[0]["result"].clone()
    };

    // The allowed host answered; the others were never reached.
    assert_eq!(ok("httpAllowed"), json!({"status": 200}));
    assert_eq!(dns.request_count(), 1);
    let denied = format!("{outsider_addr} is not in the step's http.allowHosts");
    failed_once(
        &run,
        "httpDenied",
        &[&denied, "(denied http, not retryable)"],
        30_000,
    );
    failed_once(
        &run,
        "httpUngranted",
        &["(denied http, not retryable)"],
        30_000,
    );
    assert_eq!(outsider.request_count(), 0, "a denied host was reached");

    // Inside the grant: the deployment is scaled (with the run's fencing token) and the
    // ConfigMap applied and listed.
    let scaled = ok("scaleShop");
    assert_eq!(scaled["before"], 2, "{scaled}");
    assert_eq!(scaled["after"], 5, "{scaled}");
    let api = object(
        &fleet,
        "eu-west",
        "/apis/apps/v1/namespaces/shop/deployments/api",
    )
    .await?
    .expect("shop/api");
    assert_eq!(api["spec"]["replicas"], 5);
    assert!(
        api["metadata"]["annotations"]["lifeboat.dev/fencing-token"].is_string(),
        "{api:#}"
    );
    assert_eq!(ok("markShop")["marked"], true);
    let cm = object(
        &fleet,
        "eu-west",
        "/api/v1/namespaces/shop/configmaps/lifeboat-failover",
    )
    .await?
    .expect("the ConfigMap kube-mark applied");
    assert_eq!(cm["data"]["run"], id.as_str());

    // Outside it: refused before reaching the cluster, nothing changed.
    failed_once(
        &run,
        "scaleOtherNamespace",
        &[
            "namespace \"other\" not granted",
            "(denied kube, not retryable)",
        ],
        30_000,
    );
    failed_once(
        &run,
        "scaleOtherCluster",
        &[
            "cluster \"us-east\" not granted",
            "(denied kube, not retryable)",
        ],
        30_000,
    );
    failed_once(
        &run,
        "markWithoutApply",
        &["verb Apply not granted", "(denied kube, not retryable)"],
        30_000,
    );
    let other = object(
        &fleet,
        "eu-west",
        "/apis/apps/v1/namespaces/other/deployments/api",
    )
    .await?
    .expect("other/api");
    assert_eq!(other["spec"]["replicas"], 2, "{other:#}");
    assert!(
        object(
            &fleet,
            "eu-west",
            "/api/v1/namespaces/other/configmaps/lifeboat-failover"
        )
        .await?
        .is_none(),
        "kube-mark applied without the apply verb"
    );
    Ok(())
}
