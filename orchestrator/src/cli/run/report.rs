//! `drill report`: the report as the server renders it (Markdown, HTML or JSON text).

use super::{ReportFormat, encode};
use crate::cli::ServerArgs;
use crate::client::ApiClient;

pub(super) async fn report(
    args: &ServerArgs,
    id: &str,
    format: ReportFormat,
) -> anyhow::Result<i32> {
    let path = format!("/v1/drills/{}/report?format={}", encode(id), format.name());
    match ApiClient::new(&args.server, args.token.clone())
        .get_text(&path)
        .await
    {
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
