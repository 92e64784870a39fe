//! `lifeboat snapshot list|take|show|restore|delete|schedules|schedule-set|
//! schedule-delete`: the requests, and their human output (tables, a progress bar while
//! a capture or restore runs, a summary line when it ends).

use std::collections::BTreeMap;

use clap::Subcommand;
use serde_json::{Value, json};

use super::table::{Cell, MAX_WIDTH, Paint, Style, Table, bytes, fields, fit, short_time, text};
use super::{Output, ServerArgs, progress};
use crate::client::{ApiClient, ClientError};
use crate::executor::report::human_ms;

/// `lifeboat snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Snapshots (newest first) and captures in flight or failed.
    List {
        /// Only this cluster's.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Capture a cluster now; waits for the result (with a progress bar on a terminal)
    /// unless --no-wait.
    Take {
        /// The cluster.
        cluster: String,
        /// Wait for the snapshot, showing progress on stderr (the default).
        #[arg(long, conflicts_with = "no_wait")]
        wait: bool,
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
        /// Wait for the result, showing progress on stderr (the default).
        #[arg(long, conflicts_with = "no_wait")]
        wait: bool,
        /// Return the restore id at once.
        #[arg(long)]
        no_wait: bool,
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

/// Run a snapshot command; exit 0, or 1 on any failure (a capture or restore that
/// failed included).
pub async fn run(cmd: SnapshotCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let (v, kind) = match request(&client, cmd).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    if args.output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", render(&v, kind, Paint::stdout()));
    }
    match failure(&v) {
        Some(why) => {
            eprintln!("error: {why}");
            Ok(1)
        }
        None => Ok(0),
    }
}

/// Send the command's request(s); the answer and how to show it.
async fn request(client: &ApiClient, cmd: SnapshotCommand) -> Result<(Value, Kind), ClientError> {
    match cmd {
        SnapshotCommand::List { cluster } => {
            let path = cluster.map_or("/v1/snapshots".to_string(), |c| {
                format!("/v1/snapshots?cluster={c}")
            });
            Ok((client.get(&path).await?, Kind::List))
        }
        SnapshotCommand::Take {
            cluster, no_wait, ..
        } => {
            let v = client
                .post_json("/v1/snapshots", &json!({ "cluster": cluster }))
                .await?;
            if no_wait {
                return Ok((v, Kind::Started));
            }
            let id = v["capture"].as_str().unwrap_or_default().to_string();
            let label = format!("capture {cluster}");
            let v = progress::wait(client, &format!("/v1/snapshots/{id}"), &label, |v| {
                v["capture"]["state"]["state"].clone()
            })
            .await?;
            Ok((v, Kind::Capture))
        }
        SnapshotCommand::Show { id } => Ok((
            client.get(&format!("/v1/snapshots/{id}")).await?,
            Kind::Show,
        )),
        SnapshotCommand::Restore {
            id,
            target,
            map,
            policy,
            dry_run,
            no_wait,
            ..
        } => {
            let body = json!({
                "snapshot": id, "target_cluster": target, "policy": policy, "dry_run": dry_run,
                "namespace_map": map.into_iter().collect::<BTreeMap<_, _>>(),
            });
            let v = client.post_json("/v1/restores", &body).await?;
            if no_wait {
                return Ok((v, Kind::Started));
            }
            let rid = v["restore"].as_str().unwrap_or_default().to_string();
            let path = format!("/v1/restores/{rid}?report={dry_run}");
            let label = format!("restore into {target}");
            let v = progress::wait(client, &path, &label, |v| {
                v["restore"]["state"]["state"].clone()
            })
            .await?;
            Ok((v, Kind::Restore))
        }
        SnapshotCommand::Schedules => Ok((client.get("/v1/schedules").await?, Kind::Schedules)),
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
            let path = format!("/v1/schedules/{id}");
            let v = client
                .put_body(&path, "application/json", body.to_string())
                .await?;
            Ok((v, Kind::ScheduleSet))
        }
        SnapshotCommand::ScheduleDelete { id } => Ok((
            client.delete(&format!("/v1/schedules/{id}")).await?,
            Kind::Deleted("schedule"),
        )),
        SnapshotCommand::Delete { id } => Ok((
            client.delete(&format!("/v1/snapshots/{id}")).await?,
            Kind::Deleted("snapshot"),
        )),
    }
}

/// Why the capture or restore in `v` failed, if it did.
fn failure(v: &Value) -> Option<String> {
    let reason = |job: &Value| {
        job["state"]["reason"]
            .as_str()
            .unwrap_or("no reason given")
            .to_string()
    };
    let cap = &v["capture"];
    if cap["state"]["state"] == "failed" {
        return Some(format!(
            "capture {} of {} failed: {}",
            text(&cap["id"]),
            text(&cap["cluster"]),
            reason(cap)
        ));
    }
    let r = &v["restore"];
    if r["state"]["state"] == "failed" {
        return Some(format!(
            "restore {} of {} into {} failed: {}",
            text(&r["id"]),
            text(&r["snapshot"]),
            text(&r["target_cluster"]),
            reason(r)
        ));
    }
    None
}

/// What an answer is, for its human form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Show,
    Started,
    Capture,
    Restore,
    Schedules,
    ScheduleSet,
    Deleted(&'static str),
}

fn render(v: &Value, kind: Kind, paint: Paint) -> String {
    match kind {
        Kind::List => render_list(v, paint),
        Kind::Show if v["capture"].is_null() => render_snapshot(&v["snapshot"], paint),
        Kind::Show => render_capture(v, paint),
        Kind::Started => match (v["capture"].as_str(), v["restore"].as_str()) {
            (Some(id), _) => format!(
                "capture {id} of {} started; follow it with `lifeboat snapshot show {id}`\n",
                text(&v["cluster"])
            ),
            (_, Some(id)) => format!("restore {id} started\n"),
            _ => format!("{v}\n"),
        },
        Kind::Capture => capture_summary(v),
        Kind::Restore => render_restore(v, paint),
        Kind::Schedules => render_schedules(v, paint),
        Kind::ScheduleSet => format!(
            "schedule {} stored: captures {} at `{}` ({}); next firing {}\n",
            text(&v["id"]),
            text(&v["cluster"]),
            text(&v["cron"]),
            v["timezone"].as_str().unwrap_or("UTC"),
            text(&v["next_firing"])
        ),
        Kind::Deleted(what) => format!("{what} {} deleted\n", text(&v["deleted"])),
    }
}

fn job_duration(job: &Value) -> String {
    match (
        job["started_at_ms"].as_u64(),
        job["finished_at_ms"].as_u64(),
    ) {
        (Some(s), Some(f)) => human_ms(f.saturating_sub(s)),
        _ => "-".into(),
    }
}

/// Snapshots (newest first), then the captures in flight or failed.
fn render_list(v: &Value, paint: Paint) -> String {
    let mut t = Table::new(&[
        "SNAPSHOT",
        "CLUSTER",
        "OBJECTS",
        "NEW",
        "UPLOADED",
        "COMPLETED (UTC)",
    ])
    .right(&[2, 3, 4])
    .keep(&[0, 5]);
    for s in v["snapshots"].as_array().into_iter().flatten() {
        t.row(vec![
            text(&s["id"]).into(),
            text(&s["cluster"]).into(),
            text(&s["object_count"]).into(),
            text(&s["new_objects"]).into(),
            bytes(s["bytes_uploaded"].as_u64().unwrap_or(0)).into(),
            short_time(s["completed_at_ms"].as_u64().unwrap_or(0)).into(),
        ]);
    }
    let mut out = if t.is_empty() {
        "no snapshots yet: take one with `lifeboat snapshot take CLUSTER`\n".to_string()
    } else {
        t.render(paint)
    };
    let mut caps =
        Table::new(&["CAPTURE", "CLUSTER", "STATE", "STARTED (UTC)", "REASON"]).keep(&[0, 3]);
    for c in v["captures"].as_array().into_iter().flatten() {
        caps.row(vec![
            text(&c["id"]).into(),
            text(&c["cluster"]).into(),
            Cell::state(c["state"]["state"].as_str().unwrap_or("?")),
            short_time(c["started_at_ms"].as_u64().unwrap_or(0)).into(),
            c["state"]["reason"].as_str().unwrap_or("").into(),
        ]);
    }
    if !caps.is_empty() {
        out.push('\n');
        out.push_str(&caps.render(paint));
    }
    out
}

fn render_snapshot(s: &Value, paint: Paint) -> String {
    fields(
        &[
            ("snapshot", text(&s["id"]).into()),
            ("cluster", text(&s["cluster"]).into()),
            (
                "objects",
                format!(
                    "{} ({} new)",
                    text(&s["object_count"]),
                    text(&s["new_objects"])
                )
                .into(),
            ),
            (
                "uploaded",
                bytes(s["bytes_uploaded"].as_u64().unwrap_or(0)).into(),
            ),
            ("kubernetes", text(&s["kubernetes_version"]).into()),
            (
                "started",
                format!(
                    "{} UTC",
                    short_time(s["started_at_ms"].as_u64().unwrap_or(0))
                )
                .into(),
            ),
            (
                "completed",
                format!(
                    "{} UTC",
                    short_time(s["completed_at_ms"].as_u64().unwrap_or(0))
                )
                .into(),
            ),
            ("trigger", text(&s["trigger"]).into()),
            ("capture", text(&s["capture_id"]).into()),
            ("manifest", text(&s["manifest_key"]).into()),
        ],
        paint,
    )
}

/// A capture record, its progress while it runs (per type), its snapshot once done.
fn render_capture(v: &Value, paint: Paint) -> String {
    let c = &v["capture"];
    let state = c["state"]["state"].as_str().unwrap_or("?");
    let mut rows = vec![
        ("capture", text(&c["id"]).into()),
        ("cluster", text(&c["cluster"]).into()),
        ("state", Cell::state(state)),
    ];
    if let Some(r) = c["state"]["reason"].as_str() {
        rows.push(("reason", r.into()));
    }
    rows.push((
        "started",
        format!(
            "{} UTC by {} ({})",
            short_time(c["started_at_ms"].as_u64().unwrap_or(0)),
            text(&c["by"]),
            text(&c["trigger"])
        )
        .into(),
    ));
    rows.push(("took", job_duration(c).into()));
    rows.push(("snapshot", text(&c["snapshot_id"]).into()));
    let mut out = fields(&rows, paint);
    let p = &v["progress"];
    if let Some(types) = p["types"].as_object().filter(|t| !t.is_empty()) {
        out.push_str(&format!(
            "\n{}: {}/{} objects, {} uploaded\n",
            text(&p["phase"]),
            text(&p["done"]),
            text(&p["discovered"]),
            bytes(p["bytes_uploaded"].as_u64().unwrap_or(0))
        ));
        let mut t = Table::new(&["TYPE", "DONE", "DISCOVERED"]).right(&[1, 2]);
        for (name, tp) in types {
            t.row(vec![
                name.as_str().into(),
                text(&tp["done"]).into(),
                text(&tp["discovered"]).into(),
            ]);
        }
        out.push_str(&t.render(paint));
    }
    if !v["snapshot"].is_null() {
        out.push('\n');
        out.push_str(&render_snapshot(&v["snapshot"], paint));
    }
    out
}

/// The line printed when a waited-for capture ends (a failure goes to stderr).
fn capture_summary(v: &Value) -> String {
    let s = &v["snapshot"];
    if v["capture"]["state"]["state"] != "succeeded" {
        return String::new();
    }
    format!(
        "snapshot {} of {}: {} objects ({} new), {} uploaded in {}\n",
        text(&s["id"]),
        text(&s["cluster"]),
        text(&s["object_count"]),
        text(&s["new_objects"]),
        bytes(s["bytes_uploaded"].as_u64().unwrap_or(0)),
        job_duration(&v["capture"])
    )
}

/// A restore: summary line, counts, RPO, failed objects, and the per-object plan and
/// diff of a dry run.
fn render_restore(v: &Value, paint: Paint) -> String {
    let r = &v["restore"];
    let state = r["state"]["state"].as_str().unwrap_or("?");
    let counts: Vec<String> = r["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect();
    let mut out = format!(
        "restore {} of {} into {}{}: {} in {}\n",
        text(&r["id"]),
        text(&r["snapshot"]),
        text(&r["target_cluster"]),
        if r["dry_run"] == true {
            " (dry run)"
        } else {
            ""
        },
        paint.state(state),
        job_duration(r)
    );
    out.push_str(&fields(
        &[
            (
                "  objects",
                if counts.is_empty() {
                    "none".into()
                } else {
                    counts.join(", ").into()
                },
            ),
            (
                "  RPO",
                r["rpo_ms"]
                    .as_u64()
                    .map_or_else(|| "-".into(), human_ms)
                    .into(),
            ),
        ],
        paint,
    ));
    let failures = r["failures"].as_array().map_or(&[][..], |a| a);
    if !failures.is_empty() {
        let mut t = Table::new(&["FAILED", "NAMESPACE", "NAME", "REASON"]).indent(2);
        for f in failures {
            t.row(vec![
                text(&f["gvk"]).into(),
                text(&f["namespace"]).into(),
                text(&f["name"]).into(),
                Cell::styled(text(&f["reason"]), Some(Style::Red)),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(paint));
    }
    let results = v["report"]["results"].as_array().map_or(&[][..], |a| a);
    if !results.is_empty() {
        out.push('\n');
    }
    for o in results {
        out.push_str(&fit(
            &format!(
                "  {:<14} {} {}/{}",
                o["outcome"].as_str().unwrap_or("?"),
                text(&o["gvk"]),
                text(&o["namespace"]),
                text(&o["name"])
            ),
            MAX_WIDTH,
        ));
        out.push('\n');
        for d in o["diff"].as_array().into_iter().flatten() {
            out.push_str(&format!("      {}\n", text(d)));
        }
    }
    out
}

fn render_schedules(v: &Value, paint: Paint) -> String {
    let mut t = Table::new(&[
        "SCHEDULE",
        "CLUSTER",
        "CRON",
        "TIMEZONE",
        "SOURCE",
        "LAST FIRED (UTC)",
    ])
    .keep(&[0, 5]);
    for s in v["schedules"].as_array().into_iter().flatten() {
        t.row(vec![
            text(&s["id"]).into(),
            text(&s["cluster"]).into(),
            text(&s["cron"]).into(),
            s["timezone"].as_str().unwrap_or("UTC").into(),
            text(&s["source"]).into(),
            s["last_fired_ms"]
                .as_u64()
                .map_or_else(|| "never".into(), short_time)
                .into(),
        ]);
    }
    if t.is_empty() {
        return "no schedules: set one with `lifeboat snapshot schedule-set`\n".into();
    }
    t.render(paint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::table::width;

    fn fits(out: &str) {
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{} > 100: {line}", width(line));
        }
    }

    #[test]
    fn list_fits_with_long_names_and_keeps_ids() {
        let id = "prod-eu-west-1-20240501T123456Z-abc123";
        let v = json!({
            "snapshots": [{"id": id, "cluster": "prod-eu-west-1",
                "object_count": 123_456, "new_objects": 12, "bytes_uploaded": 5_000_000,
                "completed_at_ms": 1_700_000_000_000u64,
                "trigger": "schedule:prod-eu-west-1#0"}],
            "captures": [{"id": "cap-1a2b3c4d5e6f7a8b", "cluster": "eu-west",
                "state": {"state": "failed", "reason": "listing configmaps: ".repeat(10)},
                "started_at_ms": 1_700_000_000_000u64}],
        });
        let out = render_list(&v, Paint::OFF);
        fits(&out);
        assert!(out.contains(id), "{out}");
        assert!(
            out.contains("4.8 MiB") && out.contains("2023-11-14 22:13:20"),
            "{out}"
        );
        assert!(
            out.contains("cap-1a2b3c4d5e6f7a8b  eu-west  failed"),
            "{out}"
        );
        let coloured = render_list(&v, Paint::ON);
        assert!(coloured.contains("\x1b[31mfailed\x1b[0m"), "{coloured}");
        // A cluster name far too long for any table: still 100 columns, cut with `…`.
        let huge = "c".repeat(150);
        let v = json!({"snapshots": [{"id": format!("{huge}-20240501T123456Z-abc123"),
            "cluster": huge, "object_count": 1, "new_objects": 1, "bytes_uploaded": 1,
            "completed_at_ms": 0}], "captures": []});
        let out = render_list(&v, Paint::OFF);
        fits(&out);
        assert!(
            out.contains('…') && out.contains("1970-01-01 00:00:00"),
            "{out}"
        );
    }

    #[test]
    fn capture_and_restore_outcomes() {
        let ok = json!({
            "capture": {"id": "cap-1", "cluster": "eu-west", "state": {"state": "succeeded"},
                "started_at_ms": 1_000, "finished_at_ms": 3_500},
            "snapshot": {"id": "eu-west-1", "cluster": "eu-west", "object_count": 40,
                "new_objects": 3, "bytes_uploaded": 2048},
        });
        assert_eq!(
            render(&ok, Kind::Capture, Paint::OFF),
            "snapshot eu-west-1 of eu-west: 40 objects (3 new), 2.0 KiB uploaded in 2.5s\n"
        );
        assert_eq!(failure(&ok), None);
        let bad = json!({"capture": {"id": "cap-2", "cluster": "eu-west",
            "state": {"state": "failed", "reason": "listing secrets: 403"}}});
        assert_eq!(render(&bad, Kind::Capture, Paint::OFF), "");
        assert_eq!(
            failure(&bad).unwrap(),
            "capture cap-2 of eu-west failed: listing secrets: 403"
        );
        let restore = json!({"restore": {"id": "rst-1", "snapshot": "eu-west-1",
            "target_cluster": "ap-south", "dry_run": false, "state": {"state": "failed",
            "reason": "2 objects failed"}, "counts": {"created": 10, "failed": 2},
            "failures": [{"gvk": "apps/v1/Deployment", "namespace": "shop", "name": "web",
                "reason": "x".repeat(300)}],
            "rpo_ms": 65_000, "started_at_ms": 0, "finished_at_ms": 1_200}});
        let out = render(&restore, Kind::Restore, Paint::OFF);
        fits(&out);
        assert!(
            out.starts_with("restore rst-1 of eu-west-1 into ap-south: failed in 1.2s\n"),
            "{out}"
        );
        assert!(
            out.contains("created 10, failed 2") && out.contains("1m 05s"),
            "{out}"
        );
        assert!(
            failure(&restore)
                .unwrap()
                .ends_with("failed: 2 objects failed")
        );
    }

    #[test]
    fn show_of_a_running_capture_has_its_progress() {
        let v = json!({
            "capture": {"id": "cap-1", "cluster": "eu-west", "state": {"state": "running"},
                "started_at_ms": 1_000, "by": "admin", "trigger": "manual"},
            "progress": {"phase": "capturing", "done": 5, "discovered": 9, "bytes_uploaded": 0,
                "types": {"configmaps": {"done": 5, "discovered": 9}}},
            "snapshot": null,
        });
        let out = render(&v, Kind::Show, Paint::OFF);
        fits(&out);
        assert!(out.contains("state     running"), "{out}");
        assert!(out.contains("capturing: 5/9 objects"), "{out}");
        assert!(out.contains("configmaps     5           9"), "{out}");
    }

    #[test]
    fn schedules_table() {
        let v = json!({"schedules": [
            {"id": "eu-west#0", "cluster": "eu-west", "cron": "0 * * * * *", "timezone": null,
             "source": "config", "last_fired_ms": null},
            {"id": "nightly", "cluster": "us-east", "cron": "0 0 2 * * *",
             "timezone": "Europe/Paris", "source": "api", "last_fired_ms": 1_700_000_000_000u64},
        ]});
        let out = render(&v, Kind::Schedules, Paint::OFF);
        fits(&out);
        assert!(
            out.contains("eu-west#0  eu-west  0 * * * * *  UTC"),
            "{out}"
        );
        assert!(
            out.contains("never") && out.contains("2023-11-14 22:13:20"),
            "{out}"
        );
    }
}
