//! `drill report`: the report as the server renders it, fetched raw; API errors read
//! from the JSON error shape.

use std::time::Duration;

use serde_json::Value;

use super::{ReportFormat, encode};
use crate::cli::ServerArgs;
use crate::cli::table::fit;
use crate::client::ClientError;

/// GET a raw (non-JSON) body; API errors are read from the JSON error shape.
async fn raw_get(args: &ServerArgs, path: &str) -> Result<String, ClientError> {
    let base = args.server.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let mut req = http.get(format!("{base}{path}"));
    if let Some(t) = &args.token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|source| ClientError::Unreachable {
            url: base.to_string(),
            source,
        })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| ClientError::Garbled {
        url: base.to_string(),
        why: e.to_string(),
    })?;
    if status >= 400 {
        return Err(api_error(status, &text));
    }
    Ok(text)
}

/// An error answer (`{"error":{"code","message"}}`, or anything else) as a client error.
pub(super) fn api_error(status: u16, body: &str) -> ClientError {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let err = &v["error"];
    ClientError::Api {
        status,
        code: err["code"].as_str().unwrap_or("unknown").to_string(),
        message: err["message"]
            .as_str()
            .map_or_else(|| fit(body.trim(), 200), str::to_string),
    }
}

pub(super) async fn report(
    args: &ServerArgs,
    id: &str,
    format: ReportFormat,
) -> anyhow::Result<i32> {
    let path = format!("/v1/drills/{}/report?format={}", encode(id), format.name());
    match raw_get(args, &path).await {
        Ok(body) => {
            print!("{body}");
            if !body.ends_with('\n') {
                println!();
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}
