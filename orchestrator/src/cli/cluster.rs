//! `lifeboat cluster list|show|fence|unfence` and the clusters table `status` shows too.

use clap::Subcommand;
use serde_json::Value;

use super::table::{Cell, Paint, Style, Table, fields, short_time, text};
use super::{Output, ServerArgs};
use crate::client::ApiClient;
use crate::executor::report::human_ms;

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
    let paint = Paint::stdout();
    match (args.output, &cmd) {
        (Output::Json, _) => println!("{}", serde_json::to_string_pretty(&v)?),
        (Output::Text, ClusterCommand::List) => print!(
            "{}",
            render_table(v["clusters"].as_array().map_or(&[][..], |a| a), paint)
        ),
        (Output::Text, ClusterCommand::Show { .. }) => print!("{}", render_show(&v, paint)),
        (Output::Text, _) => print!("{}", render_table(std::slice::from_ref(&v), paint)),
    }
    Ok(0)
}

/// A table of clusters: name, verdict, failover, and each vote as `node:view age`.
pub fn render_table(clusters: &[Value], paint: Paint) -> String {
    let mut t = Table::new(&["CLUSTER", "VERDICT", "FAILOVER", "VOTES (node:view age)"]).keep(&[0]);
    for c in clusters {
        let votes: Vec<String> = c["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let mark = if v["abstain"] == true {
                    " (abstains)"
                } else {
                    ""
                };
                format!(
                    "{}:{} {}{mark}",
                    v["node"],
                    v["observation"].as_str().unwrap_or("?"),
                    human_ms(v["age_ms"].as_u64().unwrap_or(0))
                )
            })
            .collect();
        let verdict = c["verdict"].as_str().unwrap_or("-");
        t.row(vec![
            text(&c["name"]).into(),
            Cell::verdict(verdict),
            failover(&c["failover"]),
            votes.join(", ").into(),
        ]);
    }
    t.render(paint)
}

/// The failover decision in a word (`pending`, `held`...), coloured like a run state.
fn failover(f: &Value) -> Cell {
    match f["state"].as_str() {
        None | Some("none") => "-".into(),
        Some(s) => Cell::state(s),
    }
}

/// One cluster: its verdict, every vote with its reason, recent verdict changes.
fn render_show(v: &Value, paint: Paint) -> String {
    let verdict = v["verdict"].as_str().unwrap_or("-");
    let mut rows = vec![
        ("cluster", text(&v["name"]).into()),
        ("context", text(&v["context"]).into()),
        ("verdict", Cell::verdict(verdict)),
    ];
    if let Some(since) = v["since_ms"].as_u64() {
        rows.push(("since", format!("{} UTC", short_time(since)).into()));
    }
    rows.push(("failover", failover(&v["failover"])));
    match &v["failover"]["reason"] {
        Value::String(r) => rows.push(("held", r.as_str().into())),
        _ => {
            if let Some(until) = v["failover"]["until_ms"].as_u64() {
                rows.push((
                    "cooldown",
                    format!("until {} UTC", short_time(until)).into(),
                ));
            }
        }
    }
    if let Some(d) = v["detection_ms"].as_u64() {
        rows.push(("detected", format!("in {}", human_ms(d)).into()));
    }
    let mut out = fields(&rows, paint);
    let mut votes = Table::new(&["NODE", "VIEW", "FOR", "AGE", "LATENCY", "COUNTED", "REASON"])
        .right(&[2, 3, 4]);
    for vote in v["votes"].as_array().into_iter().flatten() {
        let ms = |k: &str| vote[k].as_u64().map_or_else(|| "-".into(), human_ms);
        let obs = vote["observation"].as_str().unwrap_or("?");
        let counted = match (vote["abstain"] == true, vote["counted"] == true) {
            (true, _) => "abstains",
            (false, true) => "yes",
            (false, false) => "no (stale)",
        };
        votes.row(vec![
            text(&vote["node"]).into(),
            Cell::styled(obs, observation_style(obs)),
            ms("for_ms").into(),
            ms("age_ms").into(),
            ms("latency_ms").into(),
            counted.into(),
            text(&vote["reason"]).into(),
        ]);
    }
    if !votes.is_empty() {
        out.push('\n');
        out.push_str(&votes.render(paint));
    }
    let mut events = Table::new(&["#", "FROM", "TO", "AT (UTC)"])
        .right(&[0])
        .keep(&[3]);
    for e in v["events"].as_array().into_iter().flatten() {
        events.row(vec![
            text(&e["seq"]).into(),
            Cell::verdict(e["from"].as_str().unwrap_or("?")),
            Cell::verdict(e["to"].as_str().unwrap_or("?")),
            short_time(e["at_ms"].as_u64().unwrap_or(0)).into(),
        ]);
    }
    if !events.is_empty() {
        out.push_str("\nverdict changes\n");
        out.push_str(&events.render(paint));
    }
    out
}

fn observation_style(obs: &str) -> Option<Style> {
    match obs {
        "healthy" => Some(Style::Green),
        "unhealthy" => Some(Style::Red),
        "unknown" => Some(Style::Yellow),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::table::{MAX_WIDTH, width};

    fn cluster(name: &str, verdict: &str) -> Value {
        let vote = |node: u64| {
            json!({"node": node, "observation": "unhealthy", "abstain": node == 5,
                   "age_ms": 1_200, "for_ms": 8_000, "counted": node != 5, "latency_ms": 30,
                   "reason": "connection refused: ".repeat(8)})
        };
        json!({"name": name, "context": "kind-x", "verdict": verdict, "since_ms": 0,
               "failover": {"state": "held", "reason": "approval required"},
               "votes": (1..=5).map(vote).collect::<Vec<_>>(),
               "events": [{"seq": 7, "from": "Suspect", "to": verdict, "at_ms": 0}]})
    }

    #[test]
    fn table_fits_and_colours_verdicts() {
        let long = "a-cluster-name-that-is-really-quite-long-for-a-table-cell";
        let clusters = vec![cluster("eu-west", "Lost"), cluster(long, "Fenced")];
        let out = render_table(&clusters, Paint::OFF);
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
        assert!(out.contains(long), "{out}");
        assert!(out.contains("eu-west") && out.contains("Lost  ") && out.contains("held"));
        assert!(out.contains("1:unhealthy 1.2s"), "{out}");
        assert!(!out.contains('\x1b'));
        let coloured = render_table(&clusters, Paint::ON);
        assert!(coloured.contains("\x1b[31mLost\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[35mFenced\x1b[0m"), "{coloured}");
    }

    #[test]
    fn show_has_votes_with_reasons_and_changes() {
        let out = render_show(&cluster("eu-west", "Lost"), Paint::OFF);
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
        assert!(out.contains("verdict   Lost"), "{out}");
        assert!(out.contains("held      approval required"), "{out}");
        assert!(
            out.contains("abstains") && out.contains("connection refused"),
            "{out}"
        );
        assert!(out.contains("7  Suspect  Lost"), "{out}");
    }
}
