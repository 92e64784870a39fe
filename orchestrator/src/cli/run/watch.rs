//! `run watch`: follow `GET /v1/runs/{id}/events`, reconnecting when the stream drops,
//! until the run ends; hint how to decide an approval that starts waiting.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;

use super::encode;
use super::sse::SseParser;
use super::watcher::{Watcher, state_line};
use crate::cli::table::Paint;
use crate::cli::{Output, ServerArgs};
use crate::client::{ApiClient, ClientError};

/// Follow the run's events until it ends; exit 0 when it succeeded.
pub(super) async fn watch(args: &ServerArgs, client: &ApiClient, id: &str) -> anyhow::Result<i32> {
    let json = args.output == Output::Json;
    let mut w = Watcher {
        json,
        paint: if json { Paint::OFF } else { Paint::stdout() },
        ..Watcher::default()
    };
    let mut hinted: HashSet<String> = HashSet::new();
    let mut failures = 0u32;
    let mut last_error = String::new();
    while w.final_state.is_none() {
        match follow(client, id, &mut w, &mut hinted).await {
            Ok(got_events) => {
                if got_events {
                    failures = 0;
                }
            }
            Err(Stop::Fatal(e)) => {
                eprintln!("error: {e}");
                return Ok(1);
            }
            Err(Stop::Retry(e)) => last_error = e,
        }
        if w.final_state.is_some() {
            break;
        }
        failures += 1;
        if failures > 10 {
            // The stream is gone; the run may still have ended.
            if let Ok(v) = client.get(&format!("/v1/runs/{}", encode(id))).await
                && let Some(s) = v["state"].as_str()
                && matches!(s, "succeeded" | "failed" | "cancelled")
            {
                println!("{}", state_line(&v, s, w.paint));
                return Ok(i32::from(s != "succeeded"));
            }
            eprintln!(
                "error: lost the event stream of run {id} at {}{}; the run goes on: follow it \
                 again with `lifeboat run watch {id}`",
                args.server,
                if last_error.is_empty() {
                    String::new()
                } else {
                    format!(" ({last_error})")
                }
            );
            return Ok(1);
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(failures.min(4)))).await;
    }
    Ok(i32::from(w.final_state.as_deref() != Some("succeeded")))
}

/// Why following the stream stopped.
enum Stop {
    /// Try again (connection lost or refused, server busy).
    Retry(String),
    /// Give up (unknown run, bad token...).
    Fatal(ClientError),
}

/// One connection to the event stream; Ok(true) when it delivered events.
async fn follow(
    client: &ApiClient,
    id: &str,
    w: &mut Watcher,
    hinted: &mut HashSet<String>,
) -> Result<bool, Stop> {
    let resp = match client
        .get_stream(&format!("/v1/runs/{}/events", encode(id)))
        .await
    {
        Ok(r) => r,
        Err(e @ ClientError::Api { status, .. }) if status < 500 => return Err(Stop::Fatal(e)),
        Err(e) => return Err(Stop::Retry(e.to_string())),
    };
    let mut stream = resp.bytes_stream();
    let mut parser = SseParser::default();
    let mut got = false;
    // The server sends a keep-alive every 15 s: silence for longer means a dead link.
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(45), stream.next()).await {
        let chunk = match next {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(Stop::Retry(e.to_string())),
            None => return Ok(got),
        };
        for e in parser.push(&chunk) {
            got = true;
            for line in w.handle(&e) {
                println!("{line}");
            }
            if e.event == "journal" && e.data.contains("\"stepStarted\"") && !w.json {
                hint_approval(client, id, hinted).await;
            }
        }
    }
    Err(Stop::Retry("no data for 45 s".into()))
}

/// If an approval step is now waiting, say how to decide it (once per attempt).
async fn hint_approval(client: &ApiClient, id: &str, hinted: &mut HashSet<String>) {
    let Ok(v) = client.get(&format!("/v1/runs/{}", encode(id))).await else {
        return;
    };
    for a in v["open"].as_array().into_iter().flatten() {
        if a["uses"] != "approval" {
            continue;
        }
        let key = format!("{}#{}#{}", a["step_id"], a["item"], a["attempt"]);
        if hinted.insert(key) {
            let step = a["step_id"].as_str().unwrap_or("?");
            println!(
                "         waiting for approval: {} (or reject)",
                super::show::approve_command(id, step, a["item"].as_u64())
            );
        }
    }
}
