//! `meshguard agent create|list|show|revoke|token|update`: the gateway's agents and their
//! tokens. An agent is named by its id or, while it is active, by its name.

use std::process::ExitCode;

use anyhow::Result;
use meshguard_api::{
    Agent, AgentCreated, AgentList, AgentPatch, AgentRevoked, NewAgent, TokenRotated,
};
use serde_json::{Value, json};

use super::Problem;
use super::client::{Body, encode};
use super::output::{list, opt, print_answer, show, text};
use super::table::Table;
use crate::render::{GREEN, RED, Renderer, YELLOW};
use crate::{EXIT_BAD_INPUT, flags};

/// `meshguard agent ...`.
pub type Args = super::Args<Command>;

/// The trust tiers, lowest first.
const TIERS: [&str; 4] = ["untrusted", "verified", "trusted", "privileged"];

/// The agent subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Register an agent; prints its id and its token (shown this once only).
    Create {
        /// A name, unique among active agents.
        name: String,
        /// Trust tier (the gateway's default is verified).
        #[arg(long, value_name = "TIER", value_parser = TIERS)]
        trust: Option<String>,
        /// Tags, comma-separated (`--tags autogpt,autonomous`).
        #[arg(long, value_name = "TAGS", value_delimiter = ',')]
        tags: Vec<String>,
        /// Organisation id.
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Free-form metadata, a JSON object.
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
    },
    /// List every agent, revoked ones included.
    List,
    /// Show one agent.
    Show {
        /// Agent id, or an active agent's name.
        id: String,
    },
    /// Revoke an agent: its token stops working at once (the next request gets 401).
    Revoke {
        /// Agent id, or an active agent's name.
        id: String,
    },
    /// Give an agent a new token (printed once); the old one stops working.
    Token {
        /// Agent id, or an active agent's name.
        id: String,
    },
    /// Change an agent's name, trust tier, tags or organisation.
    Update {
        /// Agent id, or an active agent's name.
        id: String,
        /// New name.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// New trust tier.
        #[arg(long, value_name = "TIER", value_parser = TIERS)]
        trust: Option<String>,
        /// New tags, replacing the old ones (`--tags ""` clears them).
        #[arg(long, value_name = "TAGS", value_delimiter = ',')]
        tags: Option<Vec<String>>,
        /// New organisation id (`--org ""` clears it).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
    },
}

/// Runs an agent subcommand.
pub fn run(args: Args, json: bool) -> Result<ExitCode> {
    let (client, command) = args.split(json)?;
    let r = Renderer::for_stdout();
    match command {
        Command::Create {
            name,
            trust,
            tags,
            org,
            metadata,
        } => {
            let metadata = match metadata {
                Some(m) => match flags::json_object(&m, "--metadata")
                    .map_err(|m| Problem::new(EXIT_BAD_INPUT, m))?
                {
                    Value::Object(m) => Some(m),
                    _ => None,
                },
                None => None,
            };
            let new = NewAgent {
                name,
                trust_tier: trust,
                tags: tags.into_iter().filter(|t| !t.is_empty()).collect(),
                org_id: org,
                metadata,
            };
            let (answer, created): (Value, AgentCreated) =
                client.expect_as("POST", "/admin/agents", Body::Json(json!(new)))?;
            print_answer(json, &answer, |_| {
                format!(
                    "created agent {}\n{}  token    {}\n",
                    text(&created.agent.name),
                    details(&created.agent, &r),
                    text(&created.token)
                )
            })?;
            token_note(json);
        }
        Command::List => {
            let (answer, listed): (Value, AgentList) =
                client.expect_as("GET", "/admin/agents", Body::Empty)?;
            print_answer(json, &answer, |_| {
                let mut t =
                    Table::new(&["ID", "NAME", "STATUS", "TRUST", "TAGS", "ORG", "CREATED"]);
                for a in &listed.agents {
                    let style = if a.status == "revoked" { RED } else { "" };
                    t.styled_row(vec![
                        (text(&a.id), ""),
                        (text(&a.name), ""),
                        (text(&a.status), style),
                        (text(&a.trust_tier), ""),
                        (list(&a.tags), ""),
                        (opt(a.org_id.as_deref()), ""),
                        (text(&a.created_at), ""),
                    ]);
                }
                t.render_or(
                    &r,
                    "no agents; create one with `meshguard agent create NAME`\n",
                )
            })?;
        }
        Command::Show { id } => {
            let path = format!("/admin/agents/{}", encode(&id));
            let (answer, agent): (Value, Agent) = client.expect_as("GET", &path, Body::Empty)?;
            print_answer(json, &answer, |_| {
                format!("agent {}\n{}", text(&agent.name), details(&agent, &r))
            })?;
        }
        Command::Revoke { id } => {
            let path = format!("/admin/agents/{}", encode(&id));
            let (answer, revoked): (Value, AgentRevoked) =
                client.expect_as("DELETE", &path, Body::Empty)?;
            print_answer(json, &answer, |_| {
                format!(
                    "{} agent {} ({}): its token no longer works\n",
                    r.paint(RED, "revoked"),
                    text(&revoked.agent.name),
                    text(&revoked.id)
                )
            })?;
        }
        Command::Token { id } => {
            let path = format!("/admin/agents/{}/token", encode(&id));
            let (answer, rotated): (Value, TokenRotated) =
                client.expect_as("POST", &path, Body::Empty)?;
            print_answer(json, &answer, |_| {
                format!(
                    "new token for agent {} (the old one stopped working):\n{}\n",
                    text(&rotated.id),
                    text(&rotated.token)
                )
            })?;
            token_note(json);
        }
        Command::Update {
            id,
            name,
            trust,
            tags,
            org,
        } => {
            let patch = AgentPatch {
                name,
                trust_tier: trust,
                tags: tags.map(|t| t.into_iter().filter(|t| !t.is_empty()).collect()),
                org_id: org.map(|o| (!o.is_empty()).then_some(o)),
                metadata: None,
            };
            if patch.is_empty() {
                return Err(Problem::new(
                    EXIT_BAD_INPUT,
                    "nothing to change: give --name, --trust, --tags or --org",
                )
                .into());
            }
            let path = format!("/admin/agents/{}", encode(&id));
            let (answer, agent): (Value, Agent) =
                client.expect_as("PATCH", &path, Body::Json(json!(patch)))?;
            print_answer(json, &answer, |_| {
                format!(
                    "updated agent {}\n{}",
                    text(&agent.name),
                    details(&agent, &r)
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// After a token is printed for a person, who must know the gateway shows it this once
/// only; on stderr, so stdout stays the answer.
fn token_note(json: bool) {
    if !json {
        eprintln!("note: the token is shown only this once; store it now");
    }
}

/// An agent's fields, one per line, indented.
fn details(a: &Agent, r: &Renderer) -> String {
    let style = match a.status.as_str() {
        "revoked" => RED,
        "active" => GREEN,
        _ => YELLOW,
    };
    let mut out = format!("  id       {}\n", text(&a.id));
    out.push_str(&format!(
        "  status   {}\n",
        r.paint(style, &text(&a.status))
    ));
    out.push_str(&format!("  trust    {}\n", text(&a.trust_tier)));
    out.push_str(&format!("  tags     {}\n", list(&a.tags)));
    out.push_str(&format!("  org      {}\n", opt(a.org_id.as_deref())));
    if !a.metadata.is_empty() {
        out.push_str(&format!(
            "  metadata {}\n",
            show(&Value::Object(a.metadata.clone()))
        ));
    }
    out.push_str(&format!("  created  {}\n", text(&a.created_at)));
    if let Some(revoked) = &a.revoked_at {
        out.push_str(&format!("  revoked  {}\n", text(revoked)));
    }
    out
}
