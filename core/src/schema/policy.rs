//! Policy-level keys: name, appliesTo, rules, defaults, limits, approvals, audit.

use crate::error::PolicyError;
use crate::model::{
    AppliesTo, AuditSettings, Conditions, Effect, KindDeclaration, Policy, RateLimit, ResourceKind,
    Rule, RuleOrder, TrustTier,
};
use crate::tree::Node;

use super::conditions::read_conditions;
use super::values::{
    Errors, boolean, count, fields, globs, invalid, non_empty_string, one_of, string, strings, text,
};

pub(crate) const POLICY_KEYS: &[&str] = &[
    "name",
    "version",
    "description",
    "appliesTo",
    "rules",
    "defaultEffect",
    "ruleOrder",
    "rateLimits",
    "humanInTheLoop",
    "audit",
    "resourceKinds",
];
pub(crate) const APPLIES_KEYS: &[&str] = &["tags", "trustTiers", "agentIds", "orgIds"];
pub(crate) const RULE_KEYS: &[&str] = &[
    "name",
    "id",
    "effect",
    "actions",
    "conditions",
    "reason",
    "description",
];
pub(crate) const RATE_KEYS: &[&str] = &["requestsPerMinute", "requestsPerHour"];
pub(crate) const HITL_KEYS: &[&str] = &["requireApproval"];
/// The kinds `resourceKinds` may declare, in the order their declarations are tried.
pub(crate) const KIND_KEYS: &[&str] = &["shell", "path", "url", "email", "plain"];
pub(crate) const KINDS: &[(&str, ResourceKind)] = &[
    ("shell", ResourceKind::Shell),
    ("path", ResourceKind::Path),
    ("url", ResourceKind::Url),
    ("email", ResourceKind::Email),
    ("plain", ResourceKind::Plain),
];
pub(crate) const AUDIT_KEYS: &[&str] = &["enabled", "log_level", "include", "retention_days"];

pub(crate) const EFFECTS: &[(&str, Effect)] = &[
    ("allow", Effect::Allow),
    ("deny", Effect::Deny),
    ("require_approval", Effect::RequireApproval),
];
pub(crate) const DEFAULT_EFFECTS: &[(&str, Effect)] =
    &[("allow", Effect::Allow), ("deny", Effect::Deny)];
pub(crate) const RULE_ORDERS: &[(&str, RuleOrder)] = &[
    ("specific-first", RuleOrder::SpecificFirst),
    ("first-match", RuleOrder::FirstMatch),
];
pub(crate) const LOG_LEVELS: &[(&str, &str)] = &[
    ("debug", "debug"),
    ("info", "info"),
    ("warn", "warn"),
    ("error", "error"),
];

/// Largest per-minute or per-hour limit; the limiter keeps one timestamp per counted request.
pub(crate) const MAX_RATE: u32 = 1_000_000;

/// Longest `audit.retention_days`: a hundred years.
pub(crate) const MAX_RETENTION_DAYS: u32 = 36_500;

/// Reads one policy document. Returns `None` when it has any error (all are reported).
pub(crate) fn read_policy(doc: &Node, errs: &mut Errors) -> Option<Policy> {
    let before = errs.len();
    let f = fields(doc, "policy", "policy", POLICY_KEYS, errs)?;

    let name = match f.get("name") {
        Some(n) => non_empty_string(n, "name", "every policy needs a unique name", errs)
            .map(|s| (s, n.span)),
        None => {
            errs.push(PolicyError::MissingKey {
                key: "name",
                place: "policy",
                span: f.span,
            });
            None
        }
    };
    let policy_name = name.as_ref().map_or("policy", |(n, _)| n.as_str());

    let version = f.get("version").and_then(|n| text(n, "version", errs));
    let description = f
        .get("description")
        .and_then(|n| string(n, "description", errs));
    let applies_to = f.get("appliesTo").and_then(|n| applies_to(n, errs));
    let default_effect = f
        .get("defaultEffect")
        .and_then(|n| {
            if n.kind == crate::tree::Kind::Str("require_approval".to_owned()) {
                errs.push(invalid(
                    "`require_approval` cannot be a default effect".to_owned(),
                    Some(
                        "a default is `allow` or `deny`; to ask a person about everything \
                         else, end the rules with `effect: require_approval` on `actions: [\"*\"]`"
                            .to_owned(),
                    ),
                    n.span,
                ));
                return None;
            }
            one_of(n, "defaultEffect", "default effect", DEFAULT_EFFECTS, errs)
        })
        .unwrap_or(Effect::Deny);
    let rule_order = f
        .get("ruleOrder")
        .and_then(|n| one_of(n, "ruleOrder", "rule order", RULE_ORDERS, errs))
        .unwrap_or_default();
    let rate_limits = f
        .get("rateLimits")
        .and_then(|n| rate_limit(n, "rateLimits", errs));
    let require_approval = match f.get("humanInTheLoop") {
        Some(n) => human_in_the_loop(n, errs).unwrap_or_default(),
        None => Vec::new(),
    };
    let audit = f
        .get("audit")
        .and_then(|n| audit(n, errs))
        .map(std::sync::Arc::new);
    let resource_kinds = match f.get("resourceKinds") {
        Some(n) => resource_kinds(n, errs).unwrap_or_default(),
        None => Vec::new(),
    };
    let rules = match f.get("rules") {
        Some(n) => read_rules(n, policy_name, errs),
        None => Vec::new(),
    };

    let (name, name_span) = name?;
    (errs.len() == before).then_some(Policy {
        name,
        name_span,
        version,
        description,
        applies_to,
        rules,
        default_effect,
        rule_order,
        rate_limits,
        require_approval,
        audit,
        resource_kinds,
    })
}

/// `resourceKinds: {shell: [...], path: [...], ...}`, in `KIND_KEYS` order.
fn resource_kinds(node: &Node, errs: &mut Errors) -> Option<Vec<KindDeclaration>> {
    let f = fields(node, "resourceKinds", "resourceKinds", KIND_KEYS, errs)?;
    if f.is_empty() {
        errs.push(PolicyError::Empty {
            key: "resourceKinds".to_owned(),
            help: "remove `resourceKinds`, or map a kind to the actions that carry it",
            span: f.span,
        });
        return None;
    }
    Some(
        KINDS
            .iter()
            .filter_map(|(key, kind)| {
                let actions = globs(f.get(key)?, key, errs)?;
                Some(KindDeclaration {
                    kind: *kind,
                    actions,
                })
            })
            .collect(),
    )
}

fn applies_to(node: &Node, errs: &mut Errors) -> Option<AppliesTo> {
    let f = fields(node, "appliesTo", "appliesTo", APPLIES_KEYS, errs)?;
    if f.is_empty() {
        errs.push(PolicyError::Empty {
            key: "appliesTo".to_owned(),
            help: "remove `appliesTo` to apply the policy to every request, or list selectors",
            span: f.span,
        });
        return None;
    }
    let list = |key: &str, errs: &mut Errors| {
        f.get(key)
            .and_then(|n| strings(n, key, errs))
            .map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
    };
    let tag_spans = tag_spans(f.get("tags"));
    let tags = list("tags", errs);
    let agent_ids = list("agentIds", errs);
    let org_ids = list("orgIds", errs);
    let trust_tiers = f.get("trustTiers").and_then(|n| {
        let items = strings(n, "trustTiers", errs)?;
        let before = errs.len();
        let tiers: Vec<TrustTier> = items
            .into_iter()
            .filter_map(|(s, span)| tier(&s, span, errs))
            .collect();
        (errs.len() == before).then_some(tiers)
    });
    Some(AppliesTo {
        tags,
        trust_tiers,
        agent_ids,
        org_ids,
        tag_spans,
    })
}

/// A trust tier name or alias.
pub(super) fn tier(s: &str, span: crate::source::Span, errs: &mut Errors) -> Option<TrustTier> {
    let t = TrustTier::parse(s);
    if t.is_none() {
        let help = match super::did_you_mean(s, crate::model::TIER_NAMES) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "expected one of `untrusted`, `verified`, `trusted`, `privileged`".to_owned(),
        };
        errs.push(invalid(
            format!("unknown trust tier `{s}`"),
            Some(help),
            span,
        ));
    }
    t
}

fn read_rules(node: &Node, policy: &str, errs: &mut Errors) -> Vec<Rule> {
    let crate::tree::Kind::Seq(items) = &node.kind else {
        errs.push(super::values::wrong_type("rules", "a list of rules", node));
        return Vec::new();
    };
    let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(rule) = read_rule(item, policy, i, errs) else {
            continue;
        };
        if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
            errs.push(PolicyError::DuplicateName {
                what: "rule",
                name: rule.id.clone(),
                first: format!("line {}", first.id_span.start.line),
                span: rule.id_span,
            });
            continue;
        }
        rules.push(rule);
    }
    rules
}

fn read_rule(node: &Node, policy: &str, index: usize, errs: &mut Errors) -> Option<Rule> {
    let before = errs.len();
    let f = fields(node, "rule", "rule", RULE_KEYS, errs)?;
    let missing = |key: &'static str, errs: &mut Errors| {
        errs.push(PolicyError::MissingKey {
            key,
            place: "rule",
            span: f.span,
        });
    };

    let name = f
        .get("name")
        .and_then(|n| non_empty_string(n, "name", "omit `name` to get a generated one", errs));
    let id = f
        .get("id")
        .and_then(|n| non_empty_string(n, "id", "omit `id` to get a generated one", errs));
    if let (Some(_), Some(n)) = (&name, f.get("id")) {
        errs.push(invalid(
            "a rule has either `name` or `id`, not both".to_owned(),
            Some("keep one of them".to_owned()),
            n.span,
        ));
    }
    let effect = match f.get("effect") {
        Some(n) => one_of(n, "effect", "effect", EFFECTS, errs),
        None => {
            missing("effect", errs);
            None
        }
    };
    let actions = match f.get("actions") {
        Some(n) => globs(n, "actions", errs),
        None => {
            missing("actions", errs);
            None
        }
    };
    let conditions = match f.get("conditions") {
        Some(n) => read_conditions(n, errs),
        None => Some(Conditions::default()),
    };
    let reason = f
        .get("reason")
        .and_then(|n| non_empty_string(n, "reason", "omit `reason` to get a generated one", errs))
        .map(|r| r.trim().to_owned());
    let description = f
        .get("description")
        .and_then(|n| string(n, "description", errs));

    if errs.len() != before {
        return None;
    }
    let id_span = f
        .get("name")
        .or_else(|| f.get("id"))
        .map_or_else(|| head(node), |n| n.span);
    Some(Rule {
        id: name
            .or(id)
            .unwrap_or_else(|| format!("{policy}#{}", index + 1)),
        id_span,
        effect: effect?,
        actions: actions?,
        conditions: conditions?,
        reason,
        description,
        span: node.span,
    })
}

/// `rateLimits` (policy) or `conditions.rateLimit` (rule).
pub(super) fn rate_limit(node: &Node, key: &str, errs: &mut Errors) -> Option<RateLimit> {
    let f = fields(node, key, "rate limits", RATE_KEYS, errs)?;
    if f.is_empty() {
        errs.push(PolicyError::Empty {
            key: key.to_owned(),
            help: "give `requestsPerMinute`, `requestsPerHour` or both",
            span: f.span,
        });
        return None;
    }
    let read = |k: &str, errs: &mut Errors| f.get(k).and_then(|n| count(n, k, MAX_RATE, errs));
    Some(RateLimit {
        requests_per_minute: read("requestsPerMinute", errs),
        requests_per_hour: read("requestsPerHour", errs),
    })
}

fn human_in_the_loop(node: &Node, errs: &mut Errors) -> Option<Vec<crate::glob::Glob>> {
    let f = fields(node, "humanInTheLoop", "humanInTheLoop", HITL_KEYS, errs)?;
    match f.get("requireApproval") {
        Some(n) => globs(n, "requireApproval", errs),
        None => {
            errs.push(PolicyError::MissingKey {
                key: "requireApproval",
                place: "humanInTheLoop",
                span: f.span,
            });
            None
        }
    }
}

fn audit(node: &Node, errs: &mut Errors) -> Option<AuditSettings> {
    let f = fields(node, "audit", "audit", AUDIT_KEYS, errs)?;
    Some(AuditSettings {
        enabled: f
            .get("enabled")
            .and_then(|n| boolean(n, "enabled", errs))
            .unwrap_or(true),
        log_level: f
            .get("log_level")
            .and_then(|n| one_of(n, "log_level", "log level", LOG_LEVELS, errs))
            .map(str::to_owned),
        include: f
            .get("include")
            .and_then(|n| strings(n, "include", errs))
            .map(|v| v.into_iter().map(|(s, _)| s).collect())
            .unwrap_or_default(),
        retention_days: f
            .get("retention_days")
            .and_then(|n| count(n, "retention_days", MAX_RETENTION_DAYS, errs)),
    })
}

/// Where each tag of `appliesTo.tags` is written (read again after `strings` has checked
/// them, so only strings are kept).
fn tag_spans(node: Option<&Node>) -> Vec<crate::source::Span> {
    let Some(node) = node else {
        return Vec::new();
    };
    let items = match &node.kind {
        crate::tree::Kind::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    items
        .iter()
        .filter_map(|item| match &item.kind {
            crate::tree::Kind::Str(s) => Some(super::values::inner_span(item.span, s)),
            _ => None,
        })
        .collect()
}

/// Where to point at a rule without a name: the whole rule when it is written on one line
/// (`- {effect: deny, actions: [x]}`), else its start to the end of its first entry
/// (`effect: allow`) when that is on the first line.
fn head(node: &Node) -> crate::source::Span {
    let span = node.span;
    if span.start.line == span.end.line {
        return span;
    }
    let first = match &node.kind {
        crate::tree::Kind::Map(entries) => entries.first().map(|(_, v)| v.span.end),
        _ => None,
    };
    let end = first
        .filter(|end| end.line == span.start.line)
        .unwrap_or(crate::source::Pos {
            line: span.start.line,
            column: span.start.column.saturating_add(1),
        });
    crate::source::Span {
        start: span.start,
        end,
    }
}
