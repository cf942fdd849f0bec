//! `meshguard hook claude-code`: Claude Code's `PreToolUse` hook, decided locally.
//!
//! Claude Code runs the hook before every tool call with a JSON description on stdin.
//! The hook maps the call to an action and resource ([`super::tools`]), decides it with
//! the core against the policies, and answers in Claude Code's format on stdout:
//!
//! ```json
//! {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny",
//!  "permissionDecisionReason":"MeshGuard: Access to credential files is prohibited (policy `claude-code-file-policy`, rule `claude-code-file-policy#3`)"}}
//! ```
//!
//! `allow` → `allow`, `deny` → `deny`, `require_approval` → `ask` (Claude Code asks the
//! person). Exit status 0.
//!
//! **Fail closed.** Anything that goes wrong (input that is not JSON, larger than 1 MiB,
//! a missing field, policies that cannot be loaded, an audit log that cannot be written)
//! blocks the call: a `deny` answer with the problem as its reason on stdout, the same
//! words on stderr, and exit status 2, which Claude Code treats as a block and shows to
//! the model. (Exit 1, as in the seeds' example script, is *not* a block: Claude Code
//! would run the tool anyway.)
//!
//! In `--mode audit` decisions are recorded (with `--audit-log`) but nothing is answered,
//! so Claude Code's own permission flow goes on unchanged; errors still block.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use meshguard_core::{Decision, Effect, Request};
use serde_json::json;

use super::audit::{self, Record};
use super::tools::{self, HookInput, Mapped};
use crate::flags::AgentFlags;
use crate::{EXIT_BAD_INPUT, clock, load, paths};

/// Largest hook input read; Claude Code's are a few kilobytes (a big `Write` maybe more).
const MAX_INPUT: u64 = 1024 * 1024;

/// Arguments of `meshguard hook claude-code`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A policy file or directory; repeat to load several, in the order given.
    #[arg(long = "policies", required = true, value_name = "PATH")]
    policies: Vec<PathBuf>,

    /// Append every decision to this JSON Lines file.
    #[arg(long = "audit-log", value_name = "FILE.jsonl")]
    audit_log: Option<PathBuf>,

    #[command(flatten)]
    agent: AgentFlags,

    /// `enforce` answers Claude Code; `audit` only records.
    #[arg(long, value_enum, default_value_t = HookMode::Enforce)]
    mode: HookMode,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HookMode {
    Enforce,
    Audit,
}

impl HookMode {
    fn as_str(self) -> &'static str {
        match self {
            HookMode::Enforce => "enforce",
            HookMode::Audit => "audit",
        }
    }
}

/// What was decided about one tool call.
struct Outcome {
    input: HookInput,
    mapped: Mapped,
    decision: Decision,
}

/// Runs the hook; never returns an error, because every error must become a block.
pub fn run(args: &Args) -> ExitCode {
    let started = Instant::now();
    let outcome = match decide(args) {
        Ok(o) => o,
        Err(problem) => return block(args, &problem, started),
    };
    let d = &outcome.decision;
    let answer = match (args.mode, d.effect) {
        (HookMode::Audit, _) => None,
        (_, Effect::Allow) => Some("allow"),
        (_, Effect::Deny) => Some("deny"),
        (_, Effect::RequireApproval) => Some("ask"),
    };
    if let Some(path) = &args.audit_log {
        let time = clock::now_rfc3339();
        let record = Record {
            time: &time,
            session_id: outcome.input.session_id.as_deref(),
            tool: Some(&outcome.input.tool_name),
            action: Some(&outcome.mapped.action),
            resource: d.resource.as_deref(),
            effect: d.effect.as_str(),
            permission_decision: answer.unwrap_or("none"),
            policy: Some(&d.policy),
            rule: &d.rule,
            reason: &d.reason,
            mode: args.mode.as_str(),
            latency_us: micros(started),
        };
        if let Err(problem) = audit::append(path, &record) {
            return block(args, &problem, started);
        }
    }
    let Some(answer) = answer else {
        return ExitCode::SUCCESS;
    };
    let reason = format!(
        "MeshGuard: {} (policy `{}`, rule `{}`)",
        d.reason, d.policy, d.rule
    );
    match print_answer(answer, &reason) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => block(args, &format!("cannot write the answer: {e}"), started),
    }
}

/// Reads, maps and decides the tool call.
fn decide(args: &Args) -> Result<Outcome, String> {
    let input = read_input()?;
    if let Some(event) = &input.hook_event_name
        && event != "PreToolUse"
    {
        return Err(format!(
            "this hook answers `PreToolUse` events, not `{event}`; register it under hooks.PreToolUse"
        ));
    }
    if !std::path::Path::new(&input.cwd).is_absolute() {
        return Err(format!("`cwd` is not an absolute path: `{}`", input.cwd));
    }
    let mapped = tools::map(&input)?;
    let agent = args.agent.agent()?;
    let set = load::load_set(&args.policies)
        .map_err(|f| format!("cannot load the policies: {}", f.summary()))?;
    let request = Request {
        action: mapped.action.clone(),
        resource: mapped.resource.clone(),
        context: Some(tools::context(&input)),
        agent,
        time: Some(clock::now_rfc3339()),
        mode: None,
    };
    let mut decision = set.decide(&request, false);
    if let Some(absolute) = &mapped.absolute {
        let spelled = Request {
            resource: Some(absolute.clone()),
            ..request
        };
        decision = paths::stricter(decision, set.decide(&spelled, false));
    }
    Ok(Outcome {
        input,
        mapped,
        decision,
    })
}

/// Stdin as Claude Code's hook input: at most [`MAX_INPUT`] bytes of JSON.
fn read_input() -> Result<HookInput, String> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the hook input: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_INPUT {
        return Err(format!(
            "the hook input is larger than {} MiB",
            MAX_INPUT / (1024 * 1024)
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the hook input is empty; expected Claude Code's PreToolUse JSON".to_owned());
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("the hook input is not valid: {e}"))
}

fn print_answer(decision: &str, reason: &str) -> io::Result<()> {
    let answer = json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    });
    let mut out = io::stdout().lock();
    writeln!(out, "{answer}")?;
    out.flush()
}

/// Blocks the call: a deny answer, the reason on stderr, exit 2; recorded when an audit
/// log is configured (best effort: the block stands either way, and a record that cannot
/// be written is mentioned in the reason).
fn block(args: &Args, problem: &str, started: Instant) -> ExitCode {
    let mut reason = format!("MeshGuard blocked this tool call because the hook failed: {problem}");
    if let Some(path) = &args.audit_log {
        let time = clock::now_rfc3339();
        let record = Record {
            time: &time,
            session_id: None,
            tool: None,
            action: None,
            resource: None,
            effect: "deny",
            permission_decision: "deny",
            policy: None,
            rule: "hook-error",
            reason: &reason,
            mode: args.mode.as_str(),
            latency_us: micros(started),
        };
        if let Err(e) = audit::append(path, &record)
            && !problem.contains("audit log")
        {
            reason.push_str(&format!(" (and {e})"));
        }
    }
    let _ = print_answer("deny", &reason);
    eprintln!("{}", crate::render::clean(&reason));
    ExitCode::from(EXIT_BAD_INPUT)
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}
