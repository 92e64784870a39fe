//! Snapshot benchmarks: capture throughput and peak RSS, incremental upload fraction,
//! stored size vs a gzip tarball of the same objects as JSON (Velero's format), and
//! restore throughput, against real `lifeboat-kubesim` processes.
//!
//! `snapshot-bench [--sizes 10000,100000] [--write FILE]`: runs each size in a child
//! process (`--one N`) so that peak RSS is per size, prints a table, optionally writes it.
//! Needs `lifeboat-kubesim` next to this binary (`cargo build -p lifeboat-kubesim`).

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use lifeboat_snapshot::filter;
use lifeboat_snapshot::reader::SnapshotReader;
use lifeboat_snapshot::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let n: usize = args.get(i + 1).context("--one N")?.parse()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let r = rt.block_on(one(n))?;
        println!("RESULT {}", r);
        return Ok(());
    }
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--sizes") {
        Some(i) => args
            .get(i + 1)
            .context("--sizes LIST")?
            .split(',')
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?,
        None => vec![10_000, 100_000],
    };
    let write = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let mut results = vec![];
    for n in sizes {
        eprintln!("== {n} objects");
        let out = Command::new(std::env::current_exe()?)
            .args(["--one", &n.to_string()])
            .stderr(Stdio::inherit())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .with_context(|| format!("no result for {n}: {text}"))?;
        results.push(serde_json::from_str::<Value>(line)?);
    }
    let table = render(&results);
    println!("{table}");
    if let Some(p) = write {
        std::fs::write(&p, table)?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

fn render(results: &[Value]) -> String {
    let mut s = String::new();
    s.push_str("| objects | capture obj/s | capture s | peak RSS MiB (1st / 2nd capture; baseline) | 2nd snapshot bytes / 1st | stored / gzip tar (normalised JSON) [entry chunks ≈] | stored / Velero tarball (as listed, 2 copies per object as Velero writes) [1 copy] | restore obj/s | restore s |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.0} / {:.0}; {:.0} | {:.4} ({} / {} B) | {:.3} ({} / {} B) [{} B] | {:.3} ({} B) [{:.3} ({} B)] | {:.0} | {:.2} |\n",
            r["objects"], r["capture_obj_per_s"].as_f64().unwrap_or(0.0), r["capture_s"].as_f64().unwrap_or(0.0),
            r["peak_rss_mib"].as_f64().unwrap_or(0.0),
            r["peak_rss_second_mib"].as_f64().unwrap_or(0.0),
            r["rss_before_mib"].as_f64().unwrap_or(0.0), r["incremental_fraction"].as_f64().unwrap_or(0.0), r["second_bytes"], r["first_bytes"],
            r["stored_vs_gzip"].as_f64().unwrap_or(0.0), r["stored_bytes"], r["gzip_bytes"], r["entries_bytes_approx"],
            r["stored_vs_velero"].as_f64().unwrap_or(0.0), r["velero_bytes"],
            r["stored_vs_velero_single"].as_f64().unwrap_or(0.0), r["velero_single_bytes"],
            r["restore_obj_per_s"].as_f64().unwrap_or(0.0), r["restore_s"].as_f64().unwrap_or(0.0),
        ));
    }
    s
}

/// Realistic objects: per namespace of 100, 40 ConfigMaps, 25 Secrets, 20 Deployments, 15 Services.
fn seed(dir: &Path, n: usize) -> Result<()> {
    let ca = "MIIDBTCCAe2gAwIBAgIIQ2xvdWRDQTAeFw0yNDAxMDEwMDAwMDBaFw0zNDAxMDEwMDAwMDBaMBUxEzARBgNVBAMTCmt1YmVybmV0ZXMwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC".repeat(12);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut file = 0;
    let mut items = vec![];
    let flush = |items: &mut Vec<Value>, file: &mut usize| -> Result<()> {
        if !items.is_empty() {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": std::mem::take(items)});
            std::fs::write(
                dir.join(format!("seed-{file:04}.json")),
                serde_json::to_vec(&list)?,
            )?;
            *file += 1;
        }
        Ok(())
    };
    for i in 0..n {
        let ns = format!("team-{:04}", i / 100);
        if i % 100 == 0 {
            items.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"team": ns}}}));
        }
        let k = i % 100;
        let app = format!("svc-{}", k % 20);
        let obj = if k < 40 {
            let conf = format!(
                "server:\n  port: {}\n  workers: {}\n  timeout: {}s\nlogging:\n  level: info\n  format: json\nfeatures:\n{}database:\n  host: db-{}.{ns}.svc.cluster.local\n  pool: {}\n",
                8000 + k,
                k % 8 + 1,
                30 + k,
                (0..20)
                    .map(|f| format!("  flag_{f}: {}\n", (next() % 2 == 0)))
                    .collect::<String>(),
                k % 3,
                next() % 50
            );
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{app}-config-{k}"), "namespace": ns, "labels": {"app": app}}, "data": {"app.yaml": conf.repeat(4)}})
        } else if k < 65 {
            let token: String = (0..8).map(|_| format!("{:016x}", next())).collect();
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{app}-secret-{k}"), "namespace": ns, "labels": {"app": app}}, "type": "Opaque",
                "data": {"ca.crt": ca, "token": token, "password": format!("{:016x}", next())}})
        } else if k < 85 {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("{app}-{k}"), "namespace": ns, "labels": {"app": app},
                    "annotations": {"checksum/config": format!("{:016x}{:016x}{:016x}{:016x}", next(), next(), next(), next()), "git-commit": format!("{:016x}", next())}},
                "spec": {"replicas": k % 3 + 1, "selector": {"matchLabels": {"app": app}},
                    "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "main", "image": format!("registry.example.com/{app}:1.{}.{}", k % 7, next() % 30),
                        "ports": [{"containerPort": 8080, "name": "http"}], "env": (0..12).map(|e| json!({"name": format!("ENV_{e}"), "value": format!("value-{e}-{k}")})).collect::<Vec<_>>(),
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}}]}}}})
        } else {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("{app}-svc-{k}"), "namespace": ns, "labels": {"app": app}},
                "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        };
        items.push(obj);
        if items.len() >= 5000 {
            flush(&mut items, &mut file)?;
        }
    }
    flush(&mut items, &mut file)
}

struct Sim {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(seed_dir: Option<&Path>) -> Result<Sim> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("exe dir")?.join("lifeboat-kubesim");
    if !bin.exists() {
        bail!(
            "{} missing: run cargo build -p lifeboat-kubesim (same profile)",
            bin.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let info = dir.path().join("info.json");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--history",
        "100",
    ])
    .arg("--kubeconfig")
    .arg(&kubeconfig)
    .arg("--info-file")
    .arg(&info)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(s) = seed_dir {
        cmd.arg("--seed").arg(s);
    }
    let child = cmd.spawn()?;
    let sim = Sim {
        child,
        kubeconfig,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(text) = std::fs::read_to_string(&info) {
            let v: Value = serde_json::from_str(&text)?;
            let server = v["server"]
                .as_str()
                .context("server")?
                .trim_start_matches("http://")
                .to_string();
            if let Ok(mut s) = std::net::TcpStream::connect(&server) {
                use std::io::Read;
                s.write_all(
                    format!("GET /readyz HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )?;
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") {
                    return Ok(sim);
                }
            }
        }
        if Instant::now() > deadline {
            bail!("kubesim not ready within 600 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn client(sim: &Sim) -> Result<kube::Client> {
    install_crypto_provider();
    let kc = kube::config::Kubeconfig::read_from(&sim.kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(kube::Client::try_from(cfg)?)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            total += if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            };
        }
    }
    total
}

fn tar_header(name: &str, size: usize) -> [u8; 512] {
    let mut h = [0u8; 512];
    let name = &name.as_bytes()[..name.len().min(99)];
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// Velero's format proper: a gzip'd tar of every object *as listed* (server fields and
/// status included). Velero's item backupper (`pkg/backup/item_backupper.go`, format
/// 1.1) writes each object of the preferred version twice, one after the other: under
/// `resources/<group-resource>/namespaces/<ns>/<name>.json` (kept for backward
/// compatibility) and under `resources/<group-resource>/<version>-preferredversion/...`;
/// so does this baseline. `velero_single` is the same tarball with one copy per object.
async fn gzip_tarball_as_listed(c: &kube::Client, filters: &Filters) -> Result<(u64, u64)> {
    let mut single = GzEncoder::new(Vec::new(), Compression::default());
    let mut double = GzEncoder::new(Vec::new(), Compression::default());
    for ty in lifeboat_snapshot::discover::discover(c, filters).await? {
        let gr = match ty.ar.group.as_str() {
            "" => ty.ar.plural.clone(),
            g => format!("{}.{g}", ty.ar.plural),
        };
        let preferred = format!("{}-preferredversion/", ty.ar.version);
        let mut cont: Option<String> = None;
        loop {
            let mut lp = kube::api::ListParams::default().limit(500);
            if let Some(t) = &cont {
                lp = lp.continue_token(t);
            }
            let req = kube::core::Request::new(ty.list_path()).list(&lp)?;
            let page: Value = c.request(req).await?;
            for item in page["items"].as_array().into_iter().flatten() {
                if filter::skip_reason(filters, &ty.ar.kind, item).is_some() {
                    continue;
                }
                let bytes = serde_json::to_vec(item)?;
                let m = &item["metadata"];
                let place = match m["namespace"].as_str() {
                    Some(ns) => format!("namespaces/{ns}"),
                    None => "cluster".to_string(),
                };
                let name = m["name"].as_str().unwrap_or("");
                let padding = vec![0u8; (512 - bytes.len() % 512) % 512];
                for (i, version_dir) in ["", preferred.as_str()].into_iter().enumerate() {
                    let path = format!("resources/{gr}/{version_dir}{place}/{name}.json");
                    let header = tar_header(&path, bytes.len());
                    for gz in [&mut double]
                        .into_iter()
                        .chain((i == 0).then_some(&mut single))
                    {
                        gz.write_all(&header)?;
                        gz.write_all(&bytes)?;
                        gz.write_all(&padding)?;
                    }
                }
            }
            cont = page["metadata"]["continue"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if cont.is_none() {
                break;
            }
        }
    }
    single.write_all(&[0u8; 1024])?;
    double.write_all(&[0u8; 1024])?;
    Ok((double.finish()?.len() as u64, single.finish()?.len() as u64))
}

/// A gzip'd tar of the *normalised* objects (same content as the snapshot).
async fn gzip_tarball_size(store: &SnapshotStore, id: &str) -> Result<u64> {
    let reader = SnapshotReader::open(store, id, 64 << 20).await?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for e in &reader.manifest.entries {
        let obj = reader.object(e).await?;
        let bytes = serde_json::to_vec(&obj)?;
        let name = format!(
            "resources/{}/{}/{}.json",
            e.resource,
            e.namespace.as_deref().unwrap_or("_cluster"),
            e.name
        );
        gz.write_all(&tar_header(&name, bytes.len()))?;
        gz.write_all(&bytes)?;
        gz.write_all(&vec![0u8; (512 - bytes.len() % 512) % 512])?;
    }
    gz.write_all(&[0u8; 1024])?;
    Ok(gz.finish()?.len() as u64)
}

async fn one(n: usize) -> Result<Value> {
    let seed_dir = tempfile::tempdir()?;
    seed(seed_dir.path(), n)?;
    let t = Instant::now();
    let src = start_sim(Some(seed_dir.path()))?;
    eprintln!(
        "seeded kubesim with {n} objects in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // BENCH_KEEP_STORE=DIR keeps the store there (for inspecting the packs afterwards).
    let store_dir = match std::env::var_os("BENCH_KEEP_STORE") {
        Some(d) => tempfile::Builder::new()
            .disable_cleanup(true)
            .tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let store = SnapshotStore::open(
        &format!("file://{}", store_dir.path().display()),
        StoreOptions::default(),
    )?;
    let c = client(&src).await?;
    // Reset the peak-RSS mark so that it covers the capture only.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_kib();
    let level: i32 = std::env::var("BENCH_ZSTD_LEVEL")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(DEFAULT_COMPRESSION_LEVEL);
    let copts = CaptureOptions {
        compression_level: level,
        ..CaptureOptions::default()
    };
    let first = capture(c.clone(), "bench", &store, &copts, &Progress::new()).await?;
    let rss = peak_rss_kib();
    let cap_s = first.duration.as_secs_f64();
    eprintln!(
        "capture 1: {} objects in {cap_s:.2} s, peak RSS {} MiB (before {} MiB)",
        first.object_count,
        rss / 1024,
        rss_before / 1024
    );
    let stored = dir_size(store_dir.path());
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let second = capture(c.clone(), "bench", &store, &copts, &Progress::new()).await?;
    let rss2 = peak_rss_kib();
    let first_bytes = first.bytes_uploaded + first.manifest_bytes;
    let second_bytes = second.bytes_uploaded + second.manifest_bytes;
    let gzip = gzip_tarball_size(&store, &first.id).await?;
    // Approximate share of the entry chunks (ids, names, locations) in the stored bytes.
    let mut lines = vec![];
    let (_, chunks) = store.for_each_entry(&first.id, |l| lines.push(l)).await?;
    let mut chunk_bytes: Vec<u8> = vec![];
    let mut rest = &lines[..];
    for c in &chunks {
        let (chunk, tail) = rest.split_at(c.entries as usize);
        chunk_bytes.extend(lifeboat_snapshot::manifest::encode_chunk(chunk));
        rest = tail;
    }
    let entries_compressed = zstd::bulk::compress(&chunk_bytes, 3)?.len() as u64;
    let (velero, velero_single) = gzip_tarball_as_listed(&c, &Filters::default()).await?;
    drop(src);

    let dst = start_sim(None)?;
    let dc = client(&dst).await?;
    let rep = restore(
        &store,
        &first.id,
        dc,
        &RestoreOptions {
            parallelism: 32,
            ..Default::default()
        },
        &Progress::new(),
    )
    .await?;
    let failed = rep.count(Outcome::Failed);
    let restored = rep.count(Outcome::Created);
    eprintln!(
        "restore: {restored} created, {failed} failed, {:?} in {:.2} s",
        rep.counts,
        rep.duration.as_secs_f64()
    );
    Ok(json!({
        "objects": first.object_count,
        "capture_s": cap_s,
        "capture_obj_per_s": first.object_count as f64 / cap_s,
        "peak_rss_mib": rss as f64 / 1024.0,
        "peak_rss_second_mib": rss2 as f64 / 1024.0,
        "rss_before_mib": rss_before as f64 / 1024.0,
        "first_bytes": first_bytes,
        "second_bytes": second_bytes,
        "incremental_fraction": second_bytes as f64 / first_bytes as f64,
        "stored_bytes": stored,
        "entries_bytes_approx": entries_compressed,
        "gzip_bytes": gzip,
        "stored_vs_gzip": stored as f64 / gzip as f64,
        "velero_bytes": velero,
        "stored_vs_velero": stored as f64 / velero as f64,
        "velero_single_bytes": velero_single,
        "stored_vs_velero_single": stored as f64 / velero_single as f64,
        "zstd_level": level,
        "restore_s": rep.duration.as_secs_f64(),
        "restore_obj_per_s": (restored + rep.count(Outcome::Skipped)) as f64 / rep.duration.as_secs_f64(),
        "restore_failed": failed,
    }))
}
