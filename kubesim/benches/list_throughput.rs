//! List throughput through the `kube` crate: kubesim is started with `--generate N`
//! ConfigMaps, then listed in pages of 500 with `Api<DynamicObject>`. Prints objects/s
//! and kubesim's peak RSS (VmHWM). Sizes: `KUBESIM_BENCH_SIZES` (default "10000,100000").
//!
//! Run: `cargo bench -p lifeboat-kubesim --bench list_throughput --profile dev`

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn run(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let kc = dir.path().join("kubeconfig");
    let info = dir.path().join("info.json");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat-kubesim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--history",
            "1000",
        ])
        .arg("--generate")
        .arg(n.to_string())
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("--info-file")
        .arg(&info)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while !info.exists() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "kubesim did not start within 600 s"
        );
        anyhow::ensure!(child.try_wait()?.is_none(), "kubesim exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let startup = started.elapsed();
    let cfg = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kc)?,
        &KubeConfigOptions::default(),
    )
    .await?;
    let client = kube::Client::try_from(cfg)?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("", "v1", "ConfigMap"),
        "configmaps",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, "bench", &ar);
    let t = Instant::now();
    let (mut count, mut pages) = (0usize, 0usize);
    let mut lp = ListParams::default().limit(500);
    for _ in 0..(n / 500 + 10) {
        let page = api.list(&lp).await?;
        count += page.items.len();
        pages += 1;
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rss = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    anyhow::ensure!(count == n, "listed {count} of {n}");
    println!(
        "objects={n} pages={pages} list_seconds={secs:.2} objects_per_second={:.0} kubesim_peak_rss_mib={:.0} startup_with_generate_seconds={:.1}",
        count as f64 / secs,
        rss as f64 / 1024.0,
        startup.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sizes = std::env::var("KUBESIM_BENCH_SIZES").unwrap_or_else(|_| "10000,100000".into());
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        run(n).await?;
    }
    Ok(())
}
