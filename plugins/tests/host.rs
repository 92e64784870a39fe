//! Integration tests of the plugin host with plugins built from source (C and Python):
//! examples, grants, kube scope, hostile plugins, parallelism, version checks, cache.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{examples, host, request, server, wasm};
use lifeboat_plugins::fakes::Fakes;
use lifeboat_plugins::{
    Capability, Digest, FailureKind, Grants, HostConfig, HttpGrant, KubeGrant, KubeVerb, Limits,
    ObjectRef, PluginError, PluginHost,
};
use serde_json::json;

fn http_to(addr: std::net::SocketAddr) -> Grants {
    Grants {
        log: true,
        kv: true,
        http: Some(HttpGrant::to_hosts([addr.to_string()])),
        ..Grants::default()
    }
}

/// Generous bound for "returned within its deadline" (machines are noisy).
const MARGIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn load_gives_digest_and_describe() {
    let host = host();
    let bytes = wasm("dns-switch");
    let p = host.load(&bytes).await.unwrap();
    assert_eq!(p.digest, Digest::of(&bytes));
    assert_eq!(p.describe.name, "dns-switch");
    assert_eq!(
        p.describe.capabilities,
        vec![Capability::Log, Capability::Http, Capability::Kv]
    );
    assert!(p.describe.mutating);
    let schema = p.describe.runbook_schema();
    assert_eq!(
        schema.input_schema["required"],
        json!(["api", "record", "target"])
    );
    assert_eq!(p.uses(), format!("plugin/dns-switch@{}", p.digest));
    // Idempotent per digest.
    assert_eq!(host.load(&bytes).await.unwrap(), p);
    assert_eq!(host.plugins().len(), 1);
}

#[tokio::test]
async fn dns_switch_switches_once_and_is_idempotent() {
    let (addr, seen) = server().await;
    let host = host();
    let p = host.load(&wasm("dns-switch")).await.unwrap();
    let fakes = Fakes::new();
    let input = json!({"api": format!("http://{addr}"), "record": "shop.example.com", "target": "10.0.0.2"});
    let out = host
        .run(
            &p.digest,
            request(input.clone(), http_to(addr)),
            &fakes.services(),
        )
        .await
        .unwrap();
    assert_eq!(out.output["switched"], json!(true));
    assert_eq!(out.output["from"], json!("10.0.0.1"));
    assert_eq!(
        *seen.puts.lock().unwrap(),
        vec!["shop.example.com=10.0.0.2"]
    );
    assert_eq!(
        fakes
            .kv
            .value("dns-switch", "last-switch/shop.example.com")
            .as_deref(),
        Some("run-1/step")
    );
    assert!(out.logs.iter().any(|l| l.message.contains("switched")));
    assert_eq!(fakes.journal.lines_for("run-1", "step"), out.logs);

    let again = host
        .run(&p.digest, request(input, http_to(addr)), &fakes.services())
        .await
        .unwrap();
    assert_eq!(again.output["switched"], json!(false));
    assert_eq!(seen.puts.lock().unwrap().len(), 1, "no second PUT");
}

#[tokio::test]
async fn dns_switch_in_drill_reports_and_changes_nothing() {
    let (addr, seen) = server().await;
    let host = host();
    let p = host.load(&wasm("dns-switch")).await.unwrap();
    let mut req = request(
        json!({"api": format!("http://{addr}"), "record": "shop.example.com", "target": "10.0.0.9"}),
        http_to(addr),
    );
    req.ctx.drill = true;
    let out = host
        .run(&p.digest, req, &Fakes::new().services())
        .await
        .unwrap();
    assert_eq!(out.output["drill"], json!(true));
    assert_eq!(out.output["switched"], json!(false));
    assert_eq!(out.output["wouldSwitchTo"], json!("10.0.0.9"));
    assert!(seen.puts.lock().unwrap().is_empty());
    assert_eq!(seen.records.lock().unwrap()["shop.example.com"], "10.0.0.1");
}

#[tokio::test]
async fn slo_check_passes_and_fails_retryably() {
    let (addr, _) = server().await;
    let host = host();
    let p = host.load(&wasm("slo-check")).await.unwrap();
    let fakes = Fakes::new();
    let good = json!({"url": format!("http://{addr}/metrics/good"), "maxErrorRate": 0.05});
    let out = host
        .run(&p.digest, request(good, http_to(addr)), &fakes.services())
        .await
        .unwrap();
    assert_eq!(out.output["ok"], json!(true));

    let bad = json!({"url": format!("http://{addr}/metrics/bad"), "maxErrorRate": 0.05});
    let f = host
        .run(&p.digest, request(bad, http_to(addr)), &fakes.services())
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::PluginError { retryable: true });
    assert!(f.message.contains("SLO violated"), "{}", f.message);
    assert!(f.retryable());
}

#[tokio::test]
async fn python_notify_posts_to_the_webhook() {
    let (addr, seen) = server().await;
    let host = host();
    let p = host.load(&wasm("notify-py")).await.unwrap();
    assert_eq!(p.describe.name, "notify");
    let mut req = request(
        json!({"webhook": format!("http://{addr}/hook"), "message": "failover started"}),
        http_to(addr),
    );
    req.ctx.drill = true;
    let out = host
        .run(&p.digest, req, &Fakes::new().services())
        .await
        .unwrap();
    assert_eq!(out.output["status"], json!(200));
    assert_eq!(out.output["language"], json!("python"));
    let hooks = seen.hooks.lock().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["text"], json!("[DRILL] failover started"));
}

#[tokio::test]
async fn allowed_host_works_and_other_hosts_are_denied() {
    let (allowed, seen_a) = server().await;
    let (other, seen_b) = server().await;
    let host = host();
    let p = host.load(&wasm("hostile-badhost")).await.unwrap();
    let fakes = Fakes::new();
    let ok = host
        .run(
            &p.digest,
            request(
                json!({"url": format!("http://{allowed}/hello")}),
                http_to(allowed),
            ),
            &fakes.services(),
        )
        .await
        .unwrap();
    assert_eq!(ok.output["status"], json!(200));
    assert_eq!(*seen_a.hits.lock().unwrap(), 1);

    for url in [
        format!("http://{other}/hello"),
        format!("http://localhost:{}/hello", allowed.port()),
    ] {
        let f = host
            .run(
                &p.digest,
                request(json!({ "url": url }), http_to(allowed)),
                &fakes.services(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            f.kind,
            FailureKind::Denied {
                capability: Capability::Http
            },
            "{url}"
        );
        assert!(f.message.contains("allowHosts"), "{}", f.message);
    }
    assert_eq!(
        *seen_b.hits.lock().unwrap(),
        0,
        "the denied server saw nothing"
    );
}

#[tokio::test]
async fn capabilities_not_granted_are_denied() {
    let (addr, _) = server().await;
    let host = host();
    let fakes = Fakes::new();
    let p = host.load(&wasm("dns-switch")).await.unwrap();
    let no_http = Grants {
        log: true,
        kv: true,
        ..Grants::default()
    };
    let input = json!({"api": format!("http://{addr}"), "record": "r", "target": "t"});
    let f = host
        .run(&p.digest, request(input, no_http), &fakes.services())
        .await
        .unwrap_err();
    assert_eq!(
        f.kind,
        FailureKind::Denied {
            capability: Capability::Http
        }
    );

    let nolog = host.load(&wasm("hostile-nolog")).await.unwrap();
    let f = host
        .run(
            &nolog.digest,
            request(json!({}), Grants::none()),
            &fakes.services(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        f.kind,
        FailureKind::Denied {
            capability: Capability::Log
        }
    );
    assert!(f.message.contains("permissions"), "{}", f.message);
}

fn kube_grant(verbs: Vec<KubeVerb>) -> Grants {
    Grants {
        log: true,
        kube: Some(KubeGrant {
            clusters: vec!["eu-west".into()],
            namespaces: vec!["shop".into()],
            verbs,
        }),
        ..Grants::default()
    }
}

fn deployment(ns: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": ns}, "spec": {"replicas": 1}})
}

#[tokio::test]
async fn kube_inside_the_grant_works_and_outside_is_refused() {
    let host = host();
    let p = host.load(&wasm("kube-scale")).await.unwrap();
    let fakes = Fakes::new();
    fakes.kube.insert("eu-west", deployment("shop"));
    fakes.kube.insert("eu-west", deployment("payments"));
    let all = vec![KubeVerb::Get, KubeVerb::Patch];
    let input = |ns: &str, cluster: &str| json!({"cluster": cluster, "namespace": ns, "deployment": "web", "replicas": 3});

    let out = host
        .run(
            &p.digest,
            request(input("shop", "eu-west"), kube_grant(all.clone())),
            &fakes.services(),
        )
        .await
        .unwrap();
    assert_eq!(
        out.output,
        json!({"scaled": true, "drill": false, "before": 1, "after": 3})
    );
    let web = |ns: &str| ObjectRef {
        cluster: "eu-west".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: ns.into(),
        name: "web".into(),
    };
    assert_eq!(
        fakes.kube.object(&web("shop")).unwrap()["spec"]["replicas"],
        json!(3)
    );

    // Another namespace, another cluster, a verb not granted: refused, nothing reached the fake.
    let calls_before = fakes.kube.calls().len();
    for (req, needle) in [
        (
            request(input("payments", "eu-west"), kube_grant(all.clone())),
            "payments",
        ),
        (
            request(input("shop", "us-east"), kube_grant(all.clone())),
            "us-east",
        ),
        (
            request(input("shop", "eu-west"), kube_grant(vec![KubeVerb::Get])),
            "Patch",
        ),
    ] {
        let f = host
            .run(&p.digest, req, &fakes.services())
            .await
            .unwrap_err();
        assert_eq!(
            f.kind,
            FailureKind::Denied {
                capability: Capability::Kube
            }
        );
        assert!(f.message.contains(needle), "{}", f.message);
    }
    assert_eq!(
        fakes.kube.object(&web("payments")).unwrap()["spec"]["replicas"],
        json!(1)
    );
    // Only the `get` of the verb-limited run reached the fake.
    assert_eq!(fakes.kube.calls().len(), calls_before + 1);

    let escape = host.load(&wasm("hostile-kubeescape")).await.unwrap();
    let f = host
        .run(
            &escape.digest,
            request(json!({"cluster": "eu-west"}), kube_grant(all)),
            &fakes.services(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        f.kind,
        FailureKind::Denied {
            capability: Capability::Kube
        }
    );
    assert!(f.message.contains("kube-system"), "{}", f.message);
}

/// Run a hostile plugin and check its failure kind, message and that it came back in time.
async fn expect_failure(
    host: &PluginHost,
    name: &str,
    limits: Limits,
    kind: FailureKind,
    needle: &str,
) {
    let p = host.load(&wasm(name)).await.unwrap();
    let deadline = limits.deadline;
    let mut req = request(
        json!({}),
        Grants {
            log: true,
            clock: true,
            ..Grants::default()
        },
    );
    req.limits = limits;
    let started = Instant::now();
    let f = host
        .run(&p.digest, req, &Fakes::new().services())
        .await
        .unwrap_err();
    let took = started.elapsed();
    eprintln!("{name}: {:?} after {took:?}: {}", f.kind, f.message);
    assert_eq!(f.kind, kind, "{name}: {}", f.message);
    assert!(
        f.message.contains(needle),
        "{name}: {:?} lacks {needle:?}",
        f.message
    );
    assert!(
        f.message.contains(name),
        "{name}: message names the plugin: {}",
        f.message
    );
    assert!(took < deadline + MARGIN, "{name} returned after {took:?}");
}

#[tokio::test]
async fn hostile_plugins_fail_their_step_and_the_host_carries_on() {
    let host = host();
    let short = Limits {
        deadline: Duration::from_secs(1),
        ..Limits::default()
    };
    expect_failure(
        &host,
        "hostile-loop",
        short.clone(),
        FailureKind::Deadline,
        "deadline",
    )
    .await;
    expect_failure(
        &host,
        "hostile-sleeper",
        short.clone(),
        FailureKind::Deadline,
        "deadline",
    )
    .await;
    let small = Limits {
        max_memory_bytes: 32 << 20,
        ..Limits::default()
    };
    expect_failure(
        &host,
        "hostile-membomb",
        small,
        FailureKind::OutOfMemory,
        "max_memory_bytes",
    )
    .await;
    expect_failure(
        &host,
        "hostile-hugeout",
        Limits::default(),
        FailureKind::OutputTooLarge,
        "max_output_bytes",
    )
    .await;
    expect_failure(
        &host,
        "hostile-trap",
        Limits::default(),
        FailureKind::Trap,
        "unreachable",
    )
    .await;
    // The guest's stderr is quoted in the failure message.
    expect_failure(
        &host,
        "hostile-trap",
        Limits::default(),
        FailureKind::Trap,
        "stderr: about to trap",
    )
    .await;
    let fuel = Limits {
        fuel: Some(50_000_000),
        ..Limits::default()
    };
    expect_failure(&host, "hostile-loop", fuel, FailureKind::OutOfFuel, "fuel").await;

    // The host is fine: a good plugin still runs.
    let t = host.load(&wasm("trivial")).await.unwrap();
    let out = host
        .run(
            &t.digest,
            request(json!({}), Grants::none()),
            &Fakes::new().services(),
        )
        .await
        .unwrap();
    assert_eq!(out.output["ok"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_plugin_does_not_block_other_runs() {
    let host = host();
    let looping = host.load(&wasm("hostile-loop")).await.unwrap();
    let trivial = host.load(&wasm("trivial")).await.unwrap();
    let fakes = Fakes::new();
    let mut req = request(json!({}), Grants::none());
    req.limits.deadline = Duration::from_secs(3);
    let (h2, s2) = (host.clone(), fakes.services());
    let runaway = tokio::spawn(async move { h2.run(&looping.digest, req, &s2).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..5 {
        let out = host
            .run(
                &trivial.digest,
                request(json!({}), Grants::none()),
                &fakes.services(),
            )
            .await
            .unwrap();
        assert_eq!(out.output["ok"], json!(true));
    }
    assert!(
        !runaway.is_finished(),
        "the trivial runs completed while the loop was still running"
    );
    let f = runaway.await.unwrap().unwrap_err();
    assert_eq!(f.kind, FailureKind::Deadline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_plugin_steps_in_parallel() {
    let (addr, seen) = server().await;
    let host = host();
    let dns = host.load(&wasm("dns-switch")).await.unwrap();
    let trivial = host.load(&wasm("trivial")).await.unwrap();
    let fakes = Fakes::new();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (host, services) = (host.clone(), fakes.services());
        let (digest, req) = if i % 2 == 0 {
            let mut r = request(
                json!({"api": format!("http://{addr}"), "record": format!("r{i}.example.com"), "target": format!("10.1.0.{i}")}),
                http_to(addr),
            );
            r.ctx.run_id = format!("run-{i}");
            (dns.digest.clone(), r)
        } else {
            (trivial.digest.clone(), request(json!({}), Grants::none()))
        };
        tasks.push(tokio::spawn(async move {
            host.run(&digest, req, &services).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(seen.puts.lock().unwrap().len(), 10);
}

#[tokio::test]
async fn incompatible_wit_major_version_is_refused() {
    let host = host();
    let err = host.load(&wasm("incompatible-v1")).await.unwrap_err();
    let PluginError::Incompatible(msg) = &err else {
        panic!("expected Incompatible, got {err:?}");
    };
    assert!(msg.contains("1.0.0") && msg.contains("0.1.0"), "{msg}");
    assert!(host.plugins().is_empty());
}

#[tokio::test]
async fn garbage_is_not_a_component() {
    let host = host();
    assert!(matches!(
        host.load(b"not wasm").await,
        Err(PluginError::Invalid(_))
    ));
    let core_module = b"\0asm\x01\0\0\0";
    assert!(matches!(
        host.load(core_module).await,
        Err(PluginError::Invalid(_))
    ));
    let unknown: Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    let f = host
        .run(
            &unknown,
            request(json!({}), Grants::none()),
            &Fakes::new().services(),
        )
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::NotRunnable);
}

#[tokio::test]
async fn preload_dir_loads_plugins_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["trivial", "slo-check"] {
        std::fs::copy(
            examples().join(format!("{name}.wasm")),
            dir.path().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("broken.wasm"), b"nope").unwrap();
    std::fs::write(dir.path().join("README.txt"), b"ignored").unwrap();
    let report = host().preload_dir(dir.path()).await.unwrap();
    let mut names: Vec<_> = report
        .loaded
        .iter()
        .map(|p| p.describe.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["slo-check", "trivial"]);
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].0.ends_with("broken.wasm"));
}

#[tokio::test]
async fn compiled_artifacts_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(dir.path().to_owned()),
        ..HostConfig::default()
    };
    let bytes = wasm("slo-check");
    PluginHost::new(config.clone())
        .unwrap()
        .load(&bytes)
        .await
        .unwrap();
    let files = walk(dir.path());
    assert!(
        !files.is_empty(),
        "the cache directory holds the compiled artifact"
    );
    // A second host (a restarted node) loads from the cache and gets the same plugin.
    let again = PluginHost::new(config).unwrap().load(&bytes).await.unwrap();
    assert_eq!(again.describe.name, "slo-check");
    assert_eq!(walk(dir.path()), files, "no new artifact");
}

/// Compiled artifacts under `dir` (wasmtime's cache worker also writes small `.stats`
/// files in the background; they are not artifacts).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_none_or(|x| x != "stats") && e.metadata().unwrap().len() > 1024 {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn pooling_allocator_runs_or_falls_back() {
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(common::cache_dir()),
        pooling: true,
        pool_instances: 8,
        ..HostConfig::default()
    })
    .unwrap();
    let t = host.load(&wasm("trivial")).await.unwrap();
    let services = Arc::new(Fakes::new().services());
    let out = host
        .run(&t.digest, request(json!({}), Grants::none()), &services)
        .await
        .unwrap();
    assert_eq!(out.output["ok"], json!(true));
    eprintln!("pooling active: {}", host.pooling_active());
}

#[tokio::test]
async fn the_wasi_context_is_empty() {
    let host = host();
    let p = host.load(&wasm("hostile-ambient")).await.unwrap();
    let fakes = Fakes::new();
    let out = host
        .run(
            &p.digest,
            request(json!({}), Grants::none()),
            &fakes.services(),
        )
        .await
        .unwrap();
    assert_eq!(
        out.output,
        json!({"file": false, "env": 0, "home": false, "realtime": 0})
    );
    // With the clock granted, WASI clocks are real.
    let clock = Grants {
        clock: true,
        ..Grants::none()
    };
    let out = host
        .run(&p.digest, request(json!({}), clock), &fakes.services())
        .await
        .unwrap();
    assert!(
        out.output["realtime"].as_i64().unwrap() > 1_600_000_000,
        "{}",
        out.output
    );
}

#[tokio::test]
async fn a_host_call_blocked_past_the_deadline_fails_the_step_in_time() {
    let (addr, _) = server().await;
    let host = host();
    let p = host.load(&wasm("hostile-badhost")).await.unwrap();
    let mut req = request(json!({"url": format!("http://{addr}/slow")}), http_to(addr));
    req.limits.deadline = Duration::from_secs(1);
    let started = Instant::now();
    let f = host
        .run(&p.digest, req, &Fakes::new().services())
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Deadline, "{}", f.message);
    assert!(started.elapsed() < Duration::from_secs(1) + MARGIN);

    // The grant's own timeout is shorter: the guest sees a `timeout` host error instead.
    let mut grants = http_to(addr);
    grants.http.as_mut().unwrap().timeout = Duration::from_millis(300);
    let req = request(json!({"url": format!("http://{addr}/slow")}), grants);
    let f = host
        .run(&p.digest, req, &Fakes::new().services())
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::PluginError { retryable: false });
    assert!(f.message.contains("timed out"), "{}", f.message);
}

#[tokio::test]
async fn logs_are_capped_per_step() {
    let host = host();
    let p = host.load(&wasm("hostile-chatty")).await.unwrap();
    let fakes = Fakes::new();
    let mut req = request(
        json!({}),
        Grants {
            log: true,
            ..Grants::none()
        },
    );
    req.limits.max_log_bytes = 8 << 10;
    let out = host.run(&p.digest, req, &fakes.services()).await.unwrap();
    let bytes: usize = out.logs.iter().map(|l| l.message.len()).sum();
    assert!(bytes <= (8 << 10) + 200, "{bytes} bytes of logs kept");
    assert!(out.logs.last().unwrap().message.contains("log truncated"));
    assert_eq!(
        fakes.journal.lines_for("run-1", "step").len(),
        out.logs.len()
    );
}

#[tokio::test]
async fn kube_apply_and_list_inside_the_grant() {
    let host = host();
    let p = host.load(&wasm("kube-mark")).await.unwrap();
    let fakes = Fakes::new();
    fakes.kube.insert(
        "eu-west",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "shop"}}),
    );
    let grants = kube_grant(vec![KubeVerb::Apply, KubeVerb::List]);
    let input = json!({"cluster": "eu-west", "namespace": "shop"});
    let out = host
        .run(&p.digest, request(input, grants.clone()), &fakes.services())
        .await
        .unwrap();
    assert_eq!(out.output, json!({"marked": true, "configMaps": 2}));
    let marker = fakes
        .kube
        .object(&ObjectRef {
            cluster: "eu-west".into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "shop".into(),
            name: "lifeboat-failover".into(),
        })
        .expect("applied");
    assert_eq!(marker["data"]["run"], json!("run-1"));

    // Applying into a namespace outside the grant is refused before reaching the cluster.
    let input = json!({"cluster": "eu-west", "namespace": "kube-system"});
    let f = host
        .run(&p.digest, request(input, grants), &fakes.services())
        .await
        .unwrap_err();
    assert_eq!(
        f.kind,
        FailureKind::Denied {
            capability: Capability::Kube
        }
    );
    assert!(f.message.contains("kube-system"), "{}", f.message);
    assert!(!fakes.kube.calls().iter().any(|c| c.contains("kube-system")));
}
