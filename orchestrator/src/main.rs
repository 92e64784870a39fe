//! The `lifeboat` binary: parses the command line, installs the tracing subscriber and
//! runs the command.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let filter = EnvFilter::try_from_env("LIFEBOAT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // One process-wide TLS provider, whatever backends the dependency tree compiles in.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = lifeboat::cli::Cli::parse();
    let code = match lifeboat::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
