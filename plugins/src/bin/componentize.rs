//! `lifeboat-componentize`: build tooling for C plugins.
//!
//! ```text
//! lifeboat-componentize bindgen --wit plugins/wit --out DIR        # C bindings (plugin.c, plugin.h)
//! lifeboat-componentize new --wit plugins/wit CORE.wasm -o OUT.wasm  # core module -> component
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build Lifeboat plugin components from C (wasm32-wasi) core modules")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate C bindings for the plugin world.
    Bindgen {
        /// Directory holding the WIT package.
        #[arg(long)]
        wit: PathBuf,
        /// World name (default: the package's only world).
        #[arg(long)]
        world: Option<String>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Turn a wasm32-wasi reactor core module into a component.
    New {
        /// Directory holding the WIT package.
        #[arg(long)]
        wit: PathBuf,
        /// World name (default: the package's only world).
        #[arg(long)]
        world: Option<String>,
        /// The core module.
        module: PathBuf,
        /// Output component.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Bindgen { wit, world, out } => {
            for f in lifeboat_plugins::componentize::c_bindings(&wit, world.as_deref(), &out)? {
                println!("{}", f.display());
            }
        }
        Cmd::New {
            wit,
            world,
            module,
            output,
        } => {
            let core =
                std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
            let component =
                lifeboat_plugins::componentize::componentize(&core, &wit, world.as_deref())?;
            std::fs::write(&output, component)
                .with_context(|| format!("writing {}", output.display()))?;
        }
    }
    Ok(())
}
