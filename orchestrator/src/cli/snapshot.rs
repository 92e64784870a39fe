//! `lifeboat snapshot list|take|show|restore|delete`.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{Value, json};

use super::{Output, ServerArgs};
use crate::client::ApiClient;

/// `lifeboat snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Snapshots (newest first) and captures in flight or failed.
    List {
        /// Only this cluster's.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Capture a cluster now; waits for the result unless --no-wait.
    Take {
        /// The cluster.
        cluster: String,
        /// Return the capture id at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// A snapshot, or a capture with its progress.
    Show {
        /// Snapshot or capture id.
        id: String,
    },
    /// Restore a snapshot into a cluster (the source or another).
    Restore {
        /// Snapshot id.
        id: String,
        /// Target cluster.
        #[arg(long = "to")]
        target: String,
        /// Namespace mapping, repeatable: `--map shop=shop-dr`.
        #[arg(long = "map", value_parser = parse_map)]
        map: Vec<(String, String)>,
        /// Existing objects: skip, update or recreate.
        #[arg(long, default_value = "skip")]
        policy: String,
        /// Print the plan and the diff against the target; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a snapshot.
    Delete {
        /// Snapshot id.
        id: String,
    },
    /// Snapshot schedules (from the config and set through the API).
    Schedules,
    /// Set a schedule through the API (operator).
    ScheduleSet {
        /// Schedule id (a DNS label).
        id: String,
        /// Cluster to capture.
        #[arg(long)]
        cluster: String,
        /// Cron expression with a seconds field, e.g. "0 */15 * * * *".
        #[arg(long)]
        cron: String,
        /// IANA timezone (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// After downtime: skip (default) or run-once.
        #[arg(long)]
        missed: Option<String>,
        /// Maximum jitter in seconds.
        #[arg(long, default_value_t = 0)]
        jitter_secs: u64,
    },
    /// Delete a schedule set through the API (operator).
    ScheduleDelete {
        /// Schedule id.
        id: String,
    },
}

fn parse_map(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("`{s}` is not SOURCE=TARGET"))
}

/// Run a snapshot command; exit 0, or 1 on any failure.
pub async fn run(cmd: SnapshotCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let result = match cmd {
        SnapshotCommand::List { cluster } => {
            let path = cluster.map_or("/v1/snapshots".to_string(), |c| {
                format!("/v1/snapshots?cluster={c}")
            });
            client.get(&path).await.map(|v| (v, Kind::List))
        }
        SnapshotCommand::Take { cluster, no_wait } => {
            match client
                .post_json("/v1/snapshots", &json!({ "cluster": cluster }))
                .await
            {
                Ok(v) if no_wait => Ok((v, Kind::Raw)),
                Ok(v) => {
                    let id = v["capture"].as_str().unwrap_or_default().to_string();
                    wait_for(&client, &format!("/v1/snapshots/{id}"), |v| {
                        v["capture"]["state"]["state"].clone()
                    })
                    .await
                    .map(|v| (v, Kind::Capture))
                }
                Err(e) => Err(e),
            }
        }
        SnapshotCommand::Show { id } => client
            .get(&format!("/v1/snapshots/{id}"))
            .await
            .map(|v| (v, Kind::Raw)),
        SnapshotCommand::Restore {
            id,
            target,
            map,
            policy,
            dry_run,
        } => {
            let body = json!({
                "snapshot": id, "target_cluster": target, "policy": policy, "dry_run": dry_run,
                "namespace_map": map.into_iter().collect::<BTreeMap<_, _>>(),
            });
            match client.post_json("/v1/restores", &body).await {
                Ok(v) => {
                    let rid = v["restore"].as_str().unwrap_or_default().to_string();
                    let path = format!("/v1/restores/{rid}?report={dry_run}");
                    wait_for(&client, &path, |v| v["restore"]["state"]["state"].clone())
                        .await
                        .map(|v| (v, Kind::Restore))
                }
                Err(e) => Err(e),
            }
        }
        SnapshotCommand::Schedules => client.get("/v1/schedules").await.map(|v| (v, Kind::Raw)),
        SnapshotCommand::ScheduleSet {
            id,
            cluster,
            cron,
            timezone,
            missed,
            jitter_secs,
        } => {
            let body = json!({
                "cluster": cluster, "cron": cron, "timezone": timezone, "missed": missed,
                "jitter_secs": jitter_secs,
            });
            client
                .put_body(
                    &format!("/v1/schedules/{id}"),
                    "application/json",
                    body.to_string(),
                )
                .await
                .map(|v| (v, Kind::Raw))
        }
        SnapshotCommand::ScheduleDelete { id } => client
            .delete(&format!("/v1/schedules/{id}"))
            .await
            .map(|v| (v, Kind::Raw)),
        SnapshotCommand::Delete { id } => client
            .delete(&format!("/v1/snapshots/{id}"))
            .await
            .map(|v| (v, Kind::Raw)),
    };
    let (v, kind) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&v, kind));
    }
    let failed =
        v["capture"]["state"]["state"] == "failed" || v["restore"]["state"]["state"] == "failed";
    Ok(i32::from(failed))
}

#[derive(Clone, Copy)]
enum Kind {
    List,
    Capture,
    Restore,
    Raw,
}

/// Poll `path` until `state(v)` is no longer `running`, printing progress on stderr.
async fn wait_for(
    client: &ApiClient,
    path: &str,
    state: impl Fn(&Value) -> Value,
) -> Result<Value, crate::client::ClientError> {
    loop {
        let v = client.get(path).await?;
        if state(&v) != "running" {
            eprintln!();
            return Ok(v);
        }
        let p = &v["progress"];
        if !p.is_null() {
            eprint!(
                "\r  {} {} / {} objects   ",
                p["phase"].as_str().unwrap_or(""),
                p["done"],
                p["discovered"]
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn render(v: &Value, kind: Kind) -> String {
    match kind {
        Kind::List => {
            let mut out = format!(
                "{:<30} {:<12} {:>8} {:>10}  COMPLETED (ms)\n",
                "SNAPSHOT", "CLUSTER", "OBJECTS", "UPLOADED"
            );
            for s in v["snapshots"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{:<30} {:<12} {:>8} {:>10}  {}\n",
                    s["id"].as_str().unwrap_or("?"),
                    s["cluster"].as_str().unwrap_or("?"),
                    s["object_count"],
                    s["bytes_uploaded"],
                    s["completed_at_ms"]
                ));
            }
            for c in v["captures"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "capture {} of {}: {} {}\n",
                    c["id"].as_str().unwrap_or("?"),
                    c["cluster"].as_str().unwrap_or("?"),
                    c["state"]["state"].as_str().unwrap_or("?"),
                    c["state"]["reason"].as_str().unwrap_or("")
                ));
            }
            out
        }
        Kind::Capture => match v["capture"]["state"]["state"].as_str() {
            Some("succeeded") => format!(
                "snapshot {} of {}: {} objects, {} new, {} bytes uploaded\n",
                v["snapshot"]["id"].as_str().unwrap_or("?"),
                v["snapshot"]["cluster"].as_str().unwrap_or("?"),
                v["snapshot"]["object_count"],
                v["snapshot"]["new_objects"],
                v["snapshot"]["bytes_uploaded"]
            ),
            _ => format!(
                "capture failed: {}\n",
                v["capture"]["state"]["reason"].as_str().unwrap_or("?")
            ),
        },
        Kind::Restore => {
            let r = &v["restore"];
            let mut out = format!(
                "restore {} of {} into {}{}: {}\n  counts: {}\n  RPO: {} ms\n",
                r["id"].as_str().unwrap_or("?"),
                r["snapshot"].as_str().unwrap_or("?"),
                r["target_cluster"].as_str().unwrap_or("?"),
                if r["dry_run"] == true {
                    " (dry run)"
                } else {
                    ""
                },
                r["state"]["state"].as_str().unwrap_or("?"),
                r["counts"],
                r["rpo_ms"]
            );
            for f in r["failures"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  failed {} {}/{}: {}\n",
                    f["gvk"], f["namespace"], f["name"], f["reason"]
                ));
            }
            for o in v["report"]["results"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  {:<14} {} {}/{}\n",
                    o["outcome"].as_str().unwrap_or("?"),
                    o["gvk"].as_str().unwrap_or("?"),
                    o["namespace"].as_str().unwrap_or("-"),
                    o["name"].as_str().unwrap_or("?")
                ));
                for d in o["diff"].as_array().into_iter().flatten() {
                    out.push_str(&format!("      {d}\n"));
                }
            }
            out
        }
        Kind::Raw => format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
}
