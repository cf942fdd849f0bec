//! `meshguard-core` boundary types ⇄ the component's WIT records, field for field, so a
//! decision from the component serialises to exactly the native core's JSON.

use std::sync::Arc;

use meshguard_core as core;

use super::bindings::meshguard::policy::types as wit;

pub(super) fn effect_out(e: core::Effect) -> wit::Effect {
    match e {
        core::Effect::Allow => wit::Effect::Allow,
        core::Effect::Deny => wit::Effect::Deny,
        core::Effect::RequireApproval => wit::Effect::RequireApproval,
    }
}

fn effect_in(e: wit::Effect) -> core::Effect {
    match e {
        wit::Effect::Allow => core::Effect::Allow,
        wit::Effect::Deny => core::Effect::Deny,
        wit::Effect::RequireApproval => core::Effect::RequireApproval,
    }
}

fn mode_in(m: wit::Mode) -> core::Mode {
    match m {
        wit::Mode::Enforce => core::Mode::Enforce,
        wit::Mode::Audit => core::Mode::Audit,
    }
}

/// A core request as the component's record, by move: no string is copied.
pub(super) fn request_into(r: core::Request) -> wit::Request {
    wit::Request {
        action: r.action,
        resource: r.resource,
        context: r.context.map(|c| c.to_string()),
        agent: r.agent.map(|a| wit::Agent {
            id: a.id,
            name: a.name,
            trust_tier: a.trust_tier,
            tags: a.tags,
            org_id: a.org_id,
        }),
        time: r.time,
        mode: r.mode.map(|m| match m {
            core::Mode::Enforce => wit::Mode::Enforce,
            core::Mode::Audit => wit::Mode::Audit,
        }),
    }
}

/// What a fail-closed answer needs back from a moved request (action, resource, mode).
pub(super) fn request_back(r: wit::Request) -> core::Request {
    core::Request {
        action: r.action,
        resource: r.resource,
        mode: r.mode.map(mode_in),
        ..core::Request::default()
    }
}

fn shared(s: String) -> Arc<str> {
    Arc::from(s)
}

pub(super) fn decision_in(d: wit::Decision) -> core::Decision {
    core::Decision {
        effect: effect_in(d.effect),
        allowed: d.allowed,
        mode: mode_in(d.mode),
        action: d.action,
        resource: d.resource,
        part: d.part,
        origin: origin_in(d.origin),
        policy: shared(d.policy),
        rule: shared(d.rule),
        reason: shared(d.reason),
        obligations: core::Obligations {
            rate_limits: d
                .obligations
                .rate_limits
                .into_iter()
                .map(|o| core::RateLimitObligation {
                    policy: shared(o.policy),
                    rule: shared(o.rule),
                    requests_per_minute: o.requests_per_minute,
                    requests_per_hour: o.requests_per_hour,
                })
                .collect(),
            audit: d.obligations.audit.map(|a| {
                Arc::new(core::model::AuditSettings {
                    enabled: a.enabled,
                    log_level: a.log_level,
                    include: a.include,
                    retention_days: a.retention_days,
                })
            }),
        },
        explanation: d.explanation.map(|e| core::Explanation {
            policies: e
                .policies
                .into_iter()
                .map(|p| core::PolicyTrace {
                    policy: shared(p.policy),
                    applies: p.applies,
                    detail: p.detail,
                })
                .collect(),
            rules: e
                .rules
                .into_iter()
                .map(|r| core::RuleTrace {
                    policy: shared(r.policy),
                    rule: shared(r.rule),
                    effect: effect_in(r.effect),
                    matched: r.matched,
                    status: match r.status {
                        wit::RuleStatus::Decided => core::RuleStatus::Decided,
                        wit::RuleStatus::Outranked => core::RuleStatus::Outranked,
                        wit::RuleStatus::SetAside => core::RuleStatus::SetAside,
                        wit::RuleStatus::Shadowed => core::RuleStatus::Shadowed,
                        wit::RuleStatus::NoMatch => core::RuleStatus::NoMatch,
                    },
                    detail: r.detail,
                })
                .collect(),
            parts: e
                .parts
                .into_iter()
                .map(|p| core::PartTrace {
                    part: p.part,
                    effect: effect_in(p.effect),
                    policy: shared(p.policy),
                    rule: shared(p.rule),
                })
                .collect(),
        }),
    }
}

fn origin_in(o: wit::Origin) -> core::Origin {
    match o {
        wit::Origin::Rule => core::Origin::Rule,
        wit::Origin::DefaultEffect => core::Origin::DefaultEffect,
        wit::Origin::HumanInTheLoop => core::Origin::HumanInTheLoop,
        wit::Origin::NoPolicy => core::Origin::NoPolicy,
        wit::Origin::RateLimit => core::Origin::RateLimit,
        wit::Origin::InvalidRequest => core::Origin::InvalidRequest,
        wit::Origin::UnreadableResource => core::Origin::UnreadableResource,
        wit::Origin::EvaluationError => core::Origin::EvaluationError,
    }
}

pub(super) fn diagnostic_in(d: &wit::Diagnostic) -> core::Diagnostic {
    core::Diagnostic {
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
