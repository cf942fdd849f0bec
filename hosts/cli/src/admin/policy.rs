//! `meshguard policy list|show|apply|delete|test|allowed`: the policies a gateway serves.
//!
//! `apply` sends each file's text to the gateway, which compiles it together with every
//! other loaded policy and refuses it, changing nothing, when the set would not load.
//! Every file is checked first (`POST /admin/policies/validate`), so a directory with one
//! bad file applies nothing; the gateway's diagnostics are drawn with the caret rendering
//! of `meshguard validate`, against the local file's text.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use meshguard_api::{
    AppliesTo, PolicyApplied, PolicyDeleted, PolicyList, PolicySummary, PolicyValidation,
};
use meshguard_core::model::RuleOrder;
use meshguard_core::{Decision, Diagnostic, Effect, Source};
use serde_json::{Map, Value, json};

use super::client::{Body, Client, Reply, encode};
use super::output::{self, opt, print_answer, print_json, print_text, text};
use super::table::Table;
use super::{Problem, allowed};
use crate::explain::{self, effect_style};
use crate::load::{self, PolicyFile};
use crate::render::{self, Renderer, clean, plural};
use crate::{EXIT_BAD_INPUT, flags};

/// `meshguard policy ...`.
pub type Args = super::Args<Command>;

/// The policy subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the policies the gateway serves, in load order.
    List,
    /// Show one policy and the text of its file.
    Show {
        /// Policy name.
        name: String,
    },
    /// Apply policy files (a directory: its .yaml, .yml and .json files): each is
    /// checked with the loaded set first, and nothing is applied if any is refused.
    Apply {
        /// Policy files and directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Delete a policy (its file in the gateway's policy directory).
    Delete {
        /// Policy name.
        name: String,
    },
    /// Decide a hypothetical request for an agent, without acting, auditing or counting
    /// it against rate limits. Exit 4 when the decision is not an allow.
    Test {
        /// Agent id, or an active agent's name.
        agent: String,
        /// The action, such as write:email.
        action: String,
        /// The resource: a path, URL, address, command...
        #[arg(long)]
        resource: Option<String>,
        /// Context facts as a JSON object, such as '{"channel":"slack"}'.
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
        /// The rule-by-rule explanation.
        #[arg(long, short = 'v', alias = "explain")]
        verbose: bool,
    },
    /// What an agent may do: the allow rules of every policy that applies to it.
    Allowed {
        /// Agent id, or an active agent's name.
        agent: String,
    },
}

/// Runs a policy subcommand.
pub fn run(args: Args, json: bool) -> Result<ExitCode> {
    let (client, command) = args.split(json)?;
    match command {
        Command::List => list(&client, json),
        Command::Show { name } => show(&client, &name, json),
        Command::Apply { paths } => apply(&client, &paths, json),
        Command::Delete { name } => {
            let path = format!("/admin/policies/{}", encode(&name));
            let (answer, deleted): (Value, PolicyDeleted) =
                client.expect_as("DELETE", &path, Body::Empty)?;
            print_answer(json, &answer, |_| {
                format!(
                    "deleted policy {} (file {})\n",
                    clean(&name),
                    text(&deleted.file)
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Test {
            agent,
            action,
            resource,
            context,
            verbose,
        } => test(&client, &agent, &action, resource, context, verbose, json),
        Command::Allowed { agent } => allowed::run(&client, &agent, json),
    }
}

/// The policies as a table, then (text only) a warning when the gateway's directory no
/// longer loads.
fn list(client: &Client, json: bool) -> Result<ExitCode> {
    let (answer, listed): (Value, PolicyList) =
        client.expect_as("GET", "/admin/policies", Body::Empty)?;
    print_answer(json, &answer, |_| {
        let mut t = Table::new(&["NAME", "RULES", "DEFAULT", "APPLIES TO", "FILE"]);
        for p in &listed.policies {
            t.row(vec![
                text(&p.name),
                p.rules.len().to_string(),
                p.default_effect.as_str().to_owned(),
                applies_to(p.applies_to.as_ref()),
                text(&p.file),
            ]);
        }
        t.render_or(&Renderer::for_stdout(), "no policies loaded\n")
    })?;
    if !json {
        warn_policy_errors(&listed.policy_errors)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The reload problems the gateway reports: its policy set (files, or the database of
/// several replicas) does not load, the last good one keeps serving.
fn warn_policy_errors(errors: &[Diagnostic]) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let r = Renderer::for_stderr();
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "{}: the gateway's policy set does not load ({} {}); the last good set keeps serving",
        r.paint(render::YELLOW, "warning"),
        errors.len(),
        plural(errors.len(), "problem", "problems")
    )
    .context("writing to stderr")?;
    for d in errors {
        write!(err, "{}", r.render(d, None)).context("writing to stderr")?;
    }
    Ok(())
}

/// `appliesTo` in a few words.
pub fn applies_to(a: Option<&AppliesTo>) -> String {
    let Some(a) = a else {
        return "everyone".to_owned();
    };
    let parts: Vec<String> = [
        (&a.tags, "tags"),
        (&a.trust_tiers, "tiers"),
        (&a.agent_ids, "agents"),
        (&a.org_ids, "orgs"),
    ]
    .into_iter()
    .filter_map(|(values, label)| {
        values
            .as_ref()
            .map(|v| format!("{label} {}", output::list(v)))
    })
    .collect();
    if parts.is_empty() {
        "everyone".to_owned()
    } else {
        parts.join("; ")
    }
}

/// One policy's summary and its file's text.
fn show(client: &Client, name: &str, json: bool) -> Result<ExitCode> {
    let path = format!("/admin/policies/{}", encode(name));
    let (answer, p): (Value, PolicySummary) = client.expect_as("GET", &path, Body::Empty)?;
    print_answer(json, &answer, |_| details(&p))?;
    Ok(ExitCode::SUCCESS)
}

/// A policy for a person: its fields, then its file's text.
fn details(p: &PolicySummary) -> String {
    let mut out = format!("policy {} (file {})\n", text(&p.name), text(&p.file));
    let rule_order = match p.rule_order {
        RuleOrder::SpecificFirst => "specific-first",
        RuleOrder::FirstMatch => "first-match",
    };
    for (label, value) in [
        ("version", opt(p.version.as_deref())),
        ("description", opt(p.description.as_deref())),
        ("applies to", applies_to(p.applies_to.as_ref())),
        ("default", p.default_effect.as_str().to_owned()),
        ("rule order", rule_order.to_owned()),
        ("rules", p.rules.len().to_string()),
    ] {
        out.push_str(&format!("  {label:<12} {value}\n"));
    }
    if let Some(source) = &p.source {
        out.push_str(&format!("\n--- {}\n", text(&p.file)));
        // The file's text, cleaned of control characters but for line breaks and tabs.
        let lines: Vec<String> = source.lines().map(clean_line).collect();
        out.push_str(&lines.join("\n"));
        out.push('\n');
    }
    out
}

/// A source line for the terminal: tabs kept, other control characters escaped.
fn clean_line(line: &str) -> String {
    line.split('\t').map(clean).collect::<Vec<_>>().join("\t")
}

/// One local file to apply: its text, the policies it defines (when it parses) and the
/// gateway's verdict on it.
#[derive(Debug)]
struct Plan {
    file: PolicyFile,
    text: String,
    names: Vec<String>,
    /// The gateway's file name for this text (from `validate`).
    target: String,
}

fn apply(client: &Client, paths: &[PathBuf], json: bool) -> Result<ExitCode> {
    let files = match load::read_paths(paths) {
        Ok(f) => f,
        Err(errors) => {
            render::emit_path_errors(&errors).context("writing to stderr")?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let renderer = Renderer::for_stderr();
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    let mut problems = 0usize;
    for file in files {
        let text = match &file.text {
            Ok(t) => t.clone(),
            Err(d) => {
                eprint!("{}", renderer.render(d, None));
                problems += 1;
                refused.push(json!({"file": file.name, "diagnostics": [d]}));
                continue;
            }
        };
        let names: Vec<String> = meshguard_core::parse_policies(&Source::new(&file.name, &text))
            .map(|ps| ps.into_iter().map(|p| p.name).collect())
            .unwrap_or_default();
        let mut body = Map::new();
        body.insert("text".into(), json!(text));
        if let Some(first) = names.first() {
            body.insert("name".into(), json!(first));
        }
        let (verdict, checked): (Value, PolicyValidation) = client.expect_as(
            "POST",
            "/admin/policies/validate",
            Body::Json(Value::Object(body)),
        )?;
        let plan = Plan {
            file,
            text,
            names,
            target: checked.file,
        };
        if !checked.ok {
            problems += emit_diagnostics(&plan, &checked.diagnostics, "", &renderer)?;
            refused.push(json!({"file": plan.file.name, "answer": verdict}));
            continue;
        }
        if plan.names.is_empty() {
            // It loads but defines nothing (an empty file): nothing to apply.
            eprintln!(
                "{}: `{}` defines no policy",
                renderer.paint(render::RED, "error"),
                clean(&plan.file.name)
            );
            problems += 1;
            refused.push(json!({"file": plan.file.name, "answer": verdict}));
            continue;
        }
        plans.push(plan);
    }
    if !refused.is_empty() {
        if json {
            print_json(&json!({"ok": false, "applied": [], "refused": refused}))?;
        }
        eprintln!(
            "{}: {problems} {} in {} {}; nothing was applied",
            renderer.paint(render::RED, "error"),
            plural(problems, "problem", "problems"),
            refused.len(),
            plural(refused.len(), "file", "files"),
        );
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let mut applied = Vec::new();
    let r = Renderer::for_stdout();
    for (i, plan) in plans.iter().enumerate() {
        let Some(name) = plan.names.first() else {
            continue;
        };
        let reply = client.send(
            "PUT",
            &format!("/admin/policies/{}", encode(name)),
            Body::Json(json!({"text": plan.text})),
        )?;
        if !(200..300).contains(&reply.status) {
            return refused_after(client, plan, &reply, &applied, plans.len() - i, json);
        }
        if !json {
            let done: PolicyApplied = serde_json::from_value(reply.body.clone())
                .context("reading the gateway's answer to PUT")?;
            let created = done.created;
            print_text(&format!(
                "{} {} from {} ({} {})\n",
                r.paint(render::GREEN, if created { "created" } else { "applied" }),
                plan.names
                    .iter()
                    .map(|n| clean(n))
                    .collect::<Vec<_>>()
                    .join(", "),
                clean(&plan.file.name),
                if created { "new file" } else { "file" },
                text(&done.file),
            ))?;
        }
        applied.push(reply.body);
    }
    if json {
        print_json(&json!({"ok": true, "applied": applied, "refused": []}))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A `PUT` refused after every file passed `validate` (the set changed meanwhile, or
/// two of the new files clash with each other).
fn refused_after(
    client: &Client,
    plan: &Plan,
    reply: &Reply,
    applied: &[Value],
    left: usize,
    json: bool,
) -> Result<ExitCode> {
    let renderer = Renderer::for_stderr();
    if reply.status == 400 && reply.body.get("diagnostics").is_some() {
        if json {
            print_json(
                &json!({"ok": false, "applied": applied, "refused": [{"file": plan.file.name, "answer": reply.body}]}),
            )?;
        }
        let diagnostics: Vec<Diagnostic> =
            serde_json::from_value(reply.body["diagnostics"].clone()).unwrap_or_default();
        let message = reply.body["message"].as_str().unwrap_or("");
        emit_diagnostics(plan, &diagnostics, message, &renderer)?;
        eprintln!(
            "{}: `{}` was refused; {} {} applied before it, {left} not applied",
            renderer.paint(render::RED, "error"),
            clean(&plan.file.name),
            applied.len(),
            plural(applied.len(), "file was", "files were"),
        );
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    if !applied.is_empty() {
        eprintln!(
            "note: {} {} applied before `{}` failed",
            applied.len(),
            plural(applied.len(), "file was", "files were"),
            clean(&plan.file.name)
        );
    }
    Err(client.failure(reply))
}

/// Draws the gateway's diagnostics for one local file: those about the file itself
/// against the local text (carets and all), the others (about policies already on the
/// gateway) in one-line form. Returns how many there were.
fn emit_diagnostics(
    plan: &Plan,
    diagnostics: &[Diagnostic],
    message: &str,
    r: &Renderer,
) -> Result<usize> {
    let mut err = io::stderr().lock();
    if diagnostics.is_empty() {
        writeln!(
            err,
            "{}: `{}` was refused: {}",
            r.paint(render::RED, "error"),
            clean(&plan.file.name),
            text(message)
        )
        .context("writing to stderr")?;
        return Ok(1);
    }
    for d in diagnostics {
        let ours = !plan.target.is_empty()
            && Path::new(&d.file).file_name().and_then(|f| f.to_str())
                == Some(plan.target.as_str());
        if ours {
            let mut d = d.clone();
            d.file.clone_from(&plan.file.name);
            write!(err, "{}", r.render(&d, Some(&plan.text))).context("writing to stderr")?;
        } else {
            write!(err, "{}", r.render(d, None)).context("writing to stderr")?;
        }
        writeln!(err).context("writing to stderr")?;
    }
    Ok(diagnostics.len())
}

/// Decides a hypothetical request on the gateway (a dry run); exit 4 when it is not an
/// allow, like `check --action`.
fn test(
    client: &Client,
    agent: &str,
    action: &str,
    resource: Option<String>,
    context: Option<String>,
    verbose: bool,
    json: bool,
) -> Result<ExitCode> {
    let mut body = Map::new();
    body.insert("agentId".into(), json!(agent));
    body.insert("action".into(), json!(action));
    body.insert("explain".into(), json!(verbose));
    if let Some(r) = resource {
        body.insert("resource".into(), json!(r));
    }
    if let Some(text) = context {
        let context =
            flags::json_object(&text, "--context").map_err(|m| Problem::new(EXIT_BAD_INPUT, m))?;
        body.insert("context".into(), context);
    }
    let (answer, decision) = client.test_request(Value::Object(body))?;
    print_answer(json, &answer, |_| verdict(&decision))?;
    Ok(crate::exit_for(&decision))
}

/// A decision for a person: the effect, the rule and policy that decided it, the reason,
/// and the explanation when one was asked for.
fn verdict(decision: &Decision) -> String {
    let r = Renderer::for_stdout();
    let word = match decision.effect {
        Effect::Allow => "ALLOW",
        Effect::Deny => "DENY",
        Effect::RequireApproval => "REQUIRE_APPROVAL",
    };
    let mut out = format!(
        "{} (rule: {}, policy: {})\n",
        r.paint(effect_style(decision.effect), word),
        clean(&decision.rule),
        clean(&decision.policy)
    );
    out.push_str(&format!("  reason  {}\n", clean(&decision.reason)));
    if decision.allowed && decision.effect != Effect::Allow {
        out.push_str("  mode    audit: the caller would be let through anyway\n");
    }
    if let Some(e) = &decision.explanation {
        out.push('\n');
        out.push_str(&explain::explanation(e, &r));
    }
    out
}
