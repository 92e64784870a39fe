//! Plugin host benchmarks (prints a table; figures go to the root BENCHMARKS.md).
//!
//! `cargo bench -p lifeboat-plugins --bench host`
//! Compile time per example, load from the disk cache, instantiate from a cached
//! `InstancePre`, per-call overhead of `run` on a trivial plugin, and the cost of fuel
//! metering and epoch interruption on a CPU-bound guest.

#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use lifeboat_plugins::fakes::Fakes;
use lifeboat_plugins::{Grants, HostConfig, Limits, PluginHost};
use serde_json::json;

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    (v[v.len() / 2], mean, v[v.len() * 99 / 100])
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

async fn bench() {
    let examples = common::examples();
    println!("examples: {}", examples.display());
    let fakes = Fakes::new();

    println!("\n## compile (no cache; includes describe)");
    for name in [
        "trivial",
        "dns-switch",
        "slo-check",
        "kube-scale",
        "notify-py",
    ] {
        let bytes = common::wasm(name);
        let host = PluginHost::new(HostConfig::default()).unwrap();
        let t = Instant::now();
        host.load(&bytes).await.unwrap();
        println!(
            "| {name} | {} KiB | {} |",
            bytes.len() / 1024,
            ms(t.elapsed())
        );
    }

    println!("\n## load from the disk cache (new host each time; includes describe)");
    let cache = tempfile::tempdir().unwrap();
    let cfg = HostConfig {
        cache_dir: Some(cache.path().to_owned()),
        ..HostConfig::default()
    };
    for name in ["trivial", "dns-switch", "notify-py"] {
        let bytes = common::wasm(name);
        PluginHost::new(cfg.clone())
            .unwrap()
            .load(&bytes)
            .await
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..10 {
            let host = PluginHost::new(cfg.clone()).unwrap();
            let t = Instant::now();
            host.load(&bytes).await.unwrap();
            times.push(t.elapsed());
        }
        let (p50, mean, _) = stats(times);
        println!("| {name} | p50 {} | mean {} |", ms(p50), ms(mean));
    }

    for pooling in [false, true] {
        let host = PluginHost::new(HostConfig {
            pooling,
            ..cfg.clone()
        })
        .unwrap();
        println!(
            "\n## pooling requested: {pooling}, active: {}",
            host.pooling_active()
        );
        for name in ["trivial", "dns-switch", "notify-py"] {
            let p = host.load(&common::wasm(name)).await.unwrap();
            let n = if name == "notify-py" { 50 } else { 2000 };
            let mut times = Vec::new();
            for _ in 0..n {
                times.push(host.time_instantiate(&p.digest).await.unwrap());
            }
            let (p50, mean, p99) = stats(times);
            println!(
                "| instantiate {name} | p50 {} | mean {} | p99 {} |",
                us(p50),
                us(mean),
                us(p99)
            );
        }
        let t = host.load(&common::wasm("trivial")).await.unwrap();
        let mut times = Vec::new();
        for _ in 0..2000 {
            let req = common::request(json!({}), Grants::none());
            let s = Instant::now();
            host.run(&t.digest, req, &fakes.services()).await.unwrap();
            times.push(s.elapsed());
        }
        let (p50, mean, p99) = stats(times);
        println!(
            "| run trivial (store + instantiate + call + JSON) | p50 {} | mean {} | p99 {} |",
            us(p50),
            us(mean),
            us(p99)
        );
    }

    println!("\n## CPU-bound guest (spin n=50M): cost of fuel and epochs");
    for (fuel, epochs) in [(false, false), (false, true), (true, false), (true, true)] {
        let host = PluginHost::new(HostConfig {
            fuel_metering: fuel,
            epoch_interruption: epochs,
            ..cfg.clone()
        })
        .unwrap();
        let p = host.load(&common::wasm("spin")).await.unwrap();
        let mut times = Vec::new();
        for _ in 0..5 {
            let mut req = common::request(json!({"n": 50_000_000}), Grants::none());
            req.limits = Limits {
                deadline: Duration::from_secs(120),
                ..Limits::default()
            };
            let s = Instant::now();
            host.run(&p.digest, req, &fakes.services()).await.unwrap();
            times.push(s.elapsed());
        }
        let (p50, _, _) = stats(times);
        println!("| fuel {fuel} | epochs {epochs} | p50 {} |", ms(p50));
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}
