//! Claude Code integration: the `PreToolUse` hook ([`claude`]) with its tool mapping
//! ([`tools`]), audit trail ([`audit`]) and supervising process ([`failsafe`]), and the
//! installer that registers it in `.claude/settings.json` ([`install`]).

mod audit;
mod claude;
mod failsafe;
mod gateway;
mod install;
mod tools;

use std::process::ExitCode;

use anyhow::Result;

/// `meshguard hook ...` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Answer Claude Code's PreToolUse hook: tool call JSON on stdin, decision on stdout.
    ClaudeCode(claude::Args),
    /// Register the hook in .claude/settings.json (other settings are kept).
    Install(install::Args),
}

/// Runs a hook subcommand. The hook itself never fails with an error: every problem,
/// its own process failing included, becomes a block (see [`claude`], [`failsafe`]).
pub fn run(command: Command, json: bool) -> Result<ExitCode> {
    match command {
        Command::ClaudeCode(args) => Ok(failsafe::run(&args)),
        Command::Install(args) => install::run(&args, json),
    }
}
