//! `run list` and `drill list`: the runs table.

use serde_json::Value;

use super::now_ms;
use crate::cli::answered;
use crate::cli::table::{Cell, Paint, Table, short_time};
use crate::client::ApiClient;
use crate::executor::report::human_ms;

pub(super) async fn list(
    client: &ApiClient,
    json_out: bool,
    path: &str,
    key: &str,
) -> anyhow::Result<i32> {
    let Some(v) = answered(client.get(path).await) else {
        return Ok(1);
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!(
            "{}",
            render_list(
                v[key].as_array().map_or(&[][..], |a| a),
                now_ms(),
                Paint::stdout()
            )
        );
    }
    Ok(0)
}

/// The runs table (at most 100 columns), states coloured.
pub(super) fn render_list(runs: &[Value], now: u64, paint: Paint) -> String {
    if runs.is_empty() {
        return "(none)\n".into();
    }
    let mut t = Table::new(&[
        "ID",
        "RUNBOOK",
        "STATE",
        "TRIGGER",
        "CREATED (UTC)",
        "DURATION",
    ])
    .right(&[5])
    .keep(&[0, 4]);
    for r in runs {
        let created = r["created_at_ms"].as_u64().unwrap_or(0);
        let duration = match (r["finished_at_ms"].as_u64(), r["state"].as_str()) {
            (Some(f), _) => human_ms(f.saturating_sub(created)),
            (None, Some("running")) => human_ms(now.saturating_sub(created)),
            _ => "-".into(),
        };
        t.row(vec![
            r["id"].as_str().unwrap_or("?").into(),
            r["runbook"].as_str().unwrap_or("?").into(),
            Cell::state(r["state"].as_str().unwrap_or("?")),
            trigger(&r["trigger"]).into(),
            short_time(created).into(),
            duration.into(),
        ]);
    }
    t.render(paint)
}

pub(super) fn trigger(t: &Value) -> String {
    match t["type"].as_str() {
        Some("cluster_lost") => format!("lost:{}", t["cluster"].as_str().unwrap_or("?")),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}
