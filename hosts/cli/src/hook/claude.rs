//! `meshguard hook claude-code`: Claude Code's `PreToolUse` hook, decided locally or by a
//! gateway.
//!
//! Claude Code runs the hook before every tool call with a JSON description on stdin.
//! The hook maps the call to an action and resources ([`super::tools`]), decides it with
//! the core against the policies, and answers in Claude Code's format on stdout:
//!
//! ```json
//! {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny",
//!  "permissionDecisionReason":"MeshGuard: Access to credential files is prohibited (policy `claude-code-file-policy`, rule `claude-code-file-policy#3`)"}}
//! ```
//!
//! `deny` → `deny`, `require_approval` → `ask` (Claude Code asks the person). An `allow`
//! answers nothing: exit status 0 and no output is Claude Code's "no decision", so its own
//! permission flow (the user's allow/ask/deny rules, the permission mode, the prompt)
//! goes on as if the hook were not there. A policy allow means "MeshGuard does not
//! object", not "skip the user's prompts". `--allow-explicitly` answers `allow` instead,
//! which skips Claude Code's prompt (not its deny and ask rules). Exit status 0.
//!
//! **Fail closed.** Anything that goes wrong (input that is not JSON, larger than 1 MiB,
//! a missing field, policies that cannot be loaded, an audit log that cannot be written)
//! blocks the call: a `deny` answer with the problem as its reason on stdout, the same
//! words on stderr, and exit status 2, which Claude Code treats as a block and shows to
//! the model. (Exit 1, as in the seeds' example script, is *not* a block: Claude Code
//! would run the tool anyway.) The process failing as a whole (a panic, memory running
//! out, a stack overflow, a hang) is turned into the same block by [`super::failsafe`].
//!
//! In `--mode audit` decisions are recorded (with `--audit-log`) but nothing is answered,
//! so Claude Code's own permission flow goes on unchanged; errors still block.
//!
//! With `--gateway URL` the gateway decides ([`super::gateway`]); the local policies only
//! stand in when it cannot be reached, and only if `--on-unreachable` allows it.
//! `PostToolUse` events (the call already ran) are recorded, never blocked.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use meshguard_api::RecordRequest;
use meshguard_core::{Decision, Effect, Request};
use serde_json::{Value, json};

use super::audit::{self, Record};
use super::failsafe;
use super::gateway::{Failure, Gateway};
use super::tools::{self, HookInput, Mapped};
use crate::flags::AgentFlags;
use crate::{EXIT_BAD_INPUT, clock, load, paths};

/// Largest hook input read; Claude Code's are a few kilobytes (a big `Write` maybe more).
const MAX_INPUT: u64 = 1024 * 1024;

/// Arguments of `meshguard hook claude-code`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A policy file or directory; repeat to load several, in the order given. With
    /// `--gateway`, what decides when the gateway cannot be reached.
    #[arg(
        long = "policies",
        required_unless_present = "gateway",
        value_name = "PATH"
    )]
    policies: Vec<PathBuf>,

    /// Decide through this gateway (`http[s]://host:port`) with the agent token in
    /// MESHGUARD_API_KEY or MESHGUARD_AGENT_TOKEN: its revocations, rate limits and
    /// audit log apply, and PostToolUse events are recorded there.
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,

    /// With `--gateway`, when it cannot be reached: `local` decides with `--policies`,
    /// `block` blocks the call. Default: `local` when `--policies` is given, else `block`.
    #[arg(long, value_enum, requires = "gateway")]
    on_unreachable: Option<Unreachable>,

    /// A PEM file of CA certificates trusted for an https:// gateway, besides the
    /// system's. Default: $MESHGUARD_CA_FILE.
    #[arg(long = "ca-file", value_name = "PEM", requires = "gateway")]
    ca_file: Option<PathBuf>,

    /// Append every decision to this JSON Lines file.
    #[arg(long = "audit-log", value_name = "FILE.jsonl")]
    audit_log: Option<PathBuf>,

    #[command(flatten)]
    agent: AgentFlags,

    /// `enforce` answers Claude Code; `audit` only records. Also read from
    /// `MESHGUARD_MODE`, the SDKs' variable (the flag wins).
    #[arg(long, env = "MESHGUARD_MODE", value_enum, default_value_t = HookMode::Enforce)]
    mode: HookMode,

    /// Answer `allow` when the policies allow, which skips Claude Code's permission
    /// prompt; by default an allow answers nothing and Claude Code's own permission
    /// flow decides.
    #[arg(long)]
    allow_explicitly: bool,

    /// Block a call not decided within this many seconds (keep Claude Code's hook
    /// `timeout` above it: a hook Claude Code times out does not block).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub timeout: u64,
}

/// `--on-unreachable` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Unreachable {
    Local,
    Block,
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

/// Turns a problem into a block; owns what that needs, so that the panic hook and the
/// supervising process can block as the hook itself does.
#[derive(Debug, Clone)]
pub struct Blocker {
    audit_log: Option<PathBuf>,
    mode: HookMode,
    started: Instant,
}

impl Blocker {
    /// A blocker for a hook run with `args`, started now.
    pub fn new(args: &Args) -> Self {
        Blocker {
            audit_log: args.audit_log.clone(),
            mode: args.mode,
            started: Instant::now(),
        }
    }

    /// Blocks the call: a deny answer, the reason on stderr, exit 2; recorded when an
    /// audit log is configured (best effort: the block stands either way, and a record
    /// that cannot be written is mentioned in the reason).
    pub fn block(&self, problem: &str) -> ExitCode {
        let mut reason =
            format!("MeshGuard blocked this tool call because the hook failed: {problem}");
        if let Some(path) = &self.audit_log {
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
                mode: self.mode.as_str(),
                latency_us: micros(self.started),
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
}

/// Decides one tool call and answers it (or records one that ran); never returns an
/// error, because every error must become a block.
pub fn run(args: &Args, blocker: &Blocker) -> ExitCode {
    let input = match read_input() {
        Ok(i) => i,
        Err(problem) => return blocker.block(&problem),
    };
    if input.hook_event_name.as_deref() == Some("PostToolUse") {
        return record(args, &input, blocker);
    }
    let outcome = match decide(args, input) {
        Ok(o) => o,
        Err(problem) => return blocker.block(&problem),
    };
    let d = &outcome.decision;
    let answer = match (args.mode, d.effect) {
        (HookMode::Audit, _) => None,
        (_, Effect::Allow) => args.allow_explicitly.then_some("allow"),
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
            latency_us: micros(blocker.started),
        };
        if let Err(problem) = audit::append(path, &record) {
            return blocker.block(&problem);
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
        Err(e) => blocker.block(&format!("cannot write the answer: {e}")),
    }
}

/// Maps and decides the tool call: each of its resources, the strictest decision
/// standing; through the gateway when there is one.
fn decide(args: &Args, input: HookInput) -> Result<Outcome, String> {
    failsafe::inject_fault()?;
    if let Some(event) = &input.hook_event_name
        && event != "PreToolUse"
    {
        return Err(format!(
            "this hook answers `PreToolUse` (and records `PostToolUse`) events, not \
             `{event}`; register it under hooks.PreToolUse"
        ));
    }
    if !std::path::Path::new(&input.cwd).is_absolute() {
        return Err(format!("`cwd` is not an absolute path: `{}`", input.cwd));
    }
    let mapped = tools::map(&input)?;
    let context = tools::context(&input);
    let decision = match gateway(args)? {
        None => decide_locally(args, &mapped, context)?,
        Some(gw) => match decide_remotely(&gw, &mapped, &context) {
            Ok(d) => d,
            Err(Failure::Refused(problem)) => return Err(problem),
            Err(Failure::Unreachable(problem)) => match on_unreachable(args) {
                Unreachable::Block => {
                    return Err(format!("{problem} (--on-unreachable block)"));
                }
                Unreachable::Local => {
                    eprintln!("meshguard: {problem}; deciding with the local policies");
                    decide_locally(args, &mapped, context)?
                }
            },
        },
    };
    Ok(Outcome {
        input,
        mapped,
        decision,
    })
}

/// The gateway of `--gateway`, if any.
fn gateway(args: &Args) -> Result<Option<Gateway>, String> {
    let Some(url) = &args.gateway else {
        return Ok(None);
    };
    if on_unreachable(args) == Unreachable::Local && args.policies.is_empty() {
        return Err("--on-unreachable local needs --policies to decide with".to_owned());
    }
    // Leave the supervisor a second to block before Claude Code gives up on the hook.
    let timeout = Duration::from_secs(args.timeout.saturating_sub(1).max(1));
    Gateway::new(url, args.ca_file.as_deref(), timeout).map(Some)
}

fn on_unreachable(args: &Args) -> Unreachable {
    args.on_unreachable.unwrap_or(if args.policies.is_empty() {
        Unreachable::Block
    } else {
        Unreachable::Local
    })
}

/// Decides every target with the local policies.
fn decide_locally(args: &Args, mapped: &Mapped, context: Value) -> Result<Decision, String> {
    let agent = args.agent.agent()?;
    let set = load::load_set(&args.policies)
        .map_err(|f| format!("cannot load the policies: {}", f.summary()))?;
    let base = Request {
        action: mapped.action.clone(),
        resource: None,
        context: Some(context),
        agent,
        time: Some(clock::now_rfc3339()),
        mode: None,
    };
    let about = |resource: &str| Request {
        resource: Some(resource.to_owned()),
        ..base.clone()
    };
    strictest(mapped, |resource| Ok(set.decide(&about(resource), false)))
}

/// Decides every target through the gateway.
fn decide_remotely(gw: &Gateway, mapped: &Mapped, context: &Value) -> Result<Decision, Failure> {
    strictest(mapped, |resource| {
        gw.check(&mapped.action, resource, context)
    })
}

/// The strictest decision over a call's targets, each decided by `decide` (a path's
/// absolute spelling may only make its decision stricter).
fn strictest<E: From<&'static str>>(
    mapped: &Mapped,
    mut decide: impl FnMut(&str) -> Result<Decision, E>,
) -> Result<Decision, E> {
    let mut strictest: Option<Decision> = None;
    for target in &mapped.targets {
        let mut d = decide(&target.resource)?;
        if let Some(absolute) = &target.absolute {
            d = paths::stricter(d, decide(absolute)?);
        }
        strictest = match strictest {
            Some(so_far) if !outranks(&d, &so_far) => Some(so_far),
            _ => Some(d),
        };
    }
    strictest.ok_or_else(|| E::from("the tool call names nothing to decide"))
}

/// `PostToolUse`: the call ran; record it with the gateway (`POST
/// /proxy/governance/record`) and in `--audit-log`. Nothing is answered (a tool that ran
/// cannot be blocked); a record that cannot be made is said on stderr and, when the
/// gateway is unreachable, kept in `--audit-log`.
fn record(args: &Args, input: &HookInput, blocker: &Blocker) -> ExitCode {
    let mapped = match tools::map(input) {
        Ok(m) => m,
        Err(problem) => {
            eprintln!("meshguard: cannot record the tool call: {problem}");
            return ExitCode::SUCCESS;
        }
    };
    let resource = mapped.targets.first().map(|t| t.resource.clone());
    let (status, result) = outcome(input);
    let mut problem = None;
    match gateway(args) {
        Ok(Some(gw)) => {
            let report = RecordRequest {
                action: mapped.action.clone(),
                resource: resource.clone(),
                status: Some(status.to_owned()),
                result,
                trace_id: None,
            };
            if let Err(e) = gw.record(&report) {
                problem = Some(e);
            }
        }
        Ok(None) => {}
        Err(e) => problem = Some(e),
    }
    if let Some(p) = &problem {
        eprintln!("meshguard: the tool call was not recorded with the gateway: {p}");
    }
    if let Some(path) = &args.audit_log {
        let time = clock::now_rfc3339();
        let reason = match &problem {
            Some(p) => format!("{status}; not recorded with the gateway: {p}"),
            None => status.to_owned(),
        };
        let record = Record {
            time: &time,
            session_id: input.session_id.as_deref(),
            tool: Some(&input.tool_name),
            action: Some(&mapped.action),
            resource: resource.as_deref(),
            effect: "recorded",
            permission_decision: "none",
            policy: None,
            rule: "post-tool-use",
            reason: &reason,
            mode: args.mode.as_str(),
            latency_us: micros(blocker.started),
        };
        if let Err(e) = audit::append(path, &record) {
            eprintln!("meshguard: {e}");
        }
    }
    ExitCode::SUCCESS
}

/// Whether `a` is stricter than `b`: deny over approval over allow, and among equal
/// effects one a rule made over a default (so the reason names the rule).
fn outranks(a: &Decision, b: &Decision) -> bool {
    let key = |d: &Decision| {
        let rank = match d.effect {
            Effect::Allow => 0,
            Effect::RequireApproval => 1,
            Effect::Deny => 2,
        };
        let by_rule = !matches!(&*d.rule, "defaultEffect" | "default" | "invalid-request");
        (rank, by_rule)
    };
    key(a) > key(b)
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

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Longest tool result recorded, in characters (the AutoGPT guide records 1,000).
const MAX_RESULT_CHARS: usize = 1000;

/// How a call that ran went, from `PostToolUse`'s `tool_response`: `error` when the
/// response says so (`success: false`, `is_error: true`, `interrupted: true` or an `error`
/// field), else `success`; and the response itself, as text cut to 1,000 characters.
pub fn outcome(input: &HookInput) -> (&'static str, Option<Value>) {
    let Some(response) = &input.tool_response else {
        return ("success", None);
    };
    let flag = |key: &str| response.get(key).and_then(Value::as_bool);
    let failed = flag("success") == Some(false)
        || flag("is_error") == Some(true)
        || flag("interrupted") == Some(true)
        || response.get("error").is_some_and(|e| !e.is_null());
    let text = match response {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let cut: String = text.chars().take(MAX_RESULT_CHARS).collect();
    let result = if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    };
    (
        if failed { "error" } else { "success" },
        Some(Value::String(result)),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn outcomes_of_calls_that_ran() {
        let mut i: HookInput = serde_json::from_value(json!({
            "tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": "/w",
            "hook_event_name": "PostToolUse",
        }))
        .unwrap();
        assert_eq!(outcome(&i), ("success", None));
        i.tool_response = Some(json!({"stdout": "a\nb", "stderr": "", "interrupted": false}));
        let (status, result) = outcome(&i);
        assert_eq!(status, "success");
        assert!(result.unwrap().as_str().unwrap().contains("a\\nb"));
        i.tool_response = Some(json!({"success": false}));
        assert_eq!(outcome(&i).0, "error");
        i.tool_response = Some(json!({"error": "no such file"}));
        assert_eq!(outcome(&i).0, "error");
        i.tool_response = Some(Value::String("é".repeat(1500)));
        let cut = outcome(&i).1.unwrap();
        assert_eq!(cut.as_str().unwrap().chars().count(), 1001);
    }
}
