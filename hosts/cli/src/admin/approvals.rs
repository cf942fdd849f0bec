//! `meshguard approvals list|approve|deny`: requests a policy sent to a person.
//!
//! An approved request lets the same agent do the same action on the same resource once
//! (within the gateway's `APPROVAL_TTL_SECS`); a denied one stays denied.

use std::process::ExitCode;

use anyhow::Result;
use meshguard_api::{Approval, ApprovalList, ApprovalVerdict};
use serde_json::{Value, json};

use super::client::{Body, Client, encode, with_query};
use super::output::{opt, print_answer, text};
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
            let path = with_query("/admin/approvals", &q);
            let (answer, listed): (Value, ApprovalList) =
                client.expect_as("GET", &path, Body::Empty)?;
            print_answer(json, &answer, |_| list(&listed, &r))?;
        }
        Command::Approve(d) => decide(&client, &d, "approve", json, &r)?,
        Command::Deny(d) => decide(&client, &d, "deny", json, &r)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The approvals as a table.
fn list(listed: &ApprovalList, r: &Renderer) -> String {
    let mut t = Table::new(&[
        "ID", "STATUS", "AGENT", "ACTION", "RESOURCE", "RULE", "CREATED",
    ]);
    for a in &listed.approvals {
        let agent = match a.agent_name.as_deref() {
            Some(name) if !name.is_empty() => text(name),
            _ => text(&a.agent_id),
        };
        t.styled_row(vec![
            (text(&a.id), ""),
            (text(&a.status), status_style(&a.status)),
            (agent, ""),
            (text(&a.action), ""),
            (opt(a.resource.as_deref()), ""),
            (text(&a.rule), ""),
            (text(&a.created_at), ""),
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
    let verdict = ApprovalVerdict {
        by: d.by.clone(),
        note: d.note.clone(),
        any_context: false,
    };
    let (answer, a): (Value, Approval) = client.expect_as(
        "POST",
        &format!("/admin/approvals/{}/{verb}", encode(&d.id)),
        Body::Json(json!(verdict)),
    )?;
    print_answer(json, &answer, |_| {
        let mut out = format!(
            "{} {}: {} {} for agent {}\n",
            r.paint(status_style(&a.status), &text(&a.status)),
            text(&a.id),
            text(&a.action),
            opt(a.resource.as_deref()),
            text(&a.agent_id),
        );
        if a.status == "approved" {
            out.push_str(
                "the agent may now do this once (its next identical request is allowed)\n",
            );
        }
        out
    })
}
