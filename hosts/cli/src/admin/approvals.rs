//! `meshguard approvals list|approve|deny`: requests a policy sent to a person.
//!
//! An approved request lets the same agent do the same action on the same resource once
//! (within the gateway's `APPROVAL_TTL_SECS`); a denied one stays denied.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::client::{Body, Client, encode, with_query};
use super::output::{field, items, print_answer};
use super::table::Table;
use crate::render::{GREEN, RED, Renderer, YELLOW};

/// `meshguard approvals ...`.
pub type Args = super::Args<Command>;

/// The approvals subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List approvals, newest first.
    List {
        /// Only this status.
        #[arg(long, value_parser = ["pending", "approved", "denied", "used"])]
        status: Option<String>,
        /// At most this many (1 to 1000).
        #[arg(long, short = 'n', default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Approve a pending request: the agent may then do it once.
    Approve(Decide),
    /// Deny a pending request.
    Deny(Decide),
}

/// Who decides, and why.
#[derive(Debug, clap::Args)]
pub struct Decide {
    /// The approval id.
    id: String,
    /// Who decided (recorded; default `admin`).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// A note kept with the decision.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

/// Runs an approvals subcommand.
pub fn run(args: Args, json: bool) -> Result<ExitCode> {
    let (client, command) = args.split(json)?;
    let r = Renderer::for_stdout();
    match command {
        Command::List { status, limit } => {
            let q = [("status", status), ("limit", Some(limit.to_string()))];
            let answer = client.get(&with_query("/admin/approvals", &q))?;
            print_answer(json, &answer, |answer| list(answer, &r))?;
        }
        Command::Approve(d) => decide(&client, &d, "approve", json, &r)?,
        Command::Deny(d) => decide(&client, &d, "deny", json, &r)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The approvals as a table.
fn list(answer: &Value, r: &Renderer) -> String {
    let mut t = Table::new(&[
        "ID", "STATUS", "AGENT", "ACTION", "RESOURCE", "RULE", "CREATED",
    ]);
    for a in items(answer, "approvals") {
        let status = field(a, "status");
        let style = status_style(&status);
        let agent = match field(a, "agentName").as_str() {
            "-" => field(a, "agentId"),
            name => name.to_owned(),
        };
        t.styled_row(vec![
            (field(a, "id"), ""),
            (status, style),
            (agent, ""),
            (field(a, "action"), ""),
            (field(a, "resource"), ""),
            (field(a, "rule"), ""),
            (field(a, "createdAt"), ""),
        ]);
    }
    t.render_or(r, "no approvals\n")
}

/// An approval status's colour: green approved, red denied, yellow still waiting.
fn status_style(status: &str) -> &'static str {
    match status {
        "approved" => GREEN,
        "denied" => RED,
        "pending" => YELLOW,
        _ => "",
    }
}

/// Approves or denies (`verb`) one request and prints the approval as it now stands.
fn decide(client: &Client, d: &Decide, verb: &str, json: bool, r: &Renderer) -> Result<()> {
    let mut body = Map::new();
    if let Some(by) = &d.by {
        body.insert("by".into(), json!(by));
    }
    if let Some(note) = &d.note {
        body.insert("note".into(), json!(note));
    }
    let a = client.expect(
        "POST",
        &format!("/admin/approvals/{}/{verb}", encode(&d.id)),
        Body::Json(Value::Object(body)),
    )?;
    print_answer(json, &a, |a| {
        let status = field(a, "status");
        let mut out = format!(
            "{} {}: {} {} for agent {}\n",
            r.paint(status_style(&status), &status),
            field(a, "id"),
            field(a, "action"),
            field(a, "resource"),
            field(a, "agentId"),
        );
        if status == "approved" {
            out.push_str(
                "the agent may now do this once (its next identical request is allowed)\n",
            );
        }
        out
    })
}
