//! `opora`: one binary for the server, its workers and the administration commands.

use clap::Parser;
use opora::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("opora: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    opora::server::install_crypto();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("opora: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opora: {e:#}");
            match e.downcast_ref::<opora::cli::ExitStatus>() {
                Some(status) => std::process::ExitCode::from(status.code),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
