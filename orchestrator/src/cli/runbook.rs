//! `lifeboat runbook apply|list|show` (lint lives in `lifeboat_runbooks::lint_command`).

use super::{Output, RunbookCommand};
use crate::client::ApiClient;

/// Run a server-side runbook command; exit 0, 1 on any refusal.
pub async fn run(cmd: RunbookCommand) -> anyhow::Result<i32> {
    match cmd {
        RunbookCommand::Lint { .. } => unreachable!("handled offline by the caller"),
        RunbookCommand::Apply { files, server } => {
            let client = ApiClient::new(&server.server, server.token.clone());
            let mut failed = 0;
            for file in &files {
                if !apply_one(&client, file).await? {
                    failed += 1;
                }
            }
            Ok(i32::from(failed > 0))
        }
        RunbookCommand::List { server } => {
            let client = ApiClient::new(&server.server, server.token.clone());
            let Some(v) = super::answered(client.get("/v1/runbooks").await) else {
                return Ok(1);
            };
            if server.output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{:<28} {:<20} UPDATED BY", "NAME", "DIGEST");
                for r in v["runbooks"].as_array().into_iter().flatten() {
                    let digest = r["digest"].as_str().unwrap_or("?");
                    println!(
                        "{:<28} {:<20} {}",
                        r["name"].as_str().unwrap_or("?"),
                        &digest[..digest.len().min(19)],
                        r["updated_by"].as_str().unwrap_or("?")
                    );
                }
            }
            Ok(0)
        }
        RunbookCommand::Show { name, server } => {
            let client = ApiClient::new(&server.server, server.token.clone());
            match client.get(&format!("/v1/runbooks/{name}")).await {
                Ok(v) if server.output == Output::Json => {
                    println!("{}", serde_json::to_string_pretty(&v)?)
                }
                Ok(v) => print!("{}", v["yaml"].as_str().unwrap_or_default()),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(1);
                }
            }
            Ok(0)
        }
    }
}

/// Lint locally (so nothing broken is sent), then PUT. True when stored.
async fn apply_one(client: &ApiClient, file: &std::path::Path) -> anyhow::Result<bool> {
    let yaml = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let source = file.display().to_string();
    let report = lifeboat_runbooks::parse_and_lint(&source, &yaml, &lifeboat_runbooks::NoPlugins);
    if !report.is_ok() {
        eprint!("{}", lifeboat_runbooks::render_human(&report, &yaml));
        eprintln!("{source}: not applied ({} error(s))", report.error_count());
        return Ok(false);
    }
    let name = report
        .runbook
        .as_ref()
        .map(|r| r.metadata.name.clone())
        .unwrap_or_default();
    match client
        .put_body(&format!("/v1/runbooks/{name}"), "application/yaml", yaml)
        .await
    {
        Ok(v) => {
            println!("{name}: stored ({})", v["digest"].as_str().unwrap_or("?"));
            Ok(true)
        }
        Err(e) => {
            eprintln!("{source}: {e}");
            Ok(false)
        }
    }
}
