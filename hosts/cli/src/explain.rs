//! Decisions and their rule-by-rule explanations as text for people: what `check
//! --action` prints and what a failed policy test shows.
//!
//! ```text
//! deny: write:email on eve@elsewhere.com
//!   policy  clawdbot-email-policy
//!   rule    clawdbot-email-policy#3
//!   reason  External email requires approval
//!
//! policies:
//!   applies      clawdbot-email-policy
//!   not applied  autogpt-policy: the agent has none of the tags `autogpt`
//! rules:
//!   no-match   allow  clawdbot-email-policy#2: resource `eve@elsewhere.com` fails `matches`
//!   decided    deny   clawdbot-email-policy#3
//! ```
//!
//! Every name and reason comes from policy text or the request, so each is cleaned of
//! control characters before it reaches a terminal.

use meshguard_core::{Decision, Effect, Explanation, Mode, RuleStatus};

use crate::render::{BOLD, CYAN, GREEN, RED, Renderer, YELLOW, clean};

/// The style of an effect's word.
pub fn effect_style(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => GREEN,
        Effect::Deny => RED,
        Effect::RequireApproval => YELLOW,
    }
}

/// The decision: effect, action and resource, then policy, rule and reason.
pub fn decision(d: &Decision, r: &Renderer) -> String {
    let mut out = format!(
        "{}: {}",
        r.paint(effect_style(d.effect), d.effect.as_str()),
        r.paint(BOLD, &clean(&d.action)),
    );
    if let Some(resource) = &d.resource {
        out.push_str(&format!(" on {}", clean(resource)));
    }
    out.push('\n');
    out.push_str(&format!("  policy  {}\n", clean(&d.policy)));
    out.push_str(&format!("  rule    {}\n", clean(&d.rule)));
    out.push_str(&format!("  reason  {}\n", clean(&d.reason)));
    if d.mode == Mode::Audit {
        out.push_str("  mode    audit: the caller is allowed whatever the effect\n");
    }
    for limit in &d.obligations.rate_limits {
        let mut parts = Vec::new();
        if let Some(n) = limit.requests_per_minute {
            parts.push(format!("{n}/minute"));
        }
        if let Some(n) = limit.requests_per_hour {
            parts.push(format!("{n}/hour"));
        }
        out.push_str(&format!(
            "  limit   {} ({} of policy {})\n",
            parts.join(", "),
            clean(&limit.rule),
            clean(&limit.policy)
        ));
    }
    out
}

/// Every policy and whether it applies, then every rule of the applicable ones with its
/// fate and, when it did not match or did not decide, why.
pub fn explanation(e: &Explanation, r: &Renderer) -> String {
    let mut out = String::from("policies:\n");
    if e.policies.is_empty() {
        out.push_str("  (none loaded)\n");
    }
    for p in &e.policies {
        if p.applies {
            out.push_str(&format!(
                "  {}      {}\n",
                r.paint(GREEN, "applies"),
                clean(&p.policy)
            ));
        } else {
            let why = p.detail.as_deref().map(clean).unwrap_or_default();
            out.push_str(&format!("  not applied  {}: {why}\n", clean(&p.policy)));
        }
    }
    out.push_str("rules:\n");
    if e.rules.is_empty() {
        out.push_str("  (no applicable policy has rules)\n");
    }
    let width = e
        .rules
        .iter()
        .map(|t| t.rule.chars().count())
        .max()
        .unwrap_or(0);
    let effects = e
        .rules
        .iter()
        .map(|t| t.effect.as_str().len())
        .max()
        .unwrap_or(0);
    for t in &e.rules {
        let (status, style) = status_word(t.status);
        let effect = format!("{:<effects$}", t.effect.as_str());
        let rule = format!("{:<width$}", clean(&t.rule));
        let mut line = format!(
            "  {}  {}  {}",
            r.paint(style, &format!("{status:<9}")),
            r.paint(effect_style(t.effect), &effect),
            rule
        );
        if let Some(detail) = &t.detail {
            line.push_str(&format!("  {}", clean(detail)));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A rule status as printed, and its style.
fn status_word(status: RuleStatus) -> (&'static str, &'static str) {
    match status {
        RuleStatus::Decided => ("decided", BOLD),
        RuleStatus::Outranked => ("outranked", CYAN),
        RuleStatus::SetAside => ("set-aside", CYAN),
        RuleStatus::Shadowed => ("shadowed", CYAN),
        RuleStatus::NoMatch => ("no-match", ""),
    }
}
