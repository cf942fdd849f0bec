//! `meshguard`: write, check, test and debug policies, decide requests locally, and wire
//! agents (Claude Code's hooks, MCP clients) to policies with no network hop, all with
//! the same core every other host runs; and administer a running gateway (`agent`,
//! `policy`, `audit`, `approvals`: see [`admin`]).
//!
//! Exit codes are the same for every command, so scripts and CI can tell outcomes apart:
//! - `0`: ok (valid, allowed, every test passed, no warning that was made fatal);
//! - `1`: a check failed (a policy test failed, `lint --deny-warnings` found something),
//!   or the command itself could not finish (writing stdout broke, the gateway cannot be
//!   reached, refuses the admin token or answers an error);
//! - `2`: the input is at fault: a usage error (clap exits 2 itself), a bad policy, a path
//!   that cannot be read, a malformed tests file, a policy or request the gateway
//!   refuses as bad; and the Claude Code hook's block;
//! - `4`: the decision is not an allow (`check --action`, `policy test`: deny or
//!   require_approval).
//!
//! `--json` is accepted by every command (before or after its name) and puts one JSON
//! document on stdout instead of text; commands whose output is JSON anyway (the hook,
//! `schema`, the MCP server) ignore it. Colour is used only when the stream is a terminal
//! and `NO_COLOR` is unset. Each command lives in its own module; this file only parses
//! arguments and maps results to exit codes.

mod admin;
mod check;
mod check_one;
mod clock;
mod explain;
mod flags;
mod hook;
mod lint;
mod load;
mod mcp;
mod net;
mod paths;
mod render;
mod schema;
mod serve;
mod unit;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for a check that failed: a policy test, `lint --deny-warnings`.
const EXIT_FAILED: u8 = 1;

/// Exit status for input the user must fix: a bad policy, a missing path, bad usage.
const EXIT_BAD_INPUT: u8 = 2;

/// Exit status for a decision that does not allow the action.
const EXIT_DENIED: u8 = 4;

/// The exit status a decision means: the input's fault for an `invalid-request` deny, 0
/// for an allow (audit mode included), [`EXIT_DENIED`] otherwise. Shared by every command
/// that answers with one decision, so `check --action` and `policy test` agree.
fn exit_for(decision: &meshguard_core::Decision) -> ExitCode {
    if decision.origin == meshguard_core::Origin::InvalidRequest {
        ExitCode::from(EXIT_BAD_INPUT)
    } else if decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENIED)
    }
}

/// Refuses input the user must fix: one line on stderr, exit [`EXIT_BAD_INPUT`].
fn refuse(problem: &str) -> ExitCode {
    eprintln!("error: {}", render::clean(problem));
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Policy engine for AI agents: validate, lint and test policies, decide requests, guard
/// Claude Code and MCP clients.
#[derive(Debug, Parser)]
#[command(name = "meshguard", version = meshguard_core::VERSION, about)]
struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policy files and report every problem with its file, line and column.
    Validate(validate::Args),
    /// Find rules that can never decide, overlapping allow/deny pairs, patterns that can
    /// never match and likely typos.
    Lint(lint::Args),
    /// Decide one request given as flags (--action ...), or JSON requests read from stdin,
    /// one per line.
    Check(check::Args),
    /// Run policy unit tests: requests and the decisions they must get.
    Test(unit::Args),
    /// Claude Code integration: the PreToolUse hook and its installer.
    #[command(subcommand)]
    Hook(hook::Command),
    /// Serve governed tools (read, write, exec, fetch, audit, policy test) over MCP on stdio.
    McpServer(mcp::Args),
    /// Print the JSON Schema of policy files (for editors and CI).
    Schema,
    /// Start the gateway (`meshguard-gateway`, found next to this binary or on PATH).
    Serve(serve::Args),
    /// Gateway agents: create, list, show, revoke, rotate tokens, update.
    Agent(admin::agent::Args),
    /// Gateway policies: list, show, apply, delete, test a request, what an agent may do.
    Policy(admin::policy::Args),
    /// The gateway's audit log: query, tail (-f), export, stats, trace.
    Audit(admin::audit::Args),
    /// Requests waiting for a person: list, approve, deny.
    Approvals(admin::approvals::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args, json),
        Command::Lint(args) => lint::run(&args, json),
        Command::Check(args) => check::run(&args, json),
        Command::Test(args) => unit::run(&args, json),
        Command::Hook(command) => hook::run(command, json),
        Command::McpServer(args) => mcp::run(&args),
        Command::Schema => schema::run(),
        Command::Serve(args) => serve::run(&args),
        Command::Agent(args) => admin::agent::run(args, json),
        Command::Policy(args) => admin::policy::run(args, json),
        Command::Audit(args) => admin::audit::run(args, json),
        Command::Approvals(args) => admin::approvals::run(args, json),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // The reader went away (`meshguard lint ... | head`): nobody is left to tell.
            let broken_pipe = error.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            // A gateway command's failure, already worded, with its own exit code.
            if let Some(problem) = error.downcast_ref::<admin::Problem>() {
                eprintln!("error: {}", problem.message);
                return ExitCode::from(problem.code);
            }
            if !broken_pipe {
                // `{:#}` prints the whole context chain on one line.
                eprintln!("error: {error:#}");
            }
            ExitCode::from(EXIT_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
