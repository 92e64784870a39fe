//! The commands that change a run: start a run or drill, approve or reject.

use serde_json::{Value, json};

use super::params::params_map;
use super::{Which, encode};
use crate::cli::answered;
use crate::client::ApiClient;

/// POST a start; prints the id (or the JSON answer). None after printing an error.
pub(super) async fn start(
    client: &ApiClient,
    json_out: bool,
    path: &str,
    runbook: &str,
    params: Vec<(String, Value)>,
) -> Option<String> {
    let params = params_map(params)
        .map_err(|e| eprintln!("error: {e}"))
        .ok()?;
    let body = json!({"runbook": runbook, "params": params});
    let v = answered(client.post_json(path, &body).await)?;
    let id = v["id"].as_str().unwrap_or_default().to_string();
    if json_out {
        println!("{v}");
    } else {
        println!("{id}");
        match v["state"].as_str() {
            Some("held") => eprintln!(
                "{id} is held: its start needs approval (`lifeboat run approve {id}` or \
                 `lifeboat run reject {id}`)"
            ),
            Some("queued") => {
                eprintln!("{id} is queued: it starts when the run holding its concurrency key ends")
            }
            _ => {}
        }
    }
    Some(id)
}

pub(super) async fn decide(
    client: &ApiClient,
    json_out: bool,
    id: &str,
    which: Which,
    approve: bool,
) -> anyhow::Result<i32> {
    let verb = if approve { "approve" } else { "reject" };
    let path = format!("/v1/runs/{}/{verb}", encode(id));
    let answer = if which.step.is_none() && which.item.is_none() {
        client.post(&path).await
    } else {
        let mut body = serde_json::Map::new();
        if let Some(s) = &which.step {
            body.insert("step".into(), json!(s));
        }
        if let Some(i) = which.item {
            body.insert("item".into(), json!(i));
        }
        client.post_json(&path, &Value::Object(body)).await
    };
    let Some(v) = answered(answer) else {
        return Ok(1);
    };
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let what = match v["step"].as_str() {
        Some(s) => format!("step `{s}`"),
        None => "its start".into(),
    };
    let done = if approve { "approved" } else { "rejected" };
    println!(
        "{id}: {done} {what} (run is {})",
        v["state"].as_str().unwrap_or("?")
    );
    Ok(0)
}
