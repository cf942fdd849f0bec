//! `meshguard check --action ...`: one decision from flags, for a person debugging a
//! policy (`why was this denied?`) or a script that only needs the exit code.
//!
//! Exit 0 when the decision allows the action, 4 when it does not (deny or
//! require_approval; in `--mode audit` every decision allows), 2 when the request itself
//! is invalid (an unknown trust tier, context that is not a JSON object, a bad time, a
//! control character): that is a usage error, not a denial.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_core::{Mode, PolicySet, Request, parse_instant_ms};

use crate::render::Renderer;
use crate::{explain, flags};

/// The request as flags. Every flag but `--action` needs `--action` (clap refuses the
/// rest with exit 2), so a stray flag never silently switches to the stdin protocol.
#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// Decide this one action (such as `write:email`) instead of reading stdin.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,

    /// The resource: a path, URL, address, command...
    #[arg(long, requires = "action")]
    resource: Option<String>,

    /// Context facts as a JSON object, such as '{"channel":"slack"}'.
    #[arg(long, value_name = "JSON", requires = "action")]
    context: Option<String>,

    /// The agent's tags, comma-separated (`--agent-tags claude-code,dev-agent`).
    #[arg(
        long = "agent-tags",
        value_name = "TAGS",
        value_delimiter = ',',
        requires = "action"
    )]
    agent_tags: Vec<String>,

    /// The agent's id.
    #[arg(long = "agent-id", value_name = "ID", requires = "action")]
    agent_id: Option<String>,

    /// The agent's trust tier: untrusted, verified, trusted or privileged.
    #[arg(long = "trust-tier", value_name = "TIER", requires = "action")]
    trust_tier: Option<String>,

    /// The agent's organisation id.
    #[arg(long = "org-id", value_name = "ID", requires = "action")]
    org_id: Option<String>,

    /// The instant of the request (RFC 3339), for time conditions.
    #[arg(long, value_name = "RFC3339", requires = "action")]
    time: Option<String>,

    /// `enforce` (default) or `audit` (allowed whatever the effect says).
    #[arg(long, value_enum, requires = "action")]
    mode: Option<ModeArg>,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    Enforce,
    Audit,
}

/// The request the flags describe, or what is wrong with them.
fn request(args: &RequestArgs) -> Result<Request, String> {
    let context = args
        .context
        .as_deref()
        .map(|text| flags::json_object(text, "--context"))
        .transpose()?;
    if let Some(t) = &args.time {
        parse_instant_ms(t).map_err(|e| format!("`--time`: {e}"))?;
    }
    Ok(Request {
        action: args.action.clone().unwrap_or_default(),
        resource: args.resource.clone(),
        context,
        agent: flags::agent(
            &args.agent_tags,
            args.agent_id.as_deref(),
            args.trust_tier.as_deref(),
            args.org_id.as_deref(),
        )?,
        time: args.time.clone(),
        mode: args.mode.map(|m| match m {
            ModeArg::Enforce => Mode::Enforce,
            ModeArg::Audit => Mode::Audit,
        }),
    })
}

/// Decides the request and prints the decision: JSON, or text with the explanation when
/// `explain` is set.
pub fn run(set: &PolicySet, args: &RequestArgs, explain: bool, json: bool) -> Result<ExitCode> {
    let request = match request(args) {
        Ok(r) => r,
        Err(problem) => return Ok(crate::refuse(&problem)),
    };
    let decision = set.decide(&request, explain);
    let mut out = io::stdout().lock();
    if json {
        let text = serde_json::to_string(&decision).context("serialising the decision")?;
        writeln!(out, "{text}").context("writing to stdout")?;
    } else {
        let r = Renderer::for_stdout();
        write!(out, "{}", explain::decision(&decision, &r)).context("writing to stdout")?;
        if let Some(e) = &decision.explanation {
            write!(out, "\n{}", explain::explanation(e, &r)).context("writing to stdout")?;
        }
    }
    Ok(crate::exit_for(&decision))
}
