//! Does a rule match a prepared request? One function per condition kind, each returning
//! the first thing that failed, so the fast path and the explanation share one truth.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::boundary::Request;
use crate::error::RequestError;
use crate::model::{
    AgentTest, AppliesTo, ContextOp, ContextTest, Effect, ResourceTest, Rule, Scalar, TierTest,
    TimeWindow, TrustTier,
};

/// A request checked and put in canonical form, ready to match.
#[derive(Debug)]
pub(crate) struct Prepared<'r> {
    pub action: &'r str,
    pub resource: Option<Cow<'r, str>>,
    /// The resource as written, when it differs from the canonical form.
    pub raw_resource: Option<&'r str>,
    pub context: Option<&'r Map<String, Value>>,
    pub tags: &'r [String],
    pub agent_id: Option<&'r str>,
    pub org_id: Option<&'r str>,
    pub has_agent: bool,
    pub tier: Option<TrustTier>,
    /// Seconds since the Unix epoch.
    pub time: Option<i64>,
}

/// Parses an RFC 3339 instant into milliseconds since the Unix epoch.
pub fn parse_instant_ms(s: &str) -> Result<i64, RequestError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| RequestError::BadTime(s.to_owned()))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| RequestError::BadTime(s.to_owned()))
}

fn no_controls(field: &'static str, s: &str) -> Result<(), RequestError> {
    // Fast path on bytes, without early exit so it vectorises: C0 and DEL are single
    // bytes, C1 characters start with 0xC2.
    let suspicious = s
        .bytes()
        .fold(false, |acc, b| acc | (b < 0x20) | (b == 0x7f) | (b == 0xc2));
    if !suspicious {
        return Ok(());
    }
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(RequestError::ControlCharacter {
            field,
            code: format!("U+{:04X}", u32::from(c)),
        }),
        None => Ok(()),
    }
}

pub(crate) fn prepare(req: &Request) -> Result<Prepared<'_>, RequestError> {
    if req.action.is_empty() {
        return Err(RequestError::EmptyAction);
    }
    no_controls("action", &req.action)?;
    if let Some(r) = &req.resource {
        no_controls("resource", r)?;
    }
    let context = match &req.context {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err(RequestError::ContextNotObject),
    };
    let tier = match req.agent.as_ref().and_then(|a| a.trust_tier.as_deref()) {
        None => None,
        Some(t) => {
            Some(TrustTier::parse(t).ok_or_else(|| RequestError::UnknownTier(t.to_owned()))?)
        }
    };
    let time = match &req.time {
        None => None,
        Some(t) => Some(parse_instant_ms(t)?.div_euclid(1000)),
    };
    let resource = req.resource.as_deref().map(crate::canon::canonicalize);
    let raw_resource = match (&resource, &req.resource) {
        (Some(Cow::Owned(_)), Some(raw)) => Some(raw.as_str()),
        _ => None,
    };
    let agent = req.agent.as_ref();
    Ok(Prepared {
        action: &req.action,
        resource,
        raw_resource,
        context,
        tags: agent.map_or(&[][..], |a| a.tags.as_slice()),
        agent_id: agent.and_then(|a| a.id.as_deref()),
        org_id: agent.and_then(|a| a.org_id.as_deref()),
        has_agent: agent.is_some(),
        tier,
        time,
    })
}

/// Why a policy does not apply.
pub(crate) fn applies(a: &Option<AppliesTo>, p: &Prepared<'_>) -> Result<(), String> {
    let Some(a) = a else { return Ok(()) };
    if !p.has_agent {
        return Err("the policy selects agents and the request has none".to_owned());
    }
    let quoted =
        |v: &[String]| crate::error::list(&v.iter().map(String::as_str).collect::<Vec<_>>());
    if let Some(tags) = &a.tags
        && !tags.iter().any(|t| p.tags.contains(t))
    {
        return Err(format!("the agent has none of the tags {}", quoted(tags)));
    }
    if let Some(ids) = &a.agent_ids
        && !p.agent_id.is_some_and(|id| ids.iter().any(|x| x == id))
    {
        return Err(format!("the agent id is not one of {}", quoted(ids)));
    }
    if let Some(orgs) = &a.org_ids
        && !p.org_id.is_some_and(|id| orgs.iter().any(|x| x == id))
    {
        return Err(format!("the agent's org is not one of {}", quoted(orgs)));
    }
    if let Some(tiers) = &a.trust_tiers
        && !p.tier.is_some_and(|t| tiers.contains(&t))
    {
        let names: Vec<&str> = tiers.iter().map(|t| t.as_str()).collect();
        return Err(format!(
            "the agent's trust tier is not one of {}",
            crate::error::list(&names)
        ));
    }
    Ok(())
}

/// The first thing about a rule that does not fit the request.
#[derive(Debug)]
pub(crate) enum Miss<'a> {
    Action,
    NoResource,
    Resource(&'a ResourceTest),
    ContextMissing(&'a ContextTest),
    Context(&'a ContextTest, &'a ContextOp),
    NoTime,
    Time(&'static str),
    NoAgent,
    Tier(&'a TierTest),
    Tags,
}

impl Miss<'_> {
    pub fn describe(&self, p: &Prepared<'_>) -> String {
        let res = p.resource.as_deref().unwrap_or("");
        match self {
            Miss::Action => format!("action `{}` matches none of the rule's actions", p.action),
            Miss::NoResource => "the rule tests the resource and the request has none".to_owned(),
            Miss::Resource(t) => format!("resource `{res}` fails `{}`", t.operator()),
            Miss::ContextMissing(t) => format!("context key `{}` is missing", t.key),
            Miss::Context(t, op) => format!("context key `{}` fails `{}`", t.key, op.operator()),
            Miss::NoTime => "the rule has a time condition and the request has no time".to_owned(),
            Miss::Time(what) => format!("the request time is outside the {what}"),
            Miss::NoAgent => "the rule tests the agent and the request has none".to_owned(),
            Miss::Tier(t) => {
                let tier = p.tier.map_or("none", |t| t.as_str());
                let want = match t {
                    TierTest::AtLeast(x) => format!("at least `{}`", x.as_str()),
                    TierTest::AtMost(x) => format!("at most `{}`", x.as_str()),
                    TierTest::In(xs) => {
                        let names: Vec<&str> = xs.iter().map(|x| x.as_str()).collect();
                        format!("one of {}", crate::error::list(&names))
                    }
                };
                format!("the agent's trust tier `{tier}` is not {want}")
            }
            Miss::Tags => "the agent has none of the rule's tags".to_owned(),
        }
    }
}

/// Whether `rule` matches: its action, then every condition.
pub(crate) fn rule_matches<'a>(rule: &'a Rule, p: &Prepared<'_>) -> Result<(), Miss<'a>> {
    if !rule.actions.iter().any(|g| g.matches(p.action)) {
        return Err(Miss::Action);
    }
    let c = &rule.conditions;
    if !c.resource.is_empty() {
        let Some(canon) = p.resource.as_deref() else {
            return Err(Miss::NoResource);
        };
        // A rule that restricts (deny, approval) also sees the resource as written, so a
        // spelling that canonicalisation rewrites can only make it match more, never less.
        let raw = if rule.effect == Effect::Allow {
            None
        } else {
            p.raw_resource
        };
        for t in &c.resource {
            if !(resource_test(t, canon) || raw.is_some_and(|r| resource_test(t, r))) {
                return Err(Miss::Resource(t));
            }
        }
    }
    for t in &c.context {
        context_test(t, p.context)?;
    }
    if let Some(w) = &c.time {
        let Some(t) = p.time else {
            return Err(Miss::NoTime);
        };
        time_test(w, t)?;
    }
    if let Some(a) = &c.agent {
        agent_test(a, p)?;
    }
    Ok(())
}

fn resource_test(t: &ResourceTest, r: &str) -> bool {
    match t {
        ResourceTest::Matches(gs) => gs.matches(r),
        // Comparing first bytes before calling `memcmp` skips most prefixes of long lists.
        ResourceTest::StartsWith(v) => v
            .iter()
            .any(|s| s.as_bytes().first() == r.as_bytes().first() && r.starts_with(s.as_str())),
        ResourceTest::EndsWith(v) => v.iter().any(|s| r.ends_with(s.as_str())),
        ResourceTest::Contains(v) => v.any_in(r),
        ResourceTest::Equals(v) => v.iter().any(|s| r == s),
    }
}

fn lookup<'v>(ctx: Option<&'v Map<String, Value>>, path: &[String]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let mut v = ctx?.get(first)?;
    for k in rest {
        v = v.as_object()?.get(k)?;
    }
    Some(v)
}

fn context_test<'a>(t: &'a ContextTest, ctx: Option<&Map<String, Value>>) -> Result<(), Miss<'a>> {
    let value = lookup(ctx, &t.path);
    for op in &t.ops {
        let ok = match (op, value) {
            (ContextOp::Exists(want), v) => v.is_some() == *want,
            (_, None) => return Err(Miss::ContextMissing(t)),
            (op, Some(v)) => op_holds(op, v),
        };
        if !ok {
            return Err(Miss::Context(t, op));
        }
    }
    Ok(())
}

fn scalar_eq(v: &Value, s: &Scalar) -> bool {
    match (v, s) {
        (Value::Null, Scalar::Null) => true,
        (Value::Bool(a), Scalar::Bool(b)) => a == b,
        (Value::Number(a), Scalar::Number(b)) => a.as_f64() == Some(*b),
        (Value::String(a), Scalar::String(b)) => a == b,
        _ => false,
    }
}

fn op_holds(op: &ContextOp, v: &Value) -> bool {
    let num = v.as_f64();
    match op {
        ContextOp::Equals(s) => scalar_eq(v, s),
        ContextOp::In(list) => list.iter().any(|s| scalar_eq(v, s)),
        ContextOp::NotIn(list) => !list.iter().any(|s| scalar_eq(v, s)),
        ContextOp::Matches(gs) => v.as_str().is_some_and(|s| gs.iter().any(|g| g.matches(s))),
        ContextOp::StartsWith(ps) => v
            .as_str()
            .is_some_and(|s| ps.iter().any(|p| s.starts_with(p.as_str()))),
        ContextOp::Contains(items) => match v {
            Value::String(s) => items
                .iter()
                .any(|i| matches!(i, Scalar::String(sub) if s.contains(sub.as_str()))),
            Value::Array(arr) => items.iter().any(|i| arr.iter().any(|e| scalar_eq(e, i))),
            _ => false,
        },
        ContextOp::Exists(_) => true,
        ContextOp::Gt(x) => num.is_some_and(|n| n > *x),
        ContextOp::Gte(x) => num.is_some_and(|n| n >= *x),
        ContextOp::Lt(x) => num.is_some_and(|n| n < *x),
        ContextOp::Lte(x) => num.is_some_and(|n| n <= *x),
    }
}

fn time_test(w: &TimeWindow, epoch_s: i64) -> Result<(), Miss<'static>> {
    let local = epoch_s.saturating_add(i64::from(w.utc_offset_minutes) * 60);
    let minute = local.rem_euclid(86_400) / 60;
    if let Some((start, end)) = w.between {
        let (start, end) = (i64::from(start), i64::from(end));
        let inside = if start < end {
            start <= minute && minute < end
        } else {
            minute >= start || minute < end
        };
        if !inside {
            return Err(Miss::Time("time window"));
        }
    }
    if let Some(days) = w.days {
        // 1970-01-01 was a Thursday; bit 0 is Monday.
        let weekday = (local.div_euclid(86_400) + 3).rem_euclid(7);
        if days & (1 << weekday) == 0 {
            return Err(Miss::Time("allowed days"));
        }
    }
    Ok(())
}

fn agent_test<'a>(a: &'a AgentTest, p: &Prepared<'_>) -> Result<(), Miss<'a>> {
    if !p.has_agent {
        return Err(Miss::NoAgent);
    }
    if let Some(t) = &a.trust_tier {
        let ok = p.tier.is_some_and(|tier| match t {
            TierTest::AtLeast(min) => tier >= *min,
            TierTest::AtMost(max) => tier <= *max,
            TierTest::In(list) => list.contains(&tier),
        });
        if !ok {
            return Err(Miss::Tier(t));
        }
    }
    if let Some(tags) = &a.tags
        && !tags.iter().any(|t| p.tags.contains(t))
    {
        return Err(Miss::Tags);
    }
    Ok(())
}
