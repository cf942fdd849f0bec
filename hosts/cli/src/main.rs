//! `meshguard`: validate policy files and decide requests locally, with the same core
//! every other host runs.
//!
//! Exit codes, so scripts and CI can tell outcomes apart:
//! - `0`: the policies are valid (and, for `check`, every request line was answered);
//! - `2`: the input is at fault: a bad policy, a path that cannot be read, a usage error
//!   (clap exits 2 for those itself);
//! - `1`: the command itself failed (reading stdin or writing stdout broke).
//!
//! Each command lives in its own module; this file only parses arguments and maps
//! results to exit codes.

mod check;
mod load;
mod render;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for input the user must fix: a bad policy, a missing path.
const EXIT_BAD_INPUT: u8 = 2;

/// Policy engine for AI agents: validate policies, decide requests.
#[derive(Debug, Parser)]
#[command(name = "meshguard", version = meshguard_core::VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policy files and report every problem with its file, line and column.
    Validate(validate::Args),
    /// Decide JSON requests read from stdin, one per line, against a set of policies.
    Check(check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Check(args) => check::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
