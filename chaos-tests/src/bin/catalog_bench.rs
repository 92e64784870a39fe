//! `catalog-bench`: catalog writes through the HTTP API of a 3-node loopback group.
//!
//! Starts three real `lifeboat serve` processes (default Raft settings), then for each
//! concurrency level runs closed-loop clients that `PUT /v1/kv/...` for a fixed time,
//! and prints writes/s and p50/p99/max latency. Bounded: at most `--seconds` per level
//! and `--max-writes` per level.
//!
//! `cargo run --release -p chaos-tests --bin catalog-bench -- [--seconds 10] [--via-follower]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chaos_tests::{Fleet, FleetOptions};

struct Args {
    seconds: u64,
    max_writes: u64,
    via_follower: bool,
    levels: Vec<usize>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 10,
        max_writes: 200_000,
        via_follower: false,
        levels: vec![1, 16, 64],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seconds" => a.seconds = it.next().unwrap_or_default().parse()?,
            "--max-writes" => a.max_writes = it.next().unwrap_or_default().parse()?,
            "--via-follower" => a.via_follower = true,
            "--levels" => {
                let v = it.next().unwrap_or_default();
                a.levels = v.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            other => anyhow::bail!(
                "unknown flag {other}; usage: catalog-bench [--seconds N] [--max-writes N] \
                 [--levels 1,16,64] [--via-follower]"
            ),
        }
    }
    Ok(a)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let opts = FleetOptions {
        extra_yaml: String::new(),
        ..FleetOptions::default()
    };
    let fleet = Arc::new(Fleet::start(opts).await?);
    let leader = fleet.wait_for_leader(&[], Duration::from_secs(30)).await?;
    let target = if args.via_follower {
        fleet
            .ids()
            .into_iter()
            .find(|i| *i != leader)
            .unwrap_or(leader)
    } else {
        leader
    };
    println!(
        "catalog-bench: 3 nodes on 127.0.0.1, writes to node {target} ({}), {} s per level",
        if target == leader {
            "leader"
        } else {
            "follower, forwarded"
        },
        args.seconds
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "clients", "writes", "writes/s", "p50 ms", "p99 ms", "max ms"
    );
    for &clients in &args.levels {
        let issued = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (fleet, issued) = (fleet.clone(), issued.clone());
            let max = args.max_writes;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                    let key = format!("bench/{clients}/{c}/{}", lat.len());
                    let t = Instant::now();
                    match fleet
                        .put(target, &key, serde_json::json!({ "n": lat.len() }))
                        .await
                    {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (lat, e) = t.await?;
            all.extend(lat);
            errors += e;
        }
        let took = start.elapsed().as_secs_f64();
        all.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:>8} {:>10} {:>10.0} {:>10.2} {:>10.2} {:>10.2}{}",
            clients,
            all.len(),
            all.len() as f64 / took,
            ms(percentile(&all, 0.50)),
            ms(percentile(&all, 0.99)),
            ms(all.last().copied().unwrap_or_default()),
            if errors > 0 {
                format!("  ({errors} errors)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
