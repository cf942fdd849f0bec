//! "Whenever rule R matches, rule D matches too": the fact every never-decides finding
//! rests on, proved piece by piece (actions, resource, context, time, agent, scope) and
//! only when certainly true.
//!
//! One subtlety comes from the core's canonicalisation hardening: a deny or
//! require-approval rule tests the resource as written as well as its canonical form
//! (and a shell `contains` deny the whole command line), while an allow rule tests only
//! the canonical form (of each part). So a restricting R may match a spelling an allow D
//! never sees, and R's resource tests never imply an allow D's.

use crate::model::{ContextOp, Effect, Policy, Rule, Scalar, TierTest, TrustTier};

use super::lang::{
    Lang, lang_subset, of_globs, of_resource_test, operands_disjoint, operands_subset,
};

/// A rule with its policy.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    /// The policy.
    pub(super) policy: &'a Policy,
    /// The rule.
    pub(super) rule: &'a Rule,
}

/// The actions a rule matches.
pub(super) fn actions(rule: &Rule) -> Lang<'_> {
    of_globs(&rule.actions)
}

/// Every action `r` matches, `d` matches.
pub(super) fn actions_covered(r: &Rule, d: &Rule) -> bool {
    lang_subset(&actions(r), &actions(d))
}

/// Whenever `r`'s conditions hold (as `r` sees the request), `d`'s hold (as `d` sees it).
pub(super) fn conditions_implied(r: At<'_>, d: At<'_>) -> bool {
    resource_implied(r.rule, d.rule)
        && context_implied(r.rule, d.rule)
        && d.rule
            .conditions
            .time
            .as_ref()
            .is_none_or(|w| r.rule.conditions.time.as_ref() == Some(w))
        && agent_implied(r, d)
}

/// Whenever policy `inner` applies, `outer` applies (docs/semantics.md §3: each listed selector must
/// match; a list is any-of, so a smaller list implies a larger one).
pub(super) fn scope_implied(outer: &Policy, inner: &Policy) -> bool {
    let (Some(o), Some(i)) = (&outer.applies_to, &inner.applies_to) else {
        return outer.applies_to.is_none();
    };
    fn within<T: PartialEq>(o: &Option<Vec<T>>, i: &Option<Vec<T>>) -> bool {
        match o {
            None => true,
            Some(ov) => i
                .as_ref()
                .is_some_and(|iv| iv.iter().all(|x| ov.contains(x))),
        }
    }
    within(&o.tags, &i.tags)
        && within(&o.agent_ids, &i.agent_ids)
        && within(&o.org_ids, &i.org_ids)
        && within(&o.trust_tiers, &i.trust_tiers)
}

/// Whether one request can be selected by both policies. Tags never conflict (an agent
/// may carry several); an agent has one id, one org and one tier.
pub(super) fn co_applicable(p: &Policy, q: &Policy) -> bool {
    let (Some(a), Some(b)) = (&p.applies_to, &q.applies_to) else {
        return true;
    };
    fn meet<T: PartialEq>(x: &Option<Vec<T>>, y: &Option<Vec<T>>) -> bool {
        match (x, y) {
            (Some(x), Some(y)) => x.iter().any(|v| y.contains(v)),
            _ => true,
        }
    }
    meet(&a.agent_ids, &b.agent_ids)
        && meet(&a.org_ids, &b.org_ids)
        && meet(&a.trust_tiers, &b.trust_tiers)
}

/// Whether two policies speak about the same agents: they can apply to one request, and
/// when both select by tag, they share a tag. (Any two tag lists can meet on an agent
/// carrying both tags, but an agent tagged `autogpt` and `clawdbot` is not what either
/// author had in mind; notes about such pairs would bury the useful ones.)
pub(super) fn shares_audience(p: &Policy, q: &Policy) -> bool {
    co_applicable(p, q)
        && match (selected_tags(p), selected_tags(q)) {
            (Some(a), Some(b)) => a.iter().any(|t| b.contains(t)),
            _ => true,
        }
}

/// The tags a policy selects agents by, if it selects by tag.
pub(super) fn selected_tags(p: &Policy) -> Option<&[String]> {
    p.applies_to.as_ref().and_then(|a| a.tags.as_deref())
}

fn resource_implied(r: &Rule, d: &Rule) -> bool {
    let (rt, dt) = (&r.conditions.resource, &d.conditions.resource);
    if dt.is_empty() {
        return true;
    }
    if rt.is_empty() || (r.effect != Effect::Allow && d.effect == Effect::Allow) {
        return false;
    }
    dt.iter().all(|td| {
        let want = of_resource_test(td);
        rt.iter()
            .any(|tr| operands_subset(&of_resource_test(tr), &want))
    })
}

fn context_implied(r: &Rule, d: &Rule) -> bool {
    d.conditions.context.iter().all(|td| {
        let same_key: Vec<&ContextOp> = r
            .conditions
            .context
            .iter()
            .filter(|tr| tr.path == td.path)
            .flat_map(|tr| &tr.ops)
            .collect();
        td.ops
            .iter()
            .all(|od| same_key.iter().any(|or| op_implies(or, od)))
    })
}

/// Whenever `a` holds on a context value, `b` holds on it.
fn op_implies(a: &ContextOp, b: &ContextOp) -> bool {
    use ContextOp as C;
    let num = |s: &Scalar| match s {
        Scalar::Number(n) => Some(*n),
        _ => None,
    };
    match (a, b) {
        (C::Exists(x), C::Exists(y)) => x == y,
        (C::Exists(false), _) => false,
        (_, C::Exists(true)) => true,
        (C::Equals(x), C::Equals(y)) => x == y,
        (C::Equals(x), C::In(ys)) => ys.contains(x),
        (C::Equals(x), C::NotIn(ys)) => !ys.contains(x),
        (C::In(xs), C::Equals(y)) => !xs.is_empty() && xs.iter().all(|x| x == y),
        (C::In(xs), C::In(ys)) => xs.iter().all(|x| ys.contains(x)),
        (C::In(xs), C::NotIn(ys)) => xs.iter().all(|x| !ys.contains(x)),
        (C::NotIn(xs), C::NotIn(ys)) => ys.iter().all(|y| xs.contains(y)),
        (C::Matches(xs), C::Matches(ys)) => lang_subset(&of_globs(xs), &of_globs(ys)),
        (C::Equals(Scalar::String(s)), C::Matches(ys)) => ys.iter().any(|g| g.matches(s)),
        (C::Equals(Scalar::String(s)), C::StartsWith(ps)) => {
            ps.iter().any(|p| s.starts_with(p.as_str()))
        }
        (C::StartsWith(xs), C::StartsWith(ys)) => xs
            .iter()
            .all(|x| ys.iter().any(|y| x.starts_with(y.as_str()))),
        (C::Contains(xs), C::Contains(ys)) => xs.iter().all(|x| ys.contains(x)),
        (C::Gt(x), C::Gt(y)) | (C::Gt(x), C::Gte(y)) | (C::Gte(x), C::Gte(y)) => x >= y,
        (C::Gte(x), C::Gt(y)) => x > y,
        (C::Lt(x), C::Lt(y)) | (C::Lt(x), C::Lte(y)) | (C::Lte(x), C::Lte(y)) => x <= y,
        (C::Lte(x), C::Lt(y)) => x < y,
        (C::Equals(x), C::Gt(y)) => num(x).is_some_and(|n| n > *y),
        (C::Equals(x), C::Gte(y)) => num(x).is_some_and(|n| n >= *y),
        (C::Equals(x), C::Lt(y)) => num(x).is_some_and(|n| n < *y),
        (C::Equals(x), C::Lte(y)) => num(x).is_some_and(|n| n <= *y),
        _ => false,
    }
}

/// The trust tiers an agent can have when `rule` of `policy` matches, as a bit set over
/// [`TrustTier::ALL`]; `None` when the agent may have any tier or none.
pub(super) fn possible_tiers(at: At<'_>) -> Option<u8> {
    let mask = |tiers: &[TrustTier]| {
        TrustTier::ALL
            .iter()
            .enumerate()
            .filter(|(_, t)| tiers.contains(t))
            .fold(0u8, |m, (i, _)| m | 1 << i)
    };
    let from_scope = at
        .policy
        .applies_to
        .as_ref()
        .and_then(|a| a.trust_tiers.as_deref())
        .map(mask);
    let from_rule = at
        .rule
        .conditions
        .agent
        .as_ref()
        .and_then(|a| a.trust_tier.as_ref())
        .map(|t| {
            let ok: Vec<TrustTier> = TrustTier::ALL
                .into_iter()
                .filter(|x| tier_holds(t, *x))
                .collect();
            mask(&ok)
        });
    match (from_scope, from_rule) {
        (Some(a), Some(b)) => Some(a & b),
        (a, b) => a.or(b),
    }
}

/// Whether an agent of tier `tier` passes `test`.
fn tier_holds(test: &TierTest, tier: TrustTier) -> bool {
    match test {
        TierTest::AtLeast(min) => tier >= *min,
        TierTest::AtMost(max) => tier <= *max,
        TierTest::In(list) => list.contains(&tier),
    }
}

fn agent_implied(r: At<'_>, d: At<'_>) -> bool {
    let Some(want) = &d.rule.conditions.agent else {
        return true;
    };
    let has_agent = r.rule.conditions.agent.is_some() || r.policy.applies_to.is_some();
    if !has_agent {
        return false;
    }
    if let Some(t) = &want.trust_tier {
        let Some(tiers) = possible_tiers(r) else {
            return false;
        };
        let all_pass = TrustTier::ALL
            .iter()
            .enumerate()
            .all(|(i, x)| tiers & (1 << i) == 0 || tier_holds(t, *x));
        if !all_pass {
            return false;
        }
    }
    if let Some(tags) = &want.tags {
        let within =
            |v: Option<&Vec<String>>| v.is_some_and(|v| v.iter().all(|x| tags.contains(x)));
        let rule_tags = r
            .rule
            .conditions
            .agent
            .as_ref()
            .and_then(|a| a.tags.as_ref());
        let scope_tags = r.policy.applies_to.as_ref().and_then(|a| a.tags.as_ref());
        if !within(rule_tags) && !within(scope_tags) {
            return false;
        }
    }
    true
}

/// Whether no request can satisfy both rules' conditions, as far as can be proved:
/// disjoint resource sets, context values that cannot be equal, tiers that cannot meet.
/// Only the canonical resource is reasoned about, so this may hide an overlap that a
/// restricting rule finds in the resource as written (then a note is missed, never
/// invented).
pub(super) fn conditions_disjoint(a: At<'_>, b: At<'_>) -> bool {
    let (ra, rb) = (&a.rule.conditions.resource, &b.rule.conditions.resource);
    let resources = ra.iter().any(|x| {
        let lx = of_resource_test(x);
        rb.iter()
            .any(|y| operands_disjoint(&lx, &of_resource_test(y)))
    });
    let tiers = matches!((possible_tiers(a), possible_tiers(b)), (Some(x), Some(y)) if x & y == 0);
    resources || tiers || context_disjoint(a.rule, b.rule)
}

/// Some context key both rules test can have no value that passes both.
fn context_disjoint(a: &Rule, b: &Rule) -> bool {
    a.conditions.context.iter().any(|ta| {
        b.conditions
            .context
            .iter()
            .filter(|tb| tb.path == ta.path)
            .any(|tb| {
                let absent =
                    |ops: &[ContextOp]| ops.iter().any(|o| matches!(o, ContextOp::Exists(false)));
                let present =
                    |ops: &[ContextOp]| ops.iter().any(|o| !matches!(o, ContextOp::Exists(false)));
                if (absent(&ta.ops) && present(&tb.ops)) || (absent(&tb.ops) && present(&ta.ops)) {
                    return true;
                }
                match (values(&ta.ops), values(&tb.ops)) {
                    (Some(x), Some(y)) => !x.iter().any(|v| y.contains(v)),
                    _ => false,
                }
            })
    })
}

/// The only values a key may have under these operators, when they pin it to a list.
fn values(ops: &[ContextOp]) -> Option<Vec<Scalar>> {
    let mut out: Option<Vec<Scalar>> = None;
    for op in ops {
        let these = match op {
            ContextOp::Equals(s) => vec![s.clone()],
            ContextOp::In(list) => list.clone(),
            _ => continue,
        };
        out = Some(match out {
            None => these,
            Some(prev) => prev.into_iter().filter(|v| these.contains(v)).collect(),
        });
    }
    out
}
