//! Does a rule match a prepared request? One function per condition kind, each returning
//! the first thing that failed, so the fast path and the explanation share one truth.

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::boundary::Request;
use crate::error::RequestError;
use crate::kinds::{self, Reading};
use crate::model::{
    AgentTest, AppliesTo, ContextOp, ContextTest, Effect, ResourceKind, ResourceTest, Rule, Scalar,
    TierTest, TimeWindow, TrustTier,
};

/// A request checked and its resource read as its kind, ready to match.
#[derive(Debug)]
pub(crate) struct Prepared<'r> {
    pub action: &'r str,
    /// The resource read as its kind.
    pub reading: Option<Reading<'r>>,
    /// The resource as written.
    pub raw: Option<&'r str>,
    pub context: Option<&'r Map<String, Value>>,
    pub tags: &'r [String],
    pub agent_id: Option<&'r str>,
    pub org_id: Option<&'r str>,
    pub has_agent: bool,
    pub tier: Option<TrustTier>,
    /// Seconds since the Unix epoch.
    pub time: Option<i64>,
    /// Restricting tests already run on the text as written, by the test's address: the
    /// answer is the same for every part of a compound resource, and a shell line's
    /// `contains` deny lists would otherwise search the whole line once per part.
    written: std::cell::RefCell<SmallVec<[(usize, bool); 8]>>,
}

/// What one round of matching tests a resource condition against: the whole resource or
/// one part of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The canonical text (the resource, a part of it, or for an unreadable resource the
    /// text as written); `None` when the request has no resource.
    pub text: Option<&'a str>,
    /// A URL's host, which host patterns test.
    pub host: Option<&'a str>,
    /// The resource cannot be read as its kind: only an allow that names the exact text
    /// (`equals`) may match (`docs/semantics.md` §2.16).
    pub explicit_only: bool,
    /// Whether restricting rules also test the text as written (off to find out whether
    /// a part is denied on its own, for naming the deciding part, and when the text is
    /// the text as written, where that test cannot change the answer).
    pub as_written: bool,
}

impl<'r> Prepared<'r> {
    /// The targets to decide one by one: every part of a compound resource, else the
    /// whole resource.
    pub fn targets(&self) -> smallvec::SmallVec<[Target<'_>; 4]> {
        let mut out = smallvec::SmallVec::new();
        let Some(r) = &self.reading else {
            out.push(Target {
                text: None,
                host: None,
                explicit_only: false,
                as_written: true,
            });
            return out;
        };
        // A target whose text is the text as written (and with no host, which host
        // patterns would test instead) gains nothing from the test as written: that test
        // would repeat, on the same text, the one the rule has just failed.
        let as_written = |text: &str, host: Option<&str>| host.is_some() || self.raw != Some(text);
        if r.parts.is_empty() {
            let text: &str = &r.canonical;
            let host = r.host.clone().and_then(|h| r.canonical.get(h));
            out.push(Target {
                text: Some(text),
                host,
                explicit_only: r.unreadable.is_some(),
                as_written: as_written(text, host),
            });
        } else {
            out.extend(r.parts.iter().map(|part| Target {
                text: Some(part),
                host: None,
                explicit_only: false,
                as_written: as_written(part, None),
            }));
        }
        out
    }

    /// Whether a restricting rule's `op` holds on the text as written: for a shell line
    /// only `contains` (against the whole line), for other kinds every operator when
    /// canonical form changed the text (on a URL, host patterns excepted: the host is
    /// what the parser found, and as plain text they would match paths and queries).
    fn as_written_holds(&self, op: &ResourceTest) -> bool {
        let key = std::ptr::from_ref(op) as usize;
        if let Some(&(_, holds)) = self.written.borrow().iter().find(|(k, _)| *k == key) {
            return holds;
        }
        let holds = self.as_written_test(op);
        self.written.borrow_mut().push((key, holds));
        holds
    }

    fn as_written_test(&self, op: &ResourceTest) -> bool {
        let (Some(r), Some(raw)) = (self.reading.as_ref(), self.raw) else {
            return false;
        };
        match r.kind {
            ResourceKind::Shell => matches!(op, ResourceTest::Contains(_)) && plain_test(op, raw),
            _ if r.unreadable.is_some() || r.canonical.as_ref() == raw => false,
            ResourceKind::Url => match op {
                ResourceTest::Matches(gs) => gs.matches_whole(raw),
                ResourceTest::Equals(v) => v
                    .iter()
                    .any(|s| !crate::model::is_host_pattern(s) && raw == s),
                _ => plain_test(op, raw),
            },
            _ => plain_test(op, raw),
        }
    }
}

/// Parses an RFC 3339 instant into milliseconds since the Unix epoch.
pub fn parse_instant_ms(s: &str) -> Result<i64, RequestError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| RequestError::BadTime(s.to_owned()))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| RequestError::BadTime(s.to_owned()))
}

/// Refuses control characters (they hide text on terminals and in logs); a shell line may
/// hold newlines, which separate its commands.
fn no_controls(field: &'static str, s: &str, newlines: bool) -> Result<(), RequestError> {
    // Fast path on bytes: C0 and DEL are single bytes, C1 characters start with 0xC2.
    if !suspicious(s.as_bytes()) {
        return Ok(());
    }
    match s
        .chars()
        .find(|&c| c.is_control() && !(newlines && c == '\n'))
    {
        Some(c) => Err(RequestError::ControlCharacter {
            field,
            code: format!("U+{:04X}", u32::from(c)),
        }),
        None => Ok(()),
    }
}

/// Whether `b` may hold a control character: a byte below 0x20, 0x7F or 0xC2 (which
/// starts every C1 character). Eight bytes at a time (SWAR): the word tests can only
/// answer yes too often (a borrow past a true hit), never miss one, and a yes is checked
/// character by character.
fn suspicious(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    /// Whether some byte of `x` is zero.
    fn zero_byte(x: u64) -> bool {
        x.wrapping_sub(ONES) & !x & HIGH != 0
    }
    let mut words = b.chunks_exact(8);
    for w in words.by_ref() {
        let x = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        // A byte below 0x20: subtracting 0x20 borrows into its high bit (bytes of 0x80
        // and above have it set already and are masked out by `!x`).
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if below || zero_byte(x ^ (ONES * 0x7f)) || zero_byte(x ^ (ONES * 0xc2)) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == 0x7f || c == 0xc2)
}

/// Checks a request and reads its resource; `kind_of` names the kind an action claims.
pub(crate) fn prepare(
    req: &Request,
    kind_of: impl Fn(&str) -> Option<ResourceKind>,
) -> Result<Prepared<'_>, RequestError> {
    if req.action.is_empty() {
        return Err(RequestError::EmptyAction);
    }
    no_controls("action", &req.action, false)?;
    let claimed = kind_of(&req.action);
    if let Some(r) = &req.resource {
        no_controls("resource", r, claimed == Some(ResourceKind::Shell))?;
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
    let raw = req.resource.as_deref();
    let reading = raw.map(|r| kinds::read(claimed.unwrap_or_else(|| kinds::shape(r)), r));
    let agent = req.agent.as_ref();
    Ok(Prepared {
        action: &req.action,
        reading,
        raw,
        context,
        tags: agent.map_or(&[][..], |a| a.tags.as_slice()),
        agent_id: agent.and_then(|a| a.id.as_deref()),
        org_id: agent.and_then(|a| a.org_id.as_deref()),
        has_agent: agent.is_some(),
        tier,
        time,
        written: Default::default(),
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
    Unreadable,
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
    pub fn describe(&self, p: &Prepared<'_>, target: &Target<'_>) -> String {
        let res = target.text.unwrap_or("");
        match self {
            Miss::Action => format!("action `{}` matches none of the rule's actions", p.action),
            Miss::Unreadable => {
                "the resource cannot be read as its kind and the rule does not allow its exact \
                 text (`equals`)"
                    .to_owned()
            }
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

/// Whether `rule` matches `target`: its action, then every condition.
pub(crate) fn rule_matches<'a>(
    rule: &'a Rule,
    p: &Prepared<'_>,
    target: &Target<'_>,
) -> Result<(), Miss<'a>> {
    if !rule.actions.iter().any(|g| g.matches(p.action)) {
        return Err(Miss::Action);
    }
    conditions_match(rule, p, target)
}

/// Whether the conditions of `rule`, whose actions are known to match, hold on `target`:
/// the decision's per-request plan checks the action once, not once per target.
pub(crate) fn conditions_match<'a>(
    rule: &'a Rule,
    p: &Prepared<'_>,
    target: &Target<'_>,
) -> Result<(), Miss<'a>> {
    let c = &rule.conditions;
    let restricting = rule.effect != Effect::Allow;
    if target.explicit_only && !restricting {
        // Only an allow of this exact text lifts the deny of an unreadable resource.
        let exact = c
            .resource
            .iter()
            .any(|t| matches!(t, ResourceTest::Equals(_)));
        if !exact {
            return Err(Miss::Unreadable);
        }
    }
    if !c.resource.is_empty() {
        let Some(text) = target.text else {
            return Err(Miss::NoResource);
        };
        for t in &c.resource {
            // A rule that restricts (deny, approval) also sees the text as written, so a
            // spelling that canonical form rewrites can only make it match more.
            let holds = if target.explicit_only {
                resource_test(t, text, None) || (restricting && plain_test(t, text))
            } else {
                resource_test(t, text, target.host)
                    || (restricting && target.as_written && p.as_written_holds(t))
            };
            if !holds {
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

/// A resource operator on `text`; with a URL's `host`, host patterns (a `matches` or
/// `equals` operand with no `/` and no `:`) test the host alone.
fn resource_test(t: &ResourceTest, text: &str, host: Option<&str>) -> bool {
    match (t, host) {
        (ResourceTest::Matches(gs), Some(host)) => gs.matches_url(text, host),
        (ResourceTest::Equals(v), Some(host)) => v.iter().any(|s| {
            if crate::model::is_host_pattern(s) {
                host == s
            } else {
                text == s
            }
        }),
        _ => plain_test(t, text),
    }
}

/// A resource operator on `r` as plain text.
fn plain_test(t: &ResourceTest, r: &str) -> bool {
    match t {
        ResourceTest::Matches(gs) => gs.all.matches(r),
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

#[cfg(test)]
mod tests {
    use super::suspicious;

    /// The word-at-a-time test never misses a byte the byte-by-byte one finds, wherever
    /// it sits and whatever surrounds it (bytes just above and below the limits, and the
    /// high bytes that could hide a borrow).
    #[test]
    fn suspicious_finds_every_control_byte() {
        let naive = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == 0x7f || c == 0xc2);
        let fillers = [b'a', b' ', 0x21, 0x7e, 0x80, 0xc1, 0xc3, 0xff];
        for len in 0..20 {
            for &fill in &fillers {
                let clean = vec![fill; len];
                assert_eq!(suspicious(&clean), naive(&clean), "{clean:?}");
                for at in 0..len {
                    for bad in (0u8..0x20).chain([0x7f, 0xc2, 0x20, 0x7e, 0x80, 0xc1]) {
                        let mut text = clean.clone();
                        if let Some(b) = text.get_mut(at) {
                            *b = bad;
                        }
                        if naive(&text) {
                            assert!(suspicious(&text), "{text:?}");
                        }
                    }
                }
            }
        }
    }
}
