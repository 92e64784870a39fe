//! `lifeboat cluster list|show|fence|unfence`.

use clap::Subcommand;
use serde_json::Value;

use super::{Output, ServerArgs};
use crate::client::ApiClient;

/// `lifeboat cluster ...`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Every cluster with its verdict and votes.
    List,
    /// One cluster: verdict, votes, recent verdict changes.
    Show {
        /// Cluster name.
        name: String,
    },
    /// Fence a cluster by hand (operator).
    Fence {
        /// Cluster name.
        name: String,
    },
    /// Release a fenced cluster (operator).
    Unfence {
        /// Cluster name.
        name: String,
    },
}

/// Run a cluster command; exit 0, or 1 when the API refused or could not answer.
pub async fn run(cmd: ClusterCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = ApiClient::new(&args.server, args.token.clone());
    let answer = match &cmd {
        ClusterCommand::List => client.get("/v1/clusters").await,
        ClusterCommand::Show { name } => client.get(&format!("/v1/clusters/{name}")).await,
        ClusterCommand::Fence { name } => client.post(&format!("/v1/clusters/{name}/fence")).await,
        ClusterCommand::Unfence { name } => {
            client.post(&format!("/v1/clusters/{name}/unfence")).await
        }
    };
    let Some(v) = super::answered(answer) else {
        return Ok(1);
    };
    match (args.output, &cmd) {
        (Output::Json, _) => println!("{}", serde_json::to_string_pretty(&v)?),
        (Output::Text, ClusterCommand::List) => {
            print!(
                "{}",
                render_table(v["clusters"].as_array().map_or(&[][..], |a| a))
            )
        }
        (Output::Text, _) => {
            print!("{}", render_table(std::slice::from_ref(&v)));
            for e in v["events"].as_array().into_iter().flatten() {
                println!(
                    "  #{:<4} {} -> {}  at {}",
                    e["seq"], e["from"], e["to"], e["at_ms"]
                );
            }
        }
    }
    Ok(0)
}

/// A table of clusters: name, verdict, failover, and each vote as node:observation.
pub fn render_table(clusters: &[Value]) -> String {
    let mut out = format!(
        "{:<16} {:<8} {:<10} VOTES (node:view age)\n",
        "CLUSTER", "VERDICT", "FAILOVER"
    );
    for c in clusters {
        let votes: Vec<String> = c["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let obs = v["observation"].as_str().unwrap_or("?");
                let mark = if v["abstain"].as_bool() == Some(true) {
                    " (abstains)"
                } else {
                    ""
                };
                format!("{}:{obs} {}ms{mark}", v["node"], v["age_ms"])
            })
            .collect();
        out.push_str(&format!(
            "{:<16} {:<8} {:<10} {}\n",
            c["name"].as_str().unwrap_or("?"),
            c["verdict"].as_str().unwrap_or("-"),
            c["failover"]["state"].as_str().unwrap_or("-"),
            votes.join(", ")
        ));
    }
    out
}
