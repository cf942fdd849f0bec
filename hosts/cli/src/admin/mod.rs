//! The gateway admin commands: `agent`, `policy`, `audit` and `approvals`, talking to a
//! running `meshguard-gateway` over its admin API (`hosts/gateway/API.md`).
//!
//! Every command prints the gateway's JSON with `--json` and aligned text otherwise.
//! Failures are one line naming the problem, with the CLI's exit codes: 1 when the
//! gateway cannot be reached, refuses the admin token or answers an error, 2 for input
//! the user must fix (bad flags, a policy the gateway refuses, a request it calls bad),
//! 4 for a `policy test` whose decision is not an allow.

pub mod agent;
mod allowed;
pub mod approvals;
pub mod audit;
mod client;
mod output;
pub mod policy;
mod table;

use std::fmt;

use client::{Client, Conn};

/// A failure already worded for the user, with the exit code it means.
#[derive(Debug)]
pub struct Problem {
    /// The process exit code.
    pub code: u8,
    /// One line, naming the problem.
    pub message: String,
}

impl Problem {
    /// A problem with its exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// An admin command's arguments: the connection flags every one of them takes, then its
/// subcommand (`agent`'s, `policy`'s ...).
#[derive(Debug, clap::Args)]
pub struct Args<C: clap::Subcommand> {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    command: C,
}

impl<C: clap::Subcommand> Args<C> {
    /// The gateway client the flags describe, and the subcommand to run with it.
    fn split(self, json: bool) -> anyhow::Result<(Client, C)> {
        Ok((Client::new(&self.conn, json)?, self.command))
    }
}
