//! `meshguard-gateway`: serve policy decisions, the audit log and the admin API over HTTP.
//! Every setting is a flag and an environment variable (`--help` lists them).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use meshguard_gateway::config::Args;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let (args, warnings) = Args::from_env();
    let filter = EnvFilter::try_new(&args.log).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    for w in &warnings {
        tracing::warn!("configuration: {w}");
    }
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("meshguard-gateway: invalid configuration: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("meshguard-worker")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshguard-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(meshguard_gateway::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshguard-gateway: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
