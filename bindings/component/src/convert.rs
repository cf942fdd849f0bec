//! WIT records ⇄ `meshguard-core` boundary types, field for field.

use std::sync::Arc;

use meshguard_core as core;

use crate::bindings::meshguard::policy::types as wit;

pub(crate) fn effect_in(e: wit::Effect) -> core::Effect {
    match e {
        wit::Effect::Allow => core::Effect::Allow,
        wit::Effect::Deny => core::Effect::Deny,
        wit::Effect::RequireApproval => core::Effect::RequireApproval,
    }
}

fn effect_out(e: core::Effect) -> wit::Effect {
    match e {
        core::Effect::Allow => wit::Effect::Allow,
        core::Effect::Deny => wit::Effect::Deny,
        core::Effect::RequireApproval => wit::Effect::RequireApproval,
    }
}

fn mode_in(m: wit::Mode) -> core::Mode {
    match m {
        wit::Mode::Enforce => core::Mode::Enforce,
        wit::Mode::Audit => core::Mode::Audit,
    }
}

fn mode_out(m: core::Mode) -> wit::Mode {
    match m {
        core::Mode::Enforce => wit::Mode::Enforce,
        core::Mode::Audit => wit::Mode::Audit,
    }
}

/// A WIT request as a core request. Context text that is not JSON is passed on as a
/// JSON string, which the core refuses (`context` must be an object): the caller still
/// gets the core's own fail-closed decision, with no second error path here.
pub(crate) fn request(r: wit::Request) -> core::Request {
    let context = r.context.map(|text| {
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or(serde_json::Value::String(text))
    });
    core::Request {
        action: r.action,
        resource: r.resource,
        context,
        agent: r.agent.map(|a| core::Agent {
            id: a.id,
            name: a.name,
            trust_tier: a.trust_tier,
            tags: a.tags,
            org_id: a.org_id,
        }),
        time: r.time,
        mode: r.mode.map(mode_in),
    }
}

/// `String::from(&str)` copies; `to_string` would go through `Display`.
fn text(s: &Arc<str>) -> String {
    String::from(&**s)
}

pub(crate) fn decision(d: core::Decision) -> wit::Decision {
    wit::Decision {
        effect: effect_out(d.effect),
        allowed: d.allowed,
        mode: mode_out(d.mode),
        action: d.action,
        resource: d.resource,
        part: d.part,
        origin: origin_out(d.origin),
        policy: text(&d.policy),
        rule: text(&d.rule),
        reason: text(&d.reason),
        obligations: wit::Obligations {
            rate_limits: d
                .obligations
                .rate_limits
                .iter()
                .map(|o| wit::RateLimit {
                    policy: text(&o.policy),
                    rule: text(&o.rule),
                    requests_per_minute: o.requests_per_minute,
                    requests_per_hour: o.requests_per_hour,
                })
                .collect(),
            audit: d.obligations.audit.map(|a| wit::AuditSettings {
                enabled: a.enabled,
                log_level: a.log_level.clone(),
                include: a.include.clone(),
                retention_days: a.retention_days,
            }),
        },
        explanation: d.explanation.map(|e| wit::Explanation {
            policies: e
                .policies
                .into_iter()
                .map(|p| wit::PolicyTrace {
                    policy: text(&p.policy),
                    applies: p.applies,
                    detail: p.detail,
                })
                .collect(),
            rules: e
                .rules
                .into_iter()
                .map(|r| wit::RuleTrace {
                    policy: text(&r.policy),
                    rule: text(&r.rule),
                    effect: effect_out(r.effect),
                    matched: r.matched,
                    status: match r.status {
                        core::RuleStatus::Decided => wit::RuleStatus::Decided,
                        core::RuleStatus::Outranked => wit::RuleStatus::Outranked,
                        core::RuleStatus::SetAside => wit::RuleStatus::SetAside,
                        core::RuleStatus::Shadowed => wit::RuleStatus::Shadowed,
                        core::RuleStatus::NoMatch => wit::RuleStatus::NoMatch,
                    },
                    detail: r.detail,
                })
                .collect(),
            parts: e
                .parts
                .into_iter()
                .map(|p| wit::PartTrace {
                    part: p.part,
                    effect: effect_out(p.effect),
                    policy: text(&p.policy),
                    rule: text(&p.rule),
                })
                .collect(),
        }),
    }
}

fn origin_out(o: core::Origin) -> wit::Origin {
    match o {
        core::Origin::Rule => wit::Origin::Rule,
        core::Origin::DefaultEffect => wit::Origin::DefaultEffect,
        core::Origin::HumanInTheLoop => wit::Origin::HumanInTheLoop,
        core::Origin::NoPolicy => wit::Origin::NoPolicy,
        core::Origin::RateLimit => wit::Origin::RateLimit,
        core::Origin::InvalidRequest => wit::Origin::InvalidRequest,
        core::Origin::UnreadableResource => wit::Origin::UnreadableResource,
        core::Origin::EvaluationError => wit::Origin::EvaluationError,
    }
}

pub(crate) fn diagnostic(d: &core::Diagnostic) -> wit::Diagnostic {
    wit::Diagnostic {
        code: d.code.clone(),
        severity: d.severity.clone(),
        message: d.message.clone(),
        help: d.help.clone(),
        file: d.file.clone(),
        line: d.line,
        column: d.column,
        end_line: d.end_line,
        end_column: d.end_column,
    }
}
