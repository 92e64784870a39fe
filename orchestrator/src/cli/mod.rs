//! The `lifeboat` command line: argument definitions and dispatch.

mod cluster;
mod dev;
mod plugin;
mod progress;
mod run;
mod runbook;
mod snapshot;
mod status;
mod table;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use dev::DevArgs;

/// Lifeboat: disaster recovery and failover for fleets of Kubernetes clusters.
#[derive(Debug, Parser)]
#[command(name = "lifeboat", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    Text,
    /// JSON, for scripts.
    Json,
}

/// Where the API is and which token to use.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// API base URL of any node.
    #[arg(
        long,
        env = "LIFEBOAT_SERVER",
        default_value = "http://127.0.0.1:7101",
        global = true
    )]
    pub server: String,
    /// Bearer token (viewer role is enough for reads).
    #[arg(long, env = "LIFEBOAT_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub output: Output,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one orchestrator node.
    Serve {
        /// The node's config file (YAML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Check a config file and exit (0 valid, 1 invalid).
    CheckConfig {
        /// The node's config file (YAML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Show the group: leader, term, members, clusters.
    Status(ServerArgs),
    /// Run a whole local fleet (3 nodes) as child processes.
    Dev(DevArgs),
    /// Work with runbooks.
    #[command(subcommand)]
    Runbook(RunbookCommand),
    /// Snapshots: list, take, show, restore (with --dry-run), delete.
    Snapshot {
        /// What to do.
        #[command(subcommand)]
        command: snapshot::SnapshotCommand,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// WebAssembly plugins: push, list.
    Plugin {
        /// What to do.
        #[command(subcommand)]
        command: PluginCommand,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Runs: start, list, show, watch, approve, reject, cancel.
    Run {
        /// What to do.
        #[command(subcommand)]
        command: run::RunCommand,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// DR drills: start, list, report.
    Drill {
        /// What to do.
        #[command(subcommand)]
        command: run::DrillCommand,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Cluster verdicts, votes and fencing.
    Cluster {
        /// What to do.
        #[command(subcommand)]
        command: cluster::ClusterCommand,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print the API's OpenAPI document (JSON), as served at `/v1/openapi.json`:
    /// `lifeboat openapi > docs/openapi.json`.
    #[command(hide = true)]
    Openapi,
}

/// `lifeboat runbook ...`.
#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// Check runbook files offline; exit 0 clean, 1 on errors (or warnings with
    /// --deny-warnings), 2 when a file cannot be read.
    Lint {
        /// Runbook YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format (`json` for editors and CI).
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Output,
        /// Fail on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Lint, then store runbooks in the catalog (admin).
    Apply {
        /// Runbook YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List stored runbooks.
    List {
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a stored runbook (its YAML with `-o text`).
    Show {
        /// Runbook name.
        name: String,
        /// Server and token.
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Run the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::CheckConfig { config } => match crate::config::load(&config) {
            Ok(c) => {
                println!(
                    "{}: valid (node {}, {} peers)",
                    config.display(),
                    c.node_id,
                    c.peers.len()
                );
                Ok(0)
            }
            Err(e) => {
                eprint!("{e}");
                Ok(1)
            }
        },
        Command::Status(args) => status::run(args).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Cluster { command, server } => cluster::run(command, server).await,
        Command::Snapshot { command, server } => snapshot::run(command, server).await,
        Command::Run { command, server } => run::run(command, server).await,
        Command::Drill { command, server } => run::drill(command, server).await,
        Command::Plugin { command, server } => plugin(command, server).await,
        Command::Openapi => {
            print!("{}", crate::api::document_json());
            Ok(0)
        }
        Command::Runbook(RunbookCommand::Lint {
            files,
            output,
            deny_warnings,
        }) => {
            let json = output == Output::Json;
            let mut out = std::io::stdout().lock();
            Ok(lifeboat_runbooks::lint_command(
                &files,
                json,
                deny_warnings,
                &mut out,
            ))
        }
        Command::Runbook(cmd) => runbook::run(cmd).await,
    }
}

async fn serve(config: PathBuf) -> anyhow::Result<i32> {
    let cfg = match crate::config::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return Ok(2);
        }
    };
    crate::node::serve(cfg, shutdown_signal()).await?;
    Ok(0)
}

/// The API's answer, or `None` after printing the error on stderr (the command then
/// exits 1).
pub(crate) fn answered(
    r: Result<serde_json::Value, crate::client::ClientError>,
) -> Option<serde_json::Value> {
    r.map_err(|e| eprintln!("error: {e}")).ok()
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// `lifeboat plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Register a WebAssembly component (admin); prints its `uses:` line.
    Push {
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Registered plugins.
    List,
}

async fn plugin(cmd: PluginCommand, args: ServerArgs) -> anyhow::Result<i32> {
    let client = crate::client::ApiClient::new(&args.server, args.token.clone());
    let answer = match &cmd {
        PluginCommand::Push { file } => {
            let bytes = std::fs::read(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            client
                .put_body("/v1/plugins", "application/wasm", bytes)
                .await
        }
        PluginCommand::List => client.get("/v1/plugins").await,
    };
    let Some(v) = answered(answer) else {
        return Ok(1);
    };
    match (args.output, &cmd) {
        (Output::Json, _) => println!("{}", serde_json::to_string_pretty(&v)?),
        (Output::Text, PluginCommand::Push { .. }) => {
            println!(
                "registered; use it in a runbook step as:\n  uses: {}",
                v["uses"].as_str().unwrap_or("?")
            );
        }
        (Output::Text, PluginCommand::List) => {
            print!("{}", plugin::render_list(&v, table::Paint::stdout()))
        }
    }
    Ok(0)
}
