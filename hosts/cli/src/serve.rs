//! `meshguard serve`: a thin launcher for the gateway, so people type one command name.
//!
//! The gateway is its own binary (`meshguard-gateway`: wasmtime and an HTTP server are
//! far more than the CLI should carry). It is looked up next to this executable first
//! (a release archive or `target/<profile>/` holds both), then on `PATH`; on Unix the
//! process is replaced (`exec`), so signals and the exit status are the gateway's own.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::EXIT_FAILED;

/// The gateway's file name on this platform.
const GATEWAY: &str = if cfg!(windows) {
    "meshguard-gateway.exe"
} else {
    "meshguard-gateway"
};

/// Arguments of `meshguard serve`: everything is passed to the gateway unchanged.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments for `meshguard-gateway` (see `meshguard serve -- --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

/// Finds the gateway and runs it with the arguments; a one-line error when it is missing.
pub fn run(args: &Args) -> Result<ExitCode> {
    let Some(gateway) = find() else {
        eprintln!(
            "error: cannot find `{GATEWAY}` next to this executable or on PATH; \
             build it with `cargo build --release -p meshguard-gateway`"
        );
        return Ok(ExitCode::from(EXIT_FAILED));
    };
    let mut command = Command::new(&gateway);
    command.args(&args.args);
    launch(command, &gateway)
}

/// Next to the current executable, else the first match on `PATH`.
fn find() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(GATEWAY)))
        .filter(|p| is_file(p));
    beside.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(GATEWAY))
            .find(|p| is_file(p))
    })
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file())
}

/// Replaces this process with the gateway (Unix); `exec` returns only on failure.
#[cfg(unix)]
fn launch(mut command: Command, gateway: &Path) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    eprintln!("error: cannot start `{}`: {error}", gateway.display());
    Ok(ExitCode::from(EXIT_FAILED))
}

/// Runs the gateway as a child and passes its exit status on (no `exec` here).
#[cfg(not(unix))]
fn launch(mut command: Command, gateway: &Path) -> Result<ExitCode> {
    match command.status() {
        Ok(status) => Ok(ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(EXIT_FAILED),
        )),
        Err(error) => {
            eprintln!("error: cannot start `{}`: {error}", gateway.display());
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}
