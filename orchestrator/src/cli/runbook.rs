//! `lifeboat runbook apply|list|show` (lint lives in `lifeboat_runbooks::lint_command`).

use serde_json::Value;

use super::table::{Paint, Table, short_time, text};
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
                print!("{}", render_list(&v, Paint::stdout()));
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

/// Stored runbooks: name, short digest, last change.
fn render_list(v: &Value, paint: Paint) -> String {
    let mut t = Table::new(&["NAME", "DIGEST", "UPDATED (UTC)", "BY"]).keep(&[0, 1, 2]);
    for r in v["runbooks"].as_array().into_iter().flatten() {
        let digest = text(&r["digest"]);
        t.row(vec![
            text(&r["name"]).into(),
            digest.chars().take(19).collect::<String>().into(),
            r["updated_at_ms"]
                .as_u64()
                .map_or_else(|| "-".into(), short_time)
                .into(),
            text(&r["updated_by"]).into(),
        ]);
    }
    if t.is_empty() {
        return "no runbooks stored: add one with `lifeboat runbook apply FILE`\n".into();
    }
    t.render(paint)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::table::{MAX_WIDTH, width};

    #[test]
    fn list_shows_short_digests_and_fits() {
        let name = "failover-".repeat(15);
        let v = json!({"runbooks": [{"name": name, "digest": format!("sha256:{}", "ab".repeat(32)),
            "updated_at_ms": 1_700_000_000_000u64, "updated_by": "admin"}]});
        let out = render_list(&v, Paint::OFF);
        for line in out.lines() {
            assert!(width(line) <= MAX_WIDTH, "{line}");
        }
        assert!(
            out.contains("sha256:abababababab  2023-11-14 22:13:20  admin"),
            "{out}"
        );
        assert!(out.contains('…'), "{out}");
    }
}
