//! `meshguard mcp-server`: governed tools over the Model Context Protocol on stdio, with
//! the official Rust SDK (`rmcp`), for clients such as Claude Code:
//!
//! ```json
//! {"mcpServers": {"meshguard": {"command": "meshguard",
//!   "args": ["mcp-server", "--policy", "./policies/claude-code-dev-assistant.yaml"]}}}
//! ```
//!
//! The policies are loaded once at start (exit 2 with diagnostics when they are bad);
//! stdout carries only the protocol. See [`server`] for the tools.

mod log;
mod ops;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use rmcp::ServiceExt;

use crate::flags::AgentFlags;
use crate::{EXIT_BAD_INPUT, load};

/// Arguments of `meshguard mcp-server`. (Its `--agent-id` help has always been the
/// short one; kept so the help text does not change.)
#[derive(Debug, clap::Args)]
#[command(mut_arg("agent_id", |a| a.help("The agent's id")))]
pub struct Args {
    /// A policy file or directory; repeat to load several, in the order given.
    #[arg(long = "policy", required = true, value_name = "PATH")]
    policies: Vec<PathBuf>,

    /// The workspace: relative paths are taken from it, commands run in it, and paths
    /// under it are decided as `./…` (default: the current directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(flatten)]
    agent: AgentFlags,

    /// Seconds `governed_exec` lets a command run.
    #[arg(long = "exec-timeout", value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    exec_timeout: u64,
}

/// Loads the policies and serves until the client closes stdin.
pub fn run(args: &Args) -> Result<ExitCode> {
    let bad = |problem: String| Ok(crate::refuse(&problem));
    let Some(set) = load::load_or_report(&args.policies).context("writing to stderr")? else {
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    };
    let root = match &args.root {
        Some(r) => r.clone(),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let root = match std::fs::canonicalize(&root) {
        Ok(r) if r.is_dir() => r,
        Ok(r) => return bad(format!("`--root {}` is not a directory", r.display())),
        Err(e) => return bad(format!("cannot use `--root {}`: {e}", root.display())),
    };
    let Some(root) = root.to_str().map(str::to_owned) else {
        return bad(format!("`--root {}` is not valid UTF-8", root.display()));
    };
    let agent = match args.agent.agent() {
        Ok(a) => a,
        Err(problem) => return bad(problem),
    };
    let governor = server::Governor::new(set, root, agent, Duration::from_secs(args.exec_timeout));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let service = governor
            .serve(rmcp::transport::stdio())
            .await
            .context("starting the MCP session")?;
        service.waiting().await.context("serving MCP")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
