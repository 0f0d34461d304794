//! The `tollgate` command line: `serve` (local server), `check` (validate a
//! config), `demo` (example config with in-process example backends),
//! `upstreams` (a running gateway's targets, through its admin API).

mod check;
mod demo;
mod logging;
mod serve;
mod token;
mod upstreams;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "tollgate", version, about = "An API gateway for Cloudflare Workers, AWS Lambda and your laptop")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Target {
    Cloudflare,
    Lambda,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway as a local server (state in memory).
    Serve {
        /// Config file (YAML or JSON).
        #[arg(short, long, default_value = "gateway.yaml")]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Validate a config: exit 0 with a summary, 1 with `file:line:col: message` per problem.
    Check {
        /// Config file (YAML or JSON).
        #[arg(default_value = "gateway.yaml")]
        config: PathBuf,
        /// Also check the config against a platform's limits.
        #[arg(long, value_enum)]
        target: Option<Target>,
    },
    /// Start the example config with in-process example backends and print curl commands.
    Demo {
        /// Address the gateway listens on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Mint an HS256 JWT for development.
    Token(token::TokenArgs),
    /// Show or change a running gateway's upstream targets (admin API).
    Upstreams {
        #[command(subcommand)]
        command: upstreams::UpstreamsCommand,
    },
    /// Print the stored form of an API key: `sha256:<64 hex>`.
    HashKey {
        /// The API key as clients send it.
        key: String,
    },
}

/// Runs `work` on a multi-threaded tokio runtime; an error is printed and exits 1.
pub(crate) fn run_async(work: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let result = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config, target } => check::run(&config, target),
        Command::Serve { config, listen } => {
            logging::init();
            serve::run_file(&config, listen)
        }
        Command::Demo { listen } => {
            logging::init();
            demo::run(listen)
        }
        Command::Token(args) => token::run(&args),
        Command::Upstreams { command } => upstreams::run(command),
        Command::HashKey { key } => {
            println!("{}", tollgate_core::api_key_stored_form(&key));
            ExitCode::SUCCESS
        }
    }
}
