//! `lifeboat status`: the group as one node sees it.

use serde_json::Value;

use super::table::{Paint, Table, fields, text};
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
        Output::Text => print!("{}", render(&status, Paint::stdout())),
    }
    Ok(0)
}

fn render(s: &Value, paint: Paint) -> String {
    let raft = &s["raft"];
    let leader_id = s["leader"]["id"].as_u64();
    let leader = match &s["leader"] {
        Value::Null => "none known (no quorum, or an election is under way)".to_string(),
        l => format!("node {} ({})", l["id"], l["api"].as_str().unwrap_or("?")),
    };
    let mut out = fields(
        &[
            (
                "node",
                format!(
                    "{} ({}, term {})",
                    s["node_id"],
                    raft["state"].as_str().unwrap_or("?"),
                    text(&raft["current_term"])
                )
                .into(),
            ),
            ("leader", leader.into()),
            (
                "log",
                format!(
                    "last {} · committed {} · applied {} · snapshot {}",
                    text(&raft["last_log_index"]),
                    text(&raft["committed_index"]),
                    text(&raft["last_applied_index"]),
                    text(&raft["snapshot_index"]),
                )
                .into(),
            ),
        ],
        paint,
    );
    let mut members = Table::new(&["ID", "ROLE", "API", "RAFT"]).indent(2);
    for m in s["members"].as_array().into_iter().flatten() {
        let role = m["role"].as_str().unwrap_or("?");
        let role = if m["id"].as_u64().is_some() && m["id"].as_u64() == leader_id {
            format!("{role}, leader")
        } else {
            role.to_string()
        };
        members.row(vec![
            text(&m["id"]).into(),
            role.into(),
            text(&m["api"]).into(),
            text(&m["raft"]).into(),
        ]);
    }
    out.push_str("\nMEMBERS\n");
    out.push_str(&members.render(paint));
    let clusters = s["clusters"].as_array().map_or(&[][..], |a| a);
    out.push_str(&format!("\nCLUSTERS ({})\n", clusters.len()));
    out.push_str(&super::cluster::render_table(clusters, paint));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::table::{MAX_WIDTH, width};

    #[test]
    fn status_names_leader_members_and_clusters_in_100_columns() {
        let long = "x".repeat(120);
        let s = json!({
            "node_id": 2,
            "raft": {"state": "Follower", "current_term": 3, "last_log_index": 40,
                     "committed_index": 40, "last_applied_index": 40, "snapshot_index": null},
            "leader": {"id": 1, "api": "http://127.0.0.1:7101"},
            "members": [
                {"id": 1, "role": "voter", "raft": "127.0.0.1:7201", "api": "http://127.0.0.1:7101"},
                {"id": 2, "role": "voter", "raft": long, "api": null},
            ],
            "clusters": [{"name": "eu-west", "verdict": "Healthy", "failover": {"state": "none"},
                          "votes": []}],
        });
        let out = render(&s, Paint::OFF);
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
        assert!(
            out.contains("leader  node 1 (http://127.0.0.1:7101)"),
            "{out}"
        );
        assert!(
            out.contains("1   voter, leader  http://127.0.0.1:7101"),
            "{out}"
        );
        assert!(
            out.contains("snapshot -") && out.contains("CLUSTERS (1)"),
            "{out}"
        );
        assert!(out.contains("eu-west  Healthy"), "{out}");
        let coloured = render(&s, Paint::ON);
        assert!(coloured.contains("\x1b[32mHealthy\x1b[0m"), "{coloured}");
    }
}
