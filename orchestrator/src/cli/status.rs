//! `lifeboat status`: the group as one node sees it.

use serde_json::Value;

use super::{Output, ServerArgs};
use crate::client::ApiClient;

/// Print the status; exit 0, or 1 when the API could not answer.
pub async fn run(args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let Some(status) = super::answered(client.get("/v1/status").await) else {
        return Ok(1);
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        Output::Text => print!("{}", render(&status)),
    }
    Ok(0)
}

fn render(s: &Value) -> String {
    let raft = &s["raft"];
    let leader = match &s["leader"] {
        Value::Null => "none known".to_string(),
        l => format!("node {} ({})", l["id"], l["api"].as_str().unwrap_or("?")),
    };
    let mut out = format!(
        "node      {} ({}, term {})\nleader    {}\nlog       last {} · committed {} · applied {} · snapshot {}\n",
        s["node_id"],
        raft["state"].as_str().unwrap_or("?"),
        raft["current_term"],
        leader,
        opt(&raft["last_log_index"]),
        opt(&raft["committed_index"]),
        opt(&raft["last_applied_index"]),
        opt(&raft["snapshot_index"]),
    );
    out.push_str("\nMEMBERS\n  ID  ROLE     API                         RAFT\n");
    for m in s["members"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<3} {:<8} {:<27} {}\n",
            m["id"],
            m["role"].as_str().unwrap_or("?"),
            m["api"].as_str().unwrap_or("-"),
            m["raft"].as_str().unwrap_or("-"),
        ));
    }
    let clusters = s["clusters"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\nCLUSTERS ({})\n", clusters.len()));
    out.push_str(&super::cluster::render_table(&clusters));
    out
}

fn opt(v: &Value) -> String {
    if v.is_null() {
        "-".into()
    } else {
        v.to_string()
    }
}
