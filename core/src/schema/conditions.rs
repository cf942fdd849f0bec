//! `conditions`: resource, context, time and agent tests, plus the seeds' shorthands.

use crate::error::PolicyError;
use crate::model::{
    AgentTest, Conditions, ContextOp, ContextTest, OperandSpan, ResourceTest, TierTest, TimeWindow,
};
use crate::tree::{Kind, Node};

use super::did_you_mean;
use super::policy::{rate_limit, tier};
use super::values::{
    Errors, boolean, entries, fields, globs, inner_span, invalid, number, scalar, scalars, string,
    strings,
};

pub(crate) const CONDITION_KEYS: &[&str] = &[
    "resource",
    "context",
    "time",
    "agent",
    "rateLimit",
    "resourcePattern",
    "sandbox",
];
pub(crate) const RESOURCE_OPS: &[&str] =
    &["matches", "startsWith", "endsWith", "contains", "equals"];
pub(crate) const CONTEXT_OPS: &[&str] = &[
    "equals",
    "in",
    "notIn",
    "matches",
    "startsWith",
    "contains",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
];
pub(crate) const TIME_KEYS: &[&str] = &["between", "days", "utcOffset"];
pub(crate) const AGENT_KEYS: &[&str] = &["trustTier", "tags"];
pub(crate) const TIER_OPS: &[&str] = &["atLeast", "atMost", "in"];
pub(crate) const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub(crate) const LONG_DAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

pub(super) fn read_conditions(node: &Node, errs: &mut Errors) -> Option<Conditions> {
    let before = errs.len();
    if node.kind == Kind::Null || matches!(&node.kind, Kind::Map(m) if m.is_empty()) {
        errs.push(PolicyError::Empty {
            key: "conditions".to_owned(),
            help: "an empty block would make the rule unconditional; add a condition or remove `conditions`",
            span: node.span,
        });
        return None;
    }
    let f = fields(node, "conditions", "conditions", CONDITION_KEYS, errs)?;
    let mut c = Conditions::default();
    if let Some(n) = f.get("resource") {
        c.resource = resource(n, errs);
        if let Kind::Map(entries) = &n.kind {
            for (k, v) in entries {
                if let Some(op) = RESOURCE_OPS.iter().find(|op| **op == k.name) {
                    c.operand_spans.extend(operand_spans(op, v));
                }
            }
        }
    }
    if let Some(n) = f.get("resourcePattern") {
        // The seeds' synonym of `resource.matches`.
        if let Some(g) = globs(n, "resourcePattern", errs) {
            c.resource
                .push(ResourceTest::Matches(crate::model::ResourceGlobs::new(g)));
            c.operand_spans.extend(operand_spans("matches", n));
        }
    }
    if let Some(n) = f.get("context") {
        c.context = context(n, errs);
    }
    if let Some(n) = f.get("sandbox") {
        // The seeds' `sandbox: true`: a context condition on the key `sandbox`.
        if let Some(v) = scalar(n, "sandbox", errs) {
            c.context.push(ContextTest {
                key: "sandbox".to_owned(),
                path: vec!["sandbox".to_owned()],
                ops: vec![ContextOp::Equals(v)],
            });
        }
    }
    c.time = f.get("time").and_then(|n| time(n, errs));
    c.agent = f.get("agent").and_then(|n| agent(n, errs));
    c.rate_limit = f
        .get("rateLimit")
        .and_then(|n| rate_limit(n, "rateLimit", errs));
    (errs.len() == before).then_some(c)
}

fn resource(node: &Node, errs: &mut Errors) -> Vec<ResourceTest> {
    if let Kind::Str(s) = &node.kind {
        errs.push(invalid(
            format!("`resource` takes operators, found the string `{s}`"),
            Some(format!("write `resource: {{ matches: \"{s}\" }}`")),
            node.span,
        ));
        return Vec::new();
    }
    let Some(f) = fields(node, "resource", "resource conditions", RESOURCE_OPS, errs) else {
        return Vec::new();
    };
    if f.is_empty() {
        errs.push(PolicyError::Empty {
            key: "resource".to_owned(),
            help: "give at least one of `matches`, `startsWith`, `endsWith`, `contains`, `equals`",
            span: f.span,
        });
    }
    let mut tests = Vec::new();
    for op in RESOURCE_OPS {
        let Some(n) = f.get(op) else { continue };
        let texts = |errs: &mut Errors| {
            strings(n, op, errs).map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
        };
        let test = match *op {
            "matches" => globs(n, op, errs)
                .map(|g| ResourceTest::Matches(crate::model::ResourceGlobs::new(g))),
            "startsWith" => texts(errs).map(ResourceTest::StartsWith),
            "endsWith" => texts(errs).map(ResourceTest::EndsWith),
            "contains" => {
                texts(errs).map(|v| ResourceTest::Contains(crate::substrings::Substrings::new(v)))
            }
            _ => texts(errs).map(ResourceTest::Equals),
        };
        tests.extend(test);
    }
    tests
}

/// Where each string operand of one resource operator is written.
fn operand_spans(operator: &'static str, node: &Node) -> Vec<OperandSpan> {
    let items = match &node.kind {
        Kind::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    items
        .iter()
        .filter_map(|item| match &item.kind {
            Kind::Str(s) => Some(OperandSpan {
                operator,
                operand: s.clone(),
                span: inner_span(item.span, s),
            }),
            _ => None,
        })
        .collect()
}

fn context(node: &Node, errs: &mut Errors) -> Vec<ContextTest> {
    let Some(items) = entries(node, "context", errs) else {
        return Vec::new();
    };
    if items.is_empty() {
        errs.push(PolicyError::Empty {
            key: "context".to_owned(),
            help: "give at least one context key, or remove `context`",
            span: node.span,
        });
    }
    let mut tests = Vec::new();
    for (key, value) in items {
        let path: Vec<String> = key.name.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            errs.push(invalid(
                format!("invalid context key `{}`", key.name),
                Some("a dotted key names nested objects, like `ticket.sensitivity`".to_owned()),
                key.span,
            ));
            continue;
        }
        let ops = match &value.kind {
            Kind::Map(_) => context_ops(&key.name, value, errs),
            Kind::Seq(_) => {
                errs.push(invalid(
                    format!("a list is not a condition on context key `{}`", key.name),
                    Some("for any-of, write `in: [ ... ]`".to_owned()),
                    value.span,
                ));
                continue;
            }
            _ => scalar(value, &key.name, errs)
                .map(|s| vec![ContextOp::Equals(s)])
                .unwrap_or_default(),
        };
        tests.push(ContextTest {
            key: key.name.clone(),
            path,
            ops,
        });
    }
    tests
}

fn context_ops(key: &str, node: &Node, errs: &mut Errors) -> Vec<ContextOp> {
    let Kind::Map(items) = &node.kind else {
        return Vec::new();
    };
    if items.is_empty() {
        errs.push(PolicyError::Empty {
            key: key.to_owned(),
            help: "give an operator such as `equals` or `in`",
            span: node.span,
        });
    }
    let mut ops = Vec::new();
    for (op, v) in items {
        let parsed = match op.name.as_str() {
            "equals" => scalar(v, "equals", errs).map(ContextOp::Equals),
            "in" => scalars(v, "in", errs).map(ContextOp::In),
            "notIn" => scalars(v, "notIn", errs).map(ContextOp::NotIn),
            "matches" => globs(v, "matches", errs).map(ContextOp::Matches),
            "startsWith" => strings(v, "startsWith", errs)
                .map(|s| ContextOp::StartsWith(s.into_iter().map(|(t, _)| t).collect())),
            "contains" => scalars(v, "contains", errs).map(ContextOp::Contains),
            "exists" => boolean(v, "exists", errs).map(ContextOp::Exists),
            "gt" => number(v, "gt", errs).map(ContextOp::Gt),
            "gte" => number(v, "gte", errs).map(ContextOp::Gte),
            "lt" => number(v, "lt", errs).map(ContextOp::Lt),
            "lte" => number(v, "lte", errs).map(ContextOp::Lte),
            other => {
                let help = match operator_alias(other).or_else(|| did_you_mean(other, CONTEXT_OPS))
                {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "operators are {}; to reach a nested key write `{key}.{other}`",
                        crate::error::list(CONTEXT_OPS)
                    ),
                };
                errs.push(invalid(
                    format!("unknown operator `{other}` for context key `{key}`"),
                    Some(help),
                    op.span,
                ));
                None
            }
        };
        ops.extend(parsed);
    }
    ops
}

/// Operator spellings from other policy languages, mapped to ours for suggestions.
fn operator_alias(op: &str) -> Option<&'static str> {
    Some(match op {
        "eq" | "is" | "equal" | "==" => "equals",
        "ne" | "neq" | "nin" | "!=" => "notIn",
        "ge" | ">=" => "gte",
        "le" | "<=" => "lte",
        ">" => "gt",
        "<" => "lt",
        "regex" | "glob" | "like" => "matches",
        "prefix" => "startsWith",
        "has" | "includes" => "contains",
        _ => return None,
    })
}

fn time(node: &Node, errs: &mut Errors) -> Option<TimeWindow> {
    let f = fields(node, "time", "time conditions", TIME_KEYS, errs)?;
    if f.get("between").is_none() && f.get("days").is_none() {
        errs.push(PolicyError::MissingKey {
            key: "between",
            place: "time conditions (give `between`, `days` or both)",
            span: f.span,
        });
        return None;
    }
    let between = f.get("between").and_then(|n| {
        let s = string(n, "between", errs)?;
        let window = s
            .split_once('-')
            .and_then(|(a, b)| Some((clock(a.trim())?, clock(b.trim())?)));
        match window {
            Some((a, b)) if a == b => {
                errs.push(invalid(
                    format!("time window `{s}` is empty"),
                    Some("give different start and end times".to_owned()),
                    n.span,
                ));
                None
            }
            Some(w) => Some(w),
            None => {
                errs.push(invalid(
                    format!("invalid time window `{s}`"),
                    Some("write `HH:MM-HH:MM` in 24-hour time, like `09:00-18:00`".to_owned()),
                    n.span,
                ));
                None
            }
        }
    });
    let days = f.get("days").and_then(|n| {
        let items = strings(n, "days", errs)?;
        let mut bits = 0u8;
        for (d, span) in items {
            let lower = d.to_lowercase();
            let idx = DAYS
                .iter()
                .position(|x| *x == lower)
                .or_else(|| LONG_DAYS.iter().position(|x| *x == lower));
            match idx {
                Some(i) => bits |= 1 << i,
                None => {
                    let help = match did_you_mean(&d, DAYS).or_else(|| did_you_mean(&d, LONG_DAYS))
                    {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("expected one of {}", crate::error::list(DAYS)),
                    };
                    errs.push(invalid(format!("unknown day `{d}`"), Some(help), span));
                }
            }
        }
        Some(bits)
    });
    let offset = match f.get("utcOffset") {
        Some(n) => {
            let s = string(n, "utcOffset", errs)?;
            match utc_offset(&s) {
                Some(m) => m,
                None => {
                    errs.push(invalid(
                        format!("invalid UTC offset `{s}`"),
                        Some(
                            "write `+HH:MM` or `-HH:MM` between `-14:00` and `+14:00`, or `Z`"
                                .to_owned(),
                        ),
                        n.span,
                    ));
                    return None;
                }
            }
        }
        None => 0,
    };
    Some(TimeWindow {
        between,
        days,
        utc_offset_minutes: offset,
    })
}

/// `HH:MM` to minutes after midnight; `24:00` is the end of the day.
fn clock(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn utc_offset(s: &str) -> Option<i32> {
    if s == "Z" || s == "z" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    (h <= 14 && m <= 59 && h * 60 + m <= 14 * 60).then_some(sign * (h * 60 + m))
}

fn agent(node: &Node, errs: &mut Errors) -> Option<AgentTest> {
    let f = fields(node, "agent", "agent conditions", AGENT_KEYS, errs)?;
    if f.is_empty() {
        errs.push(PolicyError::Empty {
            key: "agent".to_owned(),
            help: "give `trustTier`, `tags` or both",
            span: f.span,
        });
        return None;
    }
    let trust_tier = f.get("trustTier").and_then(|n| match &n.kind {
        Kind::Str(s) => tier(s, n.span, errs).map(|t| TierTest::In(vec![t])),
        _ => {
            let g = fields(n, "trustTier", "trustTier", TIER_OPS, errs)?;
            if g.is_empty() {
                errs.push(PolicyError::Empty {
                    key: "trustTier".to_owned(),
                    help: "give `atLeast`, `atMost` or `in`, or remove `trustTier`",
                    span: g.span,
                });
                return None;
            }
            let mut ops = TIER_OPS.iter().filter_map(|k| g.get(k).map(|v| (*k, v)));
            let (op, v) = ops.next()?;
            if ops.next().is_some() {
                errs.push(invalid(
                    "give one of `atLeast`, `atMost` or `in` under `trustTier`".to_owned(),
                    None,
                    g.span,
                ));
                return None;
            }
            let before = errs.len();
            let tiers: Vec<_> = strings(v, op, errs)?
                .into_iter()
                .filter_map(|(s, sp)| tier(&s, sp, errs))
                .collect();
            if errs.len() != before {
                return None;
            }
            match (op, tiers.as_slice()) {
                ("atLeast", [t]) => Some(TierTest::AtLeast(*t)),
                ("atMost", [t]) => Some(TierTest::AtMost(*t)),
                ("in", _) if !tiers.is_empty() => Some(TierTest::In(tiers)),
                _ => {
                    errs.push(invalid(
                        format!("`{op}` takes a single trust tier"),
                        None,
                        v.span,
                    ));
                    None
                }
            }
        }
    });
    let tagged = f.get("tags").and_then(|n| strings(n, "tags", errs));
    let tag_spans = tagged
        .iter()
        .flatten()
        .map(|(s, span)| inner_span(*span, s))
        .collect();
    let tags = tagged.map(|v| v.into_iter().map(|(s, _)| s).collect());
    Some(AgentTest {
        trust_tier,
        tags,
        tag_spans,
    })
}
