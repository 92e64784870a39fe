//! `detection-bench`: how long from a cluster going down to its `Lost` verdict being
//! committed, with the default health settings (probe every 2 s, window 6 s).
//!
//! Three real nodes and one kubesim cluster. Each trial switches the cluster to `down`
//! (or `hang` with `--hang`), waits for `Lost`, and measures from the switch (this
//! process's clock) to the verdict's leader-stamped `lost_at_ms` (same machine, same
//! clock). Then it heals the cluster, waits for `Fenced`, unfences it and waits for
//! `Healthy` before the next trial. Bounded: `--trials` (default 20), 60 s per wait.
//!
//! `cargo run -p chaos-tests --bin detection-bench -- [--trials 20] [--hang]`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chaos_tests::{Fleet, FleetOptions};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trials: usize = args
        .iter()
        .position(|a| a == "--trials")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(20), |v| v.parse())?;
    let mode = if args.iter().any(|a| a == "--hang") {
        "hang"
    } else {
        "down"
    };
    let opts = FleetOptions {
        extra_yaml: String::new(),
        clusters: vec!["a".into()],
        ..FleetOptions::default()
    };
    let fleet = Fleet::start(opts).await?;
    let limit = Duration::from_secs(60);
    let leader = fleet.wait_for_leader(&[], limit).await?;
    fleet.wait_verdict(leader, "a", "Healthy", limit).await?;
    println!("detection-bench: 3 nodes, default health settings, cluster {mode}, {trials} trials");
    let mut samples = Vec::new();
    for t in 1..=trials {
        let leader = fleet.wait_for_leader(&[], limit).await?;
        let t0 = now_ms();
        fleet.cluster_fault("a", mode).await?;
        let v = fleet.wait_verdict(leader, "a", "Lost", limit).await?;
        let lost_at = v["lost_at_ms"].as_u64().unwrap_or(0);
        let ms = lost_at.saturating_sub(t0);
        println!("trial {t:>2}: {ms} ms");
        samples.push(ms);
        fleet.cluster_fault("a", "healthy").await?;
        fleet.wait_verdict(leader, "a", "Fenced", limit).await?;
        fleet
            .request(leader, reqwest::Method::POST, "/v1/clusters/a/unfence")
            .send()
            .await?;
        fleet.wait_verdict(leader, "a", "Healthy", limit).await?;
    }
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "detection latency over {} trials: p50 {} ms, p99 {} ms, max {} ms, min {} ms",
        samples.len(),
        pct(0.5),
        pct(0.99),
        samples.last().unwrap(),
        samples[0]
    );
    Ok(())
}
