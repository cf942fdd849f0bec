//! `meshguard agent create|list|show|revoke|token|update`: the gateway's agents and their
//! tokens. An agent is named by its id or, while it is active, by its name.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::Problem;
use super::client::{Body, encode};
use super::output::{field, items, print_answer, show};
use super::table::Table;
use crate::render::{GREEN, RED, Renderer, YELLOW, clean};
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
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            if let Some(t) = trust {
                body.insert("trustTier".into(), json!(t));
            }
            let tags: Vec<String> = tags.into_iter().filter(|t| !t.is_empty()).collect();
            if !tags.is_empty() {
                body.insert("tags".into(), json!(tags));
            }
            if let Some(o) = org {
                body.insert("orgId".into(), json!(o));
            }
            if let Some(m) = metadata {
                let m = flags::json_object(&m, "--metadata")
                    .map_err(|m| Problem::new(EXIT_BAD_INPUT, m))?;
                body.insert("metadata".into(), m);
            }
            let agent = client.expect("POST", "/admin/agents", Body::Json(Value::Object(body)))?;
            print_answer(json, &agent, |a| {
                format!(
                    "created agent {}\n{}  token    {}\n",
                    field(a, "name"),
                    details(a, &r),
                    field(a, "token")
                )
            })?;
            token_note(json);
        }
        Command::List => {
            let answer = client.get("/admin/agents")?;
            print_answer(json, &answer, |answer| {
                let mut t =
                    Table::new(&["ID", "NAME", "STATUS", "TRUST", "TAGS", "ORG", "CREATED"]);
                for a in items(answer, "agents") {
                    let status = field(a, "status");
                    let style = if status == "revoked" { RED } else { "" };
                    t.styled_row(vec![
                        (field(a, "id"), ""),
                        (field(a, "name"), ""),
                        (status, style),
                        (field(a, "trustTier"), ""),
                        (field(a, "tags"), ""),
                        (field(a, "orgId"), ""),
                        (field(a, "createdAt"), ""),
                    ]);
                }
                t.render_or(
                    &r,
                    "no agents; create one with `meshguard agent create NAME`\n",
                )
            })?;
        }
        Command::Show { id } => {
            let agent = client.get(&format!("/admin/agents/{}", encode(&id)))?;
            print_answer(json, &agent, |a| {
                format!("agent {}\n{}", field(a, "name"), details(a, &r))
            })?;
        }
        Command::Revoke { id } => {
            let path = format!("/admin/agents/{}", encode(&id));
            let answer = client.expect("DELETE", &path, Body::Empty)?;
            print_answer(json, &answer, |answer| {
                let name = answer
                    .get("agent")
                    .map_or_else(|| clean(&id), |a| field(a, "name"));
                format!(
                    "{} agent {name} ({}): its token no longer works\n",
                    r.paint(RED, "revoked"),
                    field(answer, "id")
                )
            })?;
        }
        Command::Token { id } => {
            let path = format!("/admin/agents/{}/token", encode(&id));
            let answer = client.expect("POST", &path, Body::Empty)?;
            print_answer(json, &answer, |a| {
                format!(
                    "new token for agent {} (the old one stopped working):\n{}\n",
                    field(a, "id"),
                    field(a, "token")
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
            let mut body = Map::new();
            if let Some(n) = name {
                body.insert("name".into(), json!(n));
            }
            if let Some(t) = trust {
                body.insert("trustTier".into(), json!(t));
            }
            if let Some(tags) = tags {
                let tags: Vec<String> = tags.into_iter().filter(|t| !t.is_empty()).collect();
                body.insert("tags".into(), json!(tags));
            }
            if let Some(o) = org {
                body.insert(
                    "orgId".into(),
                    if o.is_empty() { Value::Null } else { json!(o) },
                );
            }
            if body.is_empty() {
                return Err(Problem::new(
                    EXIT_BAD_INPUT,
                    "nothing to change: give --name, --trust, --tags or --org",
                )
                .into());
            }
            let path = format!("/admin/agents/{}", encode(&id));
            let agent = client.expect("PATCH", &path, Body::Json(Value::Object(body)))?;
            print_answer(json, &agent, |a| {
                format!("updated agent {}\n{}", field(a, "name"), details(a, &r))
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
fn details(a: &Value, r: &Renderer) -> String {
    let status = field(a, "status");
    let style = match status.as_str() {
        "revoked" => RED,
        "active" => GREEN,
        _ => YELLOW,
    };
    let mut out = format!("  id       {}\n", field(a, "id"));
    if a.get("status").is_some() {
        out.push_str(&format!("  status   {}\n", r.paint(style, &status)));
    }
    out.push_str(&format!("  trust    {}\n", field(a, "trustTier")));
    out.push_str(&format!("  tags     {}\n", field(a, "tags")));
    out.push_str(&format!("  org      {}\n", field(a, "orgId")));
    if let Some(m) = a
        .get("metadata")
        .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
    {
        out.push_str(&format!("  metadata {}\n", show(m)));
    }
    out.push_str(&format!("  created  {}\n", field(a, "createdAt")));
    if a.get("revokedAt").is_some_and(|v| !v.is_null()) {
        out.push_str(&format!("  revoked  {}\n", field(a, "revokedAt")));
    }
    out
}
