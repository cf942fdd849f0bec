//! `meshguard policy allowed AGENT`: what an agent may do, read off the policies.
//!
//! Which policies apply is asked of the gateway itself (a dry-run `policies/test` with an
//! explanation lists every policy and whether it applies to the agent), so the answer
//! cannot drift from the evaluator. The rules come from each applicable policy's source
//! (`GET /admin/policies/{name}`), parsed here by the same core: every allow rule's action
//! patterns and its conditions in short form, allow rules whose agent condition excludes
//! this agent left out, and those a `humanInTheLoop` pattern catches marked.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Result;
use meshguard_core::model::{
    AgentTest, Conditions, ContextOp, ResourceTest, Scalar, TierTest, TimeWindow,
};
use meshguard_core::{Effect, Policy, Source, TrustTier};
use serde_json::{Value, json};

use meshguard_api::{Agent, PolicySummary};

use super::client::{Body, Client, encode};
use super::output::{field, items, print_answer};
use super::table::Table;
use crate::render::{Renderer, clean};

/// The action asked about in the dry run: any action works, only `appliesTo` matters.
const PROBE_ACTION: &str = "meshguard:which-policies-apply";

/// Runs `policy allowed AGENT`.
pub fn run(client: &Client, agent_key: &str, json: bool) -> Result<ExitCode> {
    let path = format!("/admin/agents/{}", encode(agent_key));
    let (agent, typed): (Value, Agent) = client.expect_as("GET", &path, Body::Empty)?;
    let (_, decision) = client
        .test_request(json!({"agentId": agent_key, "action": PROBE_ACTION, "explain": true}))?;
    let traces = decision.explanation.map(|e| e.policies).unwrap_or_default();
    let tier = TrustTier::parse(&typed.trust_tier);
    let tags = typed.tags;

    let mut parsed: HashMap<String, Vec<Policy>> = HashMap::new();
    let mut policies = Vec::new();
    let mut not_applicable = Vec::new();
    for trace in &traces {
        if !trace.applies {
            not_applicable.push(json!({"policy": &*trace.policy, "why": trace.detail}));
            continue;
        }
        let path = format!("/admin/policies/{}", encode(&trace.policy));
        let (_, summary): (Value, PolicySummary) = client.expect_as("GET", &path, Body::Empty)?;
        let file = summary.file;
        if !parsed.contains_key(&file) {
            let source = summary.source.as_deref().unwrap_or("");
            let list =
                meshguard_core::parse_policies(&Source::new(&file, source)).unwrap_or_default();
            parsed.insert(file.clone(), list);
        }
        let Some(policy) = parsed
            .get(&file)
            .and_then(|ps| ps.iter().find(|p| *p.name == *trace.policy))
        else {
            continue;
        };
        let mut allow = Vec::new();
        let mut excluded = 0usize;
        for rule in policy.rules.iter().filter(|r| r.effect == Effect::Allow) {
            if let Some(a) = &rule.conditions.agent
                && !agent_holds(a, tier, &tags)
            {
                excluded += 1;
                continue;
            }
            let actions: Vec<&str> = rule.actions.iter().map(|g| g.as_str()).collect();
            let approval: Vec<&str> = policy
                .require_approval
                .iter()
                .filter(|g| {
                    actions.iter().any(|a| {
                        g.matches(a) || (a.contains('*') && glob_text_matches(a, g.as_str()))
                    })
                })
                .map(|g| g.as_str())
                .collect();
            allow.push(json!({
                "rule": rule.id,
                "actions": actions,
                "conditions": describe(&rule.conditions),
                "needsApproval": approval,
            }));
        }
        policies.push(json!({
            "name": policy.name,
            "file": file,
            "defaultEffect": policy.default_effect.as_str(),
            "allow": allow,
            "excludedByAgentCondition": excluded,
        }));
    }
    let report = json!({
        "agent": agent,
        "policies": policies,
        "notApplicable": not_applicable,
    });
    print_answer(json, &report, human)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether the action pattern `pattern` (with `*`) could name an action the approval
/// pattern's text stands for: a rough check, for the `needs approval` mark only.
fn glob_text_matches(pattern: &str, text: &str) -> bool {
    meshguard_core::glob::Glob::new(pattern).is_ok_and(|g| g.matches(text))
}

fn human(report: &Value) -> String {
    let r = Renderer::for_stdout();
    let agent = report.get("agent").unwrap_or(&Value::Null);
    let mut out = format!(
        "agent {} ({}): trust {}, tags {}\n\n",
        field(agent, "name"),
        field(agent, "id"),
        field(agent, "trustTier"),
        field(agent, "tags")
    );
    let policies = items(report, "policies");
    if policies.is_empty() {
        out.push_str(
            "no policy applies to this agent: every request gets the gateway's fallback \
             (deny unless it runs with FALLBACK=allow)\n",
        );
    }
    let mut t = Table::new(&["POLICY", "RULE", "ACTIONS", "WHEN"]);
    let mut notes = Vec::new();
    for p in policies {
        let name = field(p, "name");
        let rules = items(p, "allow");
        for rule in rules {
            let mut when = items(rule, "conditions")
                .iter()
                .filter_map(Value::as_str)
                .map(clean)
                .collect::<Vec<_>>()
                .join("; ");
            if when.is_empty() {
                when = "always".to_owned();
            }
            let approval = items(rule, "needsApproval");
            if !approval.is_empty() {
                when.push_str(" (needs approval)");
            }
            t.row(vec![
                name.clone(),
                field(rule, "rule"),
                field(rule, "actions"),
                when,
            ]);
        }
        if rules.is_empty() {
            notes.push(format!("{name} has no allow rule for this agent"));
        }
        if field(p, "defaultEffect") == "allow" {
            notes.push(format!(
                "{name} allows any other action no rule denies (defaultEffect: allow)"
            ));
        }
        let excluded = p
            .get("excludedByAgentCondition")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if excluded > 0 {
            notes.push(format!(
                "{name}: {excluded} allow {} left out, {} agent condition excludes this agent",
                if excluded == 1 { "rule" } else { "rules" },
                if excluded == 1 { "its" } else { "their" },
            ));
        }
    }
    if !t.is_empty() {
        out.push_str(&t.render(&r));
    }
    for n in notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let others = items(report, "notApplicable").len();
    if others > 0 {
        out.push_str(&format!(
            "{others} other {} do not apply to this agent\n",
            if others == 1 { "policy" } else { "policies" }
        ));
    }
    if !policies.is_empty() {
        out.push_str(
            "deny and approval rules can still refuse a particular request; \
             `meshguard policy test AGENT ACTION --resource R` decides one\n",
        );
    }
    out
}

/// Whether a rule's agent condition holds for this agent.
fn agent_holds(a: &AgentTest, tier: Option<TrustTier>, tags: &[String]) -> bool {
    let tier_ok = match &a.trust_tier {
        None => true,
        Some(TierTest::AtLeast(t)) => tier.is_some_and(|x| x >= *t),
        Some(TierTest::AtMost(t)) => tier.is_some_and(|x| x <= *t),
        Some(TierTest::In(ts)) => tier.is_some_and(|x| ts.contains(&x)),
    };
    let tags_ok = a
        .tags
        .as_ref()
        .is_none_or(|want| want.iter().any(|t| tags.contains(t)));
    tier_ok && tags_ok
}

/// A rule's conditions in short form, one string per condition.
pub fn describe(c: &Conditions) -> Vec<String> {
    let mut out = Vec::new();
    for t in &c.resource {
        let operands: Vec<String> = match t {
            ResourceTest::Matches(set) => set.globs().iter().map(|g| quote(g.as_str())).collect(),
            ResourceTest::StartsWith(v) | ResourceTest::EndsWith(v) | ResourceTest::Equals(v) => {
                v.iter().map(|s| quote(s)).collect()
            }
            ResourceTest::Contains(s) => s.items().iter().map(|s| quote(s)).collect(),
        };
        out.push(format!("resource {} {}", t.operator(), any_of(&operands)));
    }
    for t in &c.context {
        for op in &t.ops {
            out.push(format!("context.{} {}", t.key, context_op(op)));
        }
    }
    if let Some(w) = &c.time {
        out.push(time_window(w));
    }
    if let Some(a) = &c.agent {
        match &a.trust_tier {
            Some(TierTest::AtLeast(t)) => out.push(format!("agent tier >= {}", t.as_str())),
            Some(TierTest::AtMost(t)) => out.push(format!("agent tier <= {}", t.as_str())),
            Some(TierTest::In(ts)) => {
                let names: Vec<String> = ts.iter().map(|t| t.as_str().to_owned()).collect();
                out.push(format!("agent tier in {}", any_of(&names)));
            }
            None => {}
        }
        if let Some(tags) = &a.tags {
            out.push(format!("agent tags any of {}", any_of(tags)));
        }
    }
    if let Some(l) = &c.rate_limit {
        let mut parts = Vec::new();
        if let Some(n) = l.requests_per_minute {
            parts.push(format!("{n}/minute"));
        }
        if let Some(n) = l.requests_per_hour {
            parts.push(format!("{n}/hour"));
        }
        out.push(format!("at most {}", parts.join(", ")));
    }
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| s.to_owned())
}

/// One operand as it is, several as `[a, b]`.
fn any_of(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

fn scalar(s: &Scalar) -> String {
    match s {
        Scalar::Null => "null".to_owned(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Number(n) => number(*n),
        Scalar::String(s) => quote(s),
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

fn context_op(op: &ContextOp) -> String {
    let list = |v: &[Scalar]| any_of(&v.iter().map(scalar).collect::<Vec<_>>());
    let strings = |v: &[String]| any_of(&v.iter().map(|s| quote(s)).collect::<Vec<_>>());
    match op {
        ContextOp::Equals(s) => format!("= {}", scalar(s)),
        ContextOp::In(v) => format!("in {}", list(v)),
        ContextOp::NotIn(v) => format!("not in {}", list(v)),
        ContextOp::Matches(g) => format!(
            "matches {}",
            any_of(&g.iter().map(|g| quote(g.as_str())).collect::<Vec<_>>())
        ),
        ContextOp::StartsWith(v) => format!("startsWith {}", strings(v)),
        ContextOp::Contains(v) => format!("contains {}", list(v)),
        ContextOp::Exists(true) => "exists".to_owned(),
        ContextOp::Exists(false) => "is absent".to_owned(),
        ContextOp::Gt(n) => format!("> {}", number(*n)),
        ContextOp::Gte(n) => format!(">= {}", number(*n)),
        ContextOp::Lt(n) => format!("< {}", number(*n)),
        ContextOp::Lte(n) => format!("<= {}", number(*n)),
    }
}

fn time_window(w: &TimeWindow) -> String {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut out = String::from("time");
    if let Some((start, end)) = w.between {
        out.push_str(&format!(
            " {:02}:{:02}-{:02}:{:02}",
            start / 60,
            start % 60,
            end / 60,
            end % 60
        ));
    }
    if let Some(bits) = w.days {
        let days: Vec<&str> = DAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect();
        out.push_str(&format!(" on {}", days.join(",")));
    }
    let m = w.utc_offset_minutes;
    if m == 0 {
        out.push_str(" UTC");
    } else {
        let sign = if m < 0 { '-' } else { '+' };
        out.push_str(&format!(
            " UTC{sign}{:02}:{:02}",
            m.abs() / 60,
            m.abs() % 60
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<Vec<String>> {
        let ps = meshguard_core::parse_policies(&Source::new("t.yaml", text)).unwrap();
        ps[0]
            .rules
            .iter()
            .map(|r| describe(&r.conditions))
            .collect()
    }

    #[test]
    fn conditions_in_short_form() {
        let got = rules(
            "name: t\nrules:\n  - effect: allow\n    actions: [a]\n    conditions:\n      \
             resource: {startsWith: [\"git \", \"npm \"]}\n      context:\n        \
             channel: slack\n        n: {lte: 3}\n      time: {between: \"09:00-18:00\", \
             days: [mon, fri], utcOffset: \"+02:00\"}\n      agent: {trustTier: {atLeast: \
             trusted}}\n  - effect: allow\n    actions: [b]\n",
        );
        assert_eq!(
            got[0],
            vec![
                "resource startsWith [\"git \", \"npm \"]",
                "context.channel = \"slack\"",
                "context.n <= 3",
                "time 09:00-18:00 on mon,fri UTC+02:00",
                "agent tier >= trusted",
            ]
        );
        assert!(got[1].is_empty());
    }

    #[test]
    fn agent_conditions() {
        let a = AgentTest {
            trust_tier: Some(TierTest::AtLeast(TrustTier::Trusted)),
            tags: None,
            tag_spans: Vec::new(),
        };
        assert!(!agent_holds(&a, Some(TrustTier::Verified), &[]));
        assert!(agent_holds(&a, Some(TrustTier::Privileged), &[]));
        let a = AgentTest {
            trust_tier: None,
            tags: Some(vec!["x".into()]),
            tag_spans: Vec::new(),
        };
        assert!(agent_holds(&a, None, &["x".into()]));
        assert!(!agent_holds(&a, None, &["y".into()]));
    }
}
