//! Flags several commands take, parsed in one place so that each command reads them the
//! same way and refuses them with the same words: the agent a request is decided for,
//! and JSON objects given on the command line (`--context`, `--metadata`).

use meshguard_core::{Agent, TrustTier};
use serde_json::Value;

/// The agent flags of the local deciders (`hook claude-code`, `mcp-server`), which both
/// stand in for Claude Code unless told otherwise. (`check --action` has its own, with no
/// default tag, since it decides for no agent at all when none is given.)
#[derive(Debug, clap::Args)]
pub struct AgentFlags {
    /// The agent's tags, comma-separated: they select the policies (docs/semantics.md §3).
    #[arg(
        long = "agent-tags",
        value_name = "TAGS",
        value_delimiter = ',',
        default_value = "claude-code"
    )]
    agent_tags: Vec<String>,

    /// The agent's id (for `appliesTo.agentIds`).
    #[arg(long = "agent-id", value_name = "ID")]
    agent_id: Option<String>,

    /// The agent's trust tier.
    #[arg(long = "trust-tier", value_name = "TIER")]
    trust_tier: Option<String>,
}

impl AgentFlags {
    /// The agent these flags describe (never one of an organisation: there is no flag).
    pub fn agent(&self) -> Result<Option<Agent>, String> {
        agent(
            &self.agent_tags,
            self.agent_id.as_deref(),
            self.trust_tier.as_deref(),
            None,
        )
    }
}

/// Builds the agent from flags: `None` when no agent flag is given (policies with an
/// `appliesTo` then do not apply, docs/semantics.md §3). An unknown tier is refused here, with the
/// valid ones named, rather than turned into an `invalid-request` deny.
pub fn agent(
    tags: &[String],
    id: Option<&str>,
    tier: Option<&str>,
    org: Option<&str>,
) -> Result<Option<Agent>, String> {
    if let Some(t) = tier
        && TrustTier::parse(t).is_none()
    {
        return Err(format!(
            "unknown trust tier `{t}`; expected untrusted, verified, trusted or privileged"
        ));
    }
    let tags: Vec<String> = tags.iter().filter(|t| !t.is_empty()).cloned().collect();
    if tags.is_empty() && id.is_none() && tier.is_none() && org.is_none() {
        return Ok(None);
    }
    Ok(Some(Agent {
        id: id.map(str::to_owned),
        trust_tier: tier.map(str::to_owned),
        tags,
        org_id: org.map(str::to_owned),
        ..Agent::default()
    }))
}

/// The JSON object `text` given as `flag`, or what is wrong with it.
pub fn json_object(text: &str, flag: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(format!("`{flag}` must be a JSON object")),
        Err(e) => Err(format!("`{flag}` is not valid JSON: {e}")),
    }
}
